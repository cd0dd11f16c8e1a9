"""Training augmentation as Keras 3 preprocessing layers, applied in the tf.data pipeline on 0..255 RGB.

- `origin`: the project origin's geometric and brightness augmentation.
- `shift`: origin plus what another clinic's dermatoscope or camera changes: the colour and intensity of the
  light, contrast and saturation, focus (blur), tight lesion-filling crops, and the dark circular vignette
  of contact dermatoscopes.
- `illumination`, `crops`: origin plus one of those pieces (light and colour; lesion-filling crops).
- `device`: origin plus what the camera and its file change, apart from the light: focus (blur), in-camera
  sharpening, JPEG quality and the vignette.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

ROTATION_DEGREES = 20
SHIFT = 0.15
ZOOM = 0.2
BRIGHTNESS = (0.8, 1.2)

# `shift` augmentation tunables.
CHANNEL_GAIN = 0.12  # per-channel gain 1 +- this: the colour of the illumination
GAMMA = (0.8, 1.25)
SATURATION = (0.7, 1.3)
CONTRAST = (0.75, 1.25)
ZOOM_IN = 0.45  # up to 45% zoom in: lesion-filling crops as other clinics store them
BLUR_PROBABILITY = 0.3
VIGNETTE_PROBABILITY = 0.25
VIGNETTE_RADIUS = (0.55, 0.75)  # of the image side: dark outside this circle
SHARPEN_PROBABILITY = 0.3
SHARPEN_AMOUNT = (0.5, 1.5)  # unsharp mask: x + amount * (x - blurred x)
JPEG_PROBABILITY = 0.3
JPEG_QUALITY = (30, 95)


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


class RandomIllumination(layers.Layer):
    """Per-image colour of the light (per-channel gain), gamma, saturation and contrast."""

    def call(self, images, training=True):
        if not training:
            return images
        n = tf.shape(images)[0]
        x = images / 255.0
        x = x * tf.random.uniform([n, 1, 1, 3], 1 - CHANNEL_GAIN, 1 + CHANNEL_GAIN)
        x = tf.clip_by_value(x, 0.0, 1.0) ** tf.random.uniform([n, 1, 1, 1], *GAMMA)
        grey = tf.reduce_mean(x, axis=-1, keepdims=True)
        x = grey + (x - grey) * tf.random.uniform([n, 1, 1, 1], *SATURATION)
        mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
        x = mean + (x - mean) * tf.random.uniform([n, 1, 1, 1], *CONTRAST)
        return tf.clip_by_value(x, 0.0, 1.0) * 255.0


class RandomBlur(layers.Layer):
    """A 3x3 box blur on a random share of the images: a softer focus or a lower-resolution camera."""

    def call(self, images, training=True):
        if not training:
            return images
        blurred = tf.nn.avg_pool2d(images, 3, 1, "SAME")
        chosen = tf.random.uniform([tf.shape(images)[0], 1, 1, 1]) < BLUR_PROBABILITY
        return tf.where(chosen, blurred, images)


class RandomSharpen(layers.Layer):
    """An unsharp mask on a random share of the images: cameras that sharpen in the device."""

    def call(self, images, training=True):
        if not training:
            return images
        n = tf.shape(images)[0]
        amount = tf.random.uniform([n, 1, 1, 1], *SHARPEN_AMOUNT)
        sharpened = tf.clip_by_value(images + amount * (images - tf.nn.avg_pool2d(images, 3, 1, "SAME")), 0.0, 255.0)
        chosen = tf.random.uniform([n, 1, 1, 1]) < SHARPEN_PROBABILITY
        return tf.where(chosen, sharpened, images)


class RandomJpegQuality(layers.Layer):
    """Re-encode a random share of the images as JPEG at a random quality: another device's file compression."""

    def call(self, images, training=True):
        if not training:
            return images

        def recompress(image):
            quality = tf.random.uniform([], *JPEG_QUALITY, dtype=tf.int32)
            return tf.image.adjust_jpeg_quality(image / 255.0, quality) * 255.0

        recompressed = tf.map_fn(recompress, images)
        chosen = tf.random.uniform([tf.shape(images)[0], 1, 1, 1]) < JPEG_PROBABILITY
        return tf.where(chosen, recompressed, images)


class RandomVignette(layers.Layer):
    """Black out the corners outside a random circle on a random share of the images (contact dermatoscopes)."""

    def call(self, images, training=True):
        if not training:
            return images
        shape = tf.shape(images)
        n, h, w = shape[0], shape[1], shape[2]
        ys = (tf.cast(tf.range(h), tf.float32) + 0.5) / tf.cast(h, tf.float32) - 0.5
        xs = (tf.cast(tf.range(w), tf.float32) + 0.5) / tf.cast(w, tf.float32) - 0.5
        distance = tf.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2)[None, :, :, None]
        radius = tf.random.uniform([n, 1, 1, 1], *VIGNETTE_RADIUS)
        inside = tf.clip_by_value((radius - distance) / 0.03, 0.0, 1.0)  # a soft 3% edge
        chosen = tf.cast(tf.random.uniform([n, 1, 1, 1]) < VIGNETTE_PROBABILITY, tf.float32)
        return images * (1 - chosen + chosen * inside)


def _augmentation(name: str, seed: int, crops: bool, extra: list[layers.Layer]) -> keras.Sequential:
    """The origin's geometry and brightness, then `extra`. crops: zoom in up to lesion-filling crops (same zoom on
    both axes) instead of the origin's +-20% per axis."""
    zoom = {"height_factor": (-ZOOM_IN, ZOOM)} if crops else {"height_factor": ZOOM, "width_factor": ZOOM}
    return keras.Sequential(
        [
            layers.RandomRotation(ROTATION_DEGREES / 360, fill_mode="reflect", seed=seed),
            layers.RandomTranslation(SHIFT, SHIFT, fill_mode="reflect", seed=seed + 1),
            layers.RandomFlip("horizontal_and_vertical", seed=seed + 2),
            layers.RandomZoom(**zoom, fill_mode="reflect", seed=seed + 3),  # negative factors zoom in
            RandomBrightnessScale(*BRIGHTNESS),
            *extra,
        ],
        name=f"{name}_augmentation",
    )


def origin_augmentation(seed: int = 0) -> keras.Sequential:
    """Rotation +-20 deg, width/height shift +-15%, horizontal and vertical flips, zoom +-20%, brightness 0.8-1.2."""
    return _augmentation("origin", seed, False, [])


def shift_augmentation(seed: int = 0) -> keras.Sequential:
    """The origin's geometry with zoom reaching lesion-filling crops, plus illumination, blur and vignette."""
    return _augmentation("shift", seed, True, [RandomIllumination(), RandomBlur(), RandomVignette()])


# One piece of `shift` at a time on top of the origin's, for the out-of-source ablation.
def illumination_augmentation(seed: int = 0) -> keras.Sequential:
    return _augmentation("illumination", seed, False, [RandomIllumination()])


def crops_augmentation(seed: int = 0) -> keras.Sequential:
    return _augmentation("crops", seed, True, [])


def device_augmentation(seed: int = 0) -> keras.Sequential:
    return _augmentation("device", seed, False, [RandomBlur(), RandomSharpen(), RandomJpegQuality(), RandomVignette()])


AUGMENTATIONS = {
    "origin": origin_augmentation,
    "shift": shift_augmentation,
    "illumination": illumination_augmentation,
    "crops": crops_augmentation,
    "device": device_augmentation,
}
