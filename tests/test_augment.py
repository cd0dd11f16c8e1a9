"""Training augmentations: what each one does to a real lesion photo, and that the ablation pieces are the origin plus named layers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from train.augment import AUGMENTATIONS, RandomIllumination, RandomJpegQuality, RandomSharpen

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def lesions():
    photos = sorted(EXAMPLES.glob("*.jpg"))[:4]
    return tf.constant(np.stack([np.asarray(Image.open(p).convert("RGB").resize((96, 96))) for p in photos]), tf.float32)


@pytest.mark.parametrize("name", sorted(AUGMENTATIONS))
def test_augmentation_changes_training_images_only_and_stays_in_range(name, lesions):
    augment = AUGMENTATIONS[name](0)
    out = augment(lesions, training=True).numpy()
    assert out.shape == lesions.shape and out.min() >= 0 and out.max() <= 255
    assert np.abs(out - lesions.numpy()).mean() > 1
    np.testing.assert_array_equal(augment(lesions, training=False).numpy(), lesions.numpy())


def test_each_ablation_piece_is_the_origin_plus_a_part_of_shift():
    def layers(name):
        return [(type(layer).__name__, getattr(layer, "height_factor", None)) for layer in AUGMENTATIONS[name](0).layers]

    origin, shift = layers("origin"), layers("shift")
    assert layers("illumination") == origin + [("RandomIllumination", None)]
    assert layers("crops") == shift[:5] and layers("crops")[:3] == origin[:3]
    assert layers("device") == origin + [(name, None) for name in ("RandomBlur", "RandomSharpen", "RandomJpegQuality", "RandomVignette")]


def _detail(images: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels: the fine detail a sharper camera adds."""
    return float(np.abs(np.diff(images, axis=2)).mean())


def test_sharpen_adds_detail_and_jpeg_keeps_the_picture(lesions, monkeypatch):
    monkeypatch.setattr("train.augment.SHARPEN_PROBABILITY", 1.0)
    monkeypatch.setattr("train.augment.JPEG_PROBABILITY", 1.0)
    monkeypatch.setattr("train.augment.JPEG_QUALITY", (30, 31))
    sharpened = RandomSharpen()(lesions, training=True).numpy()
    assert _detail(sharpened) > 1.2 * _detail(lesions.numpy())
    recompressed = RandomJpegQuality()(lesions, training=True).numpy()
    assert 0.5 < np.abs(recompressed - lesions.numpy()).mean() < 10
    for before, after in zip(lesions.numpy(), recompressed, strict=True):
        assert np.corrcoef(before.ravel(), after.ravel())[0, 1] > 0.95


def test_illumination_keeps_the_geometry(lesions):
    """Light and colour only: every pixel keeps its place, so the grey-level pattern stays correlated."""
    out = RandomIllumination()(lesions, training=True).numpy()
    for before, after in zip(lesions.numpy(), out, strict=True):
        assert np.corrcoef(before.mean(-1).ravel(), after.mean(-1).ravel())[0, 1] > 0.9

