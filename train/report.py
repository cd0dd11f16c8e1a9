"""Write the model folder: model.keras (no optimizer state), config.json, split.csv, metrics.json, plots, card.

Temperature and threshold are fitted on validation; the test split is evaluated once, here.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import ImageFilter

from inference import model_files as files
from inference.config import ModelConfig
from inference.gate import Gate
from inference.outputs import diagnosis_probabilities, malignant_probability, tta_views
from inference.preprocess import center_square, load_rgb, normalise, prepare_image
from train import plots
from train.backbones import GATE_LAYER
from train.data import Record, load_pixels, write_split
from train.evaluate import binary_metrics, choose_threshold, evaluate, fit_temperature
from train.model_card import write_model_card

LATENCY_RUNS = 30
GATE_TRAIN_IMAGES = 3000


def predict_logits(model: keras.Model, pixels: np.ndarray, config: ModelConfig) -> np.ndarray:
    dataset = tf.data.Dataset.from_tensor_slices(pixels).batch(64).map(lambda x: normalise(tf.cast(x, tf.float32), config.preprocessing))
    return model.predict(dataset, verbose=0)


def single_image_latency_ms(model: keras.Model, config: ModelConfig) -> float:
    """Median wall time of one compiled forward pass on one image (tracing excluded)."""
    forward = tf.function(lambda x: model(x, training=False))
    x = tf.zeros((1, config.input_size, config.input_size, 3))
    forward(x)
    times = []
    for _ in range(LATENCY_RUNS):
        start = time.perf_counter()
        forward(x).numpy()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def shipping_copy(model: keras.Model) -> keras.Model:
    """An uncompiled twin with the same weights: saving it stores no optimizer state."""
    twin = keras.Model.from_config(model.get_config())  # clone_model would carry the optimizer over
    twin.set_weights(model.get_weights())
    return twin


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


def robustness(model: keras.Model, config: ModelConfig, records: list[Record], labels: np.ndarray) -> dict:
    """Test AUC, sensitivity and specificity (shipped threshold) after each perturbation of the test photos."""
    y = np.asarray(config.malignant_mask)[labels].astype(int)
    results = {}
    for name, perturb in PERTURBATIONS.items():
        pixels = np.stack([prepare_image(perturb(load_rgb(r.path)), config.input_size, config.preprocessing) for r in records])
        p = malignant_probability(diagnosis_probabilities(predict_logits(model, pixels, config), config.temperature), config.malignant_mask)
        m = binary_metrics(y, p, config.threshold)
        results[name] = {k: m[k] for k in ("auc", "sensitivity", "specificity")}
    return results


def work_dir(out: Path) -> Path:
    """Checkpoints, logs and raw outputs of a run: beside the model folder, never inside it."""
    path = out.parent / f".{out.name}.work"
    path.mkdir(parents=True, exist_ok=True)
    return path


def fit_gate(out: Path, by_side: dict, max_images: int = GATE_TRAIN_IMAGES) -> dict:
    """Fit the quality / not-dermoscopy gate on training images; measure its false alarms on validation."""
    from inference.classifier import Classifier

    classifier = Classifier(out)
    rng = np.random.default_rng(0)
    train = by_side["train"]
    train = [train[i] for i in sorted(rng.choice(len(train), min(max_images, len(train)), replace=False))]

    def pixels_and_features(records):
        pixels = load_pixels(records, classifier.config.input_size, classifier.config.preprocessing)
        features = np.concatenate([classifier.forward(pixels[i : i + 64])[2] for i in range(0, len(pixels), 64)])
        return pixels, features

    gate = Gate.fit(*pixels_and_features(train))
    gate.save(out)
    flags = gate.check(*pixels_and_features(by_side["val"]))
    codes = [f[0] for f in flags if f]
    return {
        "train_images_fitted": len(train),
        "validation_false_alarm_rate": len(codes) / len(flags),
        "validation_false_alarms_by_check": {code: codes.count(code) for code in sorted(set(codes))},
        "thresholds": {"max_distance": gate.max_distance, "min_contrast": gate.min_contrast, "min_sharpness": gate.min_sharpness},
    }


def write_model_folder(model: keras.Model, config: ModelConfig, out: Path, records: list[Record], split: dict, by_side: dict) -> dict:
    """Everything of the model folder from a trained model; by_side holds the images actually used per split."""
    mask = config.malignant_mask
    labels = {side: np.array([r.label for r in rs]) for side, rs in by_side.items()}
    y_val, y_test = (np.asarray(mask)[labels[side]].astype(int) for side in ("val", "test"))

    # Calibration and threshold: validation only.
    val_pixels = load_pixels(by_side["val"], config.input_size, config.preprocessing)
    val_logits = predict_logits(model, val_pixels, config)
    config.temperature = fit_temperature(val_logits, y_val, mask)
    val_p = malignant_probability(diagnosis_probabilities(val_logits, config.temperature), mask)
    config.threshold = choose_threshold(y_val, val_p, config.extra["target_sensitivity"])
    val_tta_logits = np.mean([val_logits] + [predict_logits(model, view, config) for view in tta_views(val_pixels)], axis=0)

    # The test split, scored once with everything fixed.
    test_logits = predict_logits(model, load_pixels(by_side["test"], config.input_size, config.preprocessing), config)
    crops = np.stack([prepare_image(center_square(load_rgb(r.path)), config.input_size, config.preprocessing) for r in by_side["test"]])
    scored = {
        "validation": (val_logits, labels["val"]),
        "validation_tta": (val_tta_logits, labels["val"]),
        "test": (test_logits, labels["test"]),
        "test_center_square": (predict_logits(model, crops, config), labels["test"]),
    }
    result = {
        "temperature": config.temperature,
        "threshold": config.threshold,
        **{name: evaluate(logits, y7, mask, config.temperature, config.threshold) for name, (logits, y7) in scored.items()},
        "robustness": robustness(model, config, by_side["test"], labels["test"]),
        "single_image_latency_ms": single_image_latency_ms(model, config),
        "training": config.extra["training"],
    }

    out.mkdir(parents=True, exist_ok=True)
    shipping_copy(model).save(out / files.MODEL)
    result["model_megabytes"] = round((out / files.MODEL).stat().st_size / 2**20, 1)
    config.save(out)
    write_split(out / files.SPLIT, records, split)
    result["gate"] = fit_gate(out, by_side)
    (out / files.METRICS).write_text(json.dumps(result, indent=2) + "\n")
    np.savez(
        work_dir(out) / "logits.npz",
        val=val_logits,
        test=test_logits,
        val_labels=labels["val"],
        test_labels=labels["test"],
        val_ids=[r.image_id for r in by_side["val"]],
    )

    probabilities = diagnosis_probabilities(test_logits, config.temperature)
    p = malignant_probability(probabilities, mask)
    plots.roc_plot(out / files.ROC_PLOT, y_test, p, config.threshold)
    plots.reliability_plot(
        out / files.RELIABILITY_PLOT, y_test, malignant_probability(diagnosis_probabilities(test_logits), mask), p, config.temperature
    )
    plots.confusion_plot(
        out / files.CONFUSION_PLOT, labels["test"], probabilities.argmax(1), config.labels, y_test, (p >= config.threshold).astype(int)
    )
    write_model_card(out, config, result)
    return result


def main(argv: list[str] | None = None) -> int:
    """Re-evaluate a model folder (for example after an interrupted run): refit temperature, threshold
    and gate on validation, score the test split, rewrite metrics, plots and card."""
    import argparse

    from train.data import read_metadata, read_split

    parser = argparse.ArgumentParser(prog="python -m train.report", description=main.__doc__)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--data-dir", default="data/ham10000")
    parser.add_argument("--weights", help="weights file to load instead of the folder's model.keras (e.g. a run's best checkpoint)")
    args = parser.parse_args(argv)
    config = ModelConfig.load(args.model_dir)
    config.gate_layer = config.gate_layer or GATE_LAYER[config.backbone]
    model = keras.saving.load_model(args.model_dir / files.MODEL, safe_mode=True, compile=False)
    if args.weights:
        model.load_weights(args.weights)
    records = read_metadata(args.data_dir)
    split = read_split(args.model_dir / files.SPLIT)
    by_side = {side: [r for r in records if split[r.image_id] == side] for side in ("train", "val", "test")}
    write_model_folder(model, config, args.model_dir, records, split, by_side)
    print(json.dumps(json.loads((args.model_dir / files.METRICS).read_text())["test"], indent=1)[:2000])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
