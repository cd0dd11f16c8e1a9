"""The markdown tables of README, docs/results.md and the model card, from metrics.json and the runs' holdout.json.

Each function returns one table as text; `python -m train.model_card` prints them (the commands are beside each
table in docs/results.md, and tests/test_readme.py checks every table against them).
"""

from __future__ import annotations

import json
from pathlib import Path

from inference import model_files as files
from inference.config import ModelConfig, gate_design, same_recipe
from train.data import WHOLE_ARCHIVE_SOURCES
from train.recipes import SHIPPED

MIN_MALIGNANT_PER_ROW = 10  # a per-source row of the twin table needs this many cancers to say anything


def pct(x: float) -> str:
    """A share as a percentage with one decimal."""
    return f"{100 * x:.1f}%"


def results_row(name: str, metrics: dict) -> str:
    """One row of the results table shared by README.md and the model card."""
    test, training = metrics["test"], metrics["training"]
    return (
        f"| {name} | {test['auc']:.3f} | {pct(test['sensitivity'])} | {pct(test['specificity'])} | "
        f"{pct(test['precision'])} | {test['balanced_accuracy_7class']:.3f} | {test['ece']:.3f} | "
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
    return f"{pct(summary[key])} ({pct(low)}-{pct(high)})"


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
            melanoma = f"{pct(m['melanoma_sensitivity'])} ({m['melanoma'] - m['melanoma_missed']} of {m['melanoma']})"
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


def other_archives_sentence(gate: dict) -> str:
    """Archives the model did not train on that the gate's detector learnt from: their validation photos' answers."""
    other = gate.get("other_archives_validation")
    if not other:
        return ""
    figures = "; ".join(f"{archive}, {m['n']:,} photos: no result {pct(m['no_result_rate'])}, a caution {pct(m['caution_rate'])}"
                        for archive, m in other.items())
    return (f" The not-dermoscopy detector also learnt from {gate['other_archive_images_fitted']:,} training-side photos of "
            f"{' and '.join(other)}, which neither the model nor the distance check learnt from. On the validation side: {figures}.")


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
        lines.append(f"| test split, {archive} | {m['n']:,} ({m['malignant']:,}) | {m['auc']:.3f} | {pct(m['sensitivity'])} / "
                     f"{pct(m['specificity'])} | {pct(gate['validation_no_result_rate'])} / {pct(gate['validation_caution_rate'])} "
                     "(validation) |")
    if "twins" in metrics:
        twins, m = metrics["twins"], metrics["twins"]["originals"]
        lines.append(f"| the dermatoscope's 600x450 originals of validation and test lesions | {twins['n']} ({twins['malignant']}) | "
                     f"{m['auc']:.3f} | {pct(m['sensitivity'])} / {pct(m['specificity'])} | {pct(m['gate_flag_rate'])} (any) |")
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
        quality = (f"{_span([p['no_result_rate'] for p in gated], pct)} / {_span([p['caution_rate'] for p in gated], pct)}"
                   if gated else "not measured with this check")
        runs_note = f" ({len(group)} runs)" if len(group) > 1 else ""
        lines.append(f"| {key}{runs_note} | {held[0]['n']:,} ({held[0]['confusion']['tp'] + held[0]['confusion']['fn']:,}) | "
                     f"{_span([h['auc'] for h in held], lambda v: f'{v:.3f}')} | {_span([h['sensitivity'] for h in held], pct)} / "
                     f"{_span([h['specificity'] for h in held], pct)} | {quality} |")
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
            f"| {name} | {twins['n']} ({twins['malignant']}) | {m['auc']:.3f} | {pct(m['sensitivity'])} | "
            f"{pct(m['specificity'])} | {pct(m['gate_flag_rate'])} ({m['gate_flags']}) |"
        )
    for source, m in twins.get("by_source", {}).items():
        if m["malignant"] < MIN_MALIGNANT_PER_ROW:
            continue
        for name in ("copies", "originals"):
            flags = f"{pct(m[name]['gate_flag_rate'])} ({m[name]['gate_flags']})" if "gate_flags" in m[name] else ""
            lines.append(
                f"| `{source}` {name} | {m['n']} ({m['malignant']}) | {m[name]['auc']:.3f} | {pct(m[name]['sensitivity'])} | "
                f"{pct(m[name]['specificity'])} | {flags} |"
            )
    lines.append("")
    lines.append(
        f"Agreement: mean |P(original) - P(copy)| {twins['mean_abs_difference']:.3f} (95th percentile "
        f"{twins['p95_abs_difference']:.3f}); the same decision at the threshold for {pct(twins['same_decision'])}."
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
        lines.append(f"| {name} | {m['n']} | {pct(m['no_result_rate'])} | {pct(m['caution_rate'])} | {checks} |")
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
            f"{held['malignant']} | {_interval(held, 'specificity')} | {pct(held['specificity_at_90_sensitivity'])} | "
            f"{result['validation']['melanoma_vs_nevus_auc']:.3f} -> {held['melanoma_vs_nevus_auc']:.3f} | "
            f"{pct(nevi['flagged'] / nevi['n'])} |"
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
                     f"{' / '.join(map(pct, both['sensitivity']))} | {' / '.join(map(pct, both['specificity']))} |")
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
    return (f" On a source held out of training and of the gate: no result for {pct(min(no_result))} to {pct(max(no_result))} "
            f"of its photos, a caution for {pct(min(caution))} to {pct(max(caution))} ({len(runs)} runs in `out_of_source`).")


def _rate(figures: dict, key: str) -> str:
    return pct(figures[key]) if key in figures else "-"


def gate_holdout_table(results: list[dict]) -> str:
    """How often each run's gate (refitted on its own training images) answers, on in-source validation photos and on
    the held-out source: any answer, no result, a caution (runs with the earlier one-answer gate: any answer only)."""
    lines = ["| run | gate: distance / detector percentile | validation: any answer | held-out source: any answer | "
             "held-out: no result | held-out: caution |", "|---|---|---|---|---|---|"]
    for result in results:
        held, gate = result["held_out"], result["gate"]
        detector = f"{100 * gate['detector_quantile']:g}th" if "detector_quantile" in gate else "none (earlier gate)"
        lines.append(f"| `{result['run']}` | {100 * gate['distance_quantile']:g}th / {detector} | "
                     f"{pct(gate['validation_false_alarm_rate'])} | {pct(held['gate_flag_rate'])} ({held['gate_flags']} of "
                     f"{held['n']}) | {_rate(held, 'no_result_rate')} | {_rate(held, 'caution_rate')} |")
    return "\n".join(lines)


def run_label(run: Path) -> str:
    """A held-out run's name in tables: its source (or archive) and its change, `rosendahl/device-augment`
    (results/out_of_source/<source>/<change>)."""
    return f"{run.parent.name}/{run.name}"


def training_record(run: Path, recorded: dict) -> dict:
    """A run's training record completed with what older runs left to their config.json (backbone, input size, source
    weighting, archives) or to the defaults of their day; the recorded keys keep their order."""
    config = ModelConfig.load(run)
    data = config.extra.get("data", {})
    older = {"backbone": config.backbone, "source_weights": data.get("source_weights", "none"),
             "archives": list(data.get("images_by_archive", {"HAM10000": None})), "archive_weights": "none",
             "image_size": config.input_size, "colour_constancy": "none"}
    return recorded | {key: value for key, value in older.items() if key not in recorded}


def read_holdout_runs(runs: list[Path]) -> list[dict]:
    """Each run's holdout.json, named after its folder (with the backbone and the source weighting, which its
    config.json records, and the held-out twins when its twins.json is there)."""

    results = []
    for run in runs:
        result = {"run": run_label(run), **json.loads((run / files.HOLDOUT).read_text())}
        result["training"] = training_record(run, result["training"])
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


def results_table(folders: list[Path]) -> str:
    """The results table (README and model card) for trained model folders, from their metrics.json."""

    rows = []
    for folder in folders:
        config, metrics = ModelConfig.load(folder), json.loads((folder / files.METRICS).read_text())
        rows.append(results_row(f"{model_name(config, metrics['training'])}: `{folder.name}`", metrics))
    return "\n".join([RESULTS_HEADER, *rows])
