"""How precise is P(malignant)? The same photo re-saved as a JPEG (as a phone, a browser or a messaging app would)
is scored again: the spread of the difference says how many digits of P mean anything.

    python -m train.resave models/skin-lesion-lite0 ../shared/data/ham10000-originals --quality 95
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from inference import model_files as files
from inference.classifier import Classifier, Prediction
from inference.preprocess import jpeg_round_trip, load_rgb


def resave_differences(classifier: Classifier, paths: list[Path], quality: int) -> np.ndarray:
    """P(malignant) of each re-saved photo minus that of the photo as it is, in points (0-100)."""
    photos = [load_rgb(p) for p in paths]
    resaved: list[Image.Image] = [jpeg_round_trip(photo, quality) for photo in photos]
    first, second = classifier.predict(photos), classifier.predict(resaved)
    if not all(isinstance(p, Prediction) for p in first + second):
        raise ValueError("a photo could not be classified")
    return 100 * np.array([b.p_malignant - a.p_malignant for a, b in zip(first, second, strict=True)])


def resave_summary(classifier: Classifier, paths: list[Path], quality: int = 95) -> dict:
    """How far P(malignant) moves, in points: mean, 95th percentile and largest absolute difference (metrics.json)."""
    moved = np.abs(resave_differences(classifier, paths, quality))
    return {"photos": len(paths), "quality": quality, "mean_points": round(float(moved.mean()), 2),
            "p95_points": round(float(np.percentile(moved, 95)), 2), "max_points": round(float(moved.max()), 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.resave", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("photos", type=Path, help="a folder of photos (*.jpg)")
    parser.add_argument("--quality", type=int, default=95)
    parser.add_argument("--record", action="store_true", help="also write the figures into the folder's metrics.json (`resave`)")
    args = parser.parse_args(argv)
    summary = resave_summary(Classifier(args.model_dir), sorted(args.photos.glob("*.jpg")), args.quality)
    print(json.dumps(summary))
    if args.record:
        metrics_file = args.model_dir / files.METRICS
        metrics_file.write_text(json.dumps(json.loads(metrics_file.read_text()) | {"resave": summary}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
