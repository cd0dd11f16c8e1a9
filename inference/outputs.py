"""From the model's 7 logits to calibrated probabilities: P(malignant) is the sum of the malignant
diagnoses' probabilities, so the headline number and the breakdown can never contradict each other."""

from __future__ import annotations

import numpy as np
from scipy.special import softmax


def diagnosis_probabilities(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Temperature-scaled softmax over the 7 diagnoses, (N, 7)."""
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=-1)


def malignant_probability(probabilities: np.ndarray, malignant_mask: list[bool]) -> np.ndarray:
    """P(malignant) = P(mel) + P(bcc) + P(akiec), (N,)."""
    return np.asarray(probabilities)[..., np.asarray(malignant_mask)].sum(axis=-1)


def tta_views(batch: np.ndarray) -> list[np.ndarray]:
    """Test-time augmentation: the extra views (flips and a quarter turn) whose logits are averaged with the original's."""
    return [np.ascontiguousarray(view) for view in (batch[:, :, ::-1], batch[:, ::-1], np.rot90(batch, axes=(1, 2)))]
