"""The model card's figures: ROC curve, reliability diagram, confusion matrices (matplotlib, no display)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay  # noqa: E402

from train.evaluate import ECE_BINS  # noqa: E402


def roc_plot(path: Path, y: np.ndarray, p: np.ndarray, threshold: float) -> None:
    fig, ax = plt.subplots(figsize=(5, 5))
    RocCurveDisplay.from_predictions(y, p, ax=ax, name="test split")
    predicted = p >= threshold
    ax.plot(1 - np.mean(~predicted[y == 0]), np.mean(predicted[y == 1]), "o", color="crimson", label=f"shipped threshold {threshold:.3f}")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set_title("ROC, benign vs malignant (test)")
    ax.legend(loc="lower right")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def reliability_plot(path: Path, y: np.ndarray, p_raw: np.ndarray, p_calibrated: np.ndarray, temperature: float) -> None:
    fig, ax = plt.subplots(figsize=(5, 5))
    for p, label in ((p_raw, "before temperature scaling"), (p_calibrated, f"after (T = {temperature:.2f})")):
        observed, predicted = calibration_curve(y, p, n_bins=ECE_BINS)
        ax.plot(predicted, observed, "o-", label=label)
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfect calibration")
    ax.set_xlabel("predicted P(malignant)")
    ax.set_ylabel("observed malignant rate")
    ax.set_title("Reliability (test)")
    ax.legend(loc="upper left")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def confusion_plot(path: Path, labels7: np.ndarray, predicted7: np.ndarray, names: list[str], y: np.ndarray, predicted: np.ndarray) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8), gridspec_kw={"width_ratios": [1.6, 1]})
    ConfusionMatrixDisplay.from_predictions(labels7, predicted7, labels=range(len(names)), display_labels=names, ax=left, colorbar=False)
    left.set_title("7 diagnoses (test, argmax)")
    ConfusionMatrixDisplay.from_predictions(y, predicted, labels=[0, 1], display_labels=["benign", "malignant"], ax=right, colorbar=False)
    right.set_title("at the shipped threshold (test)")
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
