"""The benchmarks still run (their numbers are not checked here: speed lives in `python -m bench`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_throughput_bench_prints_its_table_and_command(smoke_model):
    run = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "throughput", "--model", str(smoke_model)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"`python -m bench --only throughput --quick --model {smoke_model}`" in run.stdout
    row = r"^\| `Classifier\.predict\(paths\)` .* \| \d+ \| >= 100 \| [\d.]+ ms \|$"
    assert re.search(row, run.stdout, re.MULTILINE), run.stdout
