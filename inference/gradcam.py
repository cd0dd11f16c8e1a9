"""Grad-CAM with tf-keras-vis, at the layer named in config.json, without a second forward pass.

The model is split at the Grad-CAM layer: the backbone part runs once (it also gives the prediction) and
tf-keras-vis differentiates only the small head that follows the layer. The gradient of the score with
respect to that layer's activations depends only on the layers after it, so the map is the same as
Grad-CAM on the whole model, for a fraction of the cost.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from PIL import Image
from tf_keras_vis.gradcam import Gradcam

FEATURES_LAYER = "gradcam_features"  # identity layer at the head's entry: the layer tf-keras-vis reads
OVERLAY_ALPHA = 0.45
COLORMAP = "jet"


def split_at(model: keras.Model, layer_name: str) -> tuple[keras.Model, keras.Model]:
    """(backbone: image -> layer activations, head: activations -> logits); the head must be a plain chain."""
    names = [layer.name for layer in model.layers]
    start = names.index(layer_name)
    backbone = keras.Model(model.inputs, model.get_layer(layer_name).output, name="backbone")
    inputs = keras.Input(backbone.output.shape[1:], name="features")
    x = keras.layers.Identity(name=FEATURES_LAYER)(inputs)
    previous = layer_name
    for layer in model.layers[start + 1 :]:
        if layer.input.name != model.get_layer(previous).output.name:
            raise ValueError(f"the layers after {layer_name!r} are not a plain chain (at {layer.name!r})")
        x, previous = layer(x), layer.name
    return backbone, keras.Model(inputs, x, name="head")


def decision_score(malignant_mask: list[bool], towards_malignant: bool | np.ndarray):
    """The scalar Grad-CAM explains, per image: the malignant log-odds, or its negative for a benign decision.

    towards_malignant may be one flag per image, so that images with different decisions share one gradient pass."""
    mask = tf.constant(malignant_mask)
    sign = tf.constant(np.where(towards_malignant, 1.0, -1.0), tf.float32)

    def score(logits):
        malignant = tf.reduce_logsumexp(tf.where(mask, logits, -np.inf), axis=-1)
        benign = tf.reduce_logsumexp(tf.where(mask, -np.inf, logits), axis=-1)
        return sign * (malignant - benign)

    return score


class Explainer:
    """Built once per model; maps feature activations to a heat map in [0, 1] at the feature grid's size."""

    def __init__(self, head: keras.Model, malignant_mask: list[bool]):
        self.gradcam = Gradcam(head, clone=False)
        self.malignant_mask = malignant_mask

    def heatmap(self, features: np.ndarray, towards_malignant: bool) -> np.ndarray:
        """The map of one image's features."""
        return self.heatmaps(features[None], np.array([towards_malignant]))[0]

    def heatmaps(self, features: np.ndarray, towards_malignant: np.ndarray) -> np.ndarray:
        """The maps of a batch of features in one gradient pass: the images do not interact (the head has no
        batch statistics at inference), so each map equals its one-by-one map."""
        cams = np.asarray(
            self.gradcam(
                decision_score(self.malignant_mask, np.asarray(towards_malignant, bool)),
                features,
                penultimate_layer=FEATURES_LAYER,
                seek_penultimate_conv_layer=False,
                expand_cam=False,
                normalize_cam=False,
            )
        )
        peaks = cams.max(axis=(1, 2), keepdims=True)
        return np.where(peaks > 0, cams / np.where(peaks > 0, peaks, 1), 0).astype(np.float32)


def _colour_table() -> tuple[np.ndarray, np.ndarray]:
    """Per heat level 0..255: its colour (uint8 RGB) and its blending weight: lookups instead of full-size float maps."""
    import matplotlib

    levels = np.arange(256) / 255.0
    colours = np.uint8(np.round(matplotlib.colormaps[COLORMAP](levels)[:, :3] * 255))
    weights = (OVERLAY_ALPHA * levels**0.5).astype(np.float32)
    return colours, weights


def overlay(image: Image.Image, heatmap: np.ndarray, crop_box: tuple[int, int, int, int]) -> Image.Image:
    """The heat map (computed on the centre square) laid over the photo at its own resolution (at most
    `inference.preprocess.WORK_SIDE`: photos are brought down to it when decoded).

    Blended in uint8 and float32 with lookup tables: float64 colour maps of a large square cost hundreds of MB."""
    left, top, right, bottom = crop_box
    heat = np.asarray(Image.fromarray(np.uint8(255 * heatmap)).resize((right - left, bottom - top), Image.Resampling.BICUBIC))
    colours, weights = _colour_table()
    pixels = np.array(image.convert("RGB"))
    region = pixels[top:bottom, left:right].astype(np.float32)
    blend = colours[heat].astype(np.float32)
    blend -= region
    blend *= weights[heat][..., None]
    region += blend  # (1 - w) * photo + w * colour
    pixels[top:bottom, left:right] = np.clip(region, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)
