"""HAM10000: read and check the metadata, split by lesion, sample, and load preprocessed pixels."""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from inference.config import LABELS, MALIGNANT_LABELS, Preprocessing
from inference.preprocess import prepare_image

METADATA = "HAM10000_metadata.csv"
REQUIRED_COLUMNS = ("lesion_id", "image_id", "dx")
SPLITS = ("train", "val", "test")


class DataError(ValueError):
    """The data directory or its metadata cannot be used; the message names the first offenders."""


@dataclass(frozen=True)
class Record:
    image_id: str
    lesion_id: str
    dx: str
    path: Path
    source: str = ""  # acquisition source (`dataset` column): for out-of-source validation, never a model input

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


def _first(items: list, n: int = 5) -> str:
    shown = ", ".join(map(str, items[:n]))
    return shown + (f" (and {len(items) - n} more)" if len(items) > n else "")


def read_metadata(data_dir: str | Path) -> list[Record]:
    """Every image of HAM10000_metadata.csv, checked; `<image_id>.jpg` may sit anywhere below data_dir."""
    data_dir = Path(data_dir)
    metadata = data_dir / METADATA
    if not metadata.is_file():
        raise DataError(f"{metadata} not found: point --data-dir at the HAM10000 folder (see README).")
    with metadata.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    missing_columns = [c for c in REQUIRED_COLUMNS if not rows or c not in rows[0]]
    if missing_columns:
        raise DataError(f"{metadata}: missing columns {missing_columns} (or no rows)")
    unknown = [f"{r['image_id']} ({r['dx']!r})" for r in rows if r["dx"] not in LABELS]
    if unknown:
        raise DataError(f"{metadata}: unknown dx for {_first(unknown)}; expected one of {', '.join(LABELS)}")
    seen: set[str] = set()
    duplicates = [r["image_id"] for r in rows if r["image_id"] in seen or seen.add(r["image_id"])]
    if duplicates:
        raise DataError(f"{metadata}: duplicate image_id {_first(duplicates)}")
    dx_of_lesion: dict[str, str] = {}
    conflicting = [r["lesion_id"] for r in rows if dx_of_lesion.setdefault(r["lesion_id"], r["dx"]) != r["dx"]]
    if conflicting:
        raise DataError(f"{metadata}: lesions with more than one dx: {_first(sorted(set(conflicting)))}")
    files = {p.stem: p for p in data_dir.rglob("*.jpg")}
    absent = [r["image_id"] for r in rows if r["image_id"] not in files]
    if absent:
        raise DataError(f"{data_dir}: {len(absent)} images listed in the metadata are missing: {_first(absent)}")
    return [Record(r["image_id"], r["lesion_id"], r["dx"], files[r["image_id"]], r.get("dataset", "")) for r in rows]


def split_by_lesion(records: list[Record], seed: int = 42, val: float = 0.15, test: float = 0.15) -> dict[str, str]:
    """image_id -> 'train' | 'val' | 'test'; every image of a lesion on one side, stratified by diagnosis."""
    lesions = sorted({(r.lesion_id, r.dx) for r in records})
    ids, dxs = [lesion for lesion, _ in lesions], [dx for _, dx in lesions]
    rest, test_ids, rest_dx, _ = train_test_split(ids, dxs, test_size=test, stratify=dxs, random_state=seed)
    train_ids, val_ids = train_test_split(rest, test_size=val / (1 - test), stratify=rest_dx, random_state=seed)
    side = {**{i: "train" for i in train_ids}, **{i: "val" for i in val_ids}, **{i: "test" for i in test_ids}}
    return {r.image_id: side[r.lesion_id] for r in records}


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
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "lesion_id", "dx", "split"])
        writer.writerows([r.image_id, r.lesion_id, r.dx, split[r.image_id]] for r in records)


def read_split(path: str | Path) -> dict[str, str]:
    with open(path, newline="") as handle:
        return {row["image_id"]: row["split"] for row in csv.DictReader(handle)}


def load_pixels(records: list[Record], input_size: int, preprocessing: Preprocessing, workers: int = 2) -> np.ndarray:
    """uint8 array (N, size, size, 3) through the serving preprocessing, so training sees what serving sees."""
    with ThreadPoolExecutor(workers) as pool:
        arrays = pool.map(lambda r: prepare_image(r.path, input_size, preprocessing), records)
        return np.stack(list(arrays))
