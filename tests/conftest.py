"""Shared fixtures: the data directories (HAM10000, ISIC 2017), a smoke-trained model folder, the bundled model."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The data sets: HAM10000_DIR, else data/ham10000 in the repository (docs/training.md, "Data"), else ../shared/data
# beside it (CI); ISIC 2017 and the originals sit beside HAM10000.
DATA_DIR = Path(os.environ.get("HAM10000_DIR") or next(
    (d for d in (ROOT / "data" / "ham10000", ROOT.parent / "shared" / "data" / "ham10000") if d.is_dir()), ROOT / "data" / "ham10000"))
ISIC2017_DIR = Path(os.environ.get("ISIC2017_DIR", DATA_DIR.parent / "isic2017"))
# Gradio and its client write temporary files; keep them out of /tmp/gradio.
os.environ.setdefault("GRADIO_TEMP_DIR", tempfile.mkdtemp(prefix="gradio-tests-"))


DATA_FIXTURES = {"data_dir", "archive_dirs"}  # a test that uses one of these (even through another fixture) needs the data
MISSING_DATA = ("{name} not found at {path}: put it there or set {variable} (README, \"Quick start\"; where to get it: "
                "docs/training.md, \"Data\"). Without the data sets, `python -m pytest -m \"not data\"` runs the other tests.")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that reads a data set `data`, so that `-m "not data"` runs the rest anywhere."""
    for item in items:
        if DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.data)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "HAM10000_metadata.csv").exists():
        pytest.fail(MISSING_DATA.format(name="HAM10000", path=DATA_DIR, variable="HAM10000_DIR"))
    return DATA_DIR


@pytest.fixture(scope="session")
def archive_dirs(data_dir) -> list[Path]:
    """Every archive the shipped model may be trained on: HAM10000, then ISIC 2017."""
    if not (ISIC2017_DIR / "labels.csv").exists():
        pytest.fail(MISSING_DATA.format(name="ISIC 2017", path=ISIC2017_DIR, variable="ISIC2017_DIR"))
    return [data_dir, ISIC2017_DIR]


@pytest.fixture(scope="session")
def smoke_model(tmp_path_factory, data_dir) -> Path:
    """A complete model folder from a seconds-long training run (64 px, 2 steps, 64 images per split)."""
    from train.__main__ import main

    out = tmp_path_factory.mktemp("models") / "smoke"
    argv = [
        "--data-dir",
        str(data_dir),
        "--out",
        str(out),
        "--image-size",
        "64",
        "--epochs",
        "1",
        "--max-steps",
        "2",
        "--limit",
        "64",
        "--batch-size",
        "8",
        "--verbose",
        "0",
    ]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="session")
def bundled_classifier():
    """The model the app serves by default, loaded once for the whole session."""
    from inference import load_classifier
    from inference.loading import BUNDLED_MODEL

    if not (BUNDLED_MODEL / "model.keras").exists():
        pytest.fail(f"the bundled model {BUNDLED_MODEL} is missing")
    return load_classifier(str(BUNDLED_MODEL))
