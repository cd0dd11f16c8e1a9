"""A screening threshold that survives a new clinic, chosen on out-of-source runs.

A threshold fitted for 90% sensitivity on in-source validation gives less on a clinic the model never saw.
For each out-of-source run (`python -m train --holdout-source ...`), this finds the validation sensitivity
target whose threshold still reaches the required sensitivity on the held-out source; the shipped model's
`--target-sensitivity` is the largest such target over the runs. The test split plays no part.

    python -m train.experiments.screening_threshold runs/loso-rosendahl-A [more runs] [--required 0.90]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from inference import model_files as files
from inference.config import ModelConfig
from inference.outputs import diagnosis_probabilities, malignant_probability
from train.evaluate import binary_metrics, choose_threshold
from train.report import work_dir
from train.tables import run_label

TARGETS = np.round(np.arange(0.90, 0.991, 0.01), 2)


def run_probabilities(run: Path) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """"val" and "held_out": (calibrated P(malignant), malignant 0/1, image ids or None) from an out-of-source
    run's saved logits."""
    config = ModelConfig.load(run)
    saved = run / files.HOLDOUT_LOGITS  # kept beside holdout.json in results/, else in the run's work folder
    logits = np.load(saved if saved.exists() else work_dir(run) / files.HOLDOUT_LOGITS)
    mask = np.asarray(config.malignant_mask)
    return {
        name: (malignant_probability(diagnosis_probabilities(logits[name], config.temperature), config.malignant_mask),
               mask[logits[f"{name}_labels"]].astype(int), logits[f"{name}_ids"] if f"{name}_ids" in logits.files else None)
        for name in ("val", "held_out")
    }


def target_table(run: Path) -> list[dict]:
    """Per validation target: the threshold, and the held-out sensitivity and specificity it gives."""
    scored = run_probabilities(run)
    (val_p, val_y, _), (out_p, out_y, _) = scored["val"], scored["held_out"]
    rows = []
    for target in TARGETS:
        threshold = choose_threshold(val_y, val_p, float(target))
        m = binary_metrics(out_y, out_p, threshold)
        rows.append({"validation_target": float(target), "threshold": threshold, "held_out_sensitivity": m["sensitivity"],
                     "held_out_specificity": m["specificity"], "held_out_missed": m["confusion"]["fn"]})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.experiments.screening_threshold", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--required", type=float, default=0.90, help="sensitivity required on every held-out source")
    args = parser.parse_args(argv)
    chosen = []
    for run in args.runs:
        rows = target_table(run)
        print(f"{run_label(run)}:")
        for row in rows:
            print("  target {validation_target:.2f}: threshold {threshold:.3f}, held-out sensitivity {held_out_sensitivity:.3f}, "
                  "specificity {held_out_specificity:.3f}, missed {held_out_missed}".format(**row))
        reaching = [r["validation_target"] for r in rows if r["held_out_sensitivity"] >= args.required]
        chosen.append(min(reaching) if reaching else None)
    print(json.dumps({"required": args.required, "validation_target_per_run": dict(zip(map(run_label, args.runs), chosen, strict=True)),
                      "validation_target": None if None in chosen else max(chosen)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
