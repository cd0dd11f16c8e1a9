"""What every benchmark shares: the images it uses, percentiles, markdown tables, and the machine's state."""

from __future__ import annotations

import csv
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("HAM10000_DIR", ROOT.parent / "shared" / "data" / "ham10000"))


def say(message: str) -> None:
    """Progress goes to stderr; stdout is for the tables."""
    print(message, file=sys.stderr, flush=True)


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000, q))


def sample_images(n: int, data_dir: str | Path = DATA_DIR, model_folder: str | Path | None = None) -> list[Path]:
    """n real dermoscopy photos: the model's test-split images when its split.csv is there, else the first ones by name."""
    folder = Path(data_dir) / "images"
    ids: list[str] = []
    split = Path(model_folder, "split.csv") if model_folder else None
    if split and split.exists():
        with open(split, newline="") as handle:
            ids = [row["image_id"] for row in csv.DictReader(handle) if row["split"] == "test"]
    paths = [folder / f"{i}.jpg" for i in ids if (folder / f"{i}.jpg").exists()] or sorted(folder.glob("ISIC_*.jpg"))
    if not paths:
        raise FileNotFoundError(f"no HAM10000 images in {folder}: set HAM10000_DIR or pass --data-dir")
    return [paths[i % len(paths)] for i in range(n)]


def training_in_progress() -> bool:
    """Whether a `python -m train` run shares the CPU (then every number here is pessimistic)."""
    found = subprocess.run(["pgrep", "-f", "python -m train"], capture_output=True, text=True)
    return any(int(pid) != os.getpid() for pid in found.stdout.split())


def cpu_name() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.machine()


def machine() -> str:
    import tensorflow as tf

    busy = "  **A training run shares the CPU: these numbers are pessimistic.**" if training_in_progress() else ""
    busy = f" Load average at the start: {os.getloadavg()[0]:.2f}.{busy}"
    return (f"{os.cpu_count()} CPU cores ({cpu_name()}), no GPU; Python {platform.python_version()}, "
            f"TensorFlow {tf.__version__}.{busy}")


@dataclass
class Table:
    """A markdown table and the command that made it."""

    title: str
    command: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells) -> None:
        self.rows.append([str(c) for c in cells])

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", f"`{self.command}`", "", "| " + " | ".join(self.header) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.header))) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines + [""] + self.notes + ([""] if self.notes else []))


def ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
