"""A seconds-long training run writes a complete, self-describing model folder that loads back safely."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile

import h5py
import keras
import numpy as np
import pytest
import yaml

from inference.classifier import Classifier
from inference.config import LABELS, ModelConfig
from inference.gate import DISTANCE_QUANTILE, Gate
from inference.outputs import tta_views
from inference.preprocess import normalise
from train.data import load_pixels, read_metadata

MODEL_FOLDER_FILES = {
    "model.keras",
    "config.json",
    "metrics.json",
    "split.csv",
    "gate.npz",
    "roc.png",
    "reliability.png",
    "confusion.png",
    "README.md",
}


def test_folder_is_complete(smoke_model):
    assert MODEL_FOLDER_FILES <= {p.name for p in smoke_model.iterdir()}
    assert not any(p.name.endswith((".h5", ".npz")) and p.name != "gate.npz" for p in smoke_model.iterdir())


def test_config_records_everything_needed_to_serve(smoke_model):
    config = ModelConfig.load(smoke_model)
    assert config.backbone == "efficientnet_lite0" and config.input_size == 64
    assert config.labels == list(LABELS) and config.malignant_labels == ["mel", "bcc", "akiec"]
    assert config.preprocessing.source_resolution == 150  # the training images' short side
    assert 0 < config.threshold <= 1 and config.temperature > 0
    assert config.gradcam_layer == "top_activation"
    assert config.gate_layers == ["block6_add", "block10_add", "block14_add"]
    assert config.extra["data"]["split"].startswith("by lesion_id")
    assert "tensorflow" not in json.dumps(config.extra["data"])


def test_gate_features_concatenate_three_stages(smoke_model):
    """The served forward pass pools the three gate layers (80 + 112 + 192 channels), as the saved gate expects."""
    features = Classifier(smoke_model).forward(np.zeros((2, 64, 64, 3), np.uint8))[2]
    assert features.shape == (2, 80 + 112 + 192) and Gate.load(smoke_model).mean.shape == (384,)


def test_saved_model_predicts_what_the_trained_model_predicted(smoke_model, data_dir):
    """The logits computed in memory before saving equal those of the folder's model.keras (safe_mode)."""
    model = keras.saving.load_model(smoke_model / "model.keras", safe_mode=True, compile=False)
    with zipfile.ZipFile(smoke_model / "model.keras") as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as weights:
        assert "optimizer" not in weights or not weights["optimizer"].keys()  # no optimizer state shipped
    before = np.load(smoke_model.parent / ".smoke.work" / "logits.npz")
    records = {r.image_id: r for r in read_metadata(data_dir)}
    config = ModelConfig.load(smoke_model)
    pixels = load_pixels([records[i] for i in before["val_ids"]], config.input_size, config.preprocessing)
    x = normalise(pixels, config.preprocessing)
    views = [x, *tta_views(x)] if config.tta else [x]  # the recipe serves with test-time augmentation
    after = np.mean([model.predict(view, verbose=0) for view in views], axis=0)
    assert config.tta and np.allclose(after, before["val"], atol=1e-4)


def test_split_file_is_lesion_disjoint(smoke_model):
    with open(smoke_model / "split.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 10015
    sides: dict[str, set] = {}
    for row in rows:
        sides.setdefault(row["lesion_id"], set()).add(row["split"])
    assert all(len(s) == 1 for s in sides.values())


def test_model_card_metadata_and_licence(smoke_model):
    card = (smoke_model / "README.md").read_text()
    _, front, body = card.split("---", 2)
    meta = yaml.safe_load(front)
    assert meta["license"] == "cc-by-nc-4.0" and meta["library_name"] == "keras"
    results = meta["model-index"][0]["results"][0]["metrics"]
    metrics = json.loads((smoke_model / "metrics.json").read_text())
    assert {m["type"]: m["value"] for m in results}["roc_auc"] == round(metrics["test"]["auc"], 4)
    for phrase in ("not a diagnosis", "non-commercial", "Limitations", "Intended use", "safe_mode=True"):
        assert phrase in body


def test_metrics_cover_every_reported_figure(smoke_model):
    metrics = json.loads((smoke_model / "metrics.json").read_text())
    for key in ("auc", "sensitivity", "specificity", "precision", "f1", "balanced_accuracy_7class", "ece", "ece_before_temperature"):
        assert 0 <= metrics["test"][key] <= 1
    assert metrics["validation"]["sensitivity"] >= 0.90  # the threshold was chosen for it on validation
    assert 0 <= metrics["gate"]["validation_false_alarm_rate"] <= 1
    gate = metrics["gate"]
    by_source = gate["validation_false_alarms_by_source"]
    assert sum(m["n"] for m in by_source.values()) == gate["validation_images"]
    assert sum(m["gate_flags"] for m in by_source.values()) == round(gate["validation_false_alarm_rate"] * gate["validation_images"])


def test_head_only_phase_changes_the_head_and_leaves_the_imagenet_features():
    """--head-epochs (LP-FT): the backbone, batch-norm statistics included, is exactly the ImageNet one afterwards,
    the head has learnt, and every layer is trainable again for the fine-tuning that follows."""
    import tensorflow as tf

    from train.__main__ import fit_head
    from train.backbones import HEAD_LAYERS, build_classifier

    model, _ = build_classifier("efficientnet_lite0", 64)
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers}
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (16, 64, 64, 3)).astype("float32")
    labels = keras.utils.to_categorical(rng.integers(0, len(LABELS), 16), len(LABELS))
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)
    fit_head(model, dataset, 1, keras.losses.CategoricalCrossentropy(from_logits=True), verbose=0)
    for layer in model.layers:
        changed = any(not np.array_equal(a, b) for a, b in zip(before[layer.name], layer.get_weights(), strict=True))
        assert changed == (layer.name in HEAD_LAYERS), layer.name
        assert layer.trainable


def test_refitting_the_gate_alone_changes_the_gate_and_nothing_else(smoke_model, data_dir, tmp_path):
    from train.data import read_split
    from train.report import refit_gate

    folder = tmp_path / "smoke"
    shutil.copytree(smoke_model, folder)
    before = json.loads((folder / "metrics.json").read_text())
    split = read_split(folder / "split.csv")
    records = [r for r in read_metadata(data_dir) if r.image_id in split]
    by_side = {side: [r for r in records if split[r.image_id] == side][:24] for side in ("train", "val")}
    after = refit_gate(folder, records, by_side)
    assert after["gate"]["train_images_fitted"] == 24 and after["gate"]["distance_quantile"] == DISTANCE_QUANTILE
    assert after["gate"] != before["gate"]
    assert {k: v for k, v in after.items() if k != "gate"} == {k: v for k, v in before.items() if k != "gate"}
    assert json.loads((folder / "metrics.json").read_text()) == after
    assert Gate.load(folder).max_distance == after["gate"]["thresholds"]["max_distance"]


def test_the_gate_detector_learns_from_an_archive_the_model_did_not_train_on(smoke_model, archive_dirs, tmp_path):
    """`python -m train.report FOLDER --data-dir HAM10000 ISIC2017 --gate-only` on a HAM10000-only model: ISIC 2017's
    training side joins the detector's dermoscopy photos, its validation side is measured, and the distance check is
    fitted on the model's own training photos as before."""
    from train.data import other_archives, read_split, split_by_lesion
    from train.report import refit_gate

    folder = tmp_path / "smoke"
    shutil.copytree(smoke_model, folder)
    split = read_split(folder / "split.csv")
    own = [r for r in read_metadata(archive_dirs[0]) if r.image_id in split]
    other = read_metadata(archive_dirs[1])[:60]
    by_side = {side: [r for r in own if split[r.image_id] == side][:24] for side in ("train", "val")}
    alone = refit_gate(folder, own, by_side)["gate"]
    distance = Gate.load(folder).max_distance
    gate = refit_gate(folder, own + other, by_side | {"other": other_archives(own + other, split)})["gate"]
    other_side = split_by_lesion(other)
    assert alone["detector_archives"] == ["HAM10000"] and gate["detector_archives"] == ["HAM10000", "ISIC 2017"]
    assert gate["other_archive_images_fitted"] == sum(other_side[r.image_id] == "train" for r in other)
    assert gate["other_archives_validation"]["ISIC 2017"]["n"] == sum(other_side[r.image_id] == "val" for r in other)
    assert gate["train_images_fitted"] == 24 and Gate.load(folder).max_distance == distance
    assert gate["thresholds"]["min_detector_score"] == Gate.load(folder).min_detector_score


@pytest.mark.slow
def test_an_out_of_source_run_scores_the_held_out_source_it_never_saw(tmp_path, data_dir):
    """--holdout-source: trained and calibrated without the source, then every image of it (here a smoke subset) is
    scored, with and without TTA, and the gate's answers on it recorded; no model folder is written."""
    from train.__main__ import main

    out = tmp_path / "loso"
    argv = ["--data-dir", str(data_dir), "--out", str(out), "--holdout-source", "vienna_dias", "--image-size", "64",
            "--epochs", "1", "--max-steps", "2", "--limit", "48", "--batch-size", "8", "--verbose", "0"]
    assert main(argv) == 0
    result = json.loads((out / "holdout.json").read_text())
    assert result["training"]["holdout_source"] == "vienna_dias"
    assert result["held_out"]["n"] == result["held_out_tta"]["n"] == 48
    assert 0 < result["threshold"] <= 1 and result["threshold"] == ModelConfig.load(out).threshold
    assert "no_result_rate" in result["held_out"] and "vienna_dias" not in result["validation_by_source"]
    assert not (out / "metrics.json").exists()
