"""The quality gate: a photo the model cannot judge gets a caution instead of a silent verdict, and a photo that
is not a skin lesion photo at all gets no result.

Two kinds of answer, five checks. Not a usable photo of a skin lesion (`inference.classifier.NOT_A_LESION_PHOTO`:
the decision is always "uncertain", P(malignant) is no result):
- blank: almost no contrast (a flat colour, an overexposed frame): a fixed threshold (MIN_CONTRAST), below every real
  dermoscopy photo seen here (faint lesions of another archive included; a threshold fitted on one archive's photos
  fired on the faint nevi of another);
- grey: no colour at all (a black-and-white photo, an X-ray, a scan): skin under a dermatoscope always has some,
  so this threshold is fixed, not fitted;
- not_dermoscopy: not a close-up of skin (an animal, a person, an object, a document, a screenshot, a chart,
  noise). A linear detector (logistic regression) on the pooled activations of mid-level layers (`gate_layer` in
  config.json, concatenated), fitted on the training photos against a corpus of other images
  (`train/negatives.py`), and on the training side of any other dermoscopy archive at hand that the model did not
  train on: whether a photo is dermoscopy at all does not depend on what the model learnt. Its threshold is
  DETECTOR_MARGIN log-odds below the lowest DETECTOR_QUANTILE of the dermoscopy photos' scores (held-out half): it
  must be very sure before it tells a clinician that a real lesion photo is not one, also for a dermatoscope or
  archive it never saw.
A photo the model can judge less well (a referral stands; below the threshold the decision is "uncertain"):
- blurred: almost no fine detail left (variance of the Laplacian);
- unfamiliar: a dermoscopy photo unlike the training photos (another dermatoscope, light, magnification, a rare
  lesion): the same pooled activations are far, in Mahalanobis distance with a Ledoit-Wolf covariance, from those
  of the training photos (covariance fitted on one half, the DISTANCE_QUANTILE taken on the other: distances of the
  fitting photos themselves are biased low). Mid-level features keep texture and colour that the fine-tuned top
  layer has learnt to ignore.
The figures that chose these settings (held-out sources and archives, the held-out part of the negative corpus) are
in docs/results.md, "The quality gate".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import laplace
from sklearn.covariance import LedoitWolf

from inference import model_files as files

GATE_FILE = files.GATE
DISTANCE_QUANTILE = 0.997  # of held-out training images' distances: above it, "unfamiliar"
DETECTOR_QUANTILE = 0.999  # of held-out training images' detector scores: the lowest 0.1% ...
DETECTOR_MARGIN = 2.0  # ... minus this many log-odds is the "not_dermoscopy" threshold (at most log-odds 0 minus it)
MIN_CONTRAST = 4.0  # grey-level standard deviation below which an image is blank (real dermoscopy here: >= 5.4)
DETECTOR_C = 0.1  # inverse L2 strength of the detector's logistic regression (few negatives, hundreds of features)
MIN_CHROMA = 2.0  # mean chroma (max - min of R, G, B, in 0-255 levels) below which an image has no colour: not fitted
QUALITY_QUANTILE = 0.005  # of training images' sharpness, divided by QUALITY_MARGIN
QUALITY_MARGIN = 1.25

MESSAGES = {
    "blank": "This image is almost uniform: it does not show a skin lesion. The result below is not meaningful.",
    "blurred": "This image is too blurred to assess. Retake the photo in focus; the result below is not reliable.",
    "grey": "This is a black-and-white image; dermoscopy photos are in colour. The result below is not meaningful.",
    "not_dermoscopy": (
        "This does not look like a close-up photo of skin (a dermoscopy photo), so the model gives no result for it. "
        "Upload a dermoscopy photo of a skin lesion."
    ),
    "unfamiliar": (
        "This dermoscopy photo is unlike the photos the model learnt from (another dermatoscope, light, magnification or "
        "a rare kind of lesion): it has seen few photos like it, so its answer is less reliable. An unusual-looking "
        "lesion is itself a reason to have it examined."
    ),
}


def contrast(pixels: np.ndarray) -> np.ndarray:
    """Standard deviation of grey levels per image, (N,)."""
    return pixels.astype(np.float32).mean(axis=-1).std(axis=(1, 2))


def chroma(pixels: np.ndarray) -> np.ndarray:
    """Mean chroma (max minus min of R, G and B) per image, (N,): zero for a grey-level image."""
    pixels = pixels.astype(np.float32)
    return (pixels.max(axis=-1) - pixels.min(axis=-1)).mean(axis=(1, 2))


def sharpness(pixels: np.ndarray) -> np.ndarray:
    """Variance of the Laplacian of grey levels per image, (N,)."""
    grey = pixels.astype(np.float32).mean(axis=-1)
    return np.array([laplace(g).var() for g in grey])


@dataclass
class Gate:
    # unfamiliar: Mahalanobis distance of the pooled features to the training photos
    mean: np.ndarray | None = None
    precision: np.ndarray | None = None
    max_distance: float = np.inf
    # not_dermoscopy: a linear score of the same features (standardisation folded in); low = unlike dermoscopy
    detector_weights: np.ndarray | None = None
    detector_bias: float = 0.0
    min_detector_score: float = -np.inf
    min_contrast: float = 0.0
    min_sharpness: float = 0.0
    min_chroma: float = 0.0

    def distances(self, features: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of pooled features to the training images, (N,)."""
        if self.mean is None:
            return np.zeros(len(features))
        centred = features - self.mean
        return np.einsum("ij,jk,ik->i", centred, self.precision, centred)

    def dermoscopy_scores(self, features: np.ndarray) -> np.ndarray:
        """The detector's log-odds that each image is a dermoscopy photo, (N,)."""
        if self.detector_weights is None:
            return np.full(len(features), np.inf)
        return features @ self.detector_weights + self.detector_bias

    def check(self, pixels: np.ndarray, features: np.ndarray) -> list[tuple[str, str] | None]:
        """Per image: (code, message) of the first check it fails, or None when it looks usable. The order puts the
        answers that withhold a result first."""
        failed = [
            ("blank", contrast(pixels) < self.min_contrast),
            ("grey", chroma(pixels) < self.min_chroma),
            ("not_dermoscopy", self.dermoscopy_scores(features) < self.min_detector_score),
            ("blurred", sharpness(pixels) < self.min_sharpness),
            ("unfamiliar", self.distances(features) > self.max_distance),
        ]
        results = []
        for i in range(len(pixels)):
            code = next((code for code, flags in failed if flags[i]), None)
            results.append((code, MESSAGES[code]) if code else None)
        return results

    @classmethod
    def fit(cls, pixels: np.ndarray, features: np.ndarray, negative_features: np.ndarray,
            other_dermoscopy: np.ndarray | None = None) -> Gate:
        """Fit on training images (model inputs before normalisation, and their pooled features), on the pooled
        features of images that are not dermoscopy and, for the detector only, on those of dermoscopy photos the model
        did not train on (`other_dermoscopy`: they are dermoscopy, but not what the model learnt)."""
        fitting, held_out = training_halves(len(features))
        covariance = LedoitWolf().fit(features[fitting])
        gate = cls(mean=covariance.location_.astype(np.float32), precision=covariance.precision_.astype(np.float32))
        gate.max_distance = float(np.quantile(gate.distances(features[held_out]), DISTANCE_QUANTILE))
        gate.detector_weights, gate.detector_bias, held_out_scores = fit_detector(features, negative_features, other_dermoscopy)
        gate.min_detector_score = detector_threshold(held_out_scores)
        gate.min_contrast = MIN_CONTRAST
        gate.min_sharpness = float(np.quantile(sharpness(pixels), QUALITY_QUANTILE) / QUALITY_MARGIN)
        gate.min_chroma = MIN_CHROMA
        return gate

    def save(self, folder: str | Path) -> None:
        np.savez(
            Path(folder, GATE_FILE),
            mean=self.mean,
            precision=self.precision,
            detector_weights=self.detector_weights,
            thresholds=np.array([self.max_distance, self.min_contrast, self.min_sharpness, self.detector_bias,
                                 self.min_detector_score]),
        )

    @classmethod
    def load(cls, folder: str | Path) -> Gate:
        """The model folder's gate; without gate.npz, a gate that never warns. A gate.npz of another layout or with
        values that are not finite numbers is refused (GateFileError): it would switch checks off silently."""
        path = Path(folder, GATE_FILE)
        if not path.exists():
            return cls()
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in ("mean", "precision", "detector_weights", "thresholds")}
        except (KeyError, ValueError, OSError) as error:
            raise GateFileError(f"{path}: not a gate of this version ({error}); refit it: python -m train.report "
                                f"MODEL_DIR --data-dir ... --gate-only") from None
        n = arrays["mean"].shape[0] if arrays["mean"].ndim == 1 else -1
        shapes_ok = (n > 0 and arrays["precision"].shape == (n, n) and arrays["detector_weights"].shape == (n,)
                     and arrays["thresholds"].shape == (5,))
        if not shapes_ok or not all(np.isfinite(a).all() for a in arrays.values()):
            raise GateFileError(f"{path}: its arrays have the wrong shapes or hold values that are not finite numbers")
        max_distance, min_contrast, min_sharpness, bias, min_score = (float(v) for v in arrays["thresholds"])
        return cls(arrays["mean"], arrays["precision"], max_distance, arrays["detector_weights"], bias, min_score,
                   min_contrast, min_sharpness, MIN_CHROMA)


def detector_threshold(held_out_scores: np.ndarray, margin: float = DETECTOR_MARGIN) -> float:
    """The not-dermoscopy threshold: `margin` log-odds below the lowest DETECTOR_QUANTILE of held-out training photos'
    detector scores (and never above log-odds 0 minus the margin)."""
    lowest = np.quantile(held_out_scores, 1 - DETECTOR_QUANTILE)
    return float(min(0.0, lowest) - margin)


class GateFileError(ValueError):
    """gate.npz cannot be used as it is."""


def training_halves(n: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random half of n training photos to fit on, and the other half to set thresholds on: scores of the
    fitting photos themselves are biased."""
    order = np.random.default_rng(0).permutation(n)
    return order[: n // 2], order[n // 2 :]


def fit_detector(dermoscopy: np.ndarray, negatives: np.ndarray, other_dermoscopy: np.ndarray | None = None,
                 c: float = DETECTOR_C) -> tuple[np.ndarray, float, np.ndarray]:
    """Logistic regression, dermoscopy (1) against other images (0), classes weighted equally, fitted on a fixed half
    of each set of dermoscopy photos (`training_halves`; `other_dermoscopy`: another archive's). Returns weights and
    bias on the raw features (the standardisation folded in) and the scores of the other halves, which set the
    threshold: scores of the fitted photos themselves are biased."""
    from sklearn.linear_model import LogisticRegression

    fitted_halves, held_out_halves = [], []
    for photos in (dermoscopy, other_dermoscopy):
        if photos is not None and len(photos):
            fitting, held_out = training_halves(len(photos))
            fitted_halves.append(photos[fitting])
            held_out_halves.append(photos[held_out])
    positives, held_out = np.concatenate(fitted_halves), np.concatenate(held_out_halves)
    x = np.concatenate([positives, negatives]).astype(np.float64)
    y = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000).fit((x - mean) / scale, y)
    weights = model.coef_[0] / scale
    bias = float(model.intercept_[0] - weights @ mean)
    weights = weights.astype(np.float32)
    return weights, bias, held_out @ weights + bias
