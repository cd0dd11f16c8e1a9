"""Metrics, calibration and threshold choice: fitted on validation, reported on test (scikit-learn)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import mannwhitneyu
from sklearn import metrics

from inference.config import LABELS
from inference.outputs import diagnosis_probabilities, malignant_probability

ECE_BINS = 15
BOOTSTRAP_SAMPLES = 2000


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


def lesion_resamples(groups: np.ndarray, seed: int = 0):
    """BOOTSTRAP_SAMPLES index arrays, each drawing whole lesions with replacement (the images of one lesion are
    not independent)."""
    unique, index = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(index == g) for g in range(len(unique))]
    rng = np.random.default_rng(seed)
    for _ in range(BOOTSTRAP_SAMPLES):
        yield np.concatenate([members[g] for g in rng.integers(0, len(unique), len(unique))])


def bootstrap_intervals(y: np.ndarray, p: np.ndarray, threshold: float, groups: np.ndarray, seed: int = 0) -> dict:
    """95% intervals of sensitivity and specificity, resampling whole lesions."""
    sensitivity, specificity = [], []
    flagged = p >= threshold
    for chosen in lesion_resamples(groups, seed):
        yy, ff = y[chosen], flagged[chosen]
        if yy.any() and (~yy.astype(bool)).any():
            sensitivity.append(ff[yy == 1].mean())
            specificity.append((~ff[yy == 0]).mean())
    return {
        "sensitivity_95ci": [float(np.quantile(sensitivity, 0.025)), float(np.quantile(sensitivity, 0.975))],
        "specificity_95ci": [float(np.quantile(specificity, 0.025)), float(np.quantile(specificity, 0.975))],
        "bootstrap": f"{BOOTSTRAP_SAMPLES} resamples of lesions",
    }


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney U statistic over the malignant x benign pairs (ties count one half): the same
    figure as roc_auc_score, at a third of the cost inside a bootstrap."""
    return float(mannwhitneyu(p[y == 1], p[y == 0]).statistic / (y.sum() * (len(y) - y.sum())))


def paired_auc_differences(y: np.ndarray, p_reference: np.ndarray, others: list[np.ndarray], groups: np.ndarray,
                           seed: int = 0) -> list[dict]:
    """For each of `others`: its AUC minus p_reference's on the same images, with a 95% interval from resampling
    whole lesions: whether one run beats another by more than these images can tell (not the spread between
    training runs)."""
    differences = []
    for chosen in lesion_resamples(groups, seed):
        if 0 < y[chosen].sum() < len(chosen):
            reference = auc(y[chosen], p_reference[chosen])
            differences.append([auc(y[chosen], p[chosen]) - reference for p in others])
    low, high = np.quantile(np.array(differences), [0.025, 0.975], axis=0)
    return [{"difference": auc(y, p) - auc(y, p_reference), "difference_95ci": [float(lo), float(hi)]}
            for p, lo, hi in zip(others, low, high, strict=True)]


def specificity_at_sensitivity(y: np.ndarray, p: np.ndarray, sensitivity: float = 0.90) -> float:
    """The best specificity among thresholds that reach the given sensitivity on these images."""
    fpr, tpr, _ = metrics.roc_curve(y, p, drop_intermediate=False)
    return float(1 - fpr[np.flatnonzero(tpr >= sensitivity)[0]])


def screening_summary(y: np.ndarray, p: np.ndarray, threshold: float, groups: np.ndarray, labels: np.ndarray | None = None,
                      melanoma: int | None = None) -> dict:
    """What a screening user needs: AUC, sensitivity/specificity with intervals, misses out of N, melanoma sensitivity."""
    m = binary_metrics(y, p, threshold)
    summary = {
        "n": m["n"],
        "malignant": int(y.sum()),
        "auc": m["auc"],
        "sensitivity": m["sensitivity"],
        "specificity": m["specificity"],
        "missed": m["confusion"]["fn"],
        "false_alarms": m["confusion"]["fp"],
        "specificity_at_90_sensitivity": specificity_at_sensitivity(y, p),
        **bootstrap_intervals(y, p, threshold, groups),
    }
    if labels is not None and melanoma is not None and (labels == melanoma).any():
        counts = flagged_by_diagnosis(labels, p, threshold)[LABELS[melanoma]]
        summary["melanoma_sensitivity"] = counts["flagged"] / counts["n"]
        summary["melanoma_missed"] = counts["n"] - counts["flagged"]
        summary["melanoma"] = counts["n"]
    return summary
