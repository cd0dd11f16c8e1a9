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
    "too_complex": ("limit",),
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


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(width: int, height: int, bit_depth: int, colour_type: int, rows: Callable[[], Iterator[bytes]]) -> bytes:
    """A PNG written by hand, so 16-bit colour and huge mostly-constant images cost little to make."""
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(b"\x00" + row) for row in rows()) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def png_with_chunks(png: bytes, chunks: int) -> bytes:
    """The PNG with `chunks` empty ancillary chunks before its image data: Pillow reads each in a Python loop
    (2 million in 24 MB took 10.5 s)."""
    return png[:33] + png_chunk(b"zzZz", b"") * chunks + png[33:]


def exif_bomb(tags: int, blob: int) -> bytes:
    """A TIFF structure (an EXIF block) whose `tags` tags all point at one `blob`-byte value: it holds `blob` bytes and
    claims `tags` times as many (issue 24: 2,000 tags on 2 MB made Pillow copy 3.8 GB)."""
    values_at = 8 + 2 + 12 * tags + 4
    entries = b"".join(struct.pack("<HHLL", 0xC000 + i, 7, blob, values_at) for i in range(tags))  # private tag numbers
    return b"II*\0" + struct.pack("<LH", 8, tags) + entries + bytes(4) + bytes(blob)


def tiff_with_tags(photo: Image.Image, tags: int, blob: int) -> bytes:
    """An uncompressed RGB TIFF of `photo` whose first directory also has `tags` tags pointing at one `blob`-byte value
    (Pillow reads a TIFF's tags when it opens it)."""
    width, height = photo.size
    pixels = photo.convert("RGB").tobytes()
    count = 9 + tags
    bits_at = 8 + 2 + 12 * count + 4
    blob_at = bits_at + 6
    pixels_at = blob_at + blob
    long, short = 4, 3

    def entry(tag: int, kind: int, number: int, value: int) -> bytes:
        inline = struct.pack("<L", value) if kind == long or number > 1 else struct.pack("<HH", value, 0)
        return struct.pack("<HHL", tag, kind, number) + inline

    entries = [entry(256, long, 1, width), entry(257, long, 1, height), entry(258, short, 3, bits_at), entry(259, short, 1, 1),
               entry(262, short, 1, 2), entry(273, long, 1, pixels_at), entry(277, short, 1, 3), entry(278, long, 1, height),
               entry(279, long, 1, len(pixels))]
    entries += [entry(0xC000 + i, 7, blob, blob_at) for i in range(tags)]
    header = b"II*\0" + struct.pack("<LH", 8, count)
    return header + b"".join(entries) + bytes(4) + struct.pack("<HHH", 8, 8, 8) + bytes(blob) + pixels


def with_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """The JPEG with an extra marker segment right after its start marker."""
    return jpeg[:2] + bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def scan_bomb(photo: Image.Image, copies: int) -> bytes:
    """A progressive JPEG of `photo` with its last scan repeated `copies` times: libjpeg goes over the whole image once
    per scan (issue 24: 3,000 scans of 83 bytes on a flat 56 Mpx image held the model for 28 s)."""
    jpeg = encode(photo, "JPEG", progressive=True, quality=90)
    last, end = jpeg.rindex(b"\xff\xda"), jpeg.rindex(b"\xff\xd9")
    return jpeg[:end] + jpeg[last:end] * copies + jpeg[end:]


def with_declared_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with another size written in its frame header (the pixels that follow do not fill it)."""
    at = max(jpeg.find(b"\xff\xc0"), jpeg.find(b"\xff\xc2"))
    return jpeg[: at + 5] + struct.pack(">HH", height, width) + jpeg[at + 9 :]


def ico_holding(png: bytes) -> bytes:
    """A Windows icon whose one image is the given PNG (Pillow would decode a 9,400 px one in full)."""
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 22) + png


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

    # Issue 24: small files that cost gigabytes or seconds, and deep images read wrongly.
    grey_photo = np.asarray(photo.convert("L"), dtype=np.float32) / 255.0
    stray = grey_photo.copy()
    stray[0, 0] = 1.5
    add("float_stray_pixel.tif", float_tiff(Image.fromarray(stray)), "accepted", note="float 0..1 with one pixel at 1.5")
    add("twelve_bit_grey.png", sixteen_bit_png(np.asarray(photo.convert("L"), dtype=np.uint16) * 16), "accepted",
        note="12-bit grey values (0..4,080) in a 16-bit PNG")
    add("twelve_bit_rgb.png", sixteen_bit_png(np.asarray(photo, dtype=np.uint16) * 16), "accepted",
        note="12-bit colour values in a 16-bit PNG")
    add("exif_bomb.png", encode(photo, "PNG", exif=exif_bomb(2_000, 2**20)), "refused", "too_complex",
        "2,000 EXIF tags on one 1 MB value: 2 GB of copies")
    add("exif_bomb.webp", encode(photo, "WEBP", exif=exif_bomb(900, 900_000)), "refused", "too_complex",
        "900 EXIF tags on one 0.9 MB value: 0.8 GB of copies")
    add("exif_bomb.jpg", with_segment(jpeg, 0xE1, b"Exif\0\0" + exif_bomb(2_700, 32_000)), "refused", "too_complex",
        "2,700 EXIF tags on one 32 kB value (read by Pillow on open)")
    add("mpf_bomb.jpg", with_segment(jpeg, 0xE2, b"MPF\0" + exif_bomb(900, 54_000)), "refused", "too_complex",
        "an MPF index of 900 tags on one 54 kB value (read by Pillow on open)")
    add("tag_bomb.tif", tiff_with_tags(photo, 900, 2**20), "refused", "too_complex", "900 TIFF tags on one 1 MB value")
    flat = Image.new("RGB", (1_600, 1_200), tuple(int(c) for c in np.asarray(photo).mean(axis=(0, 1))))
    add("scan_bomb.jpg", scan_bomb(flat, 3_000), "refused", "too_complex", "a progressive JPEG of 3,000 scans")
    add("progressive_444_56mpx.jpg", with_declared_size(encode(photo, "JPEG", progressive=True, subsampling=0), 8_660, 6_500),
        "refused", "too_large", "56 Mpx declared in a progressive 4:4:4 JPEG: 340 MB of coefficients")
    add("icon_9400px.ico", ico_holding(constant_png(9_400)), "refused", "not_an_image", "an icon holding a 9,400 px PNG")
    add("lossless_4800px.webp", encode(Image.new("RGB", (4_800, 4_800), (180, 120, 100)), "WEBP", lossless=True), "refused",
        "too_large", "23 Mpx lossless WebP in ~1 kB: libwebp needs ~15 bytes a pixel")
    add("many_chunks.png", png_with_chunks(png, 200_000), "refused", "too_complex", "200,000 empty chunks")
    add("many_segments.jpg", jpeg[:2] + b"\xff\xfe\x00\x02" * 10_000 + jpeg[2:], "refused", "too_complex",
        "10,000 empty comment segments")

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
