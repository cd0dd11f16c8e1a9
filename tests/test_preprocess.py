"""The one preprocessing path: decoding, orientation, modes, geometry, resolution parity, normalisation."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from inference.config import HAM10000_COPY_PROCESSING, ModelConfig, Preprocessing, default_preprocessing
from inference.preprocess import ImageRejected, load_rgb, match_source, normalise, prepare_image, shades_of_gray

LITE0 = default_preprocessing("efficientnet_lite0", source_resolution=150, source_processing=HAM10000_COPY_PROCESSING)
UNMATCHED = default_preprocessing("efficientnet_lite0", source_resolution=150)  # Lanczos to 150 px, no JPEG
_NOISE = Image.fromarray(np.random.default_rng(0).integers(0, 256, (150, 200, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def lesion(data_dir) -> Image.Image:
    return Image.open(data_dir / "images" / "ISIC_0027419.jpg").convert("RGB")  # 200x150, like every training image


def encode(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def test_full_frame_and_its_square_crop_give_the_same_input(lesion):
    square = lesion.crop((25, 0, 175, 150))
    assert np.array_equal(prepare_image(lesion, 96, LITE0), prepare_image(square, 96, LITE0))


def test_sharp_upload_is_brought_to_training_detail(lesion):
    """A 4x larger, sharpened twin of a training image must become (almost) the same model input."""
    sharp = lesion.resize((800, 600), Image.Resampling.LANCZOS).filter(ImageFilter.UnsharpMask(radius=2, percent=150))
    original = prepare_image(lesion, 224, LITE0).astype(float)
    twin = prepare_image(sharp, 224, LITE0).astype(float)
    assert np.abs(twin - original).mean() < 1.0  # grey levels out of 255


def test_original_photos_become_their_training_copy(data_dir):
    """Twins: the dermatoscope's 600x450 original must give (almost) the model input of its 200x150 copy."""
    originals = data_dir.parent / "ham10000-originals"
    ids = sorted(p.stem for p in originals.glob("ISIC_*.jpg"))[:12]
    matched, unmatched = [], []
    for image_id in ids:
        copy = prepare_image(data_dir / "images" / f"{image_id}.jpg", 224, LITE0).astype(float)
        matched.append(np.abs(prepare_image(originals / f"{image_id}.jpg", 224, LITE0) - copy).mean())
        unmatched.append(np.abs(prepare_image(originals / f"{image_id}.jpg", 224, UNMATCHED) - copy).mean())
    assert np.mean(matched) < 1.5  # grey levels out of 255
    assert np.mean(matched) < 0.75 * np.mean(unmatched)


def test_images_at_or_below_the_copy_size_are_left_alone(lesion):
    assert match_source(lesion, HAM10000_COPY_PROCESSING) is lesion
    assert np.array_equal(prepare_image(lesion, 224, LITE0), prepare_image(lesion, 224, UNMATCHED))


def test_phone_photo_goes_through_the_same_processing(lesion):
    phone = lesion.resize((4000, 3000), Image.Resampling.BICUBIC)
    assert match_source(phone, HAM10000_COPY_PROCESSING).size == (200, 150)
    assert np.abs(prepare_image(phone, 224, LITE0).astype(float) - prepare_image(lesion, 224, LITE0)).mean() < 4


def test_shades_of_gray_removes_a_colour_cast(lesion):
    pixels = np.asarray(lesion)
    cast = np.clip(pixels * np.array([0.85, 1.0, 1.15]), 0, 255).astype(np.uint8)
    before = np.abs(cast.astype(float) - pixels).mean()
    after = np.abs(shades_of_gray(cast).astype(float) - shades_of_gray(pixels)).mean()
    assert after < before / 3


def test_source_processing_is_recorded_in_config(tmp_path):
    for preprocessing in (LITE0, UNMATCHED, default_preprocessing("efficientnet_lite0", colour_constancy="shades_of_gray")):
        ModelConfig("efficientnet_lite0", 224, preprocessing).save(tmp_path)
        assert ModelConfig.load(tmp_path).preprocessing == preprocessing


def test_small_images_are_upscaled_not_refused(lesion):
    small = lesion.resize((80, 60))
    assert prepare_image(small, 224, LITE0).shape == (224, 224, 3)


def test_normalisation_is_recorded_per_backbone():
    pixels = np.array([[[0, 127, 255]]], dtype=np.uint8)
    assert np.allclose(normalise(pixels, LITE0), [[[-127 / 128, 0.0, 1.0]]])
    caffe = default_preprocessing("resnet50")
    assert np.allclose(normalise(pixels, caffe), [[[255 - 103.939, 127 - 116.779, 0 - 123.68]]])  # BGR order
    assert Preprocessing(**LITE0.__dict__) == LITE0


def test_exif_orientation_is_applied(lesion):
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90 degrees clockwise
    stored = lesion.rotate(90, expand=True)  # what a turned camera would store
    upright = load_rgb(encode(stored, "JPEG", exif=exif, quality=95))
    assert upright.size == lesion.size
    assert np.abs(np.asarray(upright, float) - np.asarray(lesion, float)).mean() < 6


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "I;16", "I"])
def test_every_common_mode_becomes_rgb(lesion, mode):
    if mode == "I;16":
        image = Image.fromarray(np.asarray(lesion.convert("L"), dtype=np.uint16) * 257)
    elif mode == "I":
        image = lesion.convert("L").convert("I")
    else:
        image = lesion.convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "TIFF" if mode == "I" else "PNG"
    decoded = load_rgb(encode(image, fmt))
    assert decoded.mode == "RGB" and decoded.size == lesion.size
    grey = np.asarray(decoded.convert("L"), float)
    assert np.abs(grey - np.asarray(lesion.convert("L"), float)).mean() < 12


def test_arrays_and_paths_are_accepted(lesion, data_dir):
    reference = prepare_image(lesion, 64, LITE0)
    as_float = np.asarray(lesion, dtype=np.float32) / 255.0
    for source in (np.asarray(lesion), as_float, data_dir / "images" / "ISIC_0027419.jpg", str(data_dir / "images" / "ISIC_0027419.jpg")):
        assert np.abs(prepare_image(source, 64, LITE0).astype(int) - reference).max() <= 1


NOISE_JPEG, NOISE_PNG = encode(_NOISE, "JPEG"), encode(_NOISE, "PNG")


@pytest.mark.parametrize(
    "source, reason",
    [
        (b"", "empty"),
        (b"hello, this is text", "not_an_image"),
        (NOISE_JPEG[: len(NOISE_JPEG) // 2], "truncated"),
        (NOISE_PNG[: len(NOISE_PNG) // 2], "truncated"),
        (encode(Image.new("RGB", (10, 10))), "too_small"),
        (np.zeros((5, 5, 5)), "not_an_image"),
        ("/no/such/file.jpg", "not_found"),
        (12345, "not_an_image"),
    ],
)
def test_unusable_inputs_are_refused_with_a_reason(source, reason):
    with pytest.raises(ImageRejected) as refused:
        load_rgb(source)
    assert refused.value.reason == reason
    assert str(refused.value)


def test_decompression_bomb_is_refused_before_decoding():
    bomb = encode(Image.new("1", (20000, 20000)))  # 400 megapixels in a few kilobytes
    assert len(bomb) < 200_000
    with pytest.raises(ImageRejected) as refused:
        load_rgb(bomb)
    assert refused.value.reason == "too_large"


def _with_app1(jpeg: bytes, payload: bytes) -> bytes:
    return jpeg[:2] + b"\xff\xe1" + len(payload + b"..").to_bytes(2, "big") + payload + jpeg[2:]


def test_a_jpeg_with_an_empty_exif_block_is_decoded_once_and_kept(lesion):
    """APP1 `Exif\\0\\0` + 64 zero bytes: the pixels decode, the unreadable EXIF must not make it "damaged"."""
    data = _with_app1(encode(lesion, "JPEG", quality=95), b"Exif\0\0" + bytes(64))
    decoded = load_rgb(data)
    assert decoded.size == lesion.size
    assert prepare_image(decoded, 64, LITE0).shape == (64, 64, 3)  # an already decoded image is not decoded again
    assert prepare_image(data, 64, LITE0).shape == (64, 64, 3)


def test_big_jpeg_is_decoded_reduced_to_the_work_size():
    from inference.preprocess import WORK_SIDE

    big = encode(Image.new("RGB", (6000, 4000), (180, 120, 100)), "JPEG")
    decoded = load_rgb(big)
    assert decoded.size == (WORK_SIDE, round(WORK_SIDE * 4000 / 6000))
    assert np.abs(np.asarray(decoded, float) - (180, 120, 100)).max() <= 3


@pytest.mark.parametrize("size", [(40, 2000), (2000, 40), (1000, 150)])
def test_extreme_aspect_ratios_are_refused_with_their_own_reason(size):
    with pytest.raises(ImageRejected) as refused:
        load_rgb(encode(Image.new("RGB", size)))
    assert refused.value.reason == "bad_aspect_ratio" and "long and narrow" in str(refused.value)


def test_non_jpeg_formats_have_a_lower_pixel_limit():
    from inference.preprocess import MAX_PIXELS, MAX_PIXELS_NON_JPEG

    side = int(MAX_PIXELS_NON_JPEG**0.5) + 10
    assert MAX_PIXELS_NON_JPEG < side * side < MAX_PIXELS
    with pytest.raises(ImageRejected) as refused:
        load_rgb(encode(Image.new("1", (side, side))))
    assert refused.value.reason == "too_large"


@pytest.mark.parametrize(
    "values",
    [
        np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64),  # float 0..1
        np.linspace(0, 255, 64 * 64, dtype=np.float32).reshape(64, 64),  # float 0..255
        np.linspace(-1, 1, 64 * 64, dtype=np.float32).reshape(64, 64),  # float -1..1: its own range
        np.linspace(0, 65535, 64 * 64).astype(np.uint16).reshape(64, 64),  # 16-bit
    ],
)
def test_float_and_wide_images_are_scaled_by_their_range(values):
    decoded = np.asarray(load_rgb(encode(Image.fromarray(values), "TIFF")))[..., 0].astype(int)
    assert decoded.min() <= 1 and decoded.max() >= 254  # not black, not white


@pytest.mark.parametrize("array", [np.array(["a.jpg", "b.jpg"]), np.array([["x"] * 64] * 64), np.full((64, 64, 3), None)])
def test_arrays_that_are_not_numbers_are_refused(array):
    with pytest.raises(ImageRejected) as refused:
        load_rgb(array)
    assert refused.value.reason == "not_an_image"


def test_big_palette_image_is_scaled_down_smoothly():
    """Pillow resizes palette images nearest-neighbour: black-and-white noise would stay black and white."""
    noise = np.random.default_rng(0).integers(0, 2, (1500, 2000), dtype=np.uint8) * 255
    decoded = np.asarray(load_rgb(encode(Image.fromarray(noise).convert("P"), "PNG")), float)
    assert decoded.shape[1] == 1024 and decoded.std() < 60  # averaged towards grey, as any smooth filter does
