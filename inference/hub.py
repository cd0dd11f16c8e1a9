"""Fetch a model repo from the Hugging Face Hub at a pinned revision, or from the local Hugging Face cache.

Every network call is bounded: huggingface_hub 2.4 sends API requests without a timeout, and `snapshot_download`
waits forever on a server that accepts connections and never answers. So the download runs in a daemon thread
that the caller stops waiting for at the deadline. A download that arrives damaged raises, so the caller falls back.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from inference import model_files as files
from inference.config import ModelConfig

log = logging.getLogger(__name__)

# What serving fetches from a model repo (the examples come with the app; see examples/).
MODEL_FILES = list(files.SERVED)
NOT_MODEL_FILES = [f"{files.EXAMPLES_DIR}/*"]
REQUIRED_FILES = files.REQUIRED
EXAMPLE_FILES = [f"{files.EXAMPLES_DIR}/*"]
COMMIT_HASH = re.compile(r"[0-9a-f]{40}")
# Seconds for the Hub to start answering a request. A Hub that accepts connections and never answers is given up
# after this, not after the whole download's deadline.
ANSWER_TIMEOUT = 5.0
# After a Hub failed to answer in time, later downloads in this process (the examples, right
# after the model) go straight to the cache for this long instead of waiting again: start-up stays bounded.
RETRY_AFTER = 300.0
_unreachable: dict[str, tuple[float, str]] = {}  # endpoint -> (monotonic time to retry after, what happened)

T = TypeVar("T")


def download_model(repo_id: str, revision: str, timeout: float) -> tuple[Path, str]:
    """The model files of `repo_id` at `revision`, downloaded into the HF cache: (folder, commit hash)."""
    if not COMMIT_HASH.fullmatch(revision):
        log.warning("model %s requested at %r, a moving branch: pin a 40-character commit hash for a reproducible model", repo_id, revision)
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    try:
        folder, commit = _within(timeout, lambda: _download(repo_id, revision, MODEL_FILES, NOT_MODEL_FILES))
    except RepositoryNotFoundError:
        raise LookupError(f"no repository {repo_id} on the Hub (or it is private and no token was given)") from None
    except RevisionNotFoundError:
        raise LookupError(f"no revision {revision} in {repo_id}") from None
    check_model_folder(folder)
    return folder, commit


def cached_model(repo_id: str, revision: str, timeout: float = 0.0) -> tuple[Path, str]:
    """The model files of `repo_id` at `revision` from the local HF cache only (no network): (folder, commit hash)."""
    from huggingface_hub import snapshot_download

    only = {"allow_patterns": MODEL_FILES, "ignore_patterns": NOT_MODEL_FILES, "local_files_only": True}
    folder = Path(snapshot_download(repo_id, revision=revision, **only))
    check_model_folder(folder)
    return folder, folder.name


def download_examples(repo_id: str, revision: str | None, timeout: float) -> Path | None:
    """The repo's `examples/` folder (manifest.csv and images) from the Hub, else from the cache; None if neither has it."""
    revision = revision or "main"
    try:
        folder, _ = _within(timeout, lambda: _download(repo_id, revision, EXAMPLE_FILES, None))
    except Exception as error:
        log.warning("examples of %s @ %s not downloaded (%s: %s); trying the cache", repo_id, revision, type(error).__name__, error)
        try:
            from huggingface_hub import snapshot_download

            folder = Path(snapshot_download(repo_id, revision=revision, allow_patterns=EXAMPLE_FILES, local_files_only=True))
        except Exception:
            return None
    examples = folder / files.EXAMPLES_DIR
    return examples if (examples / files.EXAMPLES_MANIFEST).is_file() else None


def check_model_folder(folder: Path) -> None:
    """Raise ValueError naming the file if a required file is missing, unreadable or truncated, or ConfigError if
    config.json does not follow its schema."""
    for name in REQUIRED_FILES:
        if not (folder / name).is_file():
            raise ValueError(f"{name} is missing from {folder}")
    for name in (files.MODEL, files.GATE):
        try:
            with zipfile.ZipFile(folder / name) as archive:
                damaged = archive.testzip()
        except (zipfile.BadZipFile, OSError) as error:
            raise ValueError(f"{name} is damaged (not a valid zip archive: {error})") from None
        if damaged is not None:
            raise ValueError(f"{name} is damaged ({damaged} fails its checksum)")
    ModelConfig.load(folder)  # ConfigError (a ValueError) naming every key that is missing or out of range


def forget_unreachable() -> None:
    """Try the Hub again on the next download, however recently it failed to answer."""
    _unreachable.clear()


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _download(repo_id: str, revision: str, allow: list[str], ignore: list[str] | None) -> tuple[Path, str]:
    from huggingface_hub import HfApi, snapshot_download

    # A first call that takes a timeout (snapshot_download's API calls take none): a silent server ends this thread.
    HfApi().model_info(repo_id, revision=revision, timeout=ANSWER_TIMEOUT)
    # The revision as given, so a branch is recorded in the cache's refs/ and can be found offline later.
    folder = Path(snapshot_download(repo_id, revision=revision, allow_patterns=allow, ignore_patterns=ignore, etag_timeout=ANSWER_TIMEOUT))
    return folder, folder.name  # snapshots/<commit hash>


def _within(seconds: float, work: Callable[[], T]) -> T:
    """Run `work` in a daemon thread and give up waiting after `seconds` (the thread is left to end on its own).

    A Hub that timed out recently is not asked again (TimeoutError at once)."""
    import httpx

    endpoint = _endpoint()
    retry_after, what = _unreachable.get(endpoint, (0.0, ""))
    if time.monotonic() < retry_after:
        raise TimeoutError(f"not asked again: the Hub at {endpoint} failed {what}")
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:  # handed over to the waiting caller
            outcome["error"] = error

    worker = threading.Thread(target=run, name="hub-download", daemon=True)
    start = time.monotonic()
    worker.start()
    worker.join(seconds)
    error = TimeoutError(f"no complete answer from the Hub within {seconds:g} s") if worker.is_alive() else outcome.get("error")
    if isinstance(error, (TimeoutError, httpx.TimeoutException)):  # a refused connection fails fast: no need to remember
        waited = time.monotonic() - start
        _unreachable[endpoint] = (time.monotonic() + RETRY_AFTER, f"to answer within {waited:.1f} s ({type(error).__name__})")
    if error is not None:
        raise error
    log.info("hub download took %.1f s", time.monotonic() - start)
    return outcome["value"]
