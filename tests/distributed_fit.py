"""A few epochs of a small CNN under one `train.distribute` strategy, its loss per epoch written as JSON.

Run as its own process (`python tests/distributed_fit.py STRATEGY OUT [CPU_REPLICAS]`): logical CPUs and
multi-worker collectives must be set up before TensorFlow runs anything. The data, the initial weights and the
global batch are the same whatever the strategy, so the loss curves must agree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train.distribute import is_chief, make_strategy  # noqa: E402

EPOCHS, BATCH, IMAGES = 5, 16, 64


def main(strategy_name: str, out: str, cpu_replicas: int = 0) -> None:
    strategy = make_strategy(strategy_name, cpu_replicas)  # first: before any other TensorFlow work
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(IMAGES, 16, 16, 3)).astype("float32")
    y = (x[..., 0].mean(axis=(1, 2)) > 0).astype("int32")
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    with strategy.scope():
        model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
                                  keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
        model.compile(keras.optimizers.SGD(0.5), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(data, epochs=EPOCHS, verbose=0, shuffle=False)
    if is_chief():
        Path(out).write_text(json.dumps({"replicas": strategy.num_replicas_in_sync, "loss": history.history["loss"]}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
