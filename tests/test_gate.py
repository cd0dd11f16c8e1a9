"""The quality / not-dermoscopy gate of the bundled model, measured: false alarms on real dermoscopy
validation images and detection on non-dermoscopy images built from real photos and synthetic ones, and on
sample photos of other packages that played no part in choosing the gate."""

from __future__ import annotations

import csv

import gradio.media
import matplotlib.cbook
import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageDraw, ImageFilter
from sklearn.datasets import load_sample_images

from inference.loading import BUNDLED_MODEL

MAX_FALSE_ALARM_RATE = 0.02
MIN_DETECTION_RATE = 1.0  # every one of them
# Photos first scored after the gate's design was chosen on the images above and the out-of-source runs (README,
# "The gate out of source"): 16 of 17 caught; a lion's face got through.
MIN_OTHER_DETECTION_RATE = 0.9
PHOTOS = [
    "astronaut",
    "brick",
    "camera",
    "cat",
    "cell",
    "checkerboard",
    "clock",
    "coffee",
    "coins",
    "colorwheel",
    "grass",
    "gravel",
    "horse",
    "hubble_deep_field",
    "immunohistochemistry",
    "logo",
    "moon",
    "page",
    "retina",
    "rocket",
    "text",
    "stereo_motorcycle",
    "microaneurysms",
]


def validation_ids() -> list[str]:
    with open(BUNDLED_MODEL / "split.csv", newline="") as handle:
        return [row["image_id"] for row in csv.DictReader(handle) if row["split"] == "val"]


def as_rgb(array: np.ndarray) -> Image.Image:
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    return Image.fromarray(array).convert("RGB")


def synthetic_images(data_dir) -> dict[str, Image.Image]:
    rng = np.random.default_rng(0)
    images: dict[str, Image.Image] = {}
    for colour in [(255, 255, 255), (0, 0, 0), (200, 160, 140), (120, 60, 40), (30, 90, 200)]:
        images[f"flat {colour}"] = Image.new("RGB", (600, 450), colour)
    images["uniform noise"] = Image.fromarray(rng.integers(0, 256, (450, 600, 3), dtype=np.uint8))
    images["gaussian noise"] = Image.fromarray(np.clip(rng.normal(128, 50, (450, 600, 3)), 0, 255).astype(np.uint8))
    document = Image.new("RGB", (600, 800), "white")
    draw = ImageDraw.Draw(document)
    for line in range(30):
        draw.text((40, 20 + 25 * line), "Patient notes: lesion on the left shoulder, 6 mm, follow up in 3 months." * 1, fill="black")
    images["document"] = document
    screenshot = Image.new("RGB", (800, 600), (240, 240, 245))
    draw = ImageDraw.Draw(screenshot)
    draw.rectangle((0, 0, 800, 40), fill=(40, 60, 120))
    for i in range(8):
        draw.rectangle((20, 60 + 60 * i, 780, 100 + 60 * i), outline=(180, 180, 190), fill="white")
        draw.text((30, 72 + 60 * i), f"Menu item {i}: settings, files, upload", fill="black")
    images["screenshot"] = screenshot
    images["skin photo (astronaut's face)"] = as_rgb(skimage.data.astronaut()).crop((150, 50, 330, 230))
    for image_id in validation_ids()[:10]:
        lesion = Image.open(data_dir / "images" / f"{image_id}.jpg").convert("RGB")
        images[f"blurred {image_id}"] = lesion.filter(ImageFilter.GaussianBlur(8))
    return images


def other_photos() -> dict[str, Image.Image]:
    """Sample photos shipped with gradio, matplotlib, scikit-learn and scikit-image, none used to tune the gate."""
    gradio_images = ["avatar.png", "bus.png", "cheetah.jpg", "cheetah1.jpg", "groot.jpeg", "hf-logo_transpng.png", "lion.jpg",
                     "screenshot.gif", "tower.jpg"]
    photos = {name: Image.open(gradio.media.get_image(name)) for name in gradio_images}
    for name in ["grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png"]:
        photos[name] = Image.open(matplotlib.cbook.get_sample_data(name))
    photos |= dict(zip(["china.jpg", "flower.jpg"], map(Image.fromarray, load_sample_images().images), strict=True))
    photos["chelsea"] = Image.fromarray(skimage.data.chelsea())
    photos["binary_blobs"] = as_rgb(skimage.data.binary_blobs())
    photos["shepp_logan_phantom"] = Image.fromarray((255 * skimage.data.shepp_logan_phantom()).astype(np.uint8))
    return {name: photo.convert("RGB") for name, photo in photos.items()}


@pytest.fixture(scope="module")
def non_dermoscopy(data_dir) -> dict[str, Image.Image]:
    photos = {name: getattr(skimage.data, name)() for name in PHOTOS}
    photos = {name: as_rgb(image[0] if isinstance(image, tuple) else image) for name, image in photos.items()}
    return {**photos, **synthetic_images(data_dir)}


def test_false_alarms_on_validation_dermoscopy(bundled_classifier, data_dir):
    ids = validation_ids()
    results = bundled_classifier.predict([data_dir / "images" / f"{i}.jpg" for i in ids])
    flagged = [(i, r.warning_code) for i, r in zip(ids, results, strict=True) if r.warning_code]
    rate = len(flagged) / len(ids)
    print(f"gate false alarms on {len(ids)} validation images: {rate:.2%} {flagged[:10]}")
    assert rate <= MAX_FALSE_ALARM_RATE
    assert "grey" not in [code for _, code in flagged]  # the fixed colour check never fires on a dermoscopy photo


def test_detects_non_dermoscopy_images(bundled_classifier, non_dermoscopy):
    results = bundled_classifier.predict(list(non_dermoscopy.values()))
    missed = [name for name, r in zip(non_dermoscopy, results, strict=True) if not r.warning_code]
    rate = 1 - len(missed) / len(non_dermoscopy)
    print(f"gate detection on {len(non_dermoscopy)} non-dermoscopy images: {rate:.2%}; missed: {missed}")
    assert rate >= MIN_DETECTION_RATE
    blurred = [r.warning_code for name, r in zip(non_dermoscopy, results, strict=True) if name.startswith("blurred")]
    assert blurred.count("blurred") >= len(blurred) - 1


def test_detects_other_photos(bundled_classifier):
    photos = other_photos()
    results = bundled_classifier.predict(list(photos.values()))
    missed = [name for name, r in zip(photos, results, strict=True) if not r.warning_code]
    rate = 1 - len(missed) / len(photos)
    print(f"gate detection on {len(photos)} other photos: {rate:.2%}; missed: {missed}")
    assert rate >= MIN_OTHER_DETECTION_RATE


def test_black_and_white_images_are_named_as_such(bundled_classifier, non_dermoscopy):
    grey = ["moon", "camera", "page", "microaneurysms"]
    codes = [r.warning_code for r in bundled_classifier.predict([non_dermoscopy[name] for name in grey])]
    assert codes == ["grey"] * len(grey)


def test_warning_replaces_a_silent_verdict(bundled_classifier, non_dermoscopy):
    prediction = bundled_classifier.predict_one(non_dermoscopy["cat"], explain=False)
    assert prediction.warning_code == "not_dermoscopy" and "dermoscopy" in prediction.warning
