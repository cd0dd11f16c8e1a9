"""Twin consistency: the same photo as the dermatoscope wrote it (original) and as the training copy.

A model served on original photos must give them the answer their training copies get; this measures
how far apart the two are, and what each scores against the recorded diagnosis.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from inference.classifier import Classifier, Prediction
from train.data import Record
from train.evaluate import binary_metrics


def twin_ids(originals_dir: str | Path) -> list[str]:
    """Image ids of the originals beside the data folder (`<image_id>.jpg`)."""
    return sorted(p.stem for p in Path(originals_dir).glob("ISIC_*.jpg"))


def twins_in(split_csv: str | Path, originals_dir: str | Path, sides: tuple[str, ...]) -> list[str]:
    """Twin ids whose lesion is on one of the given sides of a model's split."""
    with open(split_csv, newline="") as handle:
        side = {row["image_id"]: row["split"] for row in csv.DictReader(handle)}
    return [i for i in twin_ids(originals_dir) if side.get(i) in sides]


def default_originals_dir(data_dir: str | Path) -> Path:
    """`ham10000-originals/` beside the data folder (never inside it: the loader would find two files per id)."""
    return Path(data_dir).resolve().parent / "ham10000-originals"


def _headline(metrics: dict) -> dict:
    return {k: metrics[k] for k in ("auc", "sensitivity", "specificity")}


def _gate(flagged: np.ndarray) -> dict:
    return {"gate_flag_rate": float(flagged.mean()), "gate_flags": int(flagged.sum())}


def _scores(classifier: Classifier, paths: list[Path], y: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """P(malignant), the gate's flags and their summary over `paths`, as served."""
    predictions = [p for p in classifier.predict(paths) if isinstance(p, Prediction)]
    if len(predictions) != len(paths):
        raise ValueError("a twin image could not be read")
    p = np.array([x.p_malignant for x in predictions])
    flagged = np.array([x.warning_code is not None for x in predictions])
    metrics = binary_metrics(y, p, classifier.config.threshold)
    summary = {**_headline(metrics), "confusion": metrics["confusion"]}
    return p, flagged, {**summary, **_gate(flagged)}


def twin_consistency(classifier: Classifier, records: list[Record], originals_dir: Path, split_csv: Path,
                     sides: tuple[str, ...] = ("val", "test")) -> dict:
    """Agreement of P(malignant) between originals and copies of the twins whose lesion is on `sides`."""
    by_id = {r.image_id: r for r in records}
    ids = [i for i in twins_in(split_csv, originals_dir, sides) if i in by_id]
    y = np.array([by_id[i].malignant for i in ids])
    p_copy, flagged_copy, copies = _scores(classifier, [by_id[i].path for i in ids], y)
    p_original, flagged_original, originals = _scores(classifier, [originals_dir / f"{i}.jpg" for i in ids], y)
    difference = np.abs(p_original - p_copy)
    threshold = classifier.config.threshold
    sources = np.array([by_id[i].source for i in ids])
    by_source = {}
    for source in sorted(set(sources)):  # sources with both benign and malignant twins
        chosen = sources == source
        if 0 < y[chosen].sum() < chosen.sum():
            by_source[source] = {
                "n": int(chosen.sum()),
                "malignant": int(y[chosen].sum()),
                "mean_abs_difference": float(difference[chosen].mean()),
                "copies": {**_headline(binary_metrics(y[chosen], p_copy[chosen], threshold)), **_gate(flagged_copy[chosen])},
                "originals": {**_headline(binary_metrics(y[chosen], p_original[chosen], threshold)), **_gate(flagged_original[chosen])},
            }
    return {
        "sides": list(sides),
        "n": len(ids),
        "malignant": int(y.sum()),
        "mean_abs_difference": float(difference.mean()),
        "p95_abs_difference": float(np.quantile(difference, 0.95)),
        "mean_difference_original_minus_copy": float((p_original - p_copy).mean()),
        "same_decision": float(np.mean((p_original >= threshold) == (p_copy >= threshold))),
        "copies": copies,
        "originals": originals,
        "by_source": by_source,
    }


def main(argv: list[str] | None = None) -> int:
    """Twin consistency of a model folder; --unmatched measures the same model without its source processing."""
    import argparse
    import json

    from inference import model_files as files
    from train.data import read_metadata

    parser = argparse.ArgumentParser(prog="python -m train.twins", description=main.__doc__)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--data-dir", default="data/ham10000")
    parser.add_argument("--originals", type=Path, help="default: ham10000-originals beside --data-dir")
    parser.add_argument("--sides", default="val,test", help="which split's twins (comma-separated)")
    parser.add_argument("--unmatched", action="store_true", help="serve without source processing (Lanczos to the training detail)")
    args = parser.parse_args(argv)
    classifier = Classifier(args.model_dir)
    if args.unmatched:
        classifier.config.preprocessing.source_processing = None
    result = twin_consistency(classifier, read_metadata(args.data_dir), args.originals or default_originals_dir(args.data_dir),
                              args.model_dir / files.SPLIT, tuple(args.sides.split(",")))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
