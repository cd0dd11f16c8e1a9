"""The app's example images: held-out HAM10000 test images with their true diagnoses.

Only `manifest.csv` (image_id, dx, label) is committed; the images are licensed CC BY-NC 4.0 and are never
copied into the repository. At start-up `materialise()` copies them into a cache directory outside the
repository, from the first source that has them:

1. the HAM10000 folder: $HAM10000_DIR, else ./data/ham10000, else ../shared/data/ham10000
   (the image may sit anywhere below it, e.g. images/ISIC_0024306.jpg);
2. the model repo on the Hugging Face Hub (`examples/<image_id>.jpg` there), through
   `inference.hub.download_examples`.

Cache: $SKIN_LESION_EXAMPLES_DIR, else ~/.cache/skin-lesion-classifier/examples.
Regenerate the manifest (deterministic) with `python -m examples --data-dir DIR`.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = Path(__file__).resolve().parent / "manifest.csv"
DATA_ENV = "HAM10000_DIR"
CACHE_ENV = "SKIN_LESION_EXAMPLES_DIR"
DEFAULT_CACHE = Path.home() / ".cache" / "skin-lesion-classifier" / "examples"
HUB_TIMEOUT = 5.0  # seconds for the whole download of the examples (a few small JPEGs), after the model's 10 s
# How many test images of each diagnosis the manifest holds: 4 benign, 4 malignant (one batch of 8).
PER_DIAGNOSIS = {"nv": 1, "bkl": 1, "df": 1, "vasc": 1, "mel": 2, "bcc": 1, "akiec": 1}


@dataclass(frozen=True)
class Example:
    image_id: str
    dx: str
    label: str  # the diagnosis in words (English), as in the manifest
    path: Path | None = None  # the materialised image, once there is one


@dataclass
class ExampleSet:
    examples: list[Example]  # only those with an image on disk
    source: str  # "cache", "data", "hub" or "none"
    missing: list[str]  # manifest ids that could not be materialised
    by_digest: dict[str, Example]  # sha256 of the image bytes -> example: recognises an example however it arrives

    def true_example(self, path: str | Path) -> Example | None:
        """The example whose bytes are exactly those of `path`, if any (a renamed upload still matches, a lookalike does not)."""
        try:
            return self.by_digest.get(digest(Path(path)))
        except OSError:
            return None


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(path: Path = MANIFEST) -> list[Example]:
    with open(path, newline="") as handle:
        return [Example(row["image_id"], row["dx"], row["label"]) for row in csv.DictReader(handle)]


def data_dirs() -> list[Path]:
    """Where to look for HAM10000, in order."""
    candidates = [os.environ.get(DATA_ENV), ROOT / "data" / "ham10000", ROOT.parent / "shared" / "data" / "ham10000"]
    return [Path(c) for c in candidates if c]


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def _copy_from(folder: Path, wanted: list[Example], cache: Path) -> list[str]:
    """Copy the wanted images found anywhere below `folder` (one walk) into the cache; return the ids copied."""
    ids = {e.image_id for e in wanted}
    found = {p.stem: p for p in folder.rglob("*.jpg") if p.stem in ids}
    for image_id, path in found.items():
        shutil.copyfile(path, cache / f"{image_id}.jpg")
    return sorted(found)


def _hub_folder(repo_id: str | None, revision: str | None, timeout: float) -> Path | None:
    """The examples folder of the model repo, or None (no repo, Hub unreachable, helper missing or failing)."""
    if not repo_id:
        return None
    try:
        from inference import hub

        folder = hub.download_examples(repo_id, revision, timeout)
        return Path(folder) if folder else None
    except Exception as error:  # any failure only means: no examples from the Hub
        log.warning("examples: could not get them from %s on the Hub: %s", repo_id, error)
        return None


def materialise(
    repo_id: str | None = None,
    revision: str | None = None,
    extra_dirs: list[Path] | None = None,
    test_ids: set[str] | None = None,
    timeout: float = HUB_TIMEOUT,
) -> ExampleSet:
    """Put the manifest's images in the cache dir (data dir first, then the Hub) and describe what is there.

    `extra_dirs` are searched after the data dirs (e.g. the model folder, whose Hub snapshot may hold examples/).
    `test_ids`, when given (the model's own test split), drops any example the model may have seen in training.
    """
    manifest = read_manifest()
    if test_ids is not None:
        seen = [e.image_id for e in manifest if e.image_id not in test_ids]
        if seen:
            log.warning("examples: %s not in this model's test split; not shown", ", ".join(seen))
        manifest = [e for e in manifest if e.image_id in test_ids]
    cache = cache_dir()
    source = "cache"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        missing = [e for e in manifest if not (cache / f"{e.image_id}.jpg").is_file()]
        for name, folder in [*(("data", d) for d in data_dirs()), *(("data", d) for d in extra_dirs or [])]:
            if missing and folder.is_dir() and _copy_from(folder, missing, cache):
                source = name
                missing = [e for e in missing if not (cache / f"{e.image_id}.jpg").is_file()]
        if missing:
            hub_folder = _hub_folder(repo_id, revision, timeout)
            if hub_folder and _copy_from(hub_folder, missing, cache):
                source = "hub"
    except OSError as error:  # read-only or full disk: run without examples
        log.warning("examples: cannot materialise into %s: %s", cache, error)
    present = [Example(e.image_id, e.dx, e.label, cache / f"{e.image_id}.jpg") for e in manifest if (cache / f"{e.image_id}.jpg").is_file()]
    absent = [e.image_id for e in manifest if not (cache / f"{e.image_id}.jpg").is_file()]
    if not present:
        source = "none"
    return ExampleSet(present, source, absent, {digest(e.path): e for e in present})


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
