"""Which `tf.distribute` strategy training runs under: one device, all GPUs of a machine, or several machines.

    auto          several GPUs visible: MirroredStrategy over them; otherwise one device (the former behaviour)
    default       one device (CPU or the first GPU)
    mirrored      MirroredStrategy: one replica per GPU of this machine (or per logical CPU, see cpu_replicas)
    multi_worker  MultiWorkerMirroredStrategy: one process per machine, the cluster described by TF_CONFIG

Batches stay global (`--batch-size` is split across replicas) and gradients are summed across replicas, so the
loss curve is the one-device curve. MultiWorkerMirroredStrategy configures TensorFlow's collectives, which must happen
before TensorFlow runs anything: call `make_strategy` first thing in a process.
"""

from __future__ import annotations

import os

import tensorflow as tf

STRATEGIES = ("auto", "default", "mirrored", "multi_worker")


class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """TensorFlow's strategy, with `reduce` as Keras 3.15's `fit` calls it: on a nested batch (x, y) when it first
    builds the model, and with axis=0 on scalar losses; TensorFlow's multi-worker `reduce` takes neither and `fit`
    fails (keras-team/keras#20585). Each tensor is reduced on its own, a scalar across replicas."""

    def reduce(self, reduce_op, value, axis):
        def one(tensor):
            rank = self.experimental_local_results(tensor)[0].shape.rank
            return super(MultiWorkerMirroredStrategy, self).reduce(reduce_op, tensor, axis if rank else None)

        return tf.nest.map_structure(one, value)


def split_cpu(replicas: int) -> list[str]:
    """Split the CPU into `replicas` logical devices (before TensorFlow initialises): the mirrored path without GPUs."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(replicas)])
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def make_strategy(name: str = "auto", cpu_replicas: int = 0) -> tf.distribute.Strategy:
    """The strategy called `name`; with cpu_replicas > 1, `mirrored` mirrors over that many logical CPUs."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}: one of {', '.join(STRATEGIES)}")
    gpus = tf.config.list_physical_devices("GPU")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=split_cpu(cpu_replicas) if cpu_replicas > 1 and not gpus else None)
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--strategy multi_worker needs TF_CONFIG (docs/training.md)")
        return MultiWorkerMirroredStrategy()
    if name == "auto" and len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief() -> bool:
    """Whether this process writes the results: always, except in a multi-worker run, where only the chief (or worker 0
    when the cluster names no chief) does. TF_CONFIG as TensorFlow reads it."""
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    if not resolver.task_type:
        return True
    if "chief" in resolver.cluster_spec().jobs:
        return resolver.task_type == "chief"
    return resolver.task_type == "worker" and resolver.task_id == 0
