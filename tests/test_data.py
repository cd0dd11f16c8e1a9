"""Archive loading (HAM10000, ISIC 2017), checks, the lesion-disjoint split, sampling and weights."""

from __future__ import annotations

import csv
import shutil
from collections import Counter

import numpy as np
import pytest

from train.data import (
    DataError,
    archive_equalising_weights,
    balanced_sample,
    read_metadata,
    source_decorrelating_weights,
    split_by_lesion,
)


@pytest.fixture(scope="module")
def records(data_dir):
    return read_metadata(data_dir)


def test_reads_every_image(records):
    assert len(records) == 10015
    assert len({r.lesion_id for r in records}) == 7470
    assert Counter(r.dx for r in records) == {"nv": 6705, "mel": 1113, "bkl": 1099, "bcc": 514, "akiec": 327, "vasc": 142, "df": 115}
    assert sum(r.malignant for r in records) == 1954


def test_split_is_lesion_disjoint_stratified_and_deterministic(records):
    split = split_by_lesion(records, seed=42)
    sides_of_lesion: dict[str, set[str]] = {}
    for r in records:
        sides_of_lesion.setdefault(r.lesion_id, set()).add(split[r.image_id])
    assert all(len(sides) == 1 for sides in sides_of_lesion.values())
    share = Counter(split.values())
    assert 0.67 < share["train"] / len(records) < 0.73
    assert 0.13 < share["val"] / len(records) < 0.17 and 0.13 < share["test"] / len(records) < 0.17
    for side in ("train", "val", "test"):  # every diagnosis on every side, in about the same proportion
        malignant = [r.malignant for r in records if split[r.image_id] == side]
        assert 0.16 < sum(malignant) / len(malignant) < 0.23
        assert {r.dx for r in records if split[r.image_id] == side} == {"nv", "mel", "bkl", "bcc", "akiec", "vasc", "df"}
    assert split_by_lesion(records, seed=42) == split
    assert split_by_lesion(records, seed=7) != split


def test_balanced_sample_reproduces_the_origin(records):
    sample = balanced_sample(records, seed=42)
    assert len(sample) == 3908
    assert sum(r.malignant for r in sample) == 1954
    assert len({r.image_id for r in sample}) == 3908


def test_source_weights_give_every_source_the_same_malignant_rate(records):
    """Weighted, each acquisition source carries the overall malignant rate (MoleMax's 26 malignant images hit the cap)."""
    weights = source_decorrelating_weights(records)
    y = np.array([r.malignant for r in records])
    source = np.array([r.source for r in records])
    for s in ["rosendahl", "vidir_modern", "vienna_dias"]:
        here = source == s
        assert abs((weights[here] * y[here]).sum() / weights[here].sum() - y.mean()) < 1e-9
    molemax = source == "vidir_molemax"
    assert weights[molemax & (y == 1)].max() == 5.0 and (weights[molemax] * y[molemax]).sum() / weights[molemax].sum() < y.mean()


def test_public_two_folder_layout(tmp_path, data_dir, records):
    """The public download has two image folders; <image_id>.jpg is found anywhere below the directory."""
    wanted = records[:6]
    for i, r in enumerate(wanted):
        folder = tmp_path / ("HAM10000_images_part_1" if i % 2 else "HAM10000_images_part_2")
        folder.mkdir(exist_ok=True)
        (folder / f"{r.image_id}.jpg").symlink_to(r.path)
    _write_metadata(tmp_path, [(r.lesion_id, r.image_id, r.dx) for r in wanted])
    assert [r.image_id for r in read_metadata(tmp_path)] == [r.image_id for r in wanted]


def _write_metadata(folder, rows):
    with open(folder / "HAM10000_metadata.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization"])
        writer.writerows([*row, "histo", "50.0", "male", "back"] for row in rows)


@pytest.mark.parametrize(
    "rows, message",
    [
        ([("HAM_1", "ISIC_0027419", "bkl"), ("HAM_2", "ISIC_9999999", "nv")], "missing: ISIC_9999999"),
        ([("HAM_1", "ISIC_0027419", "melanoma")], "unknown dx for ISIC_0027419 ('melanoma')"),
        ([("HAM_1", "ISIC_0027419", "bkl"), ("HAM_1", "ISIC_0027419", "bkl")], "duplicate image_id ISIC_0027419"),
        ([("HAM_1", "ISIC_0027419", "bkl"), ("HAM_1", "ISIC_0025030", "mel")], "more than one dx: HAM_1"),
    ],
)
def test_broken_metadata_names_the_first_offenders(tmp_path, data_dir, rows, message):
    shutil.copy(data_dir / "images" / "ISIC_0027419.jpg", tmp_path)
    shutil.copy(data_dir / "images" / "ISIC_0025030.jpg", tmp_path)
    _write_metadata(tmp_path, rows)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_metadata(tmp_path)


def test_missing_metadata_file_says_where_to_point(tmp_path):
    with pytest.raises(DataError, match="--data-dir"):
        read_metadata(tmp_path)


def test_cli_reports_bad_data_without_traceback(tmp_path):
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "m")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "no HAM10000_metadata.csv or labels.csv in" in run.stderr and "Traceback" not in run.stderr


# --- several archives ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def both(archive_dirs):
    return read_metadata(archive_dirs)


def test_two_archives_in_one_table(both, records):
    isic = [r for r in both if r.archive == "ISIC 2017"]
    assert len(both) == len(records) + 2150 and len(isic) == 2150
    assert Counter(r.dx for r in isic) == {"nv": 1450, "mel": 404, "bkl": 296}
    assert {r.source for r in isic} == {"isic2017"} and sum(r.malignant for r in isic) == 404
    assert all(r.lesion_id == r.image_id for r in isic)  # no lesion ids published: each image is its own lesion


def test_adding_an_archive_leaves_the_others_split_as_it_was(both, records):
    split, alone = split_by_lesion(both, seed=42), split_by_lesion(records, seed=42)
    assert all(split[i] == side for i, side in alone.items())
    isic = [r for r in both if r.archive == "ISIC 2017"]
    for side, share in (("train", 0.70), ("val", 0.15), ("test", 0.15)):
        on_side = [r for r in isic if split[r.image_id] == side]
        assert abs(len(on_side) / len(isic) - share) < 0.01
        assert abs(sum(r.malignant for r in on_side) / len(on_side) - 404 / 2150) < 0.01  # stratified by diagnosis


def test_the_same_archive_twice_is_refused(data_dir):
    with pytest.raises(DataError, match="duplicate image_id"):
        read_metadata([data_dir, data_dir])


def test_archive_weights_give_every_archive_the_same_total(both):
    weights = archive_equalising_weights(both)
    archive = np.array([r.archive for r in both])
    assert weights.mean() == pytest.approx(1.0)
    assert weights[archive == "HAM10000"].sum() == pytest.approx(weights[archive == "ISIC 2017"].sum())
