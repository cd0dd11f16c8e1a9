"""All benchmarks, printed as markdown tables, each with the command that made it.

    python -m bench [--quick] [--model DIR] [--only latency gradcam throughput serving training load]

Targets are printed next to the measurements; nothing is asserted. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.common import DATA_DIR, machine, sample_images, say

SECTIONS = ("latency", "gradcam", "throughput", "serving", "training", "load")
# (latency images, phone-photo repeats, throughput images, app starts, round trips, training steps, load clients x requests)
SIZES = {"quick": (20, 3, 96, 1, 20, 2, (5, 10)), "full": (100, 10, 512, 3, 100, 10, (20, 50))}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer images, steps and requests (a few minutes)")
    p.add_argument("--model", help="model folder (default: the bundled model)")
    p.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), metavar="SECTION", help=f"any of {', '.join(SECTIONS)}")
    p.add_argument("--data-dir", default=str(DATA_DIR), help="HAM10000 folder (images/ISIC_*.jpg)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from inference import load_classifier
    from inference.loading import BUNDLED_MODEL

    n_latency, phone_repeats, n_throughput, starts, trips, steps, (clients, requests) = SIZES["quick" if args.quick else "full"]
    flags = (" --quick" if args.quick else "") + (f" --model {args.model}" if args.model else "")

    def command(section: str) -> str:
        return f"python -m bench --only {section}{flags}"

    print("## Performance\n\n" + machine() + "\n", flush=True)
    folder = Path(args.model) if args.model else BUNDLED_MODEL
    needs_images = set(args.only) - {"training"}
    images = sample_images(max(n_throughput, n_latency, trips, 100), args.data_dir, folder) if needs_images else []

    if {"latency", "gradcam", "throughput"} & set(args.only):
        from bench import inference_speed

        clf = load_classifier(args.model)
        say(f"model: {clf.describe()}")
        print(f"Model: {clf.describe()}\n", flush=True)
        if {"latency", "gradcam"} & set(args.only):
            section = " ".join(s for s in ("latency", "gradcam") if s in args.only)
            table, times = inference_speed.latency(clf, images[:n_latency], command(section), phone_repeats)
            if "latency" in args.only:
                print(table.markdown(), flush=True)
            if "gradcam" in args.only:
                print(inference_speed.gradcam_cost(clf, images[:n_latency], times, command(section)).markdown(), flush=True)
        if "throughput" in args.only:
            print(inference_speed.throughput(clf, images[:n_throughput], command("throughput")).markdown(), flush=True)
        del clf
    if "serving" in args.only:
        from bench.serving import cold_start_and_round_trip

        for table in cold_start_and_round_trip(args.model, images[:trips], starts, command("serving"), command("serving")):
            print(table.markdown(), flush=True)
    if "training" in args.only:
        from bench.training import training_table

        print(training_table(steps, command("training"), args.data_dir).markdown(), flush=True)
    if "load" in args.only:
        from bench.load import run_load

        load_command = f"python -m bench.load --clients {clients} --requests {requests}" + (f" --model {args.model}" if args.model else "")
        table, _ = run_load(args.model, images[:100], clients, requests, 1200, load_command)
        print(table.markdown(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
