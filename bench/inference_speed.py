"""In-process speed of the inference core: one-image latency, Grad-CAM cost (and the naive tf-keras-vis way), batch throughput."""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import Table, ms, percentile_ms, say

LATENCY_TARGET_MS = 50  # predict + Grad-CAM, p50, server side
SHIPPED_TARGET_MS = 100  # predict + Grad-CAM as shipped (with TTA), p50
THROUGHPUT_TARGET = 100  # images/s on the batch CLI path
GRADCAM_RATIO_TARGET = 2.0  # predict + Grad-CAM vs predict


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def phone_photo(source: Path, folder: Path) -> Path:
    """A 4000 x 3000 JPEG (the size of a phone photo) made from a real image, in a temporary folder."""
    path = folder / "phone_4000x3000.jpg"
    Image.open(source).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC).save(path, quality=90)
    return path


def latency(clf, images: list[Path], command: str, phone_repeats: int) -> tuple[Table, dict[str, list[float]]]:
    """p50/p95 of predict_one from a file path (decoding included), the modes interleaved image by image."""
    modes = {
        "predict": {"explain": False, "tta": False},
        "predict + Grad-CAM": {"explain": True, "tta": False},
        "predict with TTA (4 views)": {"explain": False, "tta": True},
        "predict with TTA + Grad-CAM": {"explain": True, "tta": True},
    }
    for options in modes.values():  # warm-up: first calls of each path
        for path in images[:3]:
            clf.predict_one(path, **options)
    times: dict[str, list[float]] = {name: [] for name in modes}
    say(f"latency: {len(images)} images x {len(modes)} modes")
    for i, path in enumerate(images):
        names = list(modes)
        for name in names[i % len(names) :] + names[: i % len(names)]:  # rotate the order: no mode always runs first
            times[name].append(_timed(clf.predict_one, path, **modes[name]))
    with tempfile.TemporaryDirectory() as tmp:
        phone = phone_photo(images[0], Path(tmp))
        name = "predict + Grad-CAM as served (TTA as in config.json), 12 Mpx phone photo (4000x3000 JPEG)"
        clf.predict_one(phone, explain=True)
        times[name] = [_timed(clf.predict_one, phone, explain=True) for _ in range(phone_repeats)]
    table = Table("Server-side latency, one image", command, ["what", "p50", "p95", "target (p50)", "n"])
    for name, seconds in times.items():
        targets = {"predict + Grad-CAM": f"<= {LATENCY_TARGET_MS} ms", "predict with TTA + Grad-CAM": f"<= {SHIPPED_TARGET_MS} ms"}
        target = targets.get(name, "")
        table.add(name, ms(percentile_ms(seconds, 50)), ms(percentile_ms(seconds, 95)), target, len(seconds))
    table.notes.append(f"`Classifier.predict_one(path, ...)` on {len(images)} HAM10000 test images (200x150 JPEG), "
                       "decoding and preprocessing included, modes interleaved image by image.")
    return table, times


def gradcam_cost(clf, images: list[Path], times: dict[str, list[float]], command: str) -> Table:
    """Grad-CAM vs a plain prediction, and tf-keras-vis on the whole model vs the project's split model, same images."""
    import keras
    from tf_keras_vis.gradcam import Gradcam

    from inference.gradcam import decision_score
    from inference.preprocess import normalise, prepare_image

    cfg = clf.config
    score = decision_score(cfg.malignant_mask, towards_malignant=True)
    full = keras.saving.load_model(Path(clf.folder) / "model.keras", safe_mode=True, compile=False)
    started = time.perf_counter()
    naive = Gradcam(full)
    build = time.perf_counter() - started
    options = {"penultimate_layer": cfg.gradcam_layer, "seek_penultimate_conv_layer": False, "expand_cam": False, "normalize_cam": False}

    pixels = [prepare_image(p, cfg.input_size, cfg.preprocessing)[None] for p in images]
    started = time.perf_counter()
    naive(score, normalise(pixels[0], cfg.preprocessing), **options)
    naive_first = time.perf_counter() - started
    rows = {"naive": [], "split": [], "head": []}
    differences = []
    say(f"grad-cam: {len(images)} images, naive tf-keras-vis vs split model")
    for x in pixels:
        start = time.perf_counter()
        cam = np.asarray(naive(score, normalise(x, cfg.preprocessing), **options))[0]
        rows["naive"].append(time.perf_counter() - start)
        start = time.perf_counter()
        _, features, _ = clf.forward(x, tta=False)
        middle = time.perf_counter()
        heat = clf.explainer.heatmap(features[0], towards_malignant=True)
        rows["split"].append(time.perf_counter() - start)
        rows["head"].append(time.perf_counter() - middle)
        peak = float(cam.max())
        differences.append(float(np.abs((cam / peak if peak > 0 else cam) - heat).max()))

    plain, explained = (percentile_ms(times[k], 50) for k in ("predict", "predict + Grad-CAM"))
    naive_ms, split_ms, head_ms = (percentile_ms(rows[k], 50) for k in ("naive", "split", "head"))
    table = Table("Grad-CAM cost", command, ["what", "p50", "p95", "ratio", "target"])
    table.add("predict (from the latency table)", ms(plain), ms(percentile_ms(times["predict"], 95)), "1.00x", "")
    table.add("predict + Grad-CAM (from the latency table)", ms(explained), ms(percentile_ms(times["predict + Grad-CAM"], 95)),
              f"{explained / plain:.2f}x", f"<= ~{GRADCAM_RATIO_TARGET:.0f}x")
    table.add("tf-keras-vis `Gradcam(model)` on the full model (forward + backward)", ms(naive_ms),
              ms(percentile_ms(rows["naive"], 95)), "1.00x", "")
    table.add("split model: backbone forward + `Gradcam(head)`", ms(split_ms), ms(percentile_ms(rows["split"], 95)),
              f"{split_ms / naive_ms:.2f}x", "")
    table.add("split model: `Gradcam(head)` only (the forward pass is the prediction's)", ms(head_ms),
              ms(percentile_ms(rows["head"], 95)), f"{head_ms / naive_ms:.2f}x", "")
    table.notes.append(f"Same {len(images)} preprocessed images, one run. Largest difference between the two heat maps "
                       f"(each scaled to max 1): {max(differences):.1e}. One-time costs: `Gradcam(model)` {build:.1f} s to build, "
                       f"first call {naive_first:.1f} s (tracing); the split model's are paid in `Classifier.__init__`.")
    return table


def throughput(clf, images: list[Path], command: str) -> Table:
    """images/s of Classifier.predict on a list of paths (the batch CLI's path), decoding included."""
    from inference.preprocess import prepare_image

    cfg = clf.config
    clf.predict(images[:32], tta=False)  # warm-up
    say(f"throughput: {len(images)} images")
    n = len(images)
    pixels = np.stack([prepare_image(p, cfg.input_size, cfg.preprocessing) for p in images])
    table = Table("Batch throughput (the batch CLI's path)", command, ["what", "images/s", "target", "CPU time per image"])
    runs = [
        ("`Classifier.predict(paths)` (decode + preprocess + model + gate)", lambda: clf.predict(images, tta=False),
         f">= {THROUGHPUT_TARGET}"),
        ("`Classifier.predict(paths, explain=True)` (+ Grad-CAM and overlay per image)",
         lambda: clf.predict(images, explain=True, tta=False), ""),
        ("of which decode + preprocess alone (one thread)", lambda: [prepare_image(p, cfg.input_size, cfg.preprocessing) for p in images],
         ""),
        ("of which the model alone (`Classifier.forward` on ready batches of 32)",
         lambda: [clf.forward(pixels[i : i + 32], tta=False) for i in range(0, n, 32)], ""),
        # What batched serving can gain: the model with the 4 test-time views, one image per call against 8.
        ("the model with TTA, one image per call (its 4 views as one batch), as `/predict` one by one",
         lambda: [clf.forward(pixels[i : i + 1], tta=True) for i in range(n)], ""),
        ("the model with TTA, 8 images per call (32 views), as `/predict` batched by 8",
         lambda: [clf.forward(pixels[i : i + 8], tta=True) for i in range(0, n, 8)], ""),
    ]
    for name, run, target in runs:
        cpu = _cpu_seconds()
        wall = _timed(run)
        table.add(name, f"{n / wall:.0f}", target, ms((_cpu_seconds() - cpu) / n * 1000))
    table.notes.append(f"{n} HAM10000 images (200x150 JPEG) as file paths, batches of 32, one process; CPU time is the process's "
                       f"user + system time on {os.cpu_count()} cores.")
    return table
