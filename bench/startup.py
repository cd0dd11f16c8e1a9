"""Start-up time of `python app.py` with a Hub model repo set, offline versus against a Hub that never answers.

    python -m bench.startup [--repeats 1]

The Hub is the test server (tests/hub_server.py) on 127.0.0.1 in "hang" mode: it accepts connections and never
answers. Both starts have an empty Hugging Face cache, so both end up serving the bundled model; the difference
is what the unreachable Hub costs. Time is from process start until the page answers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench.server import AppServer

ROOT = Path(__file__).resolve().parent.parent
REPO = "tester/skin-lesion-lite0"
BOUND_S = 15.0  # the unreachable Hub may add at most this


def start_seconds(env: dict[str, str]) -> tuple[float, str]:
    """(seconds until the app answered, its log line saying what it serves)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        with AppServer(startup_timeout=180) as server:
            seconds = server.wait_ready()
            serving = [line for line in server.log_tail().splitlines() if "serving" in line]
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return seconds, serving[-1] if serving else ""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=1)
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))  # not `tests.hub_server`: tf-keras-vis installs a package named `tests`
    from hub_server import HubServer

    results: dict[str, list[float]] = {"offline": [], "hub never answers": []}
    with HubServer() as hub:
        hub.set_mode("hang")
        for _ in range(args.repeats):
            for name in results:
                home = tempfile.mkdtemp(prefix="hf-home-")
                env = {"SKIN_LESION_MODEL_REPO": REPO, "HF_HOME": home, "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_TELEMETRY": "1"}
                if name == "offline":
                    env["HF_HUB_OFFLINE"] = "1"
                seconds, serving = start_seconds(env)
                results[name].append(seconds)
                print(f"{name}: {seconds:.1f} s; {serving.strip()}", file=sys.stderr)
    offline, hanging = (statistics.median(v) for v in results.values())
    print(f"Start-up of `python app.py` with SKIN_LESION_MODEL_REPO={REPO} (`python -m bench.startup --repeats {args.repeats}`)\n")
    print("| Hub | start-up (median) |\n|---|---|")
    print(f"| offline (`HF_HUB_OFFLINE=1`) | {offline:.1f} s |\n| accepts connections, never answers | {hanging:.1f} s |")
    print(f"\nThe unreachable Hub adds {hanging - offline:+.1f} s (bound: {BOUND_S:.0f} s).")
    return 0 if hanging - offline <= BOUND_S else 1


if __name__ == "__main__":
    sys.exit(main())
