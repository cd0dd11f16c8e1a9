"""Training throughput per backbone: the training pipeline's model, augmentation and optimiser for a few steps.

Each backbone runs in its own process (`python -m bench.training --backbone B --steps N`, one JSON line out)
so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from bench.common import DATA_DIR, ROOT, Table, say

BACKBONES = ("efficientnet_lite0", "resnet50")


def measure(backbone: str, steps: int, batch_size: int, image_size: int, data_dir: str) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from inference.config import default_preprocessing
    from inference.preprocess import normalise
    from train.augment import origin_augmentation
    from train.backbones import build_classifier
    from train.data import load_pixels, read_metadata

    records = read_metadata(data_dir)[: 2 * batch_size]
    preprocessing = default_preprocessing(backbone)
    pixels = load_pixels(records, image_size, preprocessing)
    labels = tf.one_hot([r.label for r in records], 7)
    augment = origin_augmentation(0)

    def to_model_input(x, y):
        return normalise(augment(tf.cast(x, tf.float32), training=True), preprocessing), y

    dataset = (
        tf.data.Dataset.from_tensor_slices((pixels, labels)).repeat().batch(batch_size)
        .map(to_model_input, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    )
    # Random initial weights: the speed is the same, and ResNet50's ImageNet weights cannot be downloaded offline.
    model, _ = build_classifier(backbone, image_size, pretrained=False)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.CategoricalCrossentropy(from_logits=True))

    ends: list[float] = []

    class StepTimer(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            ends.append(time.perf_counter())

    started = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps + 1, epochs=1, verbose=0, callbacks=[StepTimer()])
    durations = np.diff([started, *ends])
    return {
        "backbone": backbone,
        "params_m": round(model.count_params() / 1e6, 1),
        "first_step_s": round(float(durations[0]), 1),
        "images_per_s": round(batch_size * steps / float(durations[1:].sum()), 1),
        "steps": steps,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def training_table(steps: int, command: str, data_dir: str = str(DATA_DIR), batch_size: int = 32, image_size: int = 224) -> Table:
    table = Table(f"Training throughput ({image_size} px, batch {batch_size}, Adam, augmentation on)", command,
                  ["backbone", "params", "images/s", "first step (tracing)", "peak RSS", "steps timed"])
    for backbone in BACKBONES:
        say(f"training: {backbone}, {steps} steps after the first")
        run = subprocess.run([sys.executable, "-m", "bench.training", "--backbone", backbone, "--steps", str(steps),
                              "--batch-size", str(batch_size), "--image-size", str(image_size), "--data-dir", data_dir],
                             cwd=ROOT, capture_output=True, text=True, timeout=3600)
        if run.returncode != 0:
            table.add(backbone, "", "failed", "", "", "")
            table.notes.append(f"{backbone} failed: {(run.stderr.strip().splitlines() or ['?'])[-1][:200]}")
            continue
        r = json.loads(run.stdout.strip().splitlines()[-1])
        table.add(backbone, f"{r['params_m']} M", r["images_per_s"], f"{r['first_step_s']} s", f"{r['peak_rss_mb']} MB", r["steps"])
    table.notes.append("`model.fit` on real HAM10000 pixels with the training run's augmentation (tf.data, 2 cores); images/s "
                       "over the steps after the first, input pipeline included. Each backbone in its own process.")
    return table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.training", description=__doc__)
    p.add_argument("--backbone", choices=BACKBONES, required=True)
    p.add_argument("--steps", type=int, default=10, help="timed steps (after one untimed tracing step)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--data-dir", default=str(DATA_DIR))
    args = p.parse_args(argv)
    print(json.dumps(measure(args.backbone, args.steps, args.batch_size, args.image_size, args.data_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
