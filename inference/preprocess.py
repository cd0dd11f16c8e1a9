"""The one preprocessing path, shared by training and serving.

decode -> EXIF orientation -> RGB -> (larger than the training images: made like them, see
`match_source`) -> centre square crop -> resize to the input size -> optional colour constancy ->
the backbone's normalisation.
"""

from __future__ import annotations

import ctypes
import functools
import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, JpegImagePlugin

from inference.config import Preprocessing

MIN_SIDE = 32  # px; smaller images carry no usable dermoscopic detail
MAX_PIXELS = 60_000_000  # JPEG: refused above this before decoding; below it, big ones are decoded reduced (draft mode)
# Other formats are decoded at full size (up to 4 bytes a pixel for float, 32-bit or RGBA images): a lower cap
# keeps one decode near 100 MB. 24 Mpx is a 6,000 x 4,000 camera frame.
MAX_PIXELS_NON_JPEG = 24_000_000
MAX_BYTES = 25 * 1024 * 1024  # a 25 MB file is far beyond any dermoscopy photo
MAX_ASPECT = 6  # longer side / shorter side; a strip has no centre square worth classifying (a 21:9 phone photo is 2.3)
# Decoded images are brought down to this longer side at once: the model needs ~150 px of detail (at MAX_ASPECT the
# centre square keeps 170 px) and the photo and its Grad-CAM overlay are only shown; a batch holds all its photos and
# overlays, and at 2,048 px eight of them took ~500 MB.
WORK_SIDE = 1024

ImageInput = str | Path | bytes | Image.Image | np.ndarray


class ImageRejected(ValueError):
    """An input that cannot be used as an image; `reason` is a stable code, the message says it in words."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _open(source: str | Path | bytes) -> Image.Image:
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ImageRejected("not_found", f"No such file: {path}")
        size = path.stat().st_size
        data = None
    else:
        data, size = source, len(source)
    if size == 0:
        raise ImageRejected("empty", "The file is empty (0 bytes).")
    if size > MAX_BYTES:
        raise ImageRejected("too_large", f"The file is {size / 2**20:.0f} MB; the limit is {MAX_BYTES // 2**20} MB.")
    if data is None:
        data = Path(source).read_bytes()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected("too_large", "The image has too many pixels to be processed safely.") from None
    except Exception:
        raise ImageRejected("not_an_image", "The file is not an image that can be read (JPEG, PNG, ...).") from None


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


def _work_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) scaled down so the longer side is at most WORK_SIDE."""
    scale = min(1.0, WORK_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """8-bit pixels from any numeric array, scaled by the values' range (float 0..1, 0..255, 16-bit or other)."""
    if values.dtype == np.uint8:
        return values
    if values.dtype.kind not in "buif":
        raise ImageRejected("not_an_image", f"An array of {values.dtype} values is not an image.")
    values = values.astype(np.float32)  # one working copy, changed in place below
    if not np.isfinite(values).all():
        raise ImageRejected("not_an_image", "The image holds NaN or infinite values.")
    low, high = float(values.min(initial=0)), float(values.max(initial=0))
    if low >= 0 and high <= 1:
        scale, low = 255.0, 0.0  # float 0..1 (or a boolean mask)
    elif low >= 0 and high <= 255:
        scale, low = 1.0, 0.0
    elif low >= 0 and high <= 65535:
        scale, low = 255.0 / 65535, 0.0  # 16-bit full scale
    else:
        scale = 255.0 / (high - low)  # anything else: its own range
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
    """Apply the EXIF orientation; an unreadable EXIF block is dropped, not held against the pixels."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        image.info.pop("exif", None)
        return image


def load_rgb(source: ImageInput) -> Image.Image:
    """Decode and check any supported input, once; return an upright 8-bit RGB PIL image or raise ImageRejected.

    The image is at most WORK_SIDE on its longer side: a big JPEG is decoded reduced (draft mode), anything else
    is scaled down right after decoding, so the full-size pixels are freed before the next image.
    """
    if isinstance(source, np.ndarray):
        image = _from_array(source)
    elif isinstance(source, Image.Image):
        image = source
    elif isinstance(source, (str, Path, bytes, bytearray)):
        image = _open(bytes(source) if isinstance(source, bytearray) else source)
    else:
        raise ImageRejected("not_an_image", f"Unsupported input type: {type(source).__name__}.")
    jpeg = isinstance(image, JpegImagePlugin.JpegImageFile)
    _check_size(*image.size, MAX_PIXELS if jpeg else MAX_PIXELS_NON_JPEG)
    try:
        if jpeg and max(image.size) > WORK_SIDE:
            image.draft(image.mode, _work_size(*image.size))  # decode at 1/2, 1/4 or 1/8 scale, still >= the work size
        image.load()
        if max(image.size) > WORK_SIDE:
            if image.mode in ("1", "P"):  # Pillow resizes these nearest-neighbour only
                image = image.convert("RGBA")
            image = image.resize(_work_size(*image.size), Image.Resampling.BICUBIC, reducing_gap=2.0)
        return _to_rgb(_upright(image))
    except ImageRejected:
        raise
    except Exception:
        raise ImageRejected("truncated", "The image file is damaged or incomplete and could not be decoded.") from None


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
