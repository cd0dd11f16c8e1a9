"""Metrics, calibration and threshold choice: fitted on validation, reported on test (scikit-learn)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn import metrics

from inference.config import LABELS
from inference.outputs import diagnosis_probabilities, malignant_probability

ECE_BINS = 15


def fit_temperature(logits: np.ndarray, y_malignant: np.ndarray, malignant_mask: list[bool]) -> float:
    """The temperature that minimises the log loss of P(malignant) (fit on validation only)."""

    def loss(log_t: float) -> float:
        p = malignant_probability(diagnosis_probabilities(logits, np.exp(log_t)), malignant_mask)
        return metrics.log_loss(y_malignant, np.clip(p, 1e-7, 1 - 1e-7), labels=[0, 1])

    return float(np.exp(minimize_scalar(loss, bounds=(np.log(0.05), np.log(20.0)), method="bounded").x))


def choose_threshold(y: np.ndarray, p: np.ndarray, target_sensitivity: float) -> float:
    """The highest threshold whose sensitivity (p >= threshold counts as malignant) reaches the target."""
    _, tpr, thresholds = metrics.roc_curve(y, p, drop_intermediate=False)
    reaching = np.flatnonzero(tpr >= target_sensitivity)
    return float(min(thresholds[reaching[0]], 1.0))


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> float:
    """Weighted mean |observed malignant rate - mean predicted P(malignant)| over equal-width bins."""
    which = np.minimum((np.asarray(p) * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            total += in_bin.mean() * abs(np.mean(y[in_bin]) - np.mean(p[in_bin]))
    return float(total)


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    predicted = (p >= threshold).astype(int)
    tn, fp, fn, tp = metrics.confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    return {
        "auc": float(metrics.roc_auc_score(y, p)),
        "accuracy": float(metrics.accuracy_score(y, predicted)),
        "sensitivity": float(metrics.recall_score(y, predicted, zero_division=0)),
        "specificity": float(tn / (tn + fp)) if tn + fp else 0.0,
        "precision": float(metrics.precision_score(y, predicted, zero_division=0)),
        "f1": float(metrics.f1_score(y, predicted, zero_division=0)),
        "confusion": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
        "malignant_rate": float(np.mean(y)),
        "n": int(len(y)),
    }


def flagged_by_diagnosis(labels: np.ndarray, p: np.ndarray, threshold: float, names: list[str] | tuple[str, ...] = LABELS) -> dict:
    """Per recorded diagnosis: how many images, and how many at or above the threshold (for melanoma: its own
    sensitivity; for a benign diagnosis: its false alarms). What a clinician asks that the pooled figures hide."""
    labels, flagged = np.asarray(labels), np.asarray(p) >= threshold
    return {name: {"n": int((labels == i).sum()), "flagged": int(flagged[labels == i].sum())} for i, name in enumerate(names)}


def evaluate(logits: np.ndarray, labels: np.ndarray, malignant_mask: list[bool], temperature: float, threshold: float) -> dict:
    """Every reported figure for one set of images: 7-class labels in, metrics dict out."""
    y = np.asarray(malignant_mask)[labels].astype(int)
    raw = malignant_probability(diagnosis_probabilities(logits), malignant_mask)
    probabilities = diagnosis_probabilities(logits, temperature)
    p = malignant_probability(probabilities, malignant_mask)
    return {
        **binary_metrics(y, p, threshold),
        "balanced_accuracy_7class": float(metrics.balanced_accuracy_score(labels, probabilities.argmax(1))),
        "confusion_7class": metrics.confusion_matrix(labels, probabilities.argmax(1), labels=range(len(malignant_mask))).tolist(),
        "ece_before_temperature": expected_calibration_error(y, raw),
        "ece": expected_calibration_error(y, p),
        "by_diagnosis": flagged_by_diagnosis(labels, p, threshold),
    }
