"""The app as users meet it: cold start of `python app.py`, and the HTTP round trip of one image through gradio_client."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench.common import Table, ms, percentile_ms, say
from bench.server import AppServer

COLD_START_TARGET_S = 8.0
ROUND_TRIP_TARGET_MS = 150


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, httpx_kwargs={"timeout": 120})


def predict_file(client, path: Path) -> dict:
    from gradio_client import handle_file

    answer, _overlay = client.predict(handle_file(str(path)), api_name="/predict")
    return answer


def round_trips(url: str, images: list[Path]) -> list[float]:
    """Seconds per request, one client, one request after another, after 3 warm-up requests."""
    client = _client(url)
    for path in images[:3]:
        predict_file(client, path)
    seconds = []
    for path in images:
        start = time.perf_counter()
        predict_file(client, path)
        seconds.append(time.perf_counter() - start)
    return seconds


def cold_start_and_round_trip(model: str | None, images: list[Path], starts: int, command_cold: str, command_trip: str) -> list[Table]:
    """Start the app `starts` times (process start -> page up -> first answered request), then time round trips on the last one."""
    page, first, rss = [], [], []
    for i in range(starts):
        say(f"cold start {i + 1}/{starts}")
        server = AppServer(model).start()
        try:
            page.append(server.wait_ready())
            predict_file(_client(server.url), images[0])
            first.append(time.monotonic() - server.started_at)
            rss.append(server.rss_mb())
            if i < starts - 1:
                continue
            say(f"round trip: {len(images)} requests")
            seconds = round_trips(server.url, images)
        finally:
            server.stop()
    say(f"round trip, Gradio alone (bench.floor_app): {len(images)} requests")
    with AppServer(program=["-m", "bench.floor_app"]) as floor:
        floor_seconds = round_trips(floor.url, images)

    cold = Table("Cold start of the app", command_cold, ["what", "median", "max", "target", "n"])
    cold.add("process start -> page answers", f"{statistics.median(page):.1f} s", f"{max(page):.1f} s", "", len(page))
    cold.add("process start -> first answered `/predict` request", f"{statistics.median(first):.1f} s", f"{max(first):.1f} s",
             f"<= {COLD_START_TARGET_S:.0f} s", len(first))
    cold.notes.append(f"`python app.py --host 127.0.0.1 --port <free>{' --model ' + str(model) if model else ''}`; "
                      f"the first request is sent with gradio_client as soon as the page answers. "
                      f"Process memory after the first request: {statistics.median(rss):.0f} MB RSS.")
    trip = Table("HTTP round trip of one image (gradio_client, loopback)", command_trip, ["what", "p50", "p95", "target (p50)", "n"])
    trip.add("`python app.py`: `Client.predict(handle_file(jpg), api_name=\"/predict\")`", ms(percentile_ms(seconds, 50)),
             ms(percentile_ms(seconds, 95)), f"<= {ROUND_TRIP_TARGET_MS} ms", len(seconds))
    trip.add("Gradio alone: the same call to `python -m bench.floor_app` (same signature, no work)", ms(percentile_ms(floor_seconds, 50)),
             ms(percentile_ms(floor_seconds, 95)), "", len(floor_seconds))
    trip.notes.append("One client, requests one after another: upload, queue, predict + Grad-CAM, the overlay PNG encoded and "
                      "downloaded, the JSON answer. The second row is Gradio's and gradio_client's own cost on this machine.")
    return [cold, trip]
