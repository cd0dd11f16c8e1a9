"""The model folder's `config.json`: everything needed to serve a model, never guessed at load time."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from inference.model_files import CONFIG

SCHEMA_VERSION = 1

# Order of the 7 outputs; the batch CLI's columns follow it.
LABELS = ("nv", "bkl", "df", "vasc", "mel", "bcc", "akiec")
MALIGNANT_LABELS = ("mel", "bcc", "akiec")
LABEL_NAMES = {
    "nv": "melanocytic nevus",
    "bkl": "benign keratosis-like lesion",
    "df": "dermatofibroma",
    "vasc": "vascular lesion",
    "mel": "melanoma",
    "bcc": "basal cell carcinoma",
    "akiec": "actinic keratosis / intraepithelial carcinoma",
}

# Per-backbone normalisation of RGB pixel values in 0..255, as each backbone's weights expect.
NORMALISATION = {
    # EfficientNet-Lite reference preprocessing: (x - 127) / 128 on RGB.
    "efficientnet_lite0": {"channel_order": "RGB", "mean": [127.0, 127.0, 127.0], "std": [128.0, 128.0, 128.0]},
    "efficientnet_lite1": {"channel_order": "RGB", "mean": [127.0, 127.0, 127.0], "std": [128.0, 128.0, 128.0]},
    # keras.applications.resnet50.preprocess_input ("caffe"): BGR, ImageNet mean subtracted, no scaling.
    "resnet50": {"channel_order": "BGR", "mean": [103.939, 116.779, 123.68], "std": [1.0, 1.0, 1.0]},
}


# How the HAM10000 training copy (200x150) was made from the dermatoscope's 600x450 photos, as fitted on
# twins of the train split by `python -m train.experiments.source_processing` (mean absolute difference to the copy).
HAM10000_COPY_PROCESSING = {
    "short_side": 150,
    "resample": "bicubic",
    "jpeg_quality": 75,
    "mean_abs_difference": 0.887,
    "fitted_on": "317 train-split twins (mean absolute difference to the copy, grey levels)",
}


@dataclass
class Preprocessing:
    """How a photo becomes a model input; `prepare_image` follows it step by step."""

    geometry: str = "center_square_crop"
    # Short side (px) of the training images: uploads are first brought down to this level of detail.
    source_resolution: int = 150
    channel_order: str = "RGB"
    mean: list[float] = field(default_factory=lambda: [127.0, 127.0, 127.0])
    std: list[float] = field(default_factory=lambda: [128.0, 128.0, 128.0])
    # How the training images were made from full-size photos ({"short_side", "resample", "jpeg_quality"}):
    # an upload larger than them is processed the same way. None: Lanczos to `source_resolution`, no JPEG.
    source_processing: dict | None = None
    colour_constancy: str = "none"  # or "shades_of_gray": the light's colour divided out (Finlayson 2004, p=6)


@dataclass
class ModelConfig:
    backbone: str
    input_size: int
    preprocessing: Preprocessing
    threshold: float = 0.5
    temperature: float = 1.0
    gradcam_layer: str = ""
    # Whose pooled activations the not-dermoscopy gate compares with training images: one layer name, or several
    # (their pooled activations concatenated).
    gate_layer: str | list[str] = ""
    tta: bool = False  # average over flipped and turned views by default (see metrics.json for its effect)
    labels: list[str] = field(default_factory=lambda: list(LABELS))
    malignant_labels: list[str] = field(default_factory=lambda: list(MALIGNANT_LABELS))
    outputs: str = "logits"
    schema_version: int = SCHEMA_VERSION
    # Descriptive sections (data, split, training, gate, versions): kept as written.
    extra: dict = field(default_factory=dict)

    @property
    def gate_layers(self) -> list[str]:
        layers = self.gate_layer or self.gradcam_layer
        return [layers] if isinstance(layers, str) else list(layers)

    @property
    def malignant_mask(self) -> list[bool]:
        return self.malignant_mask_of(self.labels, self.malignant_labels)

    @staticmethod
    def malignant_mask_of(labels, malignant_labels) -> list[bool]:
        return [label in malignant_labels for label in labels]

    def to_dict(self) -> dict:
        data = asdict(self)
        extra = data.pop("extra")
        return {**data, **extra}

    def save(self, folder: str | Path) -> None:
        Path(folder, CONFIG).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """The config from config.json's content; raise ConfigError naming every key that is missing or out of range."""
        check(data)
        known = {name for name in cls.__dataclass_fields__ if name != "extra"}
        fields = {k: v for k, v in data.items() if k in known}
        fields["preprocessing"] = Preprocessing(**fields["preprocessing"])
        return cls(**fields, extra={k: v for k, v in data.items() if k not in known})

    @classmethod
    def load(cls, folder: str | Path) -> ModelConfig:
        try:
            data = json.loads(Path(folder, CONFIG).read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ConfigError(f"{CONFIG} is unreadable (not valid JSON: {error})") from None
        return cls.from_dict(data)


class ConfigError(ValueError):
    """config.json does not describe a model that can be served; the message names each key and what it must be."""


Rule = tuple[Callable[[object], bool], str]  # (test, what the value must be)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(low: int, high: int) -> Rule:
    return (lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high), f"a whole number from {low} to {high}"


def _one_of(*choices: object) -> Rule:
    return (lambda v: v in choices), " or ".join(json.dumps(c) for c in choices)


def _per_channel(v: object, test: Callable[[float], bool]) -> bool:
    return isinstance(v, list) and len(v) == 3 and all(_finite(x) and test(x) for x in v)


def _names(v: object) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, str) and x for x in v) and len(set(v)) == len(v)


_NAME: Rule = (lambda v: isinstance(v, str) and bool(v)), "a non-empty string"
_ANYTHING: Rule = (lambda v: True), "anything (descriptive)"
_RESAMPLING = ("nearest", "box", "bilinear", "hamming", "bicubic", "lanczos")  # PIL.Image.Resampling, by name

# config.json's schema, declared once: key -> (test, what the value must be). Every key is required, except those in
# the *_DEFAULTS below, which configs written before they existed lack: a threshold or a temperature is never guessed.
SCHEMA: dict[str, Rule] = {
    "schema_version": _one_of(SCHEMA_VERSION),
    "backbone": _NAME,
    "input_size": _whole(32, 1024),
    "preprocessing": ((lambda v: isinstance(v, dict)), "an object (see PREPROCESSING_SCHEMA)"),
    "threshold": ((lambda v: _finite(v) and 0 < v < 1), "a number strictly between 0 and 1"),
    "temperature": ((lambda v: _finite(v) and v > 0), "a finite number above 0"),
    "gradcam_layer": _NAME,
    "gate_layer": ((lambda v: isinstance(v, str) or _names(v)), "a layer name (empty: the Grad-CAM layer) or a list of layer names"),
    "tta": ((lambda v: isinstance(v, bool)), "true or false"),
    "labels": (_names, "a non-empty list of distinct label names"),
    "malignant_labels": (_names, "a non-empty list of distinct label names, all in labels"),
    "outputs": _one_of("logits"),
}
DEFAULTS = {"gate_layer": ""}  # without it, the gate compares the Grad-CAM layer's activations
PREPROCESSING_SCHEMA: dict[str, Rule] = {
    "geometry": _one_of("center_square_crop"),
    "source_resolution": _whole(8, 4096),
    "channel_order": _one_of("RGB", "BGR"),
    "mean": ((lambda v: _per_channel(v, lambda x: True)), "3 finite numbers (one per channel)"),
    "std": ((lambda v: _per_channel(v, lambda x: x > 0)), "3 finite numbers above 0 (one per channel)"),
    "source_processing": ((lambda v: v is None or isinstance(v, dict)), "null or an object (see SOURCE_PROCESSING_SCHEMA)"),
    "colour_constancy": _one_of("none", "shades_of_gray"),
}
PREPROCESSING_DEFAULTS = {"source_processing": None, "colour_constancy": "none"}
SOURCE_PROCESSING_SCHEMA: dict[str, Rule] = {
    "short_side": _whole(8, 4096),
    "resample": _one_of(*_RESAMPLING),
    "jpeg_quality": ((lambda v: v is None or _whole(1, 100)[0](v)), "null or a whole number from 1 to 100"),
    "mean_abs_difference": _ANYTHING,
    "fitted_on": _ANYTHING,
}
SOURCE_PROCESSING_DEFAULTS = {"jpeg_quality": None, "mean_abs_difference": None, "fitted_on": None}


def check(data: object) -> None:
    """Raise ConfigError (one line naming every problem) unless `data` follows the schema above."""
    if not isinstance(data, dict):
        raise ConfigError(f"{CONFIG} must hold a JSON object")
    problems = _problems(data, SCHEMA, DEFAULTS, "", unknown_allowed=True)
    preprocessing = data.get("preprocessing")
    if isinstance(preprocessing, dict):
        problems += _problems(preprocessing, PREPROCESSING_SCHEMA, PREPROCESSING_DEFAULTS, "preprocessing.")
        if isinstance(preprocessing.get("source_processing"), dict):
            problems += _problems(preprocessing["source_processing"], SOURCE_PROCESSING_SCHEMA, SOURCE_PROCESSING_DEFAULTS,
                                  "preprocessing.source_processing.")
    labels, malignant = data.get("labels"), data.get("malignant_labels")
    if _names(labels) and _names(malignant) and not set(malignant) <= set(labels):
        problems.append(f"malignant_labels {json.dumps(malignant)} must all be in labels {json.dumps(labels)}")
    if problems:
        raise ConfigError(f"{CONFIG} is invalid: " + "; ".join(problems))


def _problems(data: dict, schema: dict[str, Rule], defaults: dict, prefix: str, unknown_allowed: bool = False) -> list[str]:
    problems = []
    for key, (test, must_be) in schema.items():
        if key not in data:
            if key not in defaults:
                problems.append(f"{prefix}{key} is missing (it must be {must_be})")
        elif not test(data[key]):
            problems.append(f"{prefix}{key} is {json.dumps(data[key])[:80]}; it must be {must_be}")
    if not unknown_allowed:
        problems += [f"{prefix}{key} is not a known key" for key in data if key not in schema]
    return problems


def default_preprocessing(
    backbone: str, source_resolution: int = 150, source_processing: dict | None = None, colour_constancy: str = "none"
) -> Preprocessing:
    return Preprocessing(
        source_resolution=source_resolution,
        source_processing=source_processing,
        colour_constancy=colour_constancy,
        **NORMALISATION[backbone],
    )


# The training choices that make two runs "the same recipe" (config.json `training`), whatever data they held out:
# the out-of-source runs of the served recipe are its evidence on the page and in README.
RECIPE_KEYS = ("pretrained", "image_size", "epochs_max", "batch_size", "lr", "schedule", "label_smoothing", "ema", "head_epochs",
               "source_weights", "augmentation", "colour_constancy", "archives", "archive_weights")
RECIPE_DEFAULTS = {"archives": ["HAM10000"], "archive_weights": "none"}  # runs recorded before these keys existed


def same_recipe(training: dict, served: dict) -> bool:
    training, served = RECIPE_DEFAULTS | training, RECIPE_DEFAULTS | served
    return all(training.get(k) == served.get(k) or not (training.get(k) or served.get(k)) for k in RECIPE_KEYS)


def gate_design(gate: dict | None) -> tuple:
    """What makes two gates' figures comparable (a run's metrics `gate`): their distance and detector quantiles; older
    runs kept an earlier design."""
    return (gate or {}).get("distance_quantile"), (gate or {}).get("detector_quantile")
