"""The served model: compiled once, predicts calibrated probabilities, explains with Grad-CAM, flags unusable images."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from inference import model_files as files
from inference.config import ModelConfig
from inference.disclaimer import DISCLAIMER
from inference.gate import Gate
from inference.gradcam import Explainer, overlay, split_at
from inference.outputs import diagnosis_probabilities, malignant_probability, tta_views
from inference.preprocess import ImageInput, ImageRejected, load_rgb, normalise, prepare_image, release_memory, square_box

log = logging.getLogger(__name__)

BATCH_SIZE = 32  # images per compiled call in batch prediction
# Warnings that say the photo is not a usable photo of a skin lesion at all: its P(malignant) means nothing, so it
# gets no decision but "uncertain" (never a referral for a cat). The others (`blurred`, `unfamiliar`) describe a
# real but hard lesion photo: a P(malignant) at or above the threshold still refers.
NOT_A_LESION_PHOTO = ("blank", "grey", "not_dermoscopy")


@dataclass
class ModelSource:
    """Where the served model came from, for every surface to show."""

    kind: str  # "hub", "cache", "bundled" or "local"
    path: Path
    repo_id: str | None = None
    revision: str | None = None
    note: str = ""  # why an earlier source was skipped, if one was

    def describe(self) -> str:
        if self.kind in ("hub", "cache"):
            where = "Hugging Face Hub" if self.kind == "hub" else "local Hugging Face cache"
            return f"{self.repo_id} @ {self.revision} ({where})"
        return f"{'bundled model' if self.kind == 'bundled' else 'local folder'} {self.path}"


@dataclass
class Prediction:
    p_malignant: float
    threshold: float
    diagnoses: dict[str, float]
    warning: str | None = None  # set when the image does not look like a usable dermoscopy photo
    warning_code: str | None = None
    disclaimer: str = DISCLAIMER
    image: Image.Image | None = field(default=None, repr=False)  # the upright RGB photo
    heatmap: np.ndarray | None = field(default=None, repr=False)
    overlay: Image.Image | None = field(default=None, repr=False)

    @property
    def meaningful(self) -> bool:
        """False when the photo is not a usable photo of a skin lesion (NOT_A_LESION_PHOTO): P is then no result."""
        return self.warning_code not in NOT_A_LESION_PHOTO

    @property
    def decision_code(self) -> str:
        """The one rule every surface follows: "uncertain" for a photo that is not a usable lesion photo, whatever P;
        else "refer" when P(malignant) reaches the threshold (even when the gate cautions that the photo is blurred
        or unlike the training photos: a possible cancer is never hidden), "uncertain" when the gate cautions below
        it (never reassuring), else "no_flag"."""
        if not self.meaningful:
            return "uncertain"
        if self.p_malignant >= self.threshold:
            return "refer"
        return "uncertain" if self.warning_code else "no_flag"

    @property
    def malignant(self) -> bool:
        """True exactly when the decision is "refer"."""
        return self.decision_code == "refer"

    def to_dict(self) -> dict:
        """JSON-ready summary (no images)."""
        return {
            "p_malignant": round(self.p_malignant, 4),
            "decision_code": self.decision_code,
            "malignant": self.malignant,
            "meaningful": self.meaningful,
            "threshold": round(self.threshold, 4),
            "diagnoses": {k: round(v, 4) for k, v in self.diagnoses.items()},
            "warning": self.warning,
            "warning_code": self.warning_code,
            "disclaimer": self.disclaimer,
        }


def _unexpected(error: Exception) -> ImageRejected:
    log.warning("input refused after an unexpected error: %s: %s", type(error).__name__, error)
    return ImageRejected("not_an_image", "The file is not an image that can be read (JPEG, PNG, ...).")


def _decoded(item: ImageInput) -> Image.Image | ImageRejected:
    """The upright RGB photo, or this item's refusal: no input, however odd, takes the rest of the batch with it."""
    try:
        return load_rgb(item)
    except ImageRejected as rejected:
        return rejected
    except Exception as error:
        return _unexpected(error)


class Classifier:
    def __init__(self, folder: str | Path, source: ModelSource | None = None):
        folder = Path(folder)
        self.folder = folder
        self.source = source or ModelSource("local", folder)
        self.config = ModelConfig.load(folder)
        model = keras.saving.load_model(folder / files.MODEL, safe_mode=True, compile=False)
        backbone, head = split_at(model, self.config.gradcam_layer)
        # One forward pass gives the Grad-CAM layer's activations and the gate layers' pooled features.
        pooled = [keras.layers.GlobalAveragePooling2D()(model.get_layer(name).output) for name in self.config.gate_layers]
        gate_features = pooled[0] if len(pooled) == 1 else keras.layers.Concatenate(name="gate_features")(pooled)
        backbone = keras.Model(model.inputs, [backbone.output, gate_features], name="backbone")
        size = self.config.input_size
        spec = tf.TensorSpec([None, size, size, 3], tf.float32)
        self._backbone = tf.function(lambda x: backbone(x, training=False), input_signature=[spec])
        self._head = tf.function(
            lambda f: head(f, training=False), input_signature=[tf.TensorSpec([None, *head.input.shape[1:]], tf.float32)]
        )
        self.explainer = Explainer(head, self.config.malignant_mask)
        self.gate = Gate.load(folder)
        self._warm_up()

    def _warm_up(self) -> None:
        """Trace the compiled functions and the explainer now, so the first user does not pay for it."""
        size = self.config.input_size
        activations, _ = self._backbone(tf.zeros([1, size, size, 3]))
        self._head(activations)
        self.explainer.heatmap(activations.numpy()[0], towards_malignant=True)

    def describe(self) -> str:
        return f"{self.config.backbone} · {self.source.describe()}"

    def forward(self, pixels: np.ndarray, tta: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(logits, Grad-CAM layer activations, gate features) for a batch of prepared uint8 images.

        With TTA, the images and their extra views go through the network as one batch (one call instead of four):
        the images do not interact at inference, so each view's logits are those it gets alone."""
        batch = normalise(pixels.astype(np.float32), self.config.preprocessing)
        n = len(batch)
        inputs = np.concatenate([batch, *tta_views(batch)]) if tta else batch
        activations, gate_features = (t.numpy() for t in self._backbone(tf.constant(inputs)))
        logits = self._head(activations).numpy()
        if tta:
            logits = np.mean(logits.reshape(-1, n, logits.shape[-1]), axis=0)  # (views, n, classes) -> mean over views
        return logits, activations[:n], gate_features[:n]

    def predict(
        self, images: ImageInput | list[ImageInput], explain: bool = False, tta: bool | None = None
    ) -> list[Prediction | ImageRejected]:
        """One prediction (or the reason for refusing the input) per image, in input order.

        tta=None follows the model's config.json (`tta`); True/False overrides it."""
        tta = self.config.tta if tta is None else tta
        items = images if isinstance(images, list) else [images]
        results: list[Prediction | ImageRejected] = []
        for start in range(0, len(items), BATCH_SIZE):
            results += self._predict_batch(items[start : start + BATCH_SIZE], explain, tta)
            release_memory()
        return results

    def predict_one(self, image: ImageInput, explain: bool = True, tta: bool | None = None) -> Prediction:
        """Like predict for one image, raising ImageRejected for an unusable input."""
        (result,) = self.predict([image], explain=explain, tta=tta)
        if isinstance(result, ImageRejected):
            raise result
        return result

    def _predict_batch(self, items: list, explain: bool, tta: bool) -> list[Prediction | ImageRejected]:
        cfg = self.config
        photos = [_decoded(item) for item in items]  # one image at a time, each at most WORK_SIDE: bounded memory
        prepared: list[np.ndarray] = []
        for i, photo in enumerate(photos):
            if isinstance(photo, Image.Image):
                try:
                    prepared.append(prepare_image(photo, cfg.input_size, cfg.preprocessing))
                except Exception as error:  # this image's refusal; the others keep their result
                    photos[i] = _unexpected(error)
        usable = [p for p in photos if isinstance(p, Image.Image)]
        if not usable:
            return photos
        pixels = np.stack(prepared)
        logits, activations, gate_features = self.forward(pixels, tta)
        probabilities = diagnosis_probabilities(logits, cfg.temperature)
        p_malignant = malignant_probability(probabilities, cfg.malignant_mask)
        warnings = self.gate.check(pixels, gate_features)
        heatmaps = self.explainer.heatmaps(activations, p_malignant >= cfg.threshold) if explain else None  # one pass for all
        predictions = iter(range(len(usable)))
        results: list[Prediction | ImageRejected] = []
        for photo in photos:
            if isinstance(photo, ImageRejected):
                results.append(photo)
                continue
            i = next(predictions)
            prediction = Prediction(
                p_malignant=float(p_malignant[i]),
                threshold=cfg.threshold,
                diagnoses={label: float(probabilities[i, j]) for j, label in enumerate(cfg.labels)},
                warning=warnings[i][1] if warnings[i] else None,
                warning_code=warnings[i][0] if warnings[i] else None,
                image=photo,
            )
            if explain:
                # towards what the probability says, shown even if not meaningful
                prediction.heatmap = heatmaps[i]
                prediction.overlay = overlay(photo, prediction.heatmap, square_box(*photo.size))
            results.append(prediction)
        return results
