"""The one preprocessing path, shared by training and serving.

decode -> EXIF orientation -> RGB -> (larger than the training images: made like them, see
`match_source`) -> centre square crop -> resize to the input size -> optional colour constancy ->
the backbone's normalisation.
"""

from __future__ import annotations

import ctypes
import functools
import io
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, JpegImagePlugin, PngImagePlugin

from inference import containers
from inference.config import Preprocessing

MIN_SIDE = 32  # px; smaller images carry no usable dermoscopic detail
MAX_PIXELS = 60_000_000  # JPEG: refused above this before decoding; below it, big ones are decoded reduced (draft mode)
# Other formats are decoded at full size: at most this many pixels, fewer when their decoding costs more than
# DECODE_BUDGET (see BYTES_PER_PIXEL). 24 Mpx is a 6,000 x 4,000 camera frame.
MAX_PIXELS_NON_JPEG = 24_000_000
MAX_BYTES = 25 * 1024 * 1024  # a 25 MB file is far beyond any dermoscopy photo
MAX_ASPECT = 6  # longer side / shorter side; a strip has no centre square worth classifying (a 21:9 phone photo is 2.3)
# Decoded images are brought down to this longer side at once: the model needs ~150 px of detail (at MAX_ASPECT the
# centre square keeps 170 px) and the photo and its Grad-CAM overlay are only shown; a batch holds all its photos and
# overlays, and at 2,048 px eight of them took ~500 MB.
WORK_SIDE = 1024
# The formats dermoscopy photos come in (and the batch CLI looks for); Pillow's other decoders (ICO, PSD, ...) would
# only be ways in. A JPEG with several images (MPO) opens as a JPEG; only its first image is decoded.
FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP", "GIF")

# What one file may cost, checked on what it declares before it is decoded (`python -m bench.memory` measures it).
DECODE_BUDGET = 144 * 2**20  # bytes at the peak of decoding one image and bringing it down to WORK_SIDE
# Peak bytes per pixel of that, measured with Pillow 12.3: Pillow stores 1, 2 or 4 bytes a pixel; palette, bilevel
# and alpha images need a second full-size copy (RGBA, premultiplied alpha) to be resized smoothly; libwebp decodes
# through buffers of its own; a 16-bit colour PNG is decoded twice (high bytes, then low bytes) and combined.
BYTES_PER_PIXEL = {"L": 1.5, "I;16": 3.0, "P": 10.0, "1": 10.0, "RGBA": 10.0, "LA": 10.0, "PA": 10.0}
OTHER_MODES_BYTES_PER_PIXEL = 6.0  # RGB, CMYK, 32-bit integer and float
WEBP_BYTES_PER_PIXEL = 18.0
SIXTEEN_BIT_COLOUR_BYTES_PER_PIXEL = 36.0
# A JPEG of more than one scan (progressive, or one scan per colour) is decoded at full size whatever the draft
# scale: libjpeg keeps every DCT coefficient of the image, 2 bytes per sample (3 samples a pixel in 4:4:4, 1.5 in 4:2:0).
COEFFICIENT_BYTES = 2.3
MAX_SCANS = 100  # libjpeg's progressive scripts use about 10; each scan is a pass over the whole image
MAX_SEGMENTS = 1_000  # JPEG marker segments before the first scan (Pillow parses each in Python)
MAX_CHUNKS = 20_000  # PNG chunks (libpng writes 8 kB data chunks: ~3,200 in 25 MB; Pillow reads each in Python)
MAX_TAGS = 1_000  # TIFF / EXIF tags in the first directory and its EXIF, GPS and Interoperability directories
MAX_EXIF_BYTES = 2**20  # a camera's EXIF fits in one 64 kB JPEG segment
# Backstop for the Python loops of Pillow's parsers (chunk lists, GIF blocks): the file is abandoned at its next
# read once this is over. The checks above keep every file they let through well inside it.
DECODE_SECONDS = 3.0
FULL_SCALES = (1.0, 255.0, 1023.0, 4095.0, 16383.0, 65535.0)  # float 0..1; 8, 10, 12, 14 and 16 bits
ROBUST_PERCENTILES = (0.1, 99.9)  # a few stray pixels do not decide the brightness of the rest
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PngImagePlugin.MAX_TEXT_MEMORY = 4 * 2**20  # text chunks of one PNG, decompressed (Pillow's default: 64 MB)

ImageInput = str | Path | bytes | Image.Image | np.ndarray


class ImageRejected(ValueError):
    """An input that cannot be used as an image; `reason` is a stable code, the message says it in words."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class _Deadline(io.BytesIO):
    """The file's bytes as Pillow reads them, with a deadline checked at every read (see DECODE_SECONDS)."""

    def __init__(self, data: bytes, seconds: float):
        super().__init__(data)
        self.deadline = time.monotonic() + seconds

    def read(self, size: int | None = -1) -> bytes:
        if time.monotonic() > self.deadline:
            raise ImageRejected("too_complex", f"The image took too long to decode (the limit is {DECODE_SECONDS:g} s).")
        return super().read(size)


def _read(source: str | Path | bytes | bytearray) -> bytes:
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ImageRejected("not_found", f"No such file: {path}")
        size = path.stat().st_size
    else:
        size = len(source)
    if size == 0:
        raise ImageRejected("empty", "The file is empty (0 bytes).")
    if size > MAX_BYTES:
        raise ImageRejected("too_large", f"The file is {size / 2**20:.0f} MB; the limit is {MAX_BYTES // 2**20} MB.")
    return Path(source).read_bytes() if isinstance(source, (str, Path)) else bytes(source)


def _open(data: bytes) -> Image.Image:
    scans = _check_container(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(_Deadline(data, DECODE_SECONDS), formats=FORMATS)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected("too_large", "The image has too many pixels to be processed safely.") from None
    except Exception:
        raise ImageRejected("not_an_image", "The file is not an image that can be read (JPEG, PNG, ...).") from None
    if scans > 1 and isinstance(image, JpegImagePlugin.JpegImageFile):
        _check_coefficients(image)
    return image


def _check_container(data: bytes) -> int:
    """Refuse a file whose structure would cost more than its pixels, before Pillow parses it (see containers);
    return the number of scans of a JPEG (0 for other formats)."""
    if data.startswith(b"\xff\xd8\xff"):
        jpeg = containers.jpeg_structure(data, MAX_SEGMENTS)
        _check_count(jpeg.segments, MAX_SEGMENTS, "marker segments before its image data")
        _check_count(jpeg.scans, MAX_SCANS, "scans (a progressive JPEG decodes the whole image once per scan)")
        _check_tags(jpeg.exif, "EXIF")
        _check_tags(jpeg.mpf, "MPF")
        return jpeg.scans
    if data.startswith(PNG_SIGNATURE):
        _check_count(containers.png_chunks(data, MAX_CHUNKS), MAX_CHUNKS, "chunks")
    elif data.startswith(tuple(containers.PREFIXES)):
        _check_tags(data, "TIFF")
    return 0


def _check_count(count: int, limit: int, what: str) -> None:
    if count > limit:
        raise ImageRejected("too_complex", f"The image file has more than {limit:,} {what}; the limit is {limit:,}.")


def _check_tags(block: bytes, what: str) -> None:
    """Refuse TIFF-structured metadata whose tags claim more bytes than it holds: Pillow would copy the same bytes once
    per tag (2,000 tags on one 2 MB blob: 4 GB). An unreadable block is left alone: Pillow cannot read it either."""
    if not block:
        return
    try:
        tags = containers.tiff_tags(block, MAX_TAGS)
    except (ValueError, IndexError):
        return
    _check_count(tags.entries, MAX_TAGS, f"{what} metadata tags")
    if tags.claimed > len(block):
        raise ImageRejected(
            "too_complex",
            f"The image's {what} metadata points {tags.claimed / 2**20:,.0f} MB of values at {len(block) / 2**20:.1f} MB of data; "
            "the limit is what the file holds.",
        )


def _check_coefficients(image: JpegImagePlugin.JpegImageFile) -> None:
    width, height = image.size
    h_max, v_max = max(c[1] for c in image.layer), max(c[2] for c in image.layer)
    samples = sum(-(-width * h // h_max) * -(-height * v // v_max) for _, h, v, _ in image.layer)
    limit = DECODE_BUDGET / COEFFICIENT_BYTES / (samples / (width * height))
    if samples * COEFFICIENT_BYTES > DECODE_BUDGET:
        raise ImageRejected(
            "too_large",
            f"The image is {width}x{height} pixels in a progressive (multi-scan) JPEG, which is decoded at full size; "
            f"the limit for it is {limit / 10**6:.0f} megapixels.",
        )


def _check_size(width: int, height: int, limit: int) -> None:
    """Refuse by the declared size alone, before any pixel is decoded."""
    if width * height > limit:
        raise ImageRejected("too_large", f"The image is {width}x{height} pixels; the limit is {limit // 10**6} megapixels.")
    if min(width, height) < MIN_SIDE:
        raise ImageRejected("too_small", f"The image is {width}x{height} pixels; at least {MIN_SIDE}x{MIN_SIDE} is needed.")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageRejected(
            "bad_aspect_ratio",
            f"The image is {width}x{height} pixels, too long and narrow: the longer side may be at most "
            f"{MAX_ASPECT} times the shorter.",
        )


def _pixel_limit(image: Image.Image) -> int:
    """The most pixels `image` may have: decoded reduced (a single-scan JPEG) or within DECODE_BUDGET."""
    if isinstance(image, JpegImagePlugin.JpegImageFile):
        return MAX_PIXELS
    if image.format == "WEBP":
        cost = WEBP_BYTES_PER_PIXEL
    elif _sixteen_bit_colour(image):
        cost = SIXTEEN_BIT_COLOUR_BYTES_PER_PIXEL
    else:
        cost = BYTES_PER_PIXEL.get("I;16" if image.mode.startswith("I;16") else image.mode, OTHER_MODES_BYTES_PER_PIXEL)
    return min(MAX_PIXELS_NON_JPEG, int(DECODE_BUDGET / cost))


def _sixteen_bit_colour(image: Image.Image) -> bool:
    """A PNG of 16 bits per colour channel, opened here: Pillow keeps only the high byte of each (see _with_low_bytes)."""
    tile = getattr(image, "tile", None)
    return image.format == "PNG" and isinstance(getattr(image, "fp", None), _Deadline) and bool(tile) \
        and tile[0].args in ("RGB;16B", "RGBA;16B")


def _with_low_bytes(image: Image.Image, data: bytes) -> Image.Image:
    """The 16-bit colour PNG `image` (loaded: high bytes; `data`: its file) with its low bytes too, scaled like any deep image.

    Pillow has no 48-bit mode: it keeps the high byte, so 12-bit data stored in 16 bits came out at 1/16 brightness
    with 16 levels. The same stream decoded again with Pillow's little-endian raw mode gives the low bytes."""
    low = Image.open(io.BytesIO(data), formats=["PNG"])
    low.tile = [tile._replace(args=tile.args.replace(";16B", ";16L")) for tile in low.tile]
    values = np.asarray(image).astype(np.uint16)
    values <<= 8
    values |= np.asarray(low)
    del low
    colour = Image.fromarray(_to_uint8(values[..., :3]))
    if image.mode == "RGBA":
        colour.putalpha(Image.fromarray((values[..., 3] >> 8).astype(np.uint8)))
    return colour


def _work_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) scaled down so the longer side is at most WORK_SIDE."""
    scale = min(1.0, WORK_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """8-bit pixels from any numeric array: by the standard full scale (float 0..1, 8, 10, 12, 14 or 16 bits) that holds
    its robust range (ROBUST_PERCENTILES, so one stray bright pixel does not darken the rest), else by that range."""
    if values.dtype == np.uint8:
        return values
    if values.dtype.kind not in "buif":
        raise ImageRejected("not_an_image", f"An array of {values.dtype} values is not an image.")
    values = values.astype(np.float32)  # one working copy, changed in place below
    if not np.isfinite(values).all():
        raise ImageRejected("not_an_image", "The image holds NaN or infinite values.")
    step = max(1, int((values.shape[0] * values.shape[1] / 1e6) ** 0.5)) if values.ndim >= 2 else 1
    low, high = (float(v) for v in np.percentile(values[::step, ::step] if values.ndim >= 2 else values, ROBUST_PERCENTILES))
    full = next((scale for scale in FULL_SCALES if high <= scale), None) if low >= 0 else None
    if full is not None:
        low, scale = 0.0, 255.0 / full
    else:
        scale = 255.0 / max(high - low, 1e-12)  # anything else: its own robust range
    values -= low
    values *= scale
    values += 0.5  # round, do not truncate
    return np.clip(values, 0, 255, out=values).astype(np.uint8)


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode (palette, alpha, grayscale, 16/32-bit, float, CMYK) to 8-bit RGB."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        image = Image.fromarray(_to_uint8(np.asarray(image)))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def _from_array(array: np.ndarray) -> Image.Image:
    if array.dtype.kind not in "buif":  # strings (paths?), objects: not pixels
        raise ImageRejected("not_an_image", f"An array of {array.dtype} values is not an image (numbers expected).")
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ImageRejected("not_an_image", f"An array of shape {array.shape} is not an image (H x W x 3 expected).")
    _check_size(array.shape[1], array.shape[0], MAX_PIXELS_NON_JPEG)
    return Image.fromarray(_to_uint8(array))


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation. EXIF that claims more than it holds is refused before Pillow expands it (see
    _check_tags); an unreadable EXIF block is dropped, not held against the pixels."""
    image.info.pop("Raw profile type exif", None)  # hex EXIF in a PNG text chunk (ImageMagick's old way): not read
    exif = image.info.get("exif")
    if exif is not None:
        if len(exif) > MAX_EXIF_BYTES:
            raise ImageRejected("too_complex", f"The image's EXIF metadata is {len(exif) // 1024:,} kB; the limit is "
                                               f"{MAX_EXIF_BYTES // 1024:,} kB.")
        _check_tags(exif, "EXIF")
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        image.info.pop("exif", None)
        return image


def load_rgb(source: ImageInput) -> Image.Image:
    """Decode and check any supported input, once; return an upright 8-bit RGB PIL image without metadata, or raise
    ImageRejected.

    The image is at most WORK_SIDE on its longer side: a big JPEG is decoded reduced (draft mode), anything else
    is scaled down right after decoding, so the full-size pixels are freed before the next image.
    """
    if isinstance(source, np.ndarray):
        image = _from_array(source)
    elif isinstance(source, Image.Image):
        image = source
    elif isinstance(source, (str, Path, bytes, bytearray)):
        image = _open(_read(source))
    else:
        raise ImageRejected("not_an_image", f"Unsupported input type: {type(source).__name__}.")
    jpeg = isinstance(image, JpegImagePlugin.JpegImageFile)
    _check_size(*image.size, _pixel_limit(image))
    try:
        if jpeg and max(image.size) > WORK_SIDE:
            image.draft(image.mode, _work_size(*image.size))  # decode at 1/2, 1/4 or 1/8 scale, still >= the work size
        deep = image.fp.getvalue() if _sixteen_bit_colour(image) else None  # Pillow lets go of the file once loaded
        image.load()
        if deep:
            image = _with_low_bytes(image, deep)
        if max(image.size) > WORK_SIDE:
            if image.mode in ("1", "P"):  # Pillow resizes these nearest-neighbour only
                image = image.convert("RGBA")
            image = image.resize(_work_size(*image.size), Image.Resampling.BICUBIC, reducing_gap=2.0)
        photo = _to_rgb(_upright(image))
    except ImageRejected:
        raise
    except Exception:
        raise ImageRejected("truncated", "The image file is damaged or incomplete and could not be decoded.") from None
    photo.info.clear()  # EXIF (GPS included), XMP, ICC, text: nothing of the file travels on with the pixels
    return photo


def release_memory() -> None:
    """Hand freed memory back to the OS: glibc keeps freed image buffers in its heap, so RSS would only ever grow."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:  # not glibc (macOS, musl): nothing to trim
        return None


def square_box(width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the centred square."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def center_square(image: Image.Image) -> Image.Image:
    """Same field of view for a full 4:3 frame and a square crop of it: keep the centred square."""
    return image.crop(square_box(*image.size))


SHADES_OF_GRAY_POWER = 6  # Minkowski norm of the illuminant estimate (Finlayson and Trezzi 2004; ISIC practice)


def jpeg_round_trip(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def match_source(image: Image.Image, processing: dict) -> Image.Image:
    """Make a photo larger than the training images look like them.

    Why: the model learnt from HAM10000's 200x150 copy, which a third party made from the dermatoscope's
    600x450 photos with an antialiased bilinear downscale and JPEG compression; the copy is softer than a
    sharp (Lanczos) downscale. Fed the sharp version of the same photo, the model scored it much lower
    (on twins: sensitivity 66% instead of 94%). The same whole-frame resampling and compression as the
    copy restores the training copy's look. Images at or below the training size are left as they are.
    """
    width, height = image.size
    short = processing["short_side"]
    if min(width, height) <= short:
        return image
    scale = short / min(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = image.resize(size, Image.Resampling[processing["resample"].upper()])
    quality = processing.get("jpeg_quality")
    return jpeg_round_trip(image, quality) if quality else image


def shades_of_gray(pixels: np.ndarray, power: int = SHADES_OF_GRAY_POWER) -> np.ndarray:
    """Colour constancy: divide out the light's colour, estimated as each channel's Minkowski p-mean."""
    x = pixels.astype(np.float32)
    illuminant = np.power(np.mean(np.power(x, power), axis=(0, 1)), 1.0 / power)
    illuminant = illuminant / max(float(np.linalg.norm(illuminant)), 1e-6)
    gains = 1.0 / (np.sqrt(3.0) * np.maximum(illuminant, 1e-6))
    return np.clip(x * gains, 0, 255).astype(np.uint8)


def prepare_image(source: ImageInput, input_size: int, preprocessing: Preprocessing) -> np.ndarray:
    """A model-ready uint8 array (input_size x input_size x 3, RGB), before normalisation.

    An RGB PIL image is taken as already decoded (by load_rgb): decoding it again could refuse what was accepted."""
    photo = source if isinstance(source, Image.Image) and source.mode == "RGB" else load_rgb(source)
    if preprocessing.source_processing:
        square = center_square(match_source(photo, preprocessing.source_processing))
    else:
        square = center_square(photo)
        detail = preprocessing.source_resolution
        if square.width > detail:  # resolution parity without a fitted source processing
            square = square.resize((detail, detail), Image.Resampling.LANCZOS, reducing_gap=3.0)
    pixels = np.asarray(square.resize((input_size, input_size), Image.Resampling.BILINEAR))
    if preprocessing.colour_constancy == "shades_of_gray":
        pixels = shades_of_gray(pixels)
    return pixels


def normalise(pixels, preprocessing: Preprocessing):
    """uint8/float RGB pixels (numpy or tf, channels last) to the backbone's input scale."""
    if preprocessing.channel_order == "BGR":
        pixels = pixels[..., ::-1]
    mean = np.asarray(preprocessing.mean, dtype=np.float32)
    std = np.asarray(preprocessing.std, dtype=np.float32)
    if isinstance(pixels, np.ndarray):
        pixels = pixels.astype(np.float32)
    return (pixels - mean) / std
