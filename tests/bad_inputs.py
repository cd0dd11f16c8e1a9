"""The bad-input corpus: files a user can throw at the app or the batch CLI, each with the outcome it must get.

`make_corpus(folder, data_dir)` writes every item into `folder` at run time (the few real dermoscopy images
it needs are copied from the HAM10000 folder then, never stored in the repo) and returns the list of items.
Run `PYTHONPATH=. python tests/bad_inputs.py OUT_DIR [DATA_DIR]` to look at the files (not `-m tests.bad_inputs`:
tf-keras-vis installs a top-level package named `tests` that shadows this folder).
"""

from __future__ import annotations

import io
import shutil
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from inference.preprocess import MAX_BYTES

GOOD_IMAGES = ("ISIC_0024306", "ISIC_0024307", "ISIC_0024308")
EXIF_ORIENTATION = 0x0112

# For each reason, words of which the refusal message must contain one, so the user learns what is wrong.
REASON_WORDS = {
    "empty": ("empty",),
    "too_large": ("limit", "too many pixels"),
    "not_an_image": ("not an image",),
    "truncated": ("damaged or incomplete",),
    "too_small": ("at least",),
    "bad_aspect_ratio": ("long and narrow",),
}
LONG_NAME = "n" * 246 + ".jpg"  # 250 characters: the longest a file system allows is 255


@dataclass
class Item:
    name: str  # file name inside the corpus folder
    path: Path
    expect: str  # "accepted" or "refused"
    reason: str | None = None  # ImageRejected.reason expected when refused
    upright: Path | None = None  # for the EXIF item: the same photo already turned upright (lossless PNG)
    note: str = ""

    def explains(self, message: str) -> bool:
        """Whether a refusal message names this item's problem in words."""
        return any(word in message.lower() for word in REASON_WORDS[self.reason])


def png_bytes(width: int, height: int, bit_depth: int, colour_type: int, rows: Callable[[], Iterator[bytes]]) -> bytes:
    """A PNG written by hand, so 16-bit colour and huge mostly-constant images cost little to make."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(b"\x00" + row) for row in rows()) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def constant_png(side: int) -> bytes:
    """A side x side 1-bit black image: a decompression bomb of a few tens of kB."""
    row = bytes((side + 7) // 8)
    return png_bytes(side, side, 1, 0, lambda: (row for _ in range(side)))


def sixteen_bit_png(pixels: np.ndarray) -> bytes:
    """16-bit PNG (grey for H x W, RGB for H x W x 3) from uint16 pixels."""
    colour_type = 2 if pixels.ndim == 3 else 0
    data = pixels.astype(">u2")
    return png_bytes(pixels.shape[1], pixels.shape[0], 16, colour_type, lambda: (r.tobytes() for r in data))


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def exif_rotated_jpeg(upright: Image.Image) -> bytes:
    """The photo stored sideways with EXIF orientation 6 ("turn 90 degrees clockwise to display")."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    return encode(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95, exif=exif.tobytes())


def float_tiff(image: Image.Image) -> bytes:
    """A 32-bit float ("F") TIFF, deflate-compressed."""
    return encode(image, "TIFF", compression="tiff_deflate")


def with_app1(jpeg: bytes, payload: bytes) -> bytes:
    """The JPEG with an extra APP1 segment (where EXIF lives) right after its start marker."""
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def animated_gif(photo: Image.Image) -> bytes:
    frames = [photo.rotate(angle) for angle in (0, 10, 20)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def good_image_paths(data_dir: str | Path) -> list[Path]:
    """The real dermoscopy photos the corpus starts from (found anywhere below data_dir)."""
    paths = []
    for image_id in GOOD_IMAGES:
        found = next(Path(data_dir).rglob(f"{image_id}.jpg"), None)
        if found is None:
            raise FileNotFoundError(f"{image_id}.jpg not found below {data_dir}")
        paths.append(found)
    return paths


def make_corpus(folder: str | Path, data_dir: str | Path) -> list[Item]:
    """Write the corpus into `folder`; return the items in a fixed order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sources = good_image_paths(data_dir)
    photo = Image.open(sources[0]).convert("RGB")
    jpeg, png = sources[0].read_bytes(), encode(photo, "PNG")
    rng = np.random.default_rng(0)
    items: list[Item] = []

    def add(name: str, data: bytes, expect: str, reason: str | None = None, note: str = "") -> Item:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        items.append(Item(name, path, expect, reason, note=note))
        return items[-1]

    # Real dermoscopy photos: must be classified.
    for source in sources:
        shutil.copyfile(source, folder / f"good_{source.name}")
        items.append(Item(f"good_{source.name}", folder / f"good_{source.name}", "accepted", note="HAM10000 photo"))

    # Not images, or not usable ones.
    add("zero_bytes.jpg", b"", "refused", "empty")
    add("truncated.jpg", jpeg[: len(jpeg) // 2], "refused", "truncated", "first half of a JPEG")
    add("truncated.png", png[: len(png) // 2], "refused", "truncated", "first half of a PNG")
    add("header_only.png", png[:40], "refused", "not_an_image", "PNG signature and part of the header")
    corrupt = bytearray(png)
    corrupt[len(png) // 2 : len(png) // 2 + 64] = bytes(64)
    add("corrupt_data.png", bytes(corrupt), "refused", "truncated", "64 zeroed bytes in the middle of the image data")
    add("text.jpg", b"These are my notes, not a photo.\n" * 20, "refused", "not_an_image", "text file named .jpg")
    add("page.html", b"<!doctype html><html><body><img src='mole.jpg'></body></html>\n", "refused", "not_an_image")
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    add("document.pdf", pdf + b"trailer << /Root 1 0 R >>\n%%EOF\n", "refused", "not_an_image")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="150"><circle cx="100" cy="75" r="40" fill="brown"/></svg>'
    add("drawing.svg", svg, "refused", "not_an_image", "vector image: not decoded on purpose")
    add("one_pixel.png", encode(Image.new("RGB", (1, 1), (120, 80, 60)), "PNG"), "refused", "too_small")
    add("ten_pixels.jpg", encode(photo.resize((10, 10)), "JPEG"), "refused", "too_small")
    add("bomb_20000x20000.png", constant_png(20_000), "refused", "too_large", "400 Mpx declared, ~50 kB on disk")
    add("big_9000x9000.png", constant_png(9_000), "refused", "too_large", "81 Mpx: above the 60 Mpx limit, below Pillow's own")
    oversized = add("oversized.jpg", jpeg, "refused", "too_large", f"a JPEG padded (sparse) past {MAX_BYTES // 2**20} MB")
    with open(oversized.path, "r+b") as handle:
        handle.truncate(MAX_BYTES + 2**20)

    # Unusual but valid encodings of a real photo: must be classified.
    add("animated.gif", animated_gif(photo), "accepted", note="3 frames; the first is classified")
    add("grey16.png", sixteen_bit_png(np.asarray(photo.convert("L"), dtype=np.uint16) * 257), "accepted", note="16-bit grey")
    add("rgb16.png", sixteen_bit_png(np.asarray(photo, dtype=np.uint16) * 257), "accepted", note="16-bit RGB")
    add("cmyk.jpg", encode(photo.convert("CMYK"), "JPEG", quality=95), "accepted")
    add("palette.png", encode(photo.quantize(256), "PNG"), "accepted")
    palette_alpha = photo.quantize(255)
    palette_alpha.info["transparency"] = 0
    add("palette_transparent.png", encode(palette_alpha, "PNG", transparency=0), "accepted")
    rgba = photo.copy()
    rgba.putalpha(Image.fromarray(rng.integers(128, 256, (photo.height, photo.width), dtype=np.uint8)))
    add("alpha.png", encode(rgba, "PNG"), "accepted")
    add("grey.jpg", encode(photo.convert("L"), "JPEG", quality=95), "accepted")
    add("grey_alpha.png", encode(photo.convert("LA"), "PNG"), "accepted")
    add("photo.webp", encode(photo, "WEBP", quality=90), "accepted")
    add("photo.bmp", encode(photo, "BMP"), "accepted")
    add("jpeg_named.png", jpeg, "accepted", note="a JPEG with a .png name: the content decides")
    add("UPPER_CASE.JPG", jpeg, "accepted")
    phone = photo.resize((4000, 3000), Image.Resampling.BICUBIC)
    add("phone_4000x3000.jpg", encode(phone, "JPEG", quality=85), "accepted", note="12 Mpx, the size of a phone photo")
    add("large_7500x7500.png", constant_png(7_500), "refused", "too_large", "56 Mpx in ~7 kB: above the non-JPEG limit")
    add("float_59mpx.tif", float_tiff(Image.new("F", (7_700, 7_700), 0.5)), "refused", "too_large",
        "59 Mpx of 32-bit floats in ~0.4 MB: above the non-JPEG limit")
    add("strip_40x200000.png", png_bytes(200_000, 40, 1, 0, lambda: (bytes(25_000) for _ in range(40))), "refused",
        "bad_aspect_ratio", "8 Mpx, 5,000 times wider than high")
    grey = np.asarray(photo, dtype=np.float32) / 255.0
    add("float_0to1.tif", float_tiff(Image.fromarray(grey.mean(axis=2))), "accepted", note="32-bit float grey, values 0..1")
    add("exif_zeros.jpg", with_app1(jpeg, b"Exif\0\0" + bytes(64)), "accepted", note="APP1 'Exif' block of 64 zero bytes")
    add("=1+1.jpg", jpeg, "accepted", note="a spreadsheet formula as a name")
    add("=HYPERLINK(\"http:,,example.com\",\"x\").jpg", jpeg, "accepted", note="a formula with a link as a name")
    add(LONG_NAME, jpeg, "accepted", note="a 250-character name")
    add("one/same_name.jpg", jpeg, "accepted", note="the same name in two folders")
    add("two/same_name.jpg", jpeg, "accepted", note="the same name in two folders")

    exif = add("exif_rotated.jpg", exif_rotated_jpeg(photo), "accepted", note="stored sideways, EXIF orientation 6")
    exif.upright = folder / "reference" / "exif_rotated_upright.png"
    exif.upright.parent.mkdir(exist_ok=True)
    stored = Image.open(exif.path)
    stored.load()
    stored.transpose(Image.Transpose.ROTATE_270).convert("RGB").save(exif.upright)  # the same pixels, turned by hand
    return items


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: PYTHONPATH=. python tests/bad_inputs.py OUT_DIR [DATA_DIR]", file=sys.stderr)
        return 2
    data_dir = argv[1] if len(argv) > 1 else Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "ham10000"
    for item in make_corpus(argv[0], data_dir):
        outcome = "accepted" if item.expect == "accepted" else f"refused ({item.reason})"
        print(f"{item.name[:40]:40} {item.path.stat().st_size:>10} B  {outcome:24} {item.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
