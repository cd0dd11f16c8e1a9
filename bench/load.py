"""Load test: many concurrent gradio_client clients against `python app.py` on 127.0.0.1, served one by one
(`--max-batch 1`) and batched (`--max-batch N`), the same load against each in one run.

    python -m bench.load [--model DIR] [--clients 20] [--requests 50] [--max-batch 8] [--time-limit 1200]

Every client sends its requests one after another; zero errors are expected. The app's memory is read
before (after a warm-up) and after, to catch a per-request leak. Exit code 1 when any request failed.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import DATA_DIR, Table, machine, ms, percentile_ms, sample_images, say
from bench.server import AppServer
from bench.serving import _client, predict_file

RSS_GROWTH_BOUND_MB = 150  # after 1,000 requests: at most ~150 kB kept per request


@dataclass
class Run:
    """One server's answers to the load."""

    max_batch: int
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    wall: float = 0.0
    rss: tuple[float, float, float] = (0.0, 0.0, 0.0)  # before, after, peak (MB)
    alive: bool = True
    app_cpu: float = 0.0  # CPU seconds the app used during the load
    client_cpu: float = 0.0  # CPU seconds this process (the clients) used during the load

    def per_request_ms(self, seconds: float) -> str:
        return ms(seconds / len(self.latencies) * 1000) if self.latencies else "-"

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0


def run_threads(target, n: int, timeout: float) -> None:
    """target(0) ... target(n - 1), each in its own thread, all at once; returns when all are done (or after timeout)."""
    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    end = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.1, end - time.monotonic()))


def load_one(model: str | None, images: list[Path], clients: int, requests: int, time_limit: float, max_batch: int) -> Run:
    """`clients` threads, each sending `requests` requests one after another, against `python app.py --max-batch N`."""
    run = Run(max_batch)
    latencies, errors = run.latencies, run.errors
    lock = threading.Lock()
    with AppServer(model, startup_timeout=300, args=["--max-batch", str(max_batch)]) as server:
        # Connected before the clock starts (each client reads the app's config once); then a warm-up burst of
        # concurrent requests, so that batches of every size have run before memory is read.
        connected: list = [None] * clients

        def connect(index: int) -> None:
            try:
                connected[index] = _client(server.url)
            except Exception as error:
                with lock:
                    errors[f"connect: {type(error).__name__}: {error}"[:160]] += requests

        run_threads(connect, clients, timeout=300)

        def warm_up(index: int) -> None:
            try:
                if connected[index]:
                    predict_file(connected[index], images[index % len(images)])
            except Exception as error:  # not part of the measured load
                say(f"warm-up request failed: {type(error).__name__}: {error}")

        run_threads(warm_up, clients, timeout=300)
        rss_before = server.rss_mb()
        deadline = time.monotonic() + time_limit

        def client_loop(index: int) -> None:
            client = connected[index]
            if client is None:
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

        say(f"load: {clients} clients x {requests} requests, --max-batch {max_batch}")
        started, app_cpu, client_cpu = time.monotonic(), server.cpu_seconds(), time.process_time()
        run_threads(client_loop, clients, timeout=max(1.0, deadline - time.monotonic() + 150))
        wall = time.monotonic() - started
        run.client_cpu = time.process_time() - client_cpu
        run.app_cpu = server.cpu_seconds() - app_cpu if server.alive() else float("nan")
        alive = server.alive()
        rss_after = server.rss_mb() if alive else float("nan")
        rss_peak = server.rss_mb("VmHWM") if alive else float("nan")

        run.wall, run.alive = wall, alive
        run.rss = (rss_before, rss_after, rss_peak)
    return run


def run_load(model: str | None, images: list[Path], clients: int, requests: int, time_limit: float, command: str,
             max_batch: int = 8) -> tuple[Table, int]:
    """The same load against the app served one by one, then batched: (table, number of failed requests)."""
    runs = [load_one(model, images, clients, requests, time_limit, batch) for batch in (1, max_batch)]
    table = Table(f"Load test: {clients} concurrent clients x {requests} requests, one by one vs batched", command,
                  ["what", *(f"`--max-batch {r.max_batch}`" for r in runs), "expected"])
    table.add("requests answered", *(f"{len(r.latencies)} of {clients * requests}" for r in runs), "all")
    table.add("errors", *(r.failed for r in runs), "0")
    table.add("throughput (requests/s)", *(f"{r.throughput:.1f} over {r.wall:.0f} s" for r in runs), "")
    for q in (50, 95):
        table.add(f"latency p{q} (client side, queueing included)",
                  *(ms(percentile_ms(r.latencies, q)) if r.latencies else "-" for r in runs), "")
    table.add("app CPU time per request", *(r.per_request_ms(r.app_cpu) for r in runs), "")
    table.add("load generator (the clients, this process) CPU time per request", *(r.per_request_ms(r.client_cpu) for r in runs), "")
    growth = [r.rss[1] - r.rss[0] for r in runs]
    table.add("app RSS before -> after (peak)", *(f"{r.rss[0]:.0f} -> {r.rss[1]:.0f} MB ({r.rss[2]:.0f})" for r in runs), "")
    table.add("RSS growth", *(f"{g:+.0f} MB" for g in growth), f"<= {RSS_GROWTH_BOUND_MB} MB: "
              f"{'yes' if all(g <= RSS_GROWTH_BOUND_MB for g in growth) else 'NO'}")
    table.add("app still running afterwards", *("yes" if r.alive else "NO" for r in runs), "yes")
    one, batched = runs
    ratio = batched.throughput / one.throughput if one.throughput else float("nan")
    table.add("batched / one by one: throughput", "", f"{ratio:.2f}x", "")
    table.notes.append("`/predict` (predict with TTA + Grad-CAM + overlay PNG) on HAM10000 test images; both servers run one model "
                       "call at a time: one by one, each call is one request; batched, it is every `/predict` request waiting "
                       f"(up to {max_batch}). Clients connect before the clock starts; RSS is read after a warm-up of one request "
                       "per client, all at once. The two servers ran one after the other, on the same machine as the clients.")
    for r in runs:
        for message, count in r.errors.most_common(5):
            table.notes.append(f"- `--max-batch {r.max_batch}`: {count} x {message}")
    return table, one.failed + batched.failed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model folder or Hub repo id for the app (default: the app's default)")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--requests", type=int, default=50, help="requests per client")
    p.add_argument("--max-batch", type=int, default=8, help="the batched server's `--max-batch` (the other serves one by one)")
    p.add_argument("--time-limit", type=float, default=1200, help="seconds per server; requests not sent by then count as errors")
    p.add_argument("--data-dir", default=str(DATA_DIR))
    args = p.parse_args(argv)
    images = sample_images(100, args.data_dir, args.model if args.model and Path(args.model).is_dir() else None)
    command = "python -m bench.load" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    print(machine() + "\n")
    table, failed = run_load(args.model, images, args.clients, args.requests, args.time_limit, command, args.max_batch)
    print(table.markdown())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
