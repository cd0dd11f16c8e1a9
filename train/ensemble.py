"""What averaging several models would pay on a held-out source, from runs already made.

Each out-of-source run (`python -m train --holdout-source S`) keeps its held-out logits; the ensemble averages
the runs' calibrated malignant probabilities image by image. Threshold-free figures only (AUC, specificity at
90% sensitivity): the runs may have validated on different lesion splits, so there is no shared validation set
to fit an ensemble threshold on. The runs must hold out the same source.

    python -m train.ensemble results/loso-rosendahl-A-origin results/loso-rosendahl-A-origin-seed7
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from train.evaluate import specificity_at_sensitivity
from train.screening_threshold import run_probabilities


def ensemble_rows(runs: list[Path]) -> list[dict]:
    """One row per run, then one for the average of all of them."""
    held_out = [run_probabilities(run)["held_out"] for run in runs]
    ids, y = held_out[0][2], held_out[0][1]
    for run, (_, other_y, other_ids) in zip(runs, held_out, strict=True):
        if not (np.array_equal(other_ids, ids) and np.array_equal(other_y, y)):
            raise ValueError(f"{run} did not score the same held-out images as {runs[0]}")
    named = [(run.name, p) for run, (p, _, _) in zip(runs, held_out, strict=True)]
    named.append((f"average of the {len(runs)}", np.mean([p for _, p in named], axis=0)))
    return [{"model": name, "auc": roc_auc_score(y, p), "specificity_at_90_sensitivity": specificity_at_sensitivity(y, p)}
            for name, p in named]


def ensemble_table(runs: list[Path]) -> str:
    """The rows as the markdown table README shows."""
    lines = ["| model | held-out AUC | specificity at 90% sensitivity |", "|---|---|---|"]
    lines += [f"| {row['model']} | {row['auc']:.3f} | {100 * row['specificity_at_90_sensitivity']:.1f}% |" for row in ensemble_rows(runs)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.ensemble", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="out-of-source runs with the same held-out source")
    args = parser.parse_args(argv)
    print(ensemble_table(args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
