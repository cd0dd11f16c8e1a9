"""The app's example images: held-out HAM10000 test images with their recorded diagnoses.

The images are committed here, beside `manifest.csv` (image_id, dx, label) and `ATTRIBUTION.md` (their licence,
CC BY-NC 4.0, and source), so a fresh clone, a Space and the Hub model repo (`python -m train.push ...
--examples-dir examples`) all show them with nothing to download or configure.
Regenerate the manifest and the images (deterministic) with `python -m examples --data-dir DIR`.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from inference import model_files as files

log = logging.getLogger(__name__)

FOLDER = Path(__file__).resolve().parent
MANIFEST = FOLDER / files.EXAMPLES_MANIFEST
ATTRIBUTION = FOLDER / files.EXAMPLES_ATTRIBUTION
# How many test images of each diagnosis the manifest holds: 4 benign, 4 malignant (one batch of 8).
PER_DIAGNOSIS = {"nv": 1, "bkl": 1, "df": 1, "vasc": 1, "mel": 2, "bcc": 1, "akiec": 1}


@dataclass(frozen=True)
class Example:
    image_id: str
    dx: str
    label: str  # the diagnosis in words (English), as in the manifest
    path: Path | None = None  # the image file, when there is one


@dataclass
class ExampleSet:
    examples: list[Example]  # only those with an image on disk
    missing: list[str]  # manifest ids not shown (no image, or not in the model's test split)
    by_digest: dict[str, Example]  # sha256 of the image bytes -> example: recognises an example however it arrives

    def true_example(self, path: str | Path) -> Example | None:
        """The example whose bytes are exactly those of `path`, if any (a renamed upload still matches, a lookalike does not)."""
        try:
            return self.by_digest.get(digest(Path(path)))
        except OSError:
            return None


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def image_path(image_id: str, folder: Path = FOLDER) -> Path:
    return folder / files.EXAMPLE_IMAGE.format(image_id=image_id)


def read_manifest(path: Path = MANIFEST) -> list[Example]:
    with open(path, newline="") as handle:
        return [Example(row["image_id"], row["dx"], row["label"]) for row in csv.DictReader(handle)]


def load(test_ids: set[str] | None = None, folder: Path = FOLDER) -> ExampleSet:
    """The examples whose image is in `folder`; with `test_ids` (the served model's test split), only those the
    model never saw in training. Anything left out is said in the log, for the operator, never on the page."""
    manifest = read_manifest(folder / files.EXAMPLES_MANIFEST)
    shown, missing = [], []
    for example in manifest:
        path = image_path(example.image_id, folder)
        if test_ids is not None and example.image_id not in test_ids:
            log.warning("example %s is not in the served model's test split: not shown", example.image_id)
        elif not path.is_file():
            log.warning("example %s: %s is missing: not shown", example.image_id, path.name)
        else:
            shown.append(Example(example.image_id, example.dx, example.label, path))
            continue
        missing.append(example.image_id)
    return ExampleSet(shown, missing, {digest(e.path): e for e in shown})


def test_split_ids(split_csv: Path) -> set[str] | None:
    """The image ids of the test split in a model folder's split.csv, or None when the folder has none."""
    if not split_csv.is_file():
        return None
    with open(split_csv, newline="") as handle:
        return {row["image_id"] for row in csv.DictReader(handle) if row["split"] == "test"}


def select(records, split: dict[str, str], per_diagnosis: dict[str, int] = PER_DIAGNOSIS, seed: int = 42) -> list[Example]:
    """A deterministic random draw of test images per diagnosis (not chosen by how well the model does on them)."""
    import random

    from inference.config import LABEL_NAMES

    rng = random.Random(seed)
    chosen = []
    for dx, count in per_diagnosis.items():
        pool = sorted(r.image_id for r in records if r.dx == dx and split[r.image_id] == "test")
        chosen += [Example(image_id, dx, LABEL_NAMES[dx]) for image_id in sorted(rng.sample(pool, count))]
    return chosen


def write_manifest(examples: list[Example], path: Path = MANIFEST) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_id", "dx", "label"])
        writer.writerows([e.image_id, e.dx, e.label] for e in examples)


def copy_images(examples: list[Example], sources: dict[str, Path], folder: Path = FOLDER) -> None:
    """Copy the chosen images (image_id -> file in the data folder) here, dropping images no longer listed."""
    for old in folder.glob(files.EXAMPLE_IMAGE.format(image_id="ISIC_*")):
        old.unlink()
    for example in examples:
        shutil.copyfile(sources[example.image_id], image_path(example.image_id, folder))
