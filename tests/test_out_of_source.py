"""Out-of-source tools on the recorded runs in results/: the screening-threshold search and run averaging."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inference.gate import DETECTOR_QUANTILE, DISTANCE_QUANTILE
from train.experiments.ensemble import ensemble_rows
from train.experiments.screening_threshold import TARGETS, target_table
from train.tables import served_gate_runs

RESULTS = Path(__file__).resolve().parent.parent / "results"
MAX_HELD_OUT_CAUTION = 0.03
MAX_HELD_OUT_NO_RESULT = 0.01
# Held-out sources where the caution target is not met (the whole ISIC 2017 archive scored by the HAM10000-only
# model): listed, so that the figure is stated in the docs and a source that starts to meet it is noticed.
CAUTION_TARGET_MISSED = {"isic2017"}
ROSENDAHL = [RESULTS / "out_of_source/rosendahl/origin-augment", RESULTS / "out_of_source/rosendahl/origin-augment-seed7"]


def test_a_higher_validation_target_never_lowers_held_out_sensitivity():
    rows = target_table(ROSENDAHL[0])
    assert [r["validation_target"] for r in rows] == list(TARGETS)
    thresholds = [r["threshold"] for r in rows]
    sensitivities = [r["held_out_sensitivity"] for r in rows]
    assert thresholds == sorted(thresholds, reverse=True) and sensitivities == sorted(sensitivities)
    assert sensitivities[-1] > sensitivities[0]


def test_a_run_averaged_with_itself_is_the_run():
    alone, _, average = ensemble_rows([ROSENDAHL[0], ROSENDAHL[0]])
    assert average["auc"] == pytest.approx(alone["auc"])
    assert average["specificity_at_90_sensitivity"] == pytest.approx(alone["specificity_at_90_sensitivity"])


def test_averaging_two_seeds_is_scored_on_the_averaged_probabilities():
    first, second, average = ensemble_rows(ROSENDAHL)
    assert average["model"] == "average of the 2"
    assert not np.isclose(average["auc"], first["auc"]) and not np.isclose(average["auc"], second["auc"])


def test_runs_of_different_held_out_sources_are_refused():
    with pytest.raises(ValueError, match="same held-out images"):
        ensemble_rows([ROSENDAHL[0], RESULTS / "out_of_source/vidir_modern/origin-augment"])


def test_paired_auc_difference_is_zero_against_itself_and_sees_a_clear_loss():
    """On the recorded held-out probabilities: a run minus itself is exactly 0, interval included; source weighting
    (row 5 of README's table) lost 0.06 of AUC, far outside what resampling these images moves."""
    from sklearn.metrics import roc_auc_score

    from train.evaluate import auc, paired_auc_differences
    from train.experiments.ensemble import held_out_probabilities

    y, ids, (recipe, weighted) = held_out_probabilities([ROSENDAHL[0], RESULTS / "out_of_source/rosendahl/source-weights"])
    assert auc(y, recipe) == pytest.approx(roc_auc_score(y, recipe))
    itself, loss = paired_auc_differences(y, recipe, [recipe, weighted], groups=ids)
    assert itself == {"difference": 0.0, "difference_95ci": [0.0, 0.0]}
    assert loss["difference"] == pytest.approx(roc_auc_score(y, weighted) - roc_auc_score(y, recipe))
    assert loss["difference_95ci"][0] < loss["difference"] < loss["difference_95ci"][1] < 0


def test_the_gate_rarely_cautions_and_almost_never_refuses_a_held_out_source():
    """Issue targets: on a source held out of training and of the gate (another clinic or dermatoscope, or another
    archive), `unfamiliar` (with `blurred`: a caution) on at most 3% of its photos; no result (not a lesion photo) on
    hardly any."""
    runs = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("**/holdout.json"))]
    served = served_gate_runs(runs, {"distance_quantile": DISTANCE_QUANTILE, "detector_quantile": DETECTOR_QUANTILE})
    assert served, "no recorded run with the served gate design"
    results_doc = (RESULTS.parent / "docs" / "results.md").read_text()
    for run in served:
        source, held = run["training"]["holdout_source"], run["held_out"]
        if source in CAUTION_TARGET_MISSED:  # measured above the target: docs/results.md must give the figure
            assert held["caution_rate"] > MAX_HELD_OUT_CAUTION and f"a caution for {held['caution_rate']:.1%}" in results_doc, source
        else:
            assert held["caution_rate"] <= MAX_HELD_OUT_CAUTION, source
        assert held["no_result_rate"] <= MAX_HELD_OUT_NO_RESULT, source


def test_the_runs_index_lists_every_kept_run():
    """results/runs.csv is what `python -m train.experiments.runs` makes of the folders in results/ (one row each)."""
    from train.experiments.runs import INDEX, index_csv

    assert INDEX.read_text() == index_csv()
    folders = {str(p.parent.relative_to(INDEX.parent)) for p in INDEX.parent.rglob("config.json")}
    assert {line.split(",")[0] for line in INDEX.read_text().splitlines()[1:]} == folders
