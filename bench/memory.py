"""Worst-case memory of one request: hostile images through `Classifier.predict(..., explain=True)`.

    python -m bench.memory [--model DIR] [--json]

Each case is one request (a batch of up to 8 files, like one app upload). The process's peak RSS is reset
before each request (Linux `/proc/self/clear_refs`), so "peak growth" is what that request alone added on top of
the warmed-up process; "kept" is what stayed allocated once it returned and its results were dropped.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

PEAK_GROWTH_BOUND_MB = 500  # per request
KEPT_BOUND_MB = 100  # after all requests


def _rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS


def float_tiff(width: int, height: int, value: float = 0.5) -> bytes:
    """A 32-bit float TIFF, deflate-compressed: tens of megapixels in a few hundred kB."""
    buffer = io.BytesIO()
    Image.new("F", (width, height), value).save(buffer, "TIFF", compression="tiff_deflate")
    return buffer.getvalue()


def big_jpeg(width: int, height: int, progressive: bool = False) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (180, 120, 100)).save(buffer, "JPEG", quality=75, progressive=progressive)
    return buffer.getvalue()


def rgb_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (180, 120, 100)).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def make_cases(folder: Path) -> dict[str, list[Path]]:
    """name -> the files of one request, written into `folder`."""
    from inference.preprocess import MAX_PIXELS, MAX_PIXELS_NON_JPEG

    def write(name: str, data: bytes, copies: int = 1) -> list[Path]:
        paths = [folder / f"{name}_{k}{Path(name).suffix}" for k in range(copies)]
        for path in paths:
            path.write_bytes(data)
        return paths

    side = int(MAX_PIXELS_NON_JPEG**0.5)  # the largest square a non-JPEG may be
    jpeg_w, jpeg_h = int((MAX_PIXELS * 4 / 3) ** 0.5), int((MAX_PIXELS * 3 / 4) ** 0.5)  # 4:3, just under the JPEG cap
    return {
        "8 float TIFFs, 59 Mpx each (refused)": write("f59.tif", float_tiff(7_700, 7_700), 8),
        f"8 float TIFFs 0..1, {side}x{side} (largest accepted)": write("f24.tif", float_tiff(side, side), 8),
        "1 PNG 7,500 x 7,500 (refused)": write("p56.png", rgb_png(7_500, 7_500)),
        f"8 RGB PNGs, {side}x{side}": write("p24.png", rgb_png(side, side), 8),
        f"8 JPEGs, {jpeg_w}x{jpeg_h} (draft decoding)": write("j60.jpg", big_jpeg(jpeg_w, jpeg_h), 8),
        f"8 progressive JPEGs, {jpeg_w}x{jpeg_h}": write("j60p.jpg", big_jpeg(jpeg_w, jpeg_h, progressive=True), 8),
    }


def measure(model: str | None) -> dict:
    from inference import load_classifier

    clf = load_classifier(model)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        requests = make_cases(Path(tmp))
        gc.collect()
        clf.predict([np.full((300, 400, 3), 128, np.uint8)] * 8, explain=True)  # warm-up: trace, fill TF's pools
        start_mb = _rss_mb()
        rows = []
        for name, paths in requests.items():
            gc.collect()
            before = _rss_mb()
            _reset_peak()
            began = time.perf_counter()
            results = clf.predict(paths, explain=True)
            seconds = time.perf_counter() - began
            peak = _rss_mb("VmHWM")
            outcome = sorted({getattr(r, "reason", "classified") for r in results})
            del results
            gc.collect()
            rows.append({"request": name, "peak_growth_mb": round(peak - before, 1), "seconds": round(seconds, 2),
                         "after_mb": round(_rss_mb(), 1), "outcome": outcome})
    gc.collect()
    return {"start_mb": round(start_mb, 1), "end_mb": round(_rss_mb(), 1), "kept_mb": round(_rss_mb() - start_mb, 1), "requests": rows}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model folder or Hub repo id (default: the bundled model)")
    p.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = p.parse_args(argv)
    result = measure(args.model)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"Worst-case memory per request (`python -m bench.memory{' --model ' + args.model if args.model else ''}`)\n")
    print("| request (one `Classifier.predict(..., explain=True)`) | outcome | peak RSS growth | time |")
    print("|---|---|---|---|")
    for row in result["requests"]:
        print(f"| {row['request']} | {', '.join(row['outcome'])} | {row['peak_growth_mb']:+.0f} MB | {row['seconds']:.1f} s |")
    print(f"\nRSS after warm-up {result['start_mb']:.0f} MB, after all requests {result['end_mb']:.0f} MB "
          f"(kept {result['kept_mb']:+.0f} MB).")
    worst = max(row["peak_growth_mb"] for row in result["requests"])
    return 0 if worst <= PEAK_GROWTH_BOUND_MB and result["kept_mb"] <= KEPT_BOUND_MB else 1


if __name__ == "__main__":
    sys.exit(main())
