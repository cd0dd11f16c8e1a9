"""python -m train.model_card: the model folder's README.md (a Hugging Face model card written from config.json and
metrics.json), and the tables of README and docs/results.md printed from the same records."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from inference import model_files as files
from inference.config import LABEL_NAMES, ModelConfig
from inference.disclaimer import DISCLAIMER
from train.tables import (
    ISIC2017_CHALLENGE,
    RESULTS_HEADER,
    archive_table,
    gate_holdout_table,
    gate_out_of_source,
    gate_table,
    holdout_table,
    holdout_twins_table,
    model_name,
    negatives_sentence,
    other_archives_sentence,
    pct,
    read_holdout_runs,
    recipe_label,
    results_row,
    results_table,
    screening_table,
    summary_table,
    twins_table,
)

HUB_SNIPPET = Path(__file__).with_name("hub_snippet.py")  # the card's "How to use", run by tests/test_hub.py
RECORDED_KEYS = ("run", "training", "threshold", "validation", "held_out", "held_out_tta", "gate", "held_out_twins", "held_out_kind",
                 "validation_by_source")  # of each out-of-source run, in a model folder's metrics.json


def write_model_card(folder: Path, config: ModelConfig, metrics: dict) -> None:
    test, training, data = metrics["test"], metrics["training"], config.extra["data"]
    made = config.preprocessing.source_processing or {}
    without_tta = metrics.get("validation_without_tta", metrics["validation"])
    name = model_name(config, training)
    robustness = "\n".join(
        f"| {name} | {m['auc']:.3f} | {pct(m['sensitivity'])} | {pct(m['specificity'])} |" for name, m in metrics["robustness"].items()
    )
    labels = "\n".join(f"- `{k}`: {v}" + (" (malignant)" if k in config.malignant_labels else "") for k, v in LABEL_NAMES.items())
    archives = list(data.get("images_by_archive") or {"HAM10000": None})
    detector_only = [a for a in metrics["gate"].get("detector_archives", []) if a not in archives]  # learnt from by the detector alone
    datasets = "\n".join(f"- {a.lower().replace(' ', '-')}" for a in archives + detector_only)
    isic_credit = ("\nISIC 2017: Codella N. et al. \"Skin Lesion Analysis Toward Melanoma Detection: A Challenge at the 2017 ISBI, "
                   "Hosted by the ISIC.\" arXiv:1710.05006 (2017); images and labels from the ISIC Archive (isic-archive.com), "
                   "under its terms (attribution; treated as non-commercial)." if "ISIC 2017" in archives + detector_only else "")
    gate_credit = (f" Its quality check's not-dermoscopy detector also learnt from the training side of {' and '.join(detector_only)} "
                   "(the network did not), so the folder carries those terms too." if detector_only else "")
    by_archive = "".join(f"; {name}: {sizes['train']} / {sizes['val']} / {sizes['test']}"
                         for name, sizes in (data.get("images_by_archive") or {}).items() if len(archives) > 1)
    gate_sentences = negatives_sentence(metrics["gate"]) + other_archives_sentence(metrics["gate"])
    card = f"""---
license: cc-by-nc-4.0
library_name: keras
pipeline_tag: image-classification
tags:
- dermatology
- dermoscopy
- skin-lesion
- medical-imaging
- keras
- grad-cam
datasets:
{datasets}
metrics:
- roc_auc
- sensitivity
- specificity
model-index:
- name: {config.backbone}-{"-".join(a.lower().replace(" ", "") for a in archives)}
  results:
  - task:
      type: image-classification
      name: benign vs malignant pigmented skin lesion
    dataset:
      type: {archives[0].lower().replace(" ", "")}
      name: {" + ".join(archives)} (lesion-disjoint test split)
    metrics:
    - type: roc_auc
      value: {test["auc"]:.4f}
    - type: sensitivity
      value: {test["sensitivity"]:.4f}
    - type: specificity
      value: {test["specificity"]:.4f}
    - type: balanced_accuracy
      name: 7-class balanced accuracy
      value: {test["balanced_accuracy_7class"]:.4f}
---

# Pigmented skin lesion classifier ({config.backbone}, {" + ".join(archives)})

> **{DISCLAIMER}**

Given a dermoscopy photo of a pigmented skin lesion, the model gives the probability that it is malignant
(melanoma, basal cell carcinoma, actinic keratosis / intraepithelial carcinoma) and a breakdown over
7 diagnoses. P(malignant) is the sum of the three malignant diagnoses' probabilities, so the two never disagree.

## Results (test split, {test["n"]} images, lesion-disjoint, natural malignant rate {pct(test["malignant_rate"])})

{RESULTS_HEADER}
{results_row(name, metrics)}

- Shipped threshold: P(malignant) >= {config.threshold:.3f}, the highest threshold reaching
  {pct(config.extra["target_sensitivity"])} sensitivity on the **validation** split; temperature
  T = {config.temperature:.3f}, also fitted on validation. Both were fixed before the test split was scored, once.
- Accuracy {pct(test["accuracy"])}, F1 {test["f1"]:.3f}, ECE before temperature scaling {test["ece_before_temperature"]:.3f}.
- The preprocessing keeps the centred square of every image: a full 4:3 frame and a square crop of it are the
  same input.
- Training: {training["epochs_run"]} epochs (best {training["best_epoch"]}), batch {training["batch_size"]}, Adam lr {training["lr"]}
  ({training["schedule"]}), {training["pretrained"]} initialisation, augmentation: {training["augmentation"]}, on a 2-core CPU.
- Test-time augmentation (flips, a quarter turn): validation AUC {without_tta["auc"]:.3f} without,
  {metrics["validation_tta"]["auc"]:.3f} with (4x the cost; `tta` in config.json: {str(config.tta).lower()}: the figures
  on this card are {"with" if config.tta else "without"} it).
- Reproduce: `{training["command"]}`, then `python -m train.report MODEL_DIR --data-dir DIR` re-evaluates a folder.

### Screening figures (test split, shipped threshold)

{screening_table(metrics) if "test_screening" in metrics else "(not measured)"}

From `python -m train.report MODEL_DIR --data-dir DIR` (this card's metrics.json), as are the twins below.

Intervals: 2,000 bootstrap resamples of lesions. The sources are HAM10000's acquisition sources (`dataset` column).

### Per archive (shipped threshold)

{archive_table(metrics)}

For comparison, {ISIC2017_CHALLENGE}: other test photos, so not a like-for-like figure.

### Original photos (twins)

Uploads larger than the training copy are first made like it: whole frame resampled to a short side of
{made.get("short_side", "-")} px ({made.get("resample", "-")}), then JPEG quality {made.get("jpeg_quality", "-")},
fitted on {made.get("fitted_on", "-")}. On the twins whose lesion is in validation or test:

{twins_table(metrics) if "twins" in metrics else "(not measured)"}

### Out-of-source validation

{holdout_table(metrics["out_of_source"]) if metrics.get("out_of_source") else "(not measured)"}

Each run trained the recipe (with the one change its row names) without one acquisition source, fitted
temperature and threshold on the in-source validation split, then scored every image of the held-out source.
These are not the shipped weights, which were trained on all four sources with the recipe
"{recipe_label({**training, "backbone": config.backbone})}" (rows of the same label are its out-of-source evidence;
the project README has each change's held-out AUC difference with its interval).
Each run's command is its `training.command` in metrics.json (`out_of_source`); the table is
`python -m train.model_card --holdout RUNS` (200x150 copies of the held-out source). On the held-out source's
600x450 originals (`python -m train.twins RUN --sides train,val,test`):

{holdout_twins_table(metrics["out_of_source"]) if metrics.get("out_of_source") else "(not measured)"}

### Robustness (test split, shipped threshold)

| perturbation of the test photos | AUC | sensitivity | specificity |
|---|---|---|---|
| none | {test["auc"]:.3f} | {pct(test["sensitivity"])} | {pct(test["specificity"])} |
{robustness}

### Quality check

Two answers (layers {", ".join(f"`{name}`" for name in config.gate_layers)}; `inference/gate.py`). A photo that is not a usable
photo of a skin lesion (`blank`, `grey`, `not_dermoscopy`) gets no result and the decision "uncertain": on the validation
dermoscopy photos {pct(metrics["gate"]["validation_no_result_rate"])}.{gate_sentences}
A dermoscopy photo the model judges less well (`blurred`, `unfamiliar`) gets a caution beside its decision: on the validation
photos {pct(metrics["gate"]["validation_caution_rate"])}.{gate_out_of_source(metrics)}
On the 600x450 originals: the twins table above. `python -m train.report FOLDER --data-dir DIR [DIR ...] --gate-only` re-measures both.

{gate_table(metrics) if "validation_false_alarms_by_source" in metrics["gate"] else ""}

![ROC](roc.png) ![Reliability](reliability.png)

![Confusion matrices](confusion.png)

## Intended use

A research and teaching aid for dermatology students and clinicians: to explore how a neural network
reads dermoscopy images of pigmented lesions, with a Grad-CAM map of where its decision comes from.
Not for screening, triage or diagnosis of any person.

## Limitations

- Dermoscopy photos of **pigmented** lesions only. It has never seen normal skin, non-pigmented lesions,
  other skin diseases, or clinical (non-dermoscopic) photos; its output on them is meaningless.
- Trained on HAM10000's 200x150 copy: larger uploads are first made like that copy (resampled and JPEG-compressed,
  see above). Fine structures visible only at higher resolution are not used.
- HAM10000 comes from two sites (Vienna, Queensland), ISIC 2017 (where used) mostly from Memorial Sloan Kettering
  (New York), both mostly light skin types; performance on other populations, devices and skin types is unknown.
  A different dermatoscope's colour or sharpness can shift the output.
- Labels: over half are histopathology-confirmed, the rest follow-up, expert consensus or confocal microscopy.
- The test split is from the same source as the training data; expect lower figures on independent data.

## Diagnoses

{labels}

## Data and licence

HAM10000: Tschandl P., Rosendahl C., Kittler H. "The HAM10000 dataset, a large collection of multi-source
dermatoscopic images of common pigmented skin lesions." Sci. Data 5, 180161 (2018), doi:10.1038/sdata.2018.161.
Licence: **CC BY-NC 4.0 (non-commercial use only, with attribution)**.{isic_credit}
This model, trained on {" and ".join(archives)}, inherits the **non-commercial** term.{gate_credit} Split {data["split"]}:
{data["images"]["train"]} / {data["images"]["val"]} / {data["images"]["test"]} images (train / validation / test){by_archive};
no lesion on two sides (`split.csv`).
`dx_type`, age, sex and body site are never model inputs.

## How to use

With nothing but this repository and five packages (the app's preprocessing, test-time augmentation, calibration
and threshold; tested against the app to 1e-4):

```python
{HUB_SNIPPET.read_text().strip()}
```

With the project's code, which adds the quality check and the Grad-CAM map: `python -m inference photos/ --model
REPO_ID --revision COMMIT --out results.csv`, or `python app.py --model REPO_ID --revision COMMIT`.

> {DISCLAIMER}
"""
    (folder / files.CARD).write_text(card)


def record_holdout(folder: Path, runs: list[Path]) -> None:
    """Copy out-of-source runs into a model folder's metrics.json (`out_of_source`) and rewrite its card."""
    metrics = json.loads((folder / files.METRICS).read_text())
    metrics["out_of_source"] = [{k: v for k, v in run.items() if k in RECORDED_KEYS} for run in read_holdout_runs(runs)]
    (folder / files.METRICS).write_text(json.dumps(metrics, indent=2) + "\n")
    write_model_card(folder, ModelConfig.load(folder), metrics)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.model_card", description=__doc__)
    job = parser.add_mutually_exclusive_group()
    job.add_argument("--write", action="store_true", help="rewrite the card of one model folder from its config.json and metrics.json")
    job.add_argument("--record-holdout", action="store_true",
                     help="FOLDER RUN...: copy out-of-source runs into FOLDER's metrics.json, rewrite its card")
    job.add_argument("--summary", action="store_true", help="README's \"How well it works\" table of one model folder")
    job.add_argument("--screening", action="store_true", help="the screening, twin and gate tables of one model folder")
    job.add_argument("--holdout", action="store_true", help="the out-of-source table of RUN folders")
    job.add_argument("--holdout-twins", action="store_true", help="the held-out sources' original photos, of RUN folders")
    job.add_argument("--gate-holdout", action="store_true", help="the quality gate out of source, of RUN folders")
    parser.add_argument("folders", nargs="+", type=Path, help="model folders (default: the results table) or run folders")
    args = parser.parse_args(argv)
    folder, metrics = args.folders[0], None
    if args.write or args.summary or args.screening:
        metrics = json.loads((folder / files.METRICS).read_text())
    if args.write:
        write_model_card(folder, ModelConfig.load(folder), metrics)
    elif args.record_holdout:
        record_holdout(folder, args.folders[1:])
    elif args.summary:
        print(summary_table(metrics))
    elif args.screening:
        print(screening_table(metrics) + "\n\n" + twins_table(metrics) + "\n\n" + gate_table(metrics))
    elif args.holdout or args.holdout_twins or args.gate_holdout:
        table = holdout_table if args.holdout else holdout_twins_table if args.holdout_twins else gate_holdout_table
        print(table(read_holdout_runs(args.folders)))
    else:
        print(results_table(args.folders))
    return 0


if __name__ == "__main__":
    sys.exit(main())
