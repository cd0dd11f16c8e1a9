"""The origin's augmentation as Keras 3 preprocessing layers, applied in the tf.data pipeline on 0..255 RGB."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

ROTATION_DEGREES = 20
SHIFT = 0.15
ZOOM = 0.2
BRIGHTNESS = (0.8, 1.2)


class RandomBrightnessScale(layers.Layer):
    """Multiply pixel values by a random factor per image, like Keras 2's `brightness_range`."""

    def __init__(self, low: float, high: float, **kwargs):
        super().__init__(**kwargs)
        self.low, self.high = low, high

    def call(self, images, training=True):
        if not training:
            return images
        factor = tf.random.uniform([tf.shape(images)[0], 1, 1, 1], self.low, self.high)
        return tf.clip_by_value(images * factor, 0.0, 255.0)


def origin_augmentation(seed: int = 0) -> keras.Sequential:
    """Rotation +-20 deg, width/height shift +-15%, horizontal and vertical flips, zoom +-20%, brightness 0.8-1.2."""
    return keras.Sequential(
        [
            layers.RandomRotation(ROTATION_DEGREES / 360, fill_mode="reflect", seed=seed),
            layers.RandomTranslation(SHIFT, SHIFT, fill_mode="reflect", seed=seed + 1),
            layers.RandomFlip("horizontal_and_vertical", seed=seed + 2),
            layers.RandomZoom(ZOOM, ZOOM, fill_mode="reflect", seed=seed + 3),
            RandomBrightnessScale(*BRIGHTNESS),
        ],
        name="origin_augmentation",
    )
