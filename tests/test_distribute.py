"""Training past one device: the same loss curve on one device, mirrored over two logical CPUs, and on two worker
processes talking over loopback (MultiWorkerMirroredStrategy, TF_CONFIG). Each run is a fresh process
(tests/distributed_fit.py): devices and collectives are fixed when TensorFlow starts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from train.distribute import STRATEGIES, is_chief

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "distributed_fit.py"
TIMEOUT = 240  # s: TensorFlow start-up of two processes on a busy 2-core machine
RTOL = 1e-4  # float32 sums in another order; a wrong gradient scaling (x2) or a missed all-reduce is far outside


def run(strategy: str, out: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1", **(env or {})}
    return subprocess.Popen([sys.executable, str(SCRIPT), strategy, str(out), *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen) -> None:
    output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, output[-3000:]


def losses(path: Path) -> tuple[int, np.ndarray]:
    record = json.loads(path.read_text())
    return record["replicas"], np.array(record["loss"])


@pytest.fixture(scope="module")
def one_device(tmp_path_factory) -> np.ndarray:
    out = tmp_path_factory.mktemp("one") / "loss.json"
    finish(run("default", out))
    replicas, curve = losses(out)
    assert replicas == 1 and curve[-1] < curve[0]  # it learns
    return curve


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_mirrored_over_two_logical_cpus_follows_the_one_device_curve(one_device, tmp_path):
    finish(run("mirrored", tmp_path / "loss.json", "2"))
    replicas, curve = losses(tmp_path / "loss.json")
    assert replicas == 2
    np.testing.assert_allclose(curve, one_device, rtol=RTOL)


@pytest.mark.slow
def test_two_workers_on_loopback_follow_the_one_device_curve(one_device, tmp_path):
    cluster = {"worker": [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]}
    workers = [run("multi_worker", tmp_path / f"loss-{i}.json",
                   env={"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}) for i in range(2)]
    try:
        for worker in workers:
            finish(worker)
    finally:
        for worker in workers:
            worker.kill()
    assert not (tmp_path / "loss-1.json").exists()  # only the chief writes
    replicas, curve = losses(tmp_path / "loss-0.json")
    assert replicas == 2
    np.testing.assert_allclose(curve, one_device, rtol=RTOL)


def test_the_chief_is_worker_0_or_the_named_chief(monkeypatch):
    def config(cluster: dict, kind: str, index: int) -> None:
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}}))

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert is_chief()
    workers = {"worker": ["a:1", "b:1"]}
    config(workers, "worker", 0)
    assert is_chief()
    config(workers, "worker", 1)
    assert not is_chief()
    config({"chief": ["c:1"], **workers}, "worker", 0)
    assert not is_chief()
    config({"chief": ["c:1"], **workers}, "chief", 0)
    assert is_chief()


def test_train_offers_every_strategy():
    from train.__main__ import parse_args

    assert parse_args(["--out", "x"]).strategy == "auto"
    for name in STRATEGIES:
        assert parse_args(["--out", "x", "--strategy", name]).strategy == name
