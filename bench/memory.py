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

# Per request: one image is decoded at a time within inference.preprocess.DECODE_BUDGET (144 MiB, 151 MB), plus the
# batch's reduced photos, model inputs and overlays. The worst measured is +167 MB (8 palette PNGs at their limit).
PEAK_GROWTH_BOUND_MB = 200
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


def flat(mode: str, width: int, height: int) -> Image.Image:
    return Image.new(mode, (width, height), {"RGB": (180, 120, 100), "P": 3}[mode])


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def hostile_files() -> dict[str, tuple[bytes, int]]:
    """Issue 24's files at their real size: name -> (file, copies in the request)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from bad_inputs import constant_png, exif_bomb, ico_holding, png_with_chunks, scan_bomb, sixteen_bit_png, tiff_with_tags

    from inference.preprocess import DECODE_BUDGET, SIXTEEN_BIT_COLOUR_BYTES_PER_PIXEL, WEBP_BYTES_PER_PIXEL

    photo = flat("RGB", 200, 150)
    webp_side = int((DECODE_BUDGET / WEBP_BYTES_PER_PIXEL) ** 0.5)
    palette_side = int((DECODE_BUDGET / 10) ** 0.5)
    deep_side = int((DECODE_BUDGET / SIXTEEN_BIT_COLOUR_BYTES_PER_PIXEL) ** 0.5)
    deep = np.full((deep_side, deep_side, 3), 2_000, np.uint16)  # 12-bit values: the low bytes are decoded too
    webp = encode(flat("RGB", webp_side, webp_side), "WEBP", lossless=True)
    return {
        "1 PNG, EXIF of 2,000 tags on one 2 MB value (refused)": (encode(photo, "PNG", exif=exif_bomb(2_000, 2 * 2**20)), 1),
        "1 TIFF, 1,000 tags on one 2 MB value (refused)": (tiff_with_tags(photo, 1_000, 2 * 2**20), 1),
        "1 WebP, EXIF of 500 tags on one 1 MB value (refused)": (encode(photo, "WEBP", exif=exif_bomb(500, 2**20)), 1),
        "1 progressive JPEG, 56 Mpx, 3,000 scans (refused)": (scan_bomb(flat("RGB", 8_660, 6_500), 3_000), 1),
        "1 progressive 4:4:4 JPEG, 56 Mpx (refused)": (encode(flat("RGB", 8_660, 6_500), "JPEG", progressive=True, subsampling=0), 1),
        "1 lossless WebP, 4,800 x 4,800 (refused)": (encode(flat("RGB", 4_800, 4_800), "WEBP", lossless=True), 1),
        "1 .ico holding a 9,400 x 9,400 PNG (refused)": (ico_holding(constant_png(9_400)), 1),
        "1 PNG of 2,000,000 empty chunks, 24 MB (refused)": (png_with_chunks(encode(photo, "PNG"), 2_000_000), 1),
        f"8 lossless WebPs, {webp_side}x{webp_side} (the WebP limit)": (webp, 8),
        f"8 palette PNGs, {palette_side}x{palette_side} (their limit)": (encode(flat("P", palette_side, palette_side), "PNG"), 8),
        f"8 16-bit colour PNGs, {deep_side}x{deep_side} (their limit)": (sixteen_bit_png(deep), 8),
    }


def make_cases(folder: Path) -> dict[str, list[Path]]:
    """name -> the files of one request, written into `folder`."""
    from inference.preprocess import COEFFICIENT_BYTES, DECODE_BUDGET, MAX_PIXELS, MAX_PIXELS_NON_JPEG

    def write(name: str, data: bytes, copies: int = 1) -> list[Path]:
        paths = [folder / f"{name}_{k}{Path(name).suffix}" for k in range(copies)]
        for path in paths:
            path.write_bytes(data)
        return paths

    side = int(MAX_PIXELS_NON_JPEG**0.5)  # the largest square a non-JPEG may be
    jpeg_w, jpeg_h = int((MAX_PIXELS * 4 / 3) ** 0.5), int((MAX_PIXELS * 3 / 4) ** 0.5)  # 4:3, just under the JPEG cap
    progressive = int((DECODE_BUDGET / COEFFICIENT_BYTES / 1.5 * 4 / 3) ** 0.5) // 16 * 16  # 4:2:0, 4:3, at its limit
    cases = {
        "8 float TIFFs, 59 Mpx each (refused)": write("f59.tif", float_tiff(7_700, 7_700), 8),
        f"8 float TIFFs 0..1, {side}x{side} (largest accepted)": write("f24.tif", float_tiff(side, side), 8),
        "1 PNG 7,500 x 7,500 (refused)": write("p56.png", rgb_png(7_500, 7_500)),
        f"8 RGB PNGs, {side}x{side}": write("p24.png", rgb_png(side, side), 8),
        f"8 JPEGs, {jpeg_w}x{jpeg_h} (draft decoding)": write("j60.jpg", big_jpeg(jpeg_w, jpeg_h), 8),
        f"8 progressive JPEGs, {progressive}x{progressive * 3 // 4} (their limit)":
            write("jp.jpg", big_jpeg(progressive, progressive * 3 // 4, progressive=True), 8),
    }
    for k, (name, (data, copies)) in enumerate(hostile_files().items()):
        cases[name] = write(f"h{k}", data, copies)
    return cases


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
