"""The model folder from a trained model, step by step, every prediction through the inference core.

save the model (no optimizer state) -> calibrate on validation (temperature, threshold: a new config) ->
score the test split once (plus TTA, robustness, per source) -> fit the gate -> twin consistency ->
metrics.json, plots and the model card. `python -m train.report` re-runs it on an existing folder.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import keras
import numpy as np
from PIL import ImageFilter

from inference import model_files as files
from inference.classifier import NOT_A_LESION_PHOTO, Classifier
from inference.config import ModelConfig
from inference.gate import DETECTOR_QUANTILE, DISTANCE_QUANTILE, Gate
from inference.outputs import diagnosis_probabilities, malignant_probability
from inference.preprocess import load_rgb, prepare_image
from train import plots
from train.backbones import GATE_LAYER
from train.data import Record, archives, load_pixels, other_archives, prepare_images, sides, write_split
from train.evaluate import choose_threshold, evaluate, fit_temperature, screening_summary
from train.model_card import write_model_card
from train.resave import resave_summary

LATENCY_RUNS = 30
BATCH = 64  # images per forward call while scoring


def work_dir(out: Path) -> Path:
    """Checkpoints, logs and raw outputs of a run: beside the model folder, never inside it."""
    path = out.parent / f".{out.name}.work"
    path.mkdir(parents=True, exist_ok=True)
    return path


def shipping_copy(model: keras.Model) -> keras.Model:
    """An uncompiled twin with the same weights: saving it stores no optimizer state."""
    twin = keras.Model.from_config(model.get_config())  # clone_model would carry the optimizer over
    twin.set_weights(model.get_weights())
    return twin


def save_model(model: keras.Model, config: ModelConfig, out: Path, records: list[Record], split: dict) -> None:
    """model.keras, config.json and split.csv: enough for the inference core to load the folder."""
    out.mkdir(parents=True, exist_ok=True)
    shipping_copy(model).save(out / files.MODEL)
    config.save(out)
    write_split(out / files.SPLIT, records, split)
    (out / files.GATE).unlink(missing_ok=True)  # fitted later, for these weights: an older one belongs to others


def outputs_of(classifier: Classifier, pixels: np.ndarray, tta: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(logits, gate features) of the served forward pass (logits with TTA if asked) over prepared uint8 images."""
    batches = [classifier.forward(pixels[i : i + BATCH], tta=tta) for i in range(0, len(pixels), BATCH)]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[2] for b in batches])


def logits_of(classifier: Classifier, pixels: np.ndarray, tta: bool = False) -> np.ndarray:
    return outputs_of(classifier, pixels, tta)[0]


def labels_of(records: list[Record]) -> np.ndarray:
    return np.array([r.label for r in records])


def calibrate(config: ModelConfig, val_logits: np.ndarray, val_labels: np.ndarray) -> ModelConfig:
    """A new config with the temperature and the threshold fitted on validation."""
    mask = config.malignant_mask
    y = np.asarray(mask)[val_labels].astype(int)
    temperature = fit_temperature(val_logits, y, mask)
    p = malignant_probability(diagnosis_probabilities(val_logits, temperature), mask)
    return dataclasses.replace(config, temperature=temperature, threshold=choose_threshold(y, p, config.extra["target_sensitivity"]))


@dataclasses.dataclass
class Calibrated:
    """A saved model folder after calibration, with the validation outputs that chose it (reused by the report)."""

    classifier: Classifier
    val_pixels: np.ndarray
    val_logits: np.ndarray  # as served (with TTA if config.tta)
    val_features: np.ndarray


def calibrate_model_folder(model: keras.Model, config: ModelConfig, out: Path, records: list[Record], split: dict,
                           val: list[Record], tta: bool | None = None) -> Calibrated:
    """Save the model folder, then fit the temperature and the threshold on the validation photos through the
    served forward pass, and save them in config.json. tta: how validation is scored (default: as served)."""
    save_model(model, config, out, records, split)
    classifier = Classifier(out)  # from here on, every prediction goes through the served code
    val_pixels = load_pixels(val, config.input_size, config.preprocessing)
    val_logits, val_features = outputs_of(classifier, val_pixels, tta=config.tta if tta is None else tta)
    classifier.config = calibrate(config, val_logits, labels_of(val))
    classifier.config.save(out)
    return Calibrated(classifier, val_pixels, val_logits, val_features)


def single_image_latency_ms(classifier: Classifier) -> float:
    """Median wall time of the served forward pass (with TTA if served with it) on one prepared image (tracing excluded)."""
    size, tta = classifier.config.input_size, classifier.config.tta
    x = np.zeros((1, size, size, 3), np.uint8)
    classifier.forward(x, tta=tta)
    times = []
    for _ in range(LATENCY_RUNS):
        start = time.perf_counter()
        classifier.forward(x, tta=tta)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


# What a different dermatoscope or camera might do to a photo, applied before preprocessing.
def _colour_cast(red: float, blue: float):
    matrix = (red, 0, 0, 0, 0, 1, 0, 0, 0, 0, blue, 0)
    return lambda image: image.convert("RGB", matrix)


PERTURBATIONS = {
    "warm colour cast (R x1.08, B x0.92)": _colour_cast(1.08, 0.92),
    "cool colour cast (R x0.92, B x1.08)": _colour_cast(0.92, 1.08),
    "blur (Gaussian, radius 1 px)": lambda im: im.filter(ImageFilter.GaussianBlur(1)),
    "sharpen (unsharp mask 2 px, 100%)": lambda im: im.filter(ImageFilter.UnsharpMask(radius=2, percent=100)),
}


def robustness(classifier: Classifier, config: ModelConfig, records: list[Record]) -> dict:
    """Test AUC, sensitivity and specificity (shipped threshold) after each perturbation of the test photos."""
    results = {}
    for name, perturb in PERTURBATIONS.items():
        pixels = np.stack([prepare_image(perturb(load_rgb(r.path)), config.input_size, config.preprocessing) for r in records])
        logits = logits_of(classifier, pixels, tta=config.tta)
        m = evaluate(logits, labels_of(records), config.malignant_mask, config.temperature, config.threshold)
        results[name] = {k: m[k] for k in ("auc", "sensitivity", "specificity")}
    return results


def screening(config: ModelConfig, records: list[Record], logits: np.ndarray) -> dict:
    """Sensitivity and specificity with lesion-bootstrap intervals, misses, melanoma sensitivity."""
    labels = labels_of(records)
    y = np.asarray(config.malignant_mask)[labels].astype(int)
    p = malignant_probability(diagnosis_probabilities(logits, config.temperature), config.malignant_mask)
    groups = np.array([r.lesion_id for r in records])
    return screening_summary(y, p, config.threshold, groups, labels, config.labels.index("mel"))


def by_source(config: ModelConfig, records: list[Record], logits: np.ndarray, key: str = "source") -> dict:
    """The screening summary per acquisition source (or per `archive`), for those with both benign and malignant
    images, with the melanoma AUC of P(melanoma): the ISIC 2017 challenge's measure, to set beside its results."""
    results = {}
    groups = np.array([getattr(r, key) for r in records])
    for group in sorted({g for g in groups if g}):
        chosen = groups == group
        y = np.asarray(config.malignant_mask)[labels_of(records)[chosen]].astype(int)
        if 0 < y.sum() < len(y):
            chosen_records = [r for r, c in zip(records, chosen, strict=True) if c]
            results[group] = {**screening(config, chosen_records, logits[chosen]),
                              "melanoma_auc": melanoma_auc(config, chosen_records, logits[chosen])}
    return results


def melanoma_auc(config: ModelConfig, records: list[Record], logits: np.ndarray) -> float | None:
    """AUC of P(melanoma) for melanoma against every other diagnosis (None without both)."""
    from sklearn.metrics import roc_auc_score

    is_melanoma = labels_of(records) == config.labels.index("mel")
    if is_melanoma.all() or not is_melanoma.any():
        return None
    return float(roc_auc_score(is_melanoma, diagnosis_probabilities(logits, config.temperature)[:, config.labels.index("mel")]))


def melanoma_vs_nevus_auc(config: ModelConfig, records: list[Record], logits: np.ndarray) -> float | None:
    """AUC of P(malignant) between melanomas and nevi alone: a shift in the images themselves shows in the two
    diagnoses that every source has plenty of, whatever the mix of the others."""
    from sklearn.metrics import roc_auc_score

    labels = labels_of(records)
    mel, nv = config.labels.index("mel"), config.labels.index("nv")
    if not ((labels == mel).any() and (labels == nv).any()):
        return None
    p = malignant_probability(diagnosis_probabilities(logits, config.temperature), config.malignant_mask)
    chosen = (labels == mel) | (labels == nv)
    return float(roc_auc_score(labels[chosen] == mel, p[chosen]))


def score(classifier: Classifier, config: ModelConfig, by_side: dict, val_pixels: np.ndarray,
          val_logits: np.ndarray) -> tuple[dict, np.ndarray]:
    """Every figure of metrics.json that the model's outputs give, as served (`tta` in config.json); the test
    split is scored here, once. Validation is also scored both without and with TTA: the evidence for `tta`."""
    mask, size, preprocessing, tta = config.malignant_mask, config.input_size, config.preprocessing, config.tta
    test = by_side["test"]
    val_other = logits_of(classifier, val_pixels, tta=not tta)
    test_logits = logits_of(classifier, load_pixels(test, size, preprocessing), tta=tta)
    scored = {
        "validation": (val_logits, labels_of(by_side["val"])),
        "validation_without_tta": (val_other if tta else val_logits, labels_of(by_side["val"])),
        "validation_tta": (val_logits if tta else val_other, labels_of(by_side["val"])),
        "test": (test_logits, labels_of(test)),
    }
    metrics = {
        "temperature": config.temperature,
        "threshold": config.threshold,
        "tta": tta,
        **{name: evaluate(logits, y7, mask, config.temperature, config.threshold) for name, (logits, y7) in scored.items()},
        "test_screening": screening(config, test, test_logits),
        "test_by_source": by_source(config, test, test_logits),
        "validation_by_source": by_source(config, by_side["val"], val_logits),
        "test_by_archive": by_source(config, test, test_logits, key="archive"),
        "validation_by_archive": by_source(config, by_side["val"], val_logits, key="archive"),
        "robustness": robustness(classifier, config, test),
        "single_image_latency_ms": single_image_latency_ms(classifier),
        "training": config.extra["training"],
    }
    return metrics, test_logits


def gate_flags(gate: Gate, pixels: np.ndarray, features: np.ndarray) -> dict:
    """How often the gate withholds a result (`no_result`: blank, grey, not_dermoscopy) or cautions (`caution`:
    blurred, unfamiliar), and for which check."""
    codes = [f[0] for f in gate.check(pixels, features) if f]
    no_result = sum(code in NOT_A_LESION_PHOTO for code in codes)
    return {"gate_flag_rate": len(codes) / len(pixels), "gate_flags": len(codes),
            "no_result_rate": no_result / len(pixels), "caution_rate": (len(codes) - no_result) / len(pixels),
            "gate_flags_by_check": {code: codes.count(code) for code in sorted(set(codes))}}


def gate_flags_by(gate: Gate, pixels: np.ndarray, features: np.ndarray, groups: list[str]) -> dict:
    """`gate_flags` per group (acquisition source, archive), with its number of images."""
    groups = np.array(groups)
    return {group: {"n": int((groups == group).sum()), **gate_flags(gate, pixels[groups == group], features[groups == group])}
            for group in sorted({g for g in groups if g})}


def negative_features(classifier: Classifier) -> np.ndarray:
    """Pooled gate features of the fitting part of the negative corpus, prepared as uploads are."""
    from train.negatives import fitting_images, fitting_views

    config = classifier.config
    pixels = prepare_images([view for _, view in fitting_views(fitting_images())], config.input_size, config.preprocessing)
    return outputs_of(classifier, pixels)[1]


def negatives_detection(classifier: Classifier) -> dict:
    """The served decision on the held-out part of the negative corpus: how many get no result, how many a referral."""
    from train.negatives import held_out_images

    images = held_out_images()
    predictions = classifier.predict(list(images.values()))
    missed = [name for name, p in zip(images, predictions, strict=True) if p.meaningful]
    codes = [p.warning_code or "none" for p in predictions]
    return {"n": len(images), "no_result": len(images) - len(missed), "referred": sum(p.decision_code == "refer" for p in predictions),
            "by_check": {code: codes.count(code) for code in sorted(set(codes))}, "missed": missed}


def fit_gate(classifier: Classifier, out: Path, by_side: dict, val_pixels: np.ndarray, val_features: np.ndarray) -> dict:
    """Fit the gate on every training image (and the negative corpus's fitting part), save it and serve it from
    `classifier`; measure it on validation, overall and per acquisition source, and on the held-out negatives.
    by_side["other"], if given: the photos of archives the model did not train on, per side
    (`train.data.other_archives`): the not-dermoscopy detector learns from their training side (the distance check
    does not: the model never saw them) and their validation side measures it."""
    size, preprocessing = classifier.config.input_size, classifier.config.preprocessing
    train, val, other = by_side["train"], by_side["val"], by_side.get("other", {})
    pixels = load_pixels(train, size, preprocessing)
    negatives = negative_features(classifier)
    other_train, other_val = other.get("train", []), other.get("val", [])
    other_dermoscopy = outputs_of(classifier, load_pixels(other_train, size, preprocessing))[1] if other_train else None
    gate = Gate.fit(pixels, outputs_of(classifier, pixels)[1], negatives, other_dermoscopy)
    gate.save(out)
    classifier.gate = gate
    flags = gate_flags(gate, val_pixels, val_features)
    by_source = gate_flags_by(gate, val_pixels, val_features, [r.source for r in val])
    other_validation = {}
    if other_val:
        other_pixels = load_pixels(other_val, size, preprocessing)
        other_features = outputs_of(classifier, other_pixels)[1]
        other_validation = gate_flags_by(gate, other_pixels, other_features, [r.archive for r in other_val])
    return {
        "train_images_fitted": len(train),
        "detector_archives": archives(list(train) + other_train),
        "other_archive_images_fitted": len(other_train),
        "other_archives_validation": other_validation,
        "negative_images_fitted": len(negatives),
        "layers": classifier.config.gate_layers,
        "distance_quantile": DISTANCE_QUANTILE,
        "detector_quantile": DETECTOR_QUANTILE,
        "validation_images": len(val),
        "validation_false_alarm_rate": flags["gate_flag_rate"],
        "validation_no_result_rate": flags["no_result_rate"],
        "validation_caution_rate": flags["caution_rate"],
        "validation_false_alarms_by_check": flags["gate_flags_by_check"],
        "validation_false_alarms_by_source": by_source,
        "held_out_negatives": negatives_detection(classifier),
        "thresholds": {"max_distance": gate.max_distance, "min_detector_score": gate.min_detector_score,
                       "min_contrast": gate.min_contrast, "min_sharpness": gate.min_sharpness, "min_chroma": gate.min_chroma},
    }


def gate_and_twins(classifier: Classifier, out: Path, records: list[Record], by_side: dict, val_pixels: np.ndarray,
                   val_features: np.ndarray, originals_dir: Path | None) -> dict:
    """What depends on the gate: fit it (and its validation false alarms) and, given the full-size twins, their
    consistency with their copies as served (the gate's flags on them included)."""
    figures = {"gate": fit_gate(classifier, out, by_side, val_pixels, val_features)}
    if originals_dir is not None and originals_dir.is_dir():
        from train.twins import twin_consistency

        figures["twins"] = twin_consistency(classifier, records, originals_dir, out / files.SPLIT)
    return figures


def refit_gate(folder: Path, records: list[Record], by_side: dict, held_out: list[Record] | None = None,
               originals_dir: Path | None = None) -> dict:
    """Refit only the gate of a finished model folder (weights, calibration and test scores stay as they are) and
    rewrite what depends on it: holdout.json's gate figures, or metrics.json's gate and twins and the card."""
    config = ModelConfig.load(folder)
    config.gate_layer = GATE_LAYER[config.backbone]  # refitted, so it follows the current design
    config.save(folder)
    (folder / files.GATE).unlink(missing_ok=True)  # refitted below; a gate of an earlier design would not load
    classifier = Classifier(folder)
    size, preprocessing = config.input_size, config.preprocessing
    val_pixels = load_pixels(by_side["val"], size, preprocessing)
    val_features = outputs_of(classifier, val_pixels)[1]
    if held_out is not None:
        result = json.loads((folder / files.HOLDOUT).read_text())
        out_pixels = load_pixels(held_out, size, preprocessing)
        result["gate"] = fit_gate(classifier, folder, by_side, val_pixels, val_features)
        result["held_out"].update(gate_flags(classifier.gate, out_pixels, outputs_of(classifier, out_pixels)[1]))
        (folder / files.HOLDOUT).write_text(json.dumps(result, indent=2) + "\n")
        return result
    metrics = json.loads((folder / files.METRICS).read_text())
    metrics |= gate_and_twins(classifier, folder, records, by_side, val_pixels, val_features, originals_dir)
    (folder / files.METRICS).write_text(json.dumps(metrics, indent=2) + "\n")
    write_model_card(folder, config, metrics)
    return metrics


def write_plots(out: Path, config: ModelConfig, test_labels: np.ndarray, test_logits: np.ndarray) -> None:
    mask = config.malignant_mask
    y = np.asarray(mask)[test_labels].astype(int)
    probabilities = diagnosis_probabilities(test_logits, config.temperature)
    p = malignant_probability(probabilities, mask)
    plots.roc_plot(out / files.ROC_PLOT, y, p, config.threshold)
    plots.reliability_plot(out / files.RELIABILITY_PLOT, y, malignant_probability(diagnosis_probabilities(test_logits), mask), p,
                           config.temperature)
    flagged = (p >= config.threshold).astype(int)
    plots.confusion_plot(out / files.CONFUSION_PLOT, test_labels, probabilities.argmax(1), config.labels, y, flagged)


def write_model_folder(calibrated: Calibrated, out: Path, records: list[Record], by_side: dict,
                       originals_dir: Path | None = None) -> dict:
    """The rest of the model folder once calibrated: score the test split once, fit the gate, twins, metrics, plots,
    card; by_side holds the images actually used per split. originals_dir: full-size twins of some training-copy
    images, for the twin-consistency check."""
    classifier, config = calibrated.classifier, calibrated.classifier.config
    val_pixels, val_logits, val_features = calibrated.val_pixels, calibrated.val_logits, calibrated.val_features
    metrics, test_logits = score(classifier, config, by_side, val_pixels, val_logits)
    metrics["model_megabytes"] = round((out / files.MODEL).stat().st_size / 2**20, 1)
    metrics |= gate_and_twins(classifier, out, records, by_side, val_pixels, val_features, originals_dir)
    if originals_dir is not None and originals_dir.is_dir():  # how many digits of P mean anything
        metrics["resave"] = resave_summary(classifier, sorted(originals_dir.glob("*.jpg")))
    (out / files.METRICS).write_text(json.dumps(metrics, indent=2) + "\n")
    np.savez(work_dir(out) / "logits.npz", val=val_logits, test=test_logits, val_labels=labels_of(by_side["val"]),
             test_labels=labels_of(by_side["test"]), val_ids=[r.image_id for r in by_side["val"]])
    write_plots(out, config, labels_of(by_side["test"]), test_logits)
    write_model_card(out, config, metrics)
    return metrics


def write_holdout_report(calibrated: Calibrated, out: Path, by_side: dict, held_out: list[Record]) -> dict:
    """Out-of-source validation: calibrated and thresholded on in-source validation (without TTA), score the held-out
    source."""
    classifier, config = calibrated.classifier, calibrated.classifier.config
    val_pixels, val_logits, val_features = calibrated.val_pixels, calibrated.val_logits, calibrated.val_features
    out_pixels = load_pixels(held_out, config.input_size, config.preprocessing)
    out_logits, out_features = outputs_of(classifier, out_pixels)
    out_tta_logits = logits_of(classifier, out_pixels, tta=True)  # does test-time augmentation pay out of source?
    result = {"temperature": config.temperature, "threshold": config.threshold, "training": config.extra["training"]}
    scored = (("validation", val_logits, by_side["val"]), ("held_out", out_logits, held_out), ("held_out_tta", out_tta_logits, held_out))
    for name, logits, rs in scored:
        result[name] = {**evaluate(logits, labels_of(rs), config.malignant_mask, config.temperature, config.threshold),
                        **screening(config, rs, logits), "melanoma_vs_nevus_auc": melanoma_vs_nevus_auc(config, rs, logits)}
    result["validation_by_source"] = by_source(config, by_side["val"], val_logits)  # every archive's validation photos
    # The gate, fitted on this run's training images: how often does it withhold a verdict on the unseen source?
    result["gate"] = fit_gate(classifier, out, by_side, val_pixels, val_features)
    result["held_out"].update(gate_flags(classifier.gate, out_pixels, out_features))
    (out / files.HOLDOUT).write_text(json.dumps(result, indent=2) + "\n")
    np.savez(work_dir(out) / files.HOLDOUT_LOGITS, val=val_logits, val_labels=labels_of(by_side["val"]), held_out=out_logits,
             held_out_labels=labels_of(held_out), held_out_ids=[r.image_id for r in held_out])
    return result


def main(argv: list[str] | None = None) -> int:
    """Re-evaluate a model folder (for example after an interrupted run): refit temperature, threshold
    and gate on validation, score the test split, rewrite metrics, plots and card (--gate-only: refit the gate alone)."""
    import argparse

    from train.data import read_metadata, read_split
    from train.twins import default_originals_dir

    parser = argparse.ArgumentParser(prog="python -m train.report", description=main.__doc__)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--data-dir", nargs="+", default=["data/ham10000"],
                        help="the archive folders the model was trained with, and others the gate's detector learns from")
    parser.add_argument("--originals", type=Path, help="full-size twins (default: ham10000-originals beside --data-dir)")
    parser.add_argument("--holdout-source", help="an out-of-source run: score this held-out source (writes holdout.json)")
    parser.add_argument("--weights", help="weights file to load instead of the folder's model.keras (e.g. a run's best checkpoint)")
    parser.add_argument("--gate-only", action="store_true", help="refit only the gate (after a change of its design)")
    args = parser.parse_args(argv)
    records = read_metadata(args.data_dir)
    split_file = args.model_dir / files.SPLIT
    split = read_split(split_file if split_file.exists() else work_dir(args.model_dir) / files.SPLIT)
    kept = [r for r in records if r.source != args.holdout_source]
    by_side = sides(kept, split) | {"other": other_archives(kept, split)}  # other: for the gate's detector
    held_out = [r for r in records if r.source == args.holdout_source] if args.holdout_source else None
    originals = args.originals or default_originals_dir(args.data_dir[0])
    if args.gate_only:
        result = refit_gate(args.model_dir, records, by_side, held_out, originals)
        print(json.dumps({k: v for k, v in result["gate"].items() if k != "thresholds"}))
        return 0
    config = ModelConfig.load(args.model_dir)
    config.gate_layer = GATE_LAYER[config.backbone]  # the gate is refitted, so it follows the current design
    model = keras.saving.load_model(args.model_dir / files.MODEL, safe_mode=True, compile=False)
    if args.weights:
        model.load_weights(args.weights)
    if held_out is not None:  # also a model trained without ever seeing the source: it is then scored as held out
        config.extra["training"]["holdout_source"] = args.holdout_source
        calibrated = calibrate_model_folder(model, config, args.model_dir, records, split, by_side["val"], tta=False)
        result = write_holdout_report(calibrated, args.model_dir, by_side, held_out)
        print(json.dumps({k: result["held_out"][k] for k in ("n", "auc", "sensitivity", "specificity", "missed")}))
        return 0
    calibrated = calibrate_model_folder(model, config, args.model_dir, records, split, by_side["val"])
    write_model_folder(calibrated, args.model_dir, records, by_side, originals)
    print(json.dumps(json.loads((args.model_dir / files.METRICS).read_text())["test"], indent=1)[:2000])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
