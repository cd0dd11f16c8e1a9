"""Runs that held out the same source, compared on its images: what averaging them would pay, and what each one
gains over a reference run by more than these images can tell.

Each out-of-source run (`python -m train --holdout-source S`) keeps its held-out logits. The ensemble averages
the runs' calibrated malignant probabilities image by image. Threshold-free figures only (AUC, specificity at
90% sensitivity): the runs may have validated on different lesion splits, so there is no shared validation set
to fit an ensemble threshold on. `--differences` gives each run's held-out AUC minus the first run's, with a 95%
interval from resampling lesions (the images of one lesion are not independent); it does not include the spread
between two training runs of one recipe, which two seeds of the recipe show.

    python -m train.experiments.ensemble results/out_of_source/rosendahl/origin-augment results/out_of_source/rosendahl/origin-augment-seed7
    python -m train.experiments.ensemble --differences --data-dir data/ham10000 results/out_of_source/rosendahl/origin-augment results/...
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from train.data import read_metadata
from train.evaluate import paired_auc_differences, specificity_at_sensitivity
from train.experiments.screening_threshold import run_probabilities
from train.tables import run_label


def held_out_probabilities(runs: list[Path]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(malignant 0/1, image ids, each run's P(malignant)) on the held-out images, which must be the same for all."""
    held_out = [run_probabilities(run)["held_out"] for run in runs]
    y, ids = held_out[0][1], held_out[0][2]
    for run, (_, other_y, other_ids) in zip(runs, held_out, strict=True):
        if not (np.array_equal(other_ids, ids) and np.array_equal(other_y, y)):
            raise ValueError(f"{run} did not score the same held-out images as {runs[0]}")
    return y, ids, [p for p, _, _ in held_out]


def ensemble_rows(runs: list[Path]) -> list[dict]:
    """One row per run, then one for the average of all of them."""
    y, _, probabilities = held_out_probabilities(runs)
    named = [(run_label(run), p) for run, p in zip(runs, probabilities, strict=True)]
    named.append((f"average of the {len(runs)}", np.mean(probabilities, axis=0)))
    return [{"model": name, "auc": roc_auc_score(y, p), "specificity_at_90_sensitivity": specificity_at_sensitivity(y, p)}
            for name, p in named]


def ensemble_table(runs: list[Path]) -> str:
    """The rows as the markdown table README shows."""
    lines = ["| model | held-out AUC | specificity at 90% sensitivity |", "|---|---|---|"]
    lines += [f"| {row['model']} | {row['auc']:.3f} | {100 * row['specificity_at_90_sensitivity']:.1f}% |" for row in ensemble_rows(runs)]
    return "\n".join(lines)


def difference_rows(runs: list[Path], data_dir: str | Path | list) -> list[dict]:
    """Each run after the first: its held-out AUC, and that minus the first run's with a lesion-bootstrap interval."""
    y, ids, probabilities = held_out_probabilities(runs)
    lesion_of = {record.image_id: record.lesion_id for record in read_metadata(data_dir)}
    lesions = np.array([lesion_of[str(image_id)] for image_id in ids])
    differences = paired_auc_differences(y, probabilities[0], probabilities[1:], lesions)
    return [{"model": run_label(run), "auc": roc_auc_score(y, p), **difference}
            for run, p, difference in zip(runs[1:], probabilities[1:], differences, strict=True)]


def difference_table(runs: list[Path], data_dir: str | Path | list) -> str:
    """The rows as the markdown table README shows."""
    lines = [f"| run | held-out AUC | minus `{run_label(runs[0])}`'s (95% CI) |", "|---|---|---|"]
    lines += [f"| `{row['model']}` | {row['auc']:.3f} | {row['difference']:+.3f} ({row['difference_95ci'][0]:+.3f} to "
              f"{row['difference_95ci'][1]:+.3f}) |" for row in difference_rows(runs, data_dir)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.experiments.ensemble", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="out-of-source runs with the same held-out source")
    parser.add_argument("--differences", action="store_true", help="each run's held-out AUC minus the first run's")
    parser.add_argument("--data-dir", nargs="+", default=["data/ham10000"], help="archive folders (--differences: the images' lesions)")
    args = parser.parse_args(argv)
    print(difference_table(args.runs, args.data_dir) if args.differences else ensemble_table(args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
