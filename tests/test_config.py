"""config.json against its schema: every real model folder loads, every tampered one fails loudly (issue 24, finding 3).

A hand-edited or third-party config used to run with exit 0 and wrong answers: `threshold: 2` turned a melanoma
into `no_flag`, `temperature: 0` gave P = NaN, `malignant_labels: []` P = 0 everywhere, a missing threshold became 0.5.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.config import ConfigError, ModelConfig

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180  # s per subprocess: TensorFlow's import on a busy 2-core machine


def _set(path: str, value):
    """A tampering: config[path] = value (path "a.b" reaches into preprocessing); value ... deletes the key."""

    def tamper(config: dict) -> None:
        *parents, key = path.split(".")
        target = config
        for parent in parents:
            target = target[parent]
        if value is ...:
            del target[key]
        else:
            target[key] = value

    return tamper


# (what, tampering, key the error must name)
TAMPERINGS = [
    ("threshold above 1", _set("threshold", 2), "threshold"),
    ("threshold below 0", _set("threshold", -1), "threshold"),
    ("threshold 0", _set("threshold", 0), "threshold"),
    ("threshold 1", _set("threshold", 1), "threshold"),
    ("threshold NaN", _set("threshold", math.nan), "threshold"),
    ("threshold as text", _set("threshold", "0.1"), "threshold"),
    ("threshold missing", _set("threshold", ...), "threshold is missing"),
    ("temperature NaN", _set("temperature", math.nan), "temperature"),
    ("temperature 0", _set("temperature", 0), "temperature"),
    ("temperature negative", _set("temperature", -1.0), "temperature"),
    ("temperature infinite", _set("temperature", math.inf), "temperature"),
    ("temperature missing", _set("temperature", ...), "temperature is missing"),
    ("no malignant labels", _set("malignant_labels", []), "malignant_labels"),
    ("a malignant label that is not a label", _set("malignant_labels", ["mel", "melanoma"]), "malignant_labels"),
    ("no labels", _set("labels", []), "labels"),
    ("a label twice", _set("labels", ["nv", "nv", "df", "vasc", "mel", "bcc", "akiec"]), "labels"),
    ("std of zeros", _set("preprocessing.std", [0, 0, 0]), "preprocessing.std"),
    ("std of two channels", _set("preprocessing.std", [128.0, 128.0]), "preprocessing.std"),
    ("mean NaN", _set("preprocessing.mean", [math.nan, 127.0, 127.0]), "preprocessing.mean"),
    ("input size 0", _set("input_size", 0), "input_size"),
    ("input size not whole", _set("input_size", 224.5), "input_size"),
    ("channel order unknown", _set("preprocessing.channel_order", "GRB"), "preprocessing.channel_order"),
    ("source processing to 0 px", _set("preprocessing.source_processing", {"short_side": 0, "resample": "bicubic"}),
     "preprocessing.source_processing.short_side"),
    ("source processing with an unknown filter", _set("preprocessing.source_processing", {"short_side": 150, "resample": "magic"}),
     "preprocessing.source_processing.resample"),
    ("source processing with a misspelt key", _set("preprocessing.source_processing", {"short_side": 150, "resampel": "bicubic"}),
     "preprocessing.source_processing.resampel is not a known key"),
    ("an unknown preprocessing key", _set("preprocessing.colour_constancyy", "none"), "preprocessing.colour_constancyy"),
    ("colour constancy unknown", _set("preprocessing.colour_constancy", "retinex"), "preprocessing.colour_constancy"),
    ("probabilities instead of logits", _set("outputs", "probabilities"), "outputs"),
    ("tta as text", _set("tta", "yes"), "tta"),
    ("no Grad-CAM layer", _set("gradcam_layer", ...), "gradcam_layer is missing"),
    ("gate layers empty", _set("gate_layer", []), "gate_layer"),
    ("schema version 2", _set("schema_version", 2), "schema_version"),
    ("preprocessing missing", _set("preprocessing", ...), "preprocessing is missing"),
]


def real_model_folders() -> list[Path]:
    return [ROOT / "models" / "skin-lesion-lite0", *sorted(p.parent for p in (ROOT / "results").glob("*/config.json"))]


def bundled_config() -> dict:
    return json.loads((ROOT / "models" / "skin-lesion-lite0" / "config.json").read_text())


def tampered_folder(source: Path, folder: Path, tamper) -> Path:
    shutil.copytree(source, folder)
    config = json.loads((folder / "config.json").read_text())
    tamper(config)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize("folder", real_model_folders(), ids=lambda p: p.name)
def test_every_real_model_folder_follows_the_schema(folder):
    config = ModelConfig.load(folder)
    assert 0 < config.threshold < 1 and config.temperature > 0 and set(config.malignant_labels) <= set(config.labels)


def test_the_smoke_model_follows_the_schema(smoke_model):
    ModelConfig.load(smoke_model)


@pytest.mark.parametrize(("what", "tamper", "named"), TAMPERINGS, ids=[t[0] for t in TAMPERINGS])
def test_a_tampered_config_is_refused_naming_the_key(what, tamper, named):
    config = bundled_config()
    tamper(config)
    with pytest.raises(ConfigError) as refused:
        ModelConfig.from_dict(json.loads(json.dumps(config)))  # through JSON, as from the file (NaN included)
    message = str(refused.value)
    assert named in message and "\n" not in message, message


def test_every_problem_is_named_at_once_and_a_config_error_is_a_value_error():
    config = bundled_config()
    del config["threshold"]
    config["temperature"] = 0
    with pytest.raises(ValueError, match=r"threshold is missing .*; temperature is 0; it must be a finite number above 0"):
        ModelConfig.from_dict(config)


def test_files_that_are_not_a_config_are_refused(tmp_path):
    for text in ("{", "[1, 2]", '"a string"'):
        (tmp_path / "config.json").write_text(text)
        with pytest.raises(ConfigError, match="config.json"):
            ModelConfig.load(tmp_path)


def test_the_library_refuses_a_tampered_folder(smoke_model, tmp_path):
    from inference import load_classifier

    folder = tampered_folder(smoke_model, tmp_path / "threshold", _set("threshold", 2))
    with pytest.raises(ConfigError, match="threshold is 2; it must be a number strictly between 0 and 1"):
        load_classifier(str(folder))


def test_non_finite_gate_thresholds_are_refused(smoke_model, tmp_path):
    """NaN gate thresholds switched the quality check off silently."""
    from inference import Classifier

    folder = tmp_path / "gate"
    shutil.copytree(smoke_model, folder)
    with np.load(folder / "gate.npz", allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["thresholds"] = np.full_like(arrays["thresholds"], np.nan)
    np.savez(folder / "gate.npz", **arrays)
    with pytest.raises(ValueError, match="gate.npz"):
        Classifier(folder)


def test_a_tampered_hub_folder_is_an_error_not_a_fallback(smoke_model, tmp_path, monkeypatch):
    """A third party's folder on the Hub is this input: it must not be served, nor swapped silently for another model."""
    from inference import hub, load_classifier

    folder = tampered_folder(smoke_model, tmp_path / "hub", _set("temperature", 0))
    monkeypatch.setattr(hub, "download_model", lambda repo, revision, timeout: (folder, "0" * 40))
    with pytest.raises(ConfigError, match=r"someone/model @ main \(hub\): config.json is invalid: temperature is 0"):
        load_classifier("someone/model", "main")


def run_tool(command: list[str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)


@pytest.mark.slow
@pytest.mark.parametrize(("what", "tamper", "named"), [TAMPERINGS[0], TAMPERINGS[7], TAMPERINGS[19]],
                         ids=["threshold 2", "temperature NaN", "input size 0"])
def test_the_cli_and_the_app_stop_with_one_line_and_exit_2(smoke_model, data_dir, tmp_path, what, tamper, named):
    """`input_size: 0` printed a TensorFlow traceback; `threshold: 2` and NaN temperatures ran with exit 0."""
    folder = tampered_folder(smoke_model, tmp_path / "model", tamper)
    photo = next((data_dir / "images").glob("ISIC_*.jpg"))
    for command in (["-m", "inference", str(photo), "--model", str(folder)], ["app.py", "--model", str(folder), "--port", "9"]):
        run = run_tool(command)
        assert run.returncode == 2, (command, run.stderr[-2000:])
        errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and named in errors[0] and "config.json is invalid" in errors[0], run.stderr[-2000:]
        assert "Traceback" not in run.stderr and run.stdout == ""
