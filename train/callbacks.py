"""Training callbacks: validation AUC for checkpointing and early stopping, and a throughput timer."""

from __future__ import annotations

import logging
import time

import keras
import numpy as np
from sklearn.metrics import roc_auc_score

from inference.outputs import diagnosis_probabilities, malignant_probability

log = logging.getLogger("train")


class ValidationAUC(keras.callbacks.Callback):
    """Adds `val_auc` (benign vs malignant) to the epoch logs, for checkpointing and early stopping."""

    def __init__(self, val_ds, val_labels: np.ndarray, malignant_mask: list[bool]):
        super().__init__()
        self.val_ds, self.malignant_mask, self.history = val_ds, malignant_mask, []
        self.y = np.asarray(malignant_mask)[val_labels].astype(int)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logits = self.model.predict(self.val_ds, verbose=0)
        p = malignant_probability(diagnosis_probabilities(logits), self.malignant_mask)
        auc = float(roc_auc_score(self.y, p)) if 0 < self.y.sum() < len(self.y) else 0.5
        self.history.append(auc)
        if logs is not None:
            logs["val_auc"] = auc
        log.info("epoch %d: validation AUC %.4f", epoch + 1, auc)


class EpochTimer(keras.callbacks.Callback):
    """Training time and throughput (validation excluded)."""

    def __init__(self, images_per_epoch: int):
        super().__init__()
        self.images_per_epoch, self.seconds, self.epochs = images_per_epoch, 0.0, 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.start = time.time()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds += time.time() - self.start
        self.epochs += 1

    @property
    def images_per_second(self) -> float:
        return self.epochs * self.images_per_epoch / self.seconds if self.seconds else 0.0
