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
        ModelConfig("efficientnet_lite0", 224, preprocessing, gradcam_layer="top_activation").save(tmp_path)
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


# --- issue 24: decoding under a budget that a file cannot talk its way around ---------------------------------------

def _bad_inputs():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    import bad_inputs

    return bad_inputs


def _refusal(source) -> ImageRejected:
    with pytest.raises(ImageRejected) as refused:
        load_rgb(source)
    assert "Traceback" not in str(refused.value) and "\n" not in str(refused.value)
    return refused.value


@pytest.mark.parametrize("container", ["png", "webp", "jpeg_exif", "jpeg_mpf", "tiff"])
def test_metadata_that_claims_more_than_it_holds_is_refused_before_pillow_reads_it(lesion, container):
    """300 tags on one 64 kB value: Pillow would copy 19 MB (2,000 on 2 MB: 3.8 GB, 14.5 s, then a normal result)."""
    bad = _bad_inputs()
    bomb = bad.exif_bomb(300, 64_000)
    data = {
        "png": lambda: encode(lesion, "PNG", exif=bomb),
        "webp": lambda: encode(lesion, "WEBP", exif=bomb),
        "jpeg_exif": lambda: bad.with_segment(encode(lesion, "JPEG"), 0xE1, b"Exif\0\0" + bad.exif_bomb(300, 60_000)[:65_000]),
        "jpeg_mpf": lambda: bad.with_segment(encode(lesion, "JPEG"), 0xE2, b"MPF\0" + bad.exif_bomb(300, 60_000)[:65_000]),
        "tiff": lambda: bad.tiff_with_tags(lesion, 300, 64_000),
    }[container]()
    refused = _refusal(data)
    assert refused.reason == "too_complex" and "metadata" in str(refused) and "limit" in str(refused)


def test_metadata_with_too_many_tags_or_bytes_is_refused(lesion):
    bad = _bad_inputs()
    assert _refusal(encode(lesion, "PNG", exif=bad.exif_bomb(2_000, 4))).reason == "too_complex"
    assert _refusal(encode(lesion, "PNG", exif=bad.exif_bomb(10, 2**21))).reason == "too_complex"  # 2 MB of EXIF


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG"])
def test_honest_exif_still_turns_the_photo_upright_and_is_not_passed_on(lesion, fmt):
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90 degrees clockwise to display
    exif[0x010F] = "a camera maker " * 20  # an out-of-line value, as every real EXIF has
    decoded = load_rgb(encode(lesion.rotate(90, expand=True), fmt, exif=exif.tobytes(), **({"quality": 95} if fmt != "PNG" else {})))
    assert decoded.size == lesion.size
    assert np.abs(np.asarray(decoded, float) - np.asarray(lesion, float)).mean() < 6
    assert decoded.info == {}  # EXIF (GPS too), XMP, ICC, text: nothing of the file travels on with the pixels


def test_a_progressive_jpeg_of_thousands_of_scans_is_refused_before_decoding():
    """3,000 repeated 83-byte scans on a flat 56 Mpx image held the model slot for 28 s (~10 ms a scan)."""
    bomb = _bad_inputs().scan_bomb(Image.new("RGB", (400, 300), (180, 120, 100)), 3_000)
    refused = _refusal(bomb)
    assert refused.reason == "too_complex" and "scans" in str(refused)


def test_a_multi_scan_jpeg_is_limited_by_the_coefficients_it_keeps(lesion):
    """A progressive 4:4:4 JPEG is decoded at full size whatever the draft scale: 56 Mpx cost +354 MB."""
    bad = _bad_inputs()
    progressive = encode(lesion, "JPEG", progressive=True, subsampling=0)
    refused = _refusal(bad.with_declared_size(progressive, 8_660, 6_500))
    assert refused.reason == "too_large" and "progressive" in str(refused)
    baseline = encode(lesion, "JPEG", subsampling=0)  # one scan: decoded reduced (draft mode), so the same size is allowed
    assert load_rgb(bad.with_declared_size(baseline, 8_660, 6_500)).size == (1024, 769)


@pytest.mark.parametrize("fmt", ["ICO", "PCX", "TGA", "PPM", "SGI"])
def test_only_the_formats_of_photos_are_decoded(lesion, fmt):
    """An .ico holding a 9,400 px PNG was decoded in full (+340 MB) before `too_large`; other decoders are surface only."""
    assert _refusal(encode(lesion.resize((64, 64)) if fmt == "ICO" else lesion, fmt)).reason == "not_an_image"


@pytest.mark.parametrize(("image", "fmt", "options", "accepted"), [
    (Image.new("RGB", (4_800, 4_800), (180, 120, 100)), "WEBP", {"lossless": True}, False),  # 944 bytes, +325 MB before
    (Image.new("RGB", (2_800, 2_800), (180, 120, 100)), "WEBP", {"lossless": True}, True),
    (Image.new("P", (4_000, 4_000), 3), "PNG", {}, False),  # a palette image is converted to RGBA at full size to be resized
    (Image.new("RGB", (4_000, 4_000), (180, 120, 100)), "PNG", {}, True),
])
def test_the_pixel_limit_follows_what_decoding_the_format_costs(image, fmt, options, accepted):
    data = encode(image, fmt, **options)
    if accepted:
        assert max(load_rgb(data).size) == 1024
    else:
        refused = _refusal(data)
        assert refused.reason == "too_large" and "limit" in str(refused)


def test_files_of_countless_tiny_blocks_are_refused_before_pillow_walks_them(lesion):
    """2 million empty PNG chunks (24 MB) took 10.5 s to open; 6 million empty JPEG segments 11.7 s."""
    bad = _bad_inputs()
    png, jpeg = encode(lesion, "PNG"), encode(lesion, "JPEG")
    assert _refusal(bad.png_with_chunks(png, 200_000)).reason == "too_complex"
    assert _refusal(jpeg[:2] + b"\xff\xfe\x00\x02" * 100_000 + jpeg[2:]).reason == "too_complex"
    assert load_rgb(bad.png_with_chunks(png, 100)).size == lesion.size  # a few are fine


def test_decoding_is_abandoned_at_its_deadline(lesion, monkeypatch):
    """The backstop for Pillow's Python loops: a file still being read after DECODE_SECONDS is refused."""
    import inference.preprocess

    monkeypatch.setattr(inference.preprocess, "DECODE_SECONDS", -1.0)  # already over at the first read
    refused = _refusal(encode(lesion, "PNG"))
    assert refused.reason == "too_complex" and "too long" in str(refused)


def test_a_float_image_with_one_stray_pixel_is_not_black(lesion):
    """One pixel at 1.5 in a 0..1 float TIFF turned the whole photo black (then `refer` with a `blank` warning)."""
    grey = np.asarray(lesion.convert("L"), dtype=np.float32) / 255.0
    grey[10, 10] = 1.5
    decoded = np.asarray(load_rgb(encode(Image.fromarray(grey), "TIFF")), float)[..., 0]
    reference = np.asarray(lesion.convert("L"), float)
    assert np.abs(decoded - reference)[20:, 20:].max() <= 1


@pytest.mark.parametrize("colour", [False, True])
def test_twelve_bit_data_in_a_sixteen_bit_png_keeps_its_brightness(lesion, colour):
    """12-bit values (0..4,095) in a 16-bit PNG came out at 1/16 brightness (16 levels in colour) with a `blank` warning."""
    sixteen_bit_png = _bad_inputs().sixteen_bit_png
    pixels = np.asarray(lesion if colour else lesion.convert("L"), dtype=np.uint16)
    decoded = np.asarray(load_rgb(sixteen_bit_png(pixels * 16)), float)  # 0..4,080
    expected = np.asarray(lesion if colour else lesion.convert("RGB"), float)
    if not colour:
        expected = np.repeat(np.asarray(lesion.convert("L"), float)[..., None], 3, axis=2)
    assert np.abs(decoded - expected).max() <= 1.5
    full = np.asarray(load_rgb(sixteen_bit_png(pixels * 257)), float)  # 16-bit full scale: as before
    assert np.abs(full - expected).max() <= 1
