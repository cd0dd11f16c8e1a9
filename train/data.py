"""Dermoscopy archives (HAM10000, ISIC 2017): read and check their metadata into one table, split by lesion,
sample, and load preprocessed pixels."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from inference.config import LABELS, MALIGNANT_LABELS, Preprocessing
from inference.preprocess import prepare_image

REQUIRED_COLUMNS = ("image_id", "dx")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Archive:
    """A published collection of dermoscopy photos, recognised by its metadata file."""

    name: str
    metadata: str
    citation: str
    license: str
    sources: tuple[str, ...]  # its acquisition sources (`dataset` column)


ARCHIVES = (
    Archive("HAM10000", "HAM10000_metadata.csv", "Tschandl et al. 2018, doi:10.1038/sdata.2018.161", "CC BY-NC 4.0",
            ("vidir_molemax", "vidir_modern", "rosendahl", "vienna_dias")),
    # No lesion ids are published for ISIC 2017: each image is its own lesion group.
    Archive("ISIC 2017", "labels.csv", "Codella et al. 2018, arXiv:1710.05006 (ISIC Archive)",
            "ISIC Archive terms (attribution, non-commercial)", ("isic2017",)),
)
# Holding one of these out holds out a whole archive (every clinic and dermatoscope of it), not one clinic.
WHOLE_ARCHIVE_SOURCES = tuple(a.sources[0] for a in ARCHIVES if len(a.sources) == 1)
METADATA = ARCHIVES[0].metadata


class DataError(ValueError):
    """The data directory or its metadata cannot be used; the message names the first offenders."""


@dataclass(frozen=True)
class Record:
    image_id: str
    lesion_id: str
    dx: str
    path: Path
    source: str = ""  # acquisition source (`dataset` column): for out-of-source validation, never a model input
    archive: str = ARCHIVES[0].name

    @property
    def label(self) -> int:
        return LABELS.index(self.dx)

    @property
    def malignant(self) -> int:
        return int(self.dx in MALIGNANT_LABELS)


def source_decorrelating_weights(records: list[Record], max_weight: float = 5.0) -> np.ndarray:
    """Per image P(y) / P(y | source), y = malignant, capped at max_weight: every source then carries the same
    malignant rate in the loss, so a model cannot score a lesion by recognising the clinic's camera."""
    y = np.array([r.malignant for r in records])
    source = np.array([r.source for r in records])
    weights = np.empty(len(records))
    for s in np.unique(source):
        for label in (0, 1):
            here = (source == s) & (y == label)
            if here.any():
                weights[here] = (y == label).mean() / (here.sum() / (source == s).sum())
    return np.minimum(weights, max_weight)


def archive_equalising_weights(records: list[Record]) -> np.ndarray:
    """Per image 1 / (its archive's share of the images), mean 1: every archive carries the same total weight in the
    loss, so the larger archive does not decide alone what a lesion looks like."""
    archive = np.array([r.archive for r in records])
    names, counts = np.unique(archive, return_counts=True)
    share = dict(zip(names, counts / len(records), strict=True))
    weights = np.array([1.0 / share[a] for a in archive])
    return weights / weights.mean()


def archive_of(data_dir: Path) -> Archive:
    """The archive whose metadata file the folder holds."""
    for archive in ARCHIVES:
        if (data_dir / archive.metadata).is_file():
            return archive
    names = " or ".join(a.metadata for a in ARCHIVES)
    raise DataError(f"no {names} in {data_dir}: point --data-dir at an archive's folder (see README).")


def read_archive(data_dir: str | Path) -> list[Record]:
    """Every image of one archive's metadata, checked; `<image_id>.jpg` may sit anywhere below data_dir."""
    data_dir = Path(data_dir)
    archive = archive_of(data_dir)
    metadata = data_dir / archive.metadata
    with metadata.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    missing_columns = [c for c in REQUIRED_COLUMNS if not rows or c not in rows[0]]
    if missing_columns:
        raise DataError(f"{metadata}: missing columns {missing_columns} (or no rows)")
    unknown = [f"{r['image_id']} ({r['dx']!r})" for r in rows if r["dx"] not in LABELS]
    if unknown:
        raise DataError(f"{metadata}: unknown dx for {_first(unknown)}; expected one of {', '.join(LABELS)}")
    for row in rows:  # an archive without lesion ids: every image is its own lesion
        row["lesion_id"] = row.get("lesion_id") or row["image_id"]
    dx_of_lesion: dict[str, str] = {}
    conflicting = [r["lesion_id"] for r in rows if dx_of_lesion.setdefault(r["lesion_id"], r["dx"]) != r["dx"]]
    if conflicting:
        raise DataError(f"{metadata}: lesions with more than one dx: {_first(sorted(set(conflicting)))}")
    files = {p.stem: p for p in data_dir.rglob("*.jpg")}
    absent = [r["image_id"] for r in rows if r["image_id"] not in files]
    if absent:
        raise DataError(f"{data_dir}: {len(absent)} images listed in the metadata are missing: {_first(absent)}")
    return [Record(r["image_id"], r["lesion_id"], r["dx"], files[r["image_id"]], r.get("dataset", ""), archive.name) for r in rows]


def read_metadata(data_dirs: str | Path | Sequence[str | Path]) -> list[Record]:
    """One table of every image of one or several archives, in the order given, checked (an image id twice,
    within or across archives, is an error: the same folder given twice, or one photo in two archives)."""
    dirs = [data_dirs] if isinstance(data_dirs, (str, Path)) else list(data_dirs)
    records = [record for data_dir in dirs for record in read_archive(data_dir)]
    seen: set[str] = set()
    duplicates = [r.image_id for r in records if r.image_id in seen or seen.add(r.image_id)]
    if duplicates:
        raise DataError(f"duplicate image_id {_first(duplicates)} (within or across archives)")
    return records


def archives(records: list[Record]) -> list[str]:
    """The archives present, in the order read."""
    return list(dict.fromkeys(r.archive for r in records))


def split_by_lesion(records: list[Record], seed: int = 42, val: float = 0.15, test: float = 0.15) -> dict[str, str]:
    """image_id -> 'train' | 'val' | 'test'; every image of a lesion on one side, stratified by diagnosis within
    each archive (each archive split on its own: adding an archive leaves the others' split as it was)."""
    split: dict[str, str] = {}
    for archive in archives(records):
        split |= _split_one([r for r in records if r.archive == archive], seed, val, test)
    return split


def _split_one(records: list[Record], seed: int, val: float, test: float) -> dict[str, str]:
    lesions = sorted({(r.lesion_id, r.dx) for r in records})
    ids, dxs = [lesion for lesion, _ in lesions], [dx for _, dx in lesions]
    rest, test_ids, rest_dx, _ = train_test_split(ids, dxs, test_size=test, stratify=dxs, random_state=seed)
    train_ids, val_ids = train_test_split(rest, test_size=val / (1 - test), stratify=rest_dx, random_state=seed)
    side = {**{i: "train" for i in train_ids}, **{i: "val" for i in val_ids}, **{i: "test" for i in test_ids}}
    return {r.image_id: side[r.lesion_id] for r in records}


def sides(records: list[Record], split: dict[str, str]) -> dict[str, list[Record]]:
    """The records on each side of a split (a record the split does not cover is on none)."""
    return {side: [r for r in records if split.get(r.image_id) == side] for side in SPLITS}


def other_archives(records: list[Record], split: dict[str, str]) -> dict[str, list[Record]]:
    """The records of archives a model did not train on (not in its split), on the side a training run would put them
    (`split_by_lesion`): its gate's detector learns from their training side and is measured on the others."""
    other = [r for r in records if r.image_id not in split]
    return sides(other, split_by_lesion(other) if other else {})


def balanced_sample(records: list[Record], seed: int = 42) -> list[Record]:
    """The project origin's sampling: every malignant image plus as many randomly chosen benign ones."""
    malignant = [r for r in records if r.malignant]
    benign = [r for r in records if not r.malignant]
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(benign), size=min(len(malignant), len(benign)), replace=False)
    return malignant + [benign[i] for i in sorted(chosen)]


def sources(records: list[Record]) -> list[str]:
    """The acquisition sources present, in a stable order."""
    return sorted({r.source for r in records if r.source})


def write_split(path: str | Path, records: list[Record], split: dict[str, str]) -> None:
    """split.csv: the side of every image the split covers (an archive added after the model was trained is not in
    it: none of its images was used)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "lesion_id", "dx", "split", "dataset"])
        writer.writerows([r.image_id, r.lesion_id, r.dx, split[r.image_id], r.source] for r in records if r.image_id in split)


def read_split(path: str | Path) -> dict[str, str]:
    with open(path, newline="") as handle:
        return {row["image_id"]: row["split"] for row in csv.DictReader(handle)}


def prepare_images(sources: list, input_size: int, preprocessing: Preprocessing, workers: int = 2) -> np.ndarray:
    """uint8 array (N, size, size, 3) of image files or PIL images through the serving preprocessing, so training and
    evaluation see what serving sees."""
    with ThreadPoolExecutor(workers) as pool:
        return np.stack(list(pool.map(lambda source: prepare_image(source, input_size, preprocessing), sources)))


def load_pixels(records: list[Record], input_size: int, preprocessing: Preprocessing, workers: int = 2) -> np.ndarray:
    """The records' photos through the serving preprocessing (`prepare_images`)."""
    return prepare_images([r.path for r in records], input_size, preprocessing, workers)


def _first(items: list, n: int = 5) -> str:
    shown = ", ".join(map(str, items[:n]))
    return shown + (f" (and {len(items) - n} more)" if len(items) > n else "")
