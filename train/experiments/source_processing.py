"""Fit how the training copy was made from the dermatoscope's photos, on twins of the train split.

HAM10000's 200x150 copy was made by a third party from 600x450 originals. Serving must make an upload
look like that copy (see `inference.preprocess.match_source`), so the resampling filter and the JPEG
quality are fitted here: the pair whose processed originals are closest to their copies (mean absolute
difference in grey levels over all pixels and channels) on twins whose lesion is in the train split.

    python -m train.experiments.source_processing --data-dir DIR --originals DIR --split models/NAME/split.csv
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from inference.preprocess import match_source
from train.twins import twins_in

FILTERS = ("bilinear", "bicubic", "lanczos", "box", "hamming")
QUALITIES = (None, 60, 65, 70, 75, 80, 85, 90, 95)


def mean_abs_difference(original: Image.Image, copy: Image.Image, processing: dict) -> float:
    made = match_source(original, processing)
    if made.size != copy.size:
        made = made.resize(copy.size, Image.Resampling[processing["resample"].upper()])
    return float(np.abs(np.asarray(made, np.float32) - np.asarray(copy, np.float32)).mean())


def fit(ids: list[str], copies_dir: Path, originals_dir: Path) -> list[dict]:
    """Every (filter, quality) candidate with its mean absolute difference, best first."""
    pairs = [
        (Image.open(originals_dir / f"{i}.jpg").convert("RGB"), Image.open(next(copies_dir.rglob(f"{i}.jpg"))).convert("RGB"))
        for i in ids
    ]
    short_side = int(np.median([min(copy.size) for _, copy in pairs]))
    results = []
    for resample in FILTERS:
        for quality in QUALITIES:
            processing = {"short_side": short_side, "resample": resample, "jpeg_quality": quality}
            difference = float(np.mean([mean_abs_difference(o, c, processing) for o, c in pairs]))
            results.append({**processing, "mean_abs_difference": round(difference, 3)})
    return sorted(results, key=lambda r: r["mean_abs_difference"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.experiments.source_processing", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="data/ham10000", help="the training copy (HAM10000 folder)")
    parser.add_argument("--originals", default="data/ham10000-originals", help="full-size twins, <image_id>.jpg")
    parser.add_argument("--split", required=True, help="a model folder's split.csv: only train-split twins are used")
    args = parser.parse_args(argv)
    ids = twins_in(args.split, args.originals, ("train",))
    results = fit(ids, Path(args.data_dir), Path(args.originals))
    for row in results[:10]:
        print(f"{row['resample']:>9} q={row['jpeg_quality']!s:>4}  mean |difference| {row['mean_abs_difference']:.3f}")
    best = {**results[0], "fitted_on": f"{len(ids)} train-split twins (mean absolute difference to the copy, grey levels)"}
    print(json.dumps(best))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
