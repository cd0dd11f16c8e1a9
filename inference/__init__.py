"""The one core shared by the app, the batch CLI and training: load, preprocess, predict, explain, refuse.

The names below are imported on first use, so `python -m inference --help`, the config and the preprocessing do not
pay for TensorFlow (~2.5 s, ~600 MB) until a model is loaded. Both the app and the CLI come through here first, so
this is where TensorFlow's C++ start-up logging is quietened (set TF_CPP_MIN_LOG_LEVEL yourself to see it).
"""

from __future__ import annotations

import glob
import importlib
import os
import sys

# Without a GPU, TensorFlow's only C++ error at start-up is "failed call to cuInit": level 3 drops it (and the
# INFO/WARNING lines); with one, level 2 keeps its errors. Our own errors are Python exceptions and log records.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2" if glob.glob("/dev/nvidia[0-9]*") else "3")

_EXPORTS = {
    "Classifier": "inference.classifier",
    "ModelSource": "inference.classifier",
    "Prediction": "inference.classifier",
    "DISCLAIMER": "inference.disclaimer",
    "load_classifier": "inference.loading",
    "ImageRejected": "inference.preprocess",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'inference' has no attribute {name!r}")
    return getattr(_import_quietly(_EXPORTS[name]), name)


def _import_quietly(module: str):
    """Import `module`; while TensorFlow loads, what its C++ libraries print before their logging starts (CUDA stubs
    on a machine without a GPU: it ignores TF_CPP_MIN_LOG_LEVEL) is dropped. An import error still raises."""
    if "tensorflow" in sys.modules:
        return importlib.import_module(module)
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            return importlib.import_module(module)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
