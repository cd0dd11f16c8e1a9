"""The model folder's README.md: a Hugging Face model card written from config.json and metrics.json."""

from __future__ import annotations

from pathlib import Path

from inference import model_files as files
from inference.config import LABEL_NAMES, ModelConfig, gate_design, same_recipe
from inference.disclaimer import DISCLAIMER
from train.data import WHOLE_ARCHIVE_SOURCES
from train.recipes import SHIPPED

HUB_SNIPPET = Path(__file__).with_name("hub_snippet.py")  # the card's "How to use", run by tests/test_hub.py

MIN_MALIGNANT_PER_ROW = 10  # a per-source row of the twin table needs this many cancers to say anything


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def results_row(name: str, metrics: dict) -> str:
    """One row of the results table shared by README.md and the model card."""
    test, training = metrics["test"], metrics["training"]
    return (
        f"| {name} | {test['auc']:.3f} | {_pct(test['sensitivity'])} | {_pct(test['specificity'])} | "
        f"{_pct(test['precision'])} | {test['balanced_accuracy_7class']:.3f} | {test['ece']:.3f} | "
        f"{training['seconds'] / 60:.0f} min, {training['images_per_second']:.1f} img/s | {metrics['model_megabytes']} MB | "
        f"{metrics['single_image_latency_ms']:.0f} ms |"
    )


RESULTS_HEADER = (
    "| model | test AUC | sensitivity | specificity | precision (natural rate) | 7-class bal. acc. | ECE (after T) "
    "| training time, speed | size | latency (1 image) |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def _interval(summary: dict, key: str) -> str:
    low, high = summary[f"{key}_95ci"]
    return f"{_pct(summary[key])} ({_pct(low)}-{_pct(high)})"


def screening_table(metrics: dict) -> str:
    """Sensitivity and specificity at the shipped threshold with lesion-bootstrap 95% intervals and miss counts:
    the whole test split, then each acquisition source within it."""
    rows = [("test split, all sources", metrics["test_screening"])] + [
        (f"test split, `{source}`", summary) for source, summary in metrics.get("test_by_source", {}).items()
    ]
    lines = [
        "| images | n (malignant) | AUC | sensitivity (95% CI) | missed | specificity (95% CI) | melanoma sensitivity |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in rows:
        melanoma = "-"
        if "melanoma" in m:
            melanoma = f"{_pct(m['melanoma_sensitivity'])} ({m['melanoma'] - m['melanoma_missed']} of {m['melanoma']})"
        lines.append(
            f"| {name} | {m['n']} ({m['malignant']}) | {m['auc']:.3f} | {_interval(m, 'sensitivity')} | "
            f"{m['missed']} of {m['malignant']} | {_interval(m, 'specificity')} | {melanoma} |"
        )
    return "\n".join(lines)


# The ISIC 2017 challenge's own benchmark, on its 600-image test set (not this repository's split of its 2,150 photos).
ISIC2017_CHALLENGE = "the ISIC 2017 challenge's best melanoma AUC was about 0.87 on its own 600-image test set (Codella et al. 2018)"


def negatives_sentence(gate: dict) -> str:
    """The held-out part of the negative corpus (train/negatives.py): how many got no result, how many a referral."""
    negatives = gate.get("held_out_negatives")
    if not negatives:
        return ""
    return (f" On {negatives['n']} held-out images that are not dermoscopy (photos shipped with other packages, generated "
            f"charts, drawings, documents; never fitted on): {negatives['no_result']} without a result, {negatives['referred']} "
            "referred.")


def archive_table(metrics: dict) -> str:
    """Validation and test figures per archive at the shipped threshold, with the melanoma AUC of P(melanoma)."""
    lines = ["| images | n (malignant) | AUC (P(malignant)) | melanoma AUC (P(melanoma)) | sensitivity (95% CI) | specificity (95% CI) |",
             "|---|---|---|---|---|---|"]
    rows = [(f"{split}, {archive}", m) for split in ("validation", "test") for archive, m in metrics.get(f"{split}_by_archive", {}).items()]
    rows += [(f"all of `{run['training']['holdout_source']}`, never trained on", run["held_out"])
             for run in metrics.get("out_of_source", []) if run.get("held_out_kind") == "archive"]
    if not rows:
        return "(not measured)"
    for name, m in rows:
        melanoma = "-" if m.get("melanoma_auc") is None else f"{m['melanoma_auc']:.3f}"
        lines.append(f"| {name} | {m['n']} ({m['malignant']}) | {m['auc']:.3f} | {melanoma} | "
                     f"{_interval(m, 'sensitivity')} | {_interval(m, 'specificity')} |")
    return "\n".join(lines)


def _span(values: list[float], fmt) -> str:
    low, high = fmt(min(values)), fmt(max(values))
    return low if low == high else f"{low} to {high}"


def summary_table(metrics: dict) -> str:
    """README's "How well it works": photos the shipped model never saw, in source, on originals, at held-out clinics
    and archives (out-of-source runs of its recipe, and the archive held out of a HAM10000-only run), at the threshold."""
    lines = ["| photos never seen in training | n (malignant) | AUC | sensitivity / specificity at the threshold | "
             "quality check: no result / caution |", "|---|---|---|---|---|"]
    gate = metrics["gate"]
    for archive, m in (metrics.get("test_by_archive") or {"HAM10000": metrics["test_screening"]}).items():
        lines.append(f"| test split, {archive} | {m['n']:,} ({m['malignant']:,}) | {m['auc']:.3f} | {_pct(m['sensitivity'])} / "
                     f"{_pct(m['specificity'])} | {_pct(gate['validation_no_result_rate'])} / {_pct(gate['validation_caution_rate'])} "
                     "(validation) |")
    if "twins" in metrics:
        twins, m = metrics["twins"], metrics["twins"]["originals"]
        lines.append(f"| the dermatoscope's 600x450 originals of validation and test lesions | {twins['n']} ({twins['malignant']}) | "
                     f"{m['auc']:.3f} | {_pct(m['sensitivity'])} / {_pct(m['specificity'])} | {_pct(m['gate_flag_rate'])} (any) |")
    runs = metrics.get("out_of_source", [])
    groups: dict[str, list[dict]] = {}
    for run in runs:
        training = run["training"]
        if run.get("held_out_kind") == "archive":
            key = f"another archive: all of `{training['holdout_source']}`, scored by a {' + '.join(training['archives'])}-only model"
        elif same_recipe(training, metrics["training"]):
            key = f"another clinic: `{training['holdout_source']}` held out of training (this recipe)"
        else:
            continue
        groups.setdefault(key, []).append(run)
    for key, group in groups.items():
        held = [run.get("held_out_tta", run["held_out"]) if metrics.get("tta") else run["held_out"] for run in group]
        plain = [run["held_out"] for run in group]
        gated = [p for p, run in zip(plain, group, strict=True) if gate_design(run["gate"]) == gate_design(gate)]
        quality = (f"{_span([p['no_result_rate'] for p in gated], _pct)} / {_span([p['caution_rate'] for p in gated], _pct)}"
                   if gated else "not measured with this check")
        runs_note = f" ({len(group)} runs)" if len(group) > 1 else ""
        lines.append(f"| {key}{runs_note} | {held[0]['n']:,} ({held[0]['confusion']['tp'] + held[0]['confusion']['fn']:,}) | "
                     f"{_span([h['auc'] for h in held], lambda v: f'{v:.3f}')} | {_span([h['sensitivity'] for h in held], _pct)} / "
                     f"{_span([h['specificity'] for h in held], _pct)} | {quality} |")
    return "\n".join(lines)


def twins_table(metrics: dict) -> str:
    """The same photos as training copies and as the dermatoscope's originals (twins of the val+test lesions)."""
    twins = metrics["twins"]
    lines = [
        "| the same photos, as | n (malignant) | AUC | sensitivity | specificity | gate: no verdict |",
        "|---|---|---|---|---|---|",
    ]
    for name, key in (("200x150 training copies", "copies"), ("600x450 originals", "originals")):
        m = twins[key]
        lines.append(
            f"| {name} | {twins['n']} ({twins['malignant']}) | {m['auc']:.3f} | {_pct(m['sensitivity'])} | "
            f"{_pct(m['specificity'])} | {_pct(m['gate_flag_rate'])} ({m['gate_flags']}) |"
        )
    for source, m in twins.get("by_source", {}).items():
        if m["malignant"] < MIN_MALIGNANT_PER_ROW:
            continue
        for name in ("copies", "originals"):
            flags = f"{_pct(m[name]['gate_flag_rate'])} ({m[name]['gate_flags']})" if "gate_flags" in m[name] else ""
            lines.append(
                f"| `{source}` {name} | {m['n']} ({m['malignant']}) | {m[name]['auc']:.3f} | {_pct(m[name]['sensitivity'])} | "
                f"{_pct(m[name]['specificity'])} | {flags} |"
            )
    lines.append("")
    lines.append(
        f"Agreement: mean |P(original) - P(copy)| {twins['mean_abs_difference']:.3f} (95th percentile "
        f"{twins['p95_abs_difference']:.3f}); the same decision at the threshold for {_pct(twins['same_decision'])}."
    )
    return "\n".join(lines)


def gate_table(metrics: dict) -> str:
    """How often the gate gives no result or a caution on the validation photos, overall and per acquisition source."""
    gate = metrics["gate"]
    overall = {"n": gate["validation_images"], "no_result_rate": gate["validation_no_result_rate"],
               "caution_rate": gate["validation_caution_rate"], "gate_flags_by_check": gate["validation_false_alarms_by_check"]}
    rows = [("all sources", overall)]
    rows += [(f"`{source}`", m) for source, m in gate["validation_false_alarms_by_source"].items()]
    lines = ["| validation photos from | n | no result | caution | by check |", "|---|---|---|---|---|"]
    for name, m in rows:
        checks = ", ".join(f"{c} {k}" for c, k in m["gate_flags_by_check"].items()) or "-"
        lines.append(f"| {name} | {m['n']} | {_pct(m['no_result_rate'])} | {_pct(m['caution_rate'])} | {checks} |")
    return "\n".join(lines)


def recipe_label(training: dict) -> str:
    """A training run's recipe in words: its augmentation and colour constancy, and whatever departs from the shipped
    recipe (the out-of-source runs' recipe)."""
    recipe = f"{training['augmentation']} augmentation, colour constancy {training['colour_constancy']}"
    if training["backbone"] != SHIPPED["backbone"]:
        recipe = f"{training['backbone']} at {training['image_size']} px, {recipe}"
    if training["lr"] != SHIPPED["lr"]:
        recipe += f", peak learning rate {training['lr']:g}"
    if training.get("epochs_max", SHIPPED["epochs"]) != SHIPPED["epochs"]:
        recipe += f", {training['epochs_max']} epochs"
    if training["source_weights"] != "none":
        recipe += f", source weights {training['source_weights']}"
    if training.get("head_epochs"):
        recipe += f", head alone first for {training['head_epochs']} epochs (LP-FT)"
    if training.get("ema"):
        recipe += f", weight average (EMA {training['ema']})"
    if training.get("archives", ["HAM10000"]) != ["HAM10000"]:
        recipe += ", trained on " + " + ".join(training["archives"])
    if training.get("archive_weights", "none") != "none":
        recipe += f", archive weights {training['archive_weights']}"
    return recipe


def holdout_table(results: list[dict]) -> str:
    """Out-of-source validation runs (their holdout.json): in-source validation against the held-out source."""
    lines = [
        "| recipe (run) | held-out source | in-source val AUC | held-out AUC (with TTA) | sensitivity at its threshold (95% CI) | missed "
        "| specificity (95% CI) | specificity at 90% sensitivity | melanoma vs nevus AUC, in-source -> held-out | nevi flagged |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        training, held = result["training"], result["held_out"]
        recipe = recipe_label(training)
        tta = f"{result['held_out_tta']['auc']:.3f}" if "held_out_tta" in result else "-"
        nevi = held["by_diagnosis"]["nv"]
        lines.append(
            f"| {recipe} (`{result['run']}`) | `{training['holdout_source']}` ({held['n']} images, {held['malignant']} malignant) | "
            f"{result['validation']['auc']:.3f} | {held['auc']:.3f} ({tta}) | {_interval(held, 'sensitivity')} | {held['missed']} of "
            f"{held['malignant']} | {_interval(held, 'specificity')} | {_pct(held['specificity_at_90_sensitivity'])} | "
            f"{result['validation']['melanoma_vs_nevus_auc']:.3f} -> {held['melanoma_vs_nevus_auc']:.3f} | "
            f"{_pct(nevi['flagged'] / nevi['n'])} |"
        )
    return "\n".join(lines)


def holdout_twins_table(results: list[dict]) -> str:
    """The held-out source's twins (600x450 originals, never seen by the run) for runs that scored them
    (`python -m train.twins RUN --sides train,val,test`, kept as the run's twins.json)."""
    lines = ["| run | held-out twins (malignant) | AUC copies / originals | sensitivity copies / originals "
             "| specificity copies / originals |", "|---|---|---|---|---|"]
    for result in results:
        if "held_out_twins" not in result:
            continue
        m = result["held_out_twins"]
        both = {key: [m[view][key] for view in ("copies", "originals")] for key in ("auc", "sensitivity", "specificity")}
        lines.append(f"| `{result['run']}` | {m['n']} ({m['malignant']}) | {' / '.join(f'{x:.3f}' for x in both['auc'])} | "
                     f"{' / '.join(map(_pct, both['sensitivity']))} | {' / '.join(map(_pct, both['specificity']))} |")
    return "\n".join(lines)


def served_gate_runs(runs: list[dict], gate: dict) -> list[dict]:
    """The out-of-source runs whose gate has the design of `gate` (the served one)."""
    return [run for run in runs if gate_design(run.get("gate", {})) == gate_design(gate)]


def gate_out_of_source(metrics: dict) -> str:
    """One sentence: the range of no-result and caution rates on held-out sources, over the runs whose gate has the
    served design."""
    runs = served_gate_runs(metrics.get("out_of_source", []), metrics["gate"])
    if not runs:
        return ""
    no_result, caution = ([run["held_out"][key] for run in runs] for key in ("no_result_rate", "caution_rate"))
    return (f" On a source held out of training and of the gate: no result for {_pct(min(no_result))} to {_pct(max(no_result))} "
            f"of its photos, a caution for {_pct(min(caution))} to {_pct(max(caution))} ({len(runs)} runs in `out_of_source`).")


def _rate(figures: dict, key: str) -> str:
    return _pct(figures[key]) if key in figures else "-"


def gate_holdout_table(results: list[dict]) -> str:
    """How often each run's gate (refitted on its own training images) answers, on in-source validation photos and on
    the held-out source: any answer, no result, a caution (runs with the earlier one-answer gate: any answer only)."""
    lines = ["| run | gate: distance / detector percentile | validation: any answer | held-out source: any answer | "
             "held-out: no result | held-out: caution |", "|---|---|---|---|---|---|"]
    for result in results:
        held, gate = result["held_out"], result["gate"]
        detector = f"{100 * gate['detector_quantile']:g}th" if "detector_quantile" in gate else "none (earlier gate)"
        lines.append(f"| `{result['run']}` | {100 * gate['distance_quantile']:g}th / {detector} | "
                     f"{_pct(gate['validation_false_alarm_rate'])} | {_pct(held['gate_flag_rate'])} ({held['gate_flags']} of "
                     f"{held['n']}) | {_rate(held, 'no_result_rate')} | {_rate(held, 'caution_rate')} |")
    return "\n".join(lines)


def read_holdout_runs(runs: list[Path]) -> list[dict]:
    """Each run's holdout.json, named after its folder (with the backbone and the source weighting, which its
    config.json records, and the held-out twins when its twins.json is there)."""
    import json

    results = []
    for run in runs:
        result = {"run": run.name, **json.loads((run / files.HOLDOUT).read_text())}
        config = ModelConfig.load(run)
        result["training"].setdefault("backbone", config.backbone)
        result["training"].setdefault("source_weights", config.extra["data"].get("source_weights", "none"))
        result["training"].setdefault("archives", list(config.extra["data"].get("images_by_archive", {"HAM10000": None})))
        result["training"].setdefault("archive_weights", "none")
        # A whole archive held out (every image of it unseen), or one acquisition source of HAM10000 (another clinic)
        result["held_out_kind"] = "archive" if result["training"]["holdout_source"] in WHOLE_ARCHIVE_SOURCES else "clinic"
        if (run / files.HOLDOUT_TWINS).exists():
            twins = json.loads((run / files.HOLDOUT_TWINS).read_text())
            result["held_out_twins"] = twins["by_source"][result["training"]["holdout_source"]]
        results.append(result)
    return results


def model_name(config: ModelConfig, training: dict) -> str:
    """A model's row name in the results table: backbone, initialisation, input size, sampling."""
    return f"{config.backbone} ({training['pretrained']}, {training['image_size']} px, {config.extra['data']['sampling']})"


def write_model_card(folder: Path, config: ModelConfig, metrics: dict) -> None:
    test, training, data = metrics["test"], metrics["training"], config.extra["data"]
    made = config.preprocessing.source_processing or {}
    without_tta = metrics.get("validation_without_tta", metrics["validation"])
    name = model_name(config, training)
    robustness = "\n".join(
        f"| {name} | {m['auc']:.3f} | {_pct(m['sensitivity'])} | {_pct(m['specificity'])} |" for name, m in metrics["robustness"].items()
    )
    labels = "\n".join(f"- `{k}`: {v}" + (" (malignant)" if k in config.malignant_labels else "") for k, v in LABEL_NAMES.items())
    archives = list(data.get("images_by_archive") or {"HAM10000": None})
    datasets = "\n".join(f"- {a.lower().replace(' ', '-')}" for a in archives)
    isic_credit = ("\nISIC 2017: Codella N. et al. \"Skin Lesion Analysis Toward Melanoma Detection: A Challenge at the 2017 ISBI, "
                   "Hosted by the ISIC.\" arXiv:1710.05006 (2017); images and labels from the ISIC Archive (isic-archive.com), "
                   "under its terms (attribution; treated as non-commercial)." if "ISIC 2017" in archives else "")
    by_archive = "".join(f"; {name}: {sizes['train']} / {sizes['val']} / {sizes['test']}"
                         for name, sizes in (data.get("images_by_archive") or {}).items() if len(archives) > 1)
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

## Results (test split, {test["n"]} images, lesion-disjoint, natural malignant rate {_pct(test["malignant_rate"])})

{RESULTS_HEADER}
{results_row(name, metrics)}

- Shipped threshold: P(malignant) >= {config.threshold:.3f}, the highest threshold reaching
  {_pct(config.extra["target_sensitivity"])} sensitivity on the **validation** split; temperature
  T = {config.temperature:.3f}, also fitted on validation. Both were fixed before the test split was scored, once.
- Accuracy {_pct(test["accuracy"])}, F1 {test["f1"]:.3f}, ECE before temperature scaling {test["ece_before_temperature"]:.3f}.
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
| none | {test["auc"]:.3f} | {_pct(test["sensitivity"])} | {_pct(test["specificity"])} |
{robustness}

### Quality check

Two answers (layers {", ".join(f"`{name}`" for name in config.gate_layers)}; `inference/gate.py`). A photo that is not a usable
photo of a skin lesion (`blank`, `grey`, `not_dermoscopy`) gets no result and the decision "uncertain": on the validation
dermoscopy photos {_pct(metrics["gate"]["validation_no_result_rate"])}.{negatives_sentence(metrics["gate"])}
A dermoscopy photo the model judges less well (`blurred`, `unfamiliar`) gets a caution beside its decision: on the validation
photos {_pct(metrics["gate"]["validation_caution_rate"])}.{gate_out_of_source(metrics)}
On the 600x450 originals: the twins table above. `python -m train.report FOLDER --data-dir DIR --gate-only` re-measures both.

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
This model, trained on {" and ".join(archives)}, inherits the **non-commercial** term. Split {data["split"]}:
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


def results_table(folders: list[Path]) -> str:
    """The results table (README and model card) for trained model folders, from their metrics.json."""
    import json

    rows = []
    for folder in folders:
        config, metrics = ModelConfig.load(folder), json.loads((folder / files.METRICS).read_text())
        rows.append(results_row(f"{model_name(config, metrics['training'])}: `{folder.name}`", metrics))
    return "\n".join([RESULTS_HEADER, *rows])


if __name__ == "__main__":
    import json
    import sys

    if sys.argv[1:2] == ["--write"]:  # regenerate a folder's card from its config.json and metrics.json
        folder = Path(sys.argv[2])
        write_model_card(folder, ModelConfig.load(folder), json.loads((folder / files.METRICS).read_text()))
    elif sys.argv[1:2] == ["--holdout"]:  # the out-of-source validation table
        print(holdout_table(read_holdout_runs([Path(arg) for arg in sys.argv[2:]])))
    elif sys.argv[1:2] == ["--holdout-twins"]:  # the held-out source's original photos
        print(holdout_twins_table(read_holdout_runs([Path(arg) for arg in sys.argv[2:]])))
    elif sys.argv[1:2] == ["--gate-holdout"]:  # the gate out of source
        print(gate_holdout_table(read_holdout_runs([Path(arg) for arg in sys.argv[2:]])))
    elif sys.argv[1:2] == ["--record-holdout"]:  # copy out-of-source runs into a model folder's metrics.json and card
        folder = Path(sys.argv[2])
        metrics = json.loads((folder / files.METRICS).read_text())
        metrics["out_of_source"] = [
            {k: v for k, v in run.items() if k in ("run", "training", "threshold", "validation", "held_out", "held_out_tta", "gate",
                                                 "held_out_twins", "held_out_kind", "validation_by_source")}
            for run in read_holdout_runs([Path(arg) for arg in sys.argv[3:]])
        ]
        (folder / files.METRICS).write_text(json.dumps(metrics, indent=2) + "\n")
        write_model_card(folder, ModelConfig.load(folder), metrics)
    elif sys.argv[1:2] == ["--summary"]:  # README's "How well it works"
        print(summary_table(json.loads((Path(sys.argv[2]) / files.METRICS).read_text())))
    elif sys.argv[1:2] == ["--screening"]:  # screening, twin and gate tables of one model folder
        folder = Path(sys.argv[2])
        metrics = json.loads((folder / files.METRICS).read_text())
        print(screening_table(metrics) + "\n\n" + twins_table(metrics) + "\n\n" + gate_table(metrics))
    else:
        print(results_table([Path(arg) for arg in sys.argv[1:]]))
