"""python -m train.experiments.runs [--check]: results/runs.csv, the index of the runs kept in results/.

One row per folder: what kind of run it is, what it changed against the shipped recipe (in words), its seed, what
it held out, its AUCs and the command that trained it. The tools take run folders, so a shell glob over results/ or
a filter of this file feeds them, e.g. `python -m train.model_card --holdout results/out_of_source/vienna_dias/*`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from pathlib import Path

from inference import model_files as files
from train.data import WHOLE_ARCHIVE_SOURCES
from train.tables import recipe_label, training_record

RESULTS = Path(__file__).resolve().parents[2] / "results"
INDEX = RESULTS / "runs.csv"
COLUMNS = ["run", "kind", "change", "seed", "held_out", "archives", "validation_auc", "held_out_auc", "held_out_auc_tta", "test_auc",
           "command"]


def _auc(figures: dict | None) -> str:
    return f"{figures['auc']:.4f}" if figures and figures.get("auc") is not None else ""


def run_row(folder: Path, results: Path = RESULTS) -> dict:
    """The index row of one run folder (holdout.json: a source or archive held out; metrics.json: a model folder)."""
    holdout = folder / files.HOLDOUT
    if holdout.exists():
        result = json.loads(holdout.read_text())
        training = training_record(folder, result["training"])
        source = training["holdout_source"]
        kind = "out_of_archive" if source in WHOLE_ARCHIVE_SOURCES else "out_of_source"
        scores = {"validation_auc": _auc(result["validation"]), "held_out_auc": _auc(result["held_out"]),
                  "held_out_auc_tta": _auc(result.get("held_out_tta")), "test_auc": ""}
    else:
        metrics = json.loads((folder / files.METRICS).read_text())
        training, source, kind = training_record(folder, metrics["training"]), "", "model"
        scores = {"validation_auc": _auc(metrics.get("validation")), "held_out_auc": "", "held_out_auc_tta": "",
                  "test_auc": _auc(metrics["test"])}
    seed = re.search(r"--seed (\d+)", training.get("command", ""))
    return {"run": str(folder.relative_to(results)), "kind": kind, "change": recipe_label(training),
            "seed": seed.group(1) if seed else "42",
            "held_out": source, "archives": " + ".join(training["archives"]), **scores, "command": training.get("command", "")}


def index_csv(results: Path = RESULTS) -> str:
    """results/runs.csv's text: every run folder, sorted by kind, held-out source, then name."""
    rows = [run_row(config.parent, results) for config in results.rglob(files.CONFIG)]
    rows.sort(key=lambda row: (row["kind"], row["held_out"], row["run"]))
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.experiments.runs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if results/runs.csv is not what the folders give")
    args = parser.parse_args(argv)
    text = index_csv()
    if args.check:
        current = INDEX.read_text() if INDEX.exists() else ""
        print("results/runs.csv is up to date" if current == text else "results/runs.csv is stale: run python -m train.experiments.runs")
        return 0 if current == text else 1
    INDEX.write_text(text)
    print(f"wrote {INDEX} ({text.count(chr(10)) - 1} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
