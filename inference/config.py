"""The model folder's `config.json`: everything needed to serve a model, never guessed at load time."""

from __future__ import annotations

import json
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
# twins of the train split by `python -m train.source_processing` (mean absolute difference to the copy).
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
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"config.json schema_version {data.get('schema_version')!r}, expected {SCHEMA_VERSION}")
        known = {name for name in cls.__dataclass_fields__ if name != "extra"}
        fields = {k: v for k, v in data.items() if k in known}
        fields["preprocessing"] = Preprocessing(**fields["preprocessing"])
        return cls(**fields, extra={k: v for k, v in data.items() if k not in known})

    @classmethod
    def load(cls, folder: str | Path) -> ModelConfig:
        return cls.from_dict(json.loads(Path(folder, CONFIG).read_text()))


def default_preprocessing(
    backbone: str, source_resolution: int = 150, source_processing: dict | None = None, colour_constancy: str = "none"
) -> Preprocessing:
    return Preprocessing(
        source_resolution=source_resolution,
        source_processing=source_processing,
        colour_constancy=colour_constancy,
        **NORMALISATION[backbone],
    )
