"""Which model to serve: a Hub repo at a pinned revision, else the local Hugging Face cache, else the bundled model.

Every step is bounded in time and the result always says where the model came from.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from inference.classifier import Classifier, ModelSource
from inference.config import ConfigError
from inference.gate import GateFileError

log = logging.getLogger(__name__)

BUNDLED_MODEL = Path(__file__).resolve().parent.parent / "models" / "skin-lesion-lite0"
REPO_ENV = "SKIN_LESION_MODEL_REPO"  # a Hub repo id such as "user/skin-lesion-lite0"
REVISION_ENV = "SKIN_LESION_MODEL_REVISION"  # a commit hash (a branch name works, with a warning)
HUB_TIMEOUT_ENV = "SKIN_LESION_HUB_TIMEOUT"
# Seconds for the whole model download: start-up waits at most this for the Hub (the bound is 15 s beyond an
# offline start); a Hub that never answers costs hub.ANSWER_TIMEOUT (5 s).
DEFAULT_HUB_TIMEOUT = 10.0
# A model folder whose config.json or gate.npz is complete but invalid (tampered, hand-edited, another version): an error
# wherever it comes from, like a local folder, not a reason to fall back to another model.
INVALID_FOLDER = (ConfigError, GateFileError)


def load_classifier(source: str | None = None, revision: str | None = None) -> Classifier:
    """Load the model to serve.

    `source` is a local model folder or a Hub repo id (default: $SKIN_LESION_MODEL_REPO, else the bundled
    model); `revision` pins the Hub commit (default: $SKIN_LESION_MODEL_REVISION).
    """
    classifier = _resolve(source or os.environ.get(REPO_ENV), revision)
    log.info("serving %s%s", classifier.describe(), f" (fallback: {classifier.source.note})" if classifier.source.note else "")
    return classifier


def looks_like_a_path(source: str) -> bool:
    """Whether --model names a local folder rather than a Hub repo id ("owner/name"): "./x", "/x", "~/x", an existing
    path, more than one "/", or a folder inside an existing one ("models/typo"). A missing one is then an error."""
    path = Path(source).expanduser()
    return (source.startswith((".", "/", "~")) or "\\" in source or path.exists() or source.count("/") > 1
            or ("/" in source and path.parent.is_dir()))


def missing_local_folder(source: str) -> bool:
    """`source` is meant as a local model folder (see looks_like_a_path) and there is none: an error, not a Hub id."""
    return looks_like_a_path(source) and not Path(source).expanduser().is_dir()


def _resolve(source: str | None, revision: str | None) -> Classifier:
    if source and Path(source).is_dir():
        return Classifier(source, ModelSource("local", Path(source)))
    notes = []
    if source:
        from inference import hub

        revision = revision or os.environ.get(REVISION_ENV) or "main"
        timeout = float(os.environ.get(HUB_TIMEOUT_ENV, DEFAULT_HUB_TIMEOUT))
        for kind, fetch in (("hub", hub.download_model), ("cache", hub.cached_model)):
            try:
                folder, commit = fetch(source, revision, timeout=timeout)
                return Classifier(folder, ModelSource(kind, folder, source, commit, "; ".join(notes)))
            except INVALID_FOLDER as error:  # arrived whole but says what cannot be served: never serve another model instead
                raise type(error)(f"{source} @ {revision} ({kind}): {error}") from None
            except Exception as error:  # unreachable, not found, corrupt: say why and fall back
                notes.append(f"{kind}: {type(error).__name__}: {error}")
                log.warning("could not load %s @ %s from the %s: %s", source, revision, kind, error)
    return Classifier(BUNDLED_MODEL, ModelSource("bundled", BUNDLED_MODEL, note="; ".join(notes)))
