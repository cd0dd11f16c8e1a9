"""Load test: many concurrent gradio_client clients against `python app.py` on 127.0.0.1.

    python -m bench.load [--model DIR] [--clients 20] [--requests 50] [--time-limit 1200]

Every client sends its requests one after another; zero errors are expected. The app's memory is read
before (after a warm-up) and after, to catch a per-request leak. Exit code 1 when any request failed.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from bench.common import DATA_DIR, Table, machine, ms, percentile_ms, sample_images, say
from bench.server import AppServer
from bench.serving import _client, predict_file

RSS_GROWTH_BOUND_MB = 150  # after 1,000 requests: at most ~150 kB kept per request


def run_load(model: str | None, images: list[Path], clients: int, requests: int, time_limit: float, command: str) -> tuple[Table, int]:
    """(table, number of failed requests)."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    with AppServer(model, startup_timeout=300) as server:
        warm = _client(server.url)
        for path in images[:5]:
            predict_file(warm, path)
        rss_before = server.rss_mb()
        deadline = time.monotonic() + time_limit

        def client_loop(index: int) -> None:
            try:
                client = _client(server.url)
            except Exception as error:
                with lock:
                    errors[f"connect: {type(error).__name__}: {error}"[:160]] += requests
                return
            for k in range(requests):
                if time.monotonic() > deadline:
                    with lock:
                        errors["not sent: time limit reached"] += requests - k
                    return
                path = images[(index * requests + k) % len(images)]
                start = time.perf_counter()
                try:
                    answer = predict_file(client, path)
                    ok = 0 <= answer["p_malignant"] <= 1
                    message = "" if ok else f"bad answer: {answer}"
                except Exception as error:
                    message = f"{type(error).__name__}: {error}"[:160]
                with lock:
                    if message:
                        errors[message] += 1
                    else:
                        latencies.append(time.perf_counter() - start)

        say(f"load: {clients} clients x {requests} requests")
        started = time.monotonic()
        threads = [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(1.0, deadline - time.monotonic() + 150))
        wall = time.monotonic() - started
        alive = server.alive()
        rss_after = server.rss_mb() if alive else float("nan")
        rss_peak = server.rss_mb("VmHWM") if alive else float("nan")

    failed = sum(errors.values())
    growth = rss_after - rss_before
    table = Table(f"Load test: {clients} concurrent clients x {requests} requests", command, ["what", "value", "expected"])
    table.add("requests answered", f"{len(latencies)} of {clients * requests}", "all")
    table.add("errors", failed, "0")
    if latencies:
        p50, p95 = ms(percentile_ms(latencies, 50)), ms(percentile_ms(latencies, 95))
        table.add("latency p50 / p95 (client side, queueing included)", f"{p50} / {p95}", "")
    table.add("throughput", f"{len(latencies) / wall:.1f} requests/s over {wall:.0f} s", "")
    table.add("app RSS before -> after", f"{rss_before:.0f} MB -> {rss_after:.0f} MB (peak {rss_peak:.0f} MB)", "")
    table.add("RSS growth", f"{growth:+.0f} MB", f"<= {RSS_GROWTH_BOUND_MB} MB: {'yes' if growth <= RSS_GROWTH_BOUND_MB else 'NO'}")
    table.add("app still running afterwards", "yes" if alive else "NO", "yes")
    table.notes.append("`/predict` (predict + Grad-CAM + overlay PNG) on HAM10000 test images; the app runs one model call at a "
                       "time, so latency under load is mostly waiting in the queue. RSS read from /proc after a 5-request warm-up.")
    for message, count in errors.most_common(5):
        table.notes.append(f"- {count} x {message}")
    return table, failed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model folder or Hub repo id for the app (default: the app's default)")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--requests", type=int, default=50, help="requests per client")
    p.add_argument("--time-limit", type=float, default=1200, help="seconds; requests not sent by then count as errors")
    p.add_argument("--data-dir", default=str(DATA_DIR))
    args = p.parse_args(argv)
    images = sample_images(100, args.data_dir, args.model if args.model and Path(args.model).is_dir() else None)
    command = "python -m bench.load" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    print(machine() + "\n")
    table, failed = run_load(args.model, images, args.clients, args.requests, args.time_limit, command)
    print(table.markdown())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
