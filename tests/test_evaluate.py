"""Metrics, temperature and threshold selection on hand-made cases whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from inference.outputs import diagnosis_probabilities, malignant_probability
from train.evaluate import binary_metrics, choose_threshold, evaluate, expected_calibration_error, fit_temperature

MASK = [False, False, False, False, True, True, True]


def test_threshold_is_the_highest_reaching_the_target_sensitivity():
    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.10, 0.40, 0.35, 0.80, 0.20, 0.60])
    assert choose_threshold(y, p, 0.60) == pytest.approx(0.60)  # 2 of 3 malignant at p >= 0.6
    assert choose_threshold(y, p, 0.33) == pytest.approx(0.80)
    assert choose_threshold(y, p, 1.00) == pytest.approx(0.35)


def test_binary_metrics_from_a_known_confusion_matrix():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.3, 0.2, 0.1, 0.1, 0.05])
    m = binary_metrics(y, p, threshold=0.5)
    assert m["confusion"] == {"tn": 5, "fp": 1, "fn": 1, "tp": 3}
    assert m["sensitivity"] == pytest.approx(0.75) and m["specificity"] == pytest.approx(5 / 6)
    assert m["precision"] == pytest.approx(0.75) and m["accuracy"] == pytest.approx(0.8)
    assert m["auc"] == pytest.approx(21.5 / 24)  # one tie counts half


def test_ece_is_zero_when_calibrated_and_large_when_not():
    p = np.full(1000, 0.3)
    y = np.array([1] * 300 + [0] * 700)
    assert expected_calibration_error(y, p) == pytest.approx(0.0)
    assert expected_calibration_error(np.zeros(100, int), np.full(100, 0.9)) == pytest.approx(0.9)


def test_temperature_undoes_overconfidence():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 1.5, size=(20000, 7))
    labels = np.array([rng.choice(7, p=row) for row in diagnosis_probabilities(true_logits)])
    y = np.asarray(MASK)[labels].astype(int)
    temperature = fit_temperature(true_logits * 3.0, y, MASK)  # three times too confident
    assert temperature == pytest.approx(3.0, rel=0.1)
    before = expected_calibration_error(y, malignant_probability(diagnosis_probabilities(true_logits * 3.0), MASK))
    after = evaluate(true_logits * 3.0, labels, MASK, temperature, 0.5)
    assert after["ece"] < before / 2
    assert after["ece_before_temperature"] == pytest.approx(before)


def test_p_malignant_is_the_sum_of_malignant_diagnoses():
    logits = np.array([[2.0, 1.0, 0.0, -1.0, 0.5, 0.2, -0.3]])
    probabilities = diagnosis_probabilities(logits, 1.7)
    assert probabilities.sum() == pytest.approx(1.0)
    assert malignant_probability(probabilities, MASK)[0] == pytest.approx(probabilities[0, 4:].sum())
