"""Keep Gradio's temporary folder bounded: what its own sweep (`delete_cache`) does not remove.

Gradio streams each upload into a `tmp*` file at the top of its folder and moves it into its cache once complete; an
upload whose connection closes half-way leaves that file behind for good (20 aborted 5 MB uploads: 100 MB that the
sweep never removed, as Gradio only deletes files it has registered). Nothing capped the folder's total either.
A daemon thread removes such partial uploads once nothing has been written to them for PARTIAL_UPLOAD_AGE, and then,
while the folder holds more than MAX_TEMP_BYTES, its oldest files except those the page itself shows (Gradio's own
`keep_in_cache`: the examples, the plots).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

SWEEP_SECONDS = 60.0  # how often the folder is swept
PARTIAL_UPLOAD_AGE = 120.0  # s without a write after which a `tmp*` upload file is taken as abandoned
MAX_TEMP_BYTES = 2 * 2**30  # the folder's total; 80 full 25 MB uploads


def sweep(folder: Path, keep: set[str], partial_age: float = PARTIAL_UPLOAD_AGE, max_bytes: int = MAX_TEMP_BYTES,
          now: float | None = None) -> tuple[int, int]:
    """Remove abandoned partial uploads, then the oldest files while the folder is over `max_bytes` (never those in
    `keep`); return (files removed, bytes removed)."""
    now = time.time() if now is None else now
    files = []
    for path in folder.rglob("*"):
        try:
            stat = path.lstat()
        except OSError:  # removed meanwhile (Gradio's own sweep, a finished upload moved)
            continue
        if path.is_file() and not path.is_symlink():
            files.append((stat.st_mtime, stat.st_size, path))
    removed, freed = 0, 0
    total = sum(size for _, size, _ in files)
    partial = {path for mtime, _, path in files if path.parent == folder and path.name.startswith("tmp") and now - mtime > partial_age}
    for _, size, path in sorted(files):  # oldest first
        if path not in partial and (total <= max_bytes or str(path) in keep):
            continue
        try:
            path.unlink()
        except OSError:
            continue
        removed, freed, total = removed + 1, freed + size, total - size
    return removed, freed


def keep_in_cache(demo) -> set[str]:
    """The files the Blocks' components show from Gradio's cache (Gradio's sweep spares them too)."""
    keep: set[str] = set()
    for component in demo.blocks.values():
        keep.update(str(Path(p)) for p in getattr(component, "keep_in_cache", set()))
    return keep


def start_sweeping(folder: Path, keep: Callable[[], set[str]], every: float = SWEEP_SECONDS) -> threading.Thread:
    """Sweep `folder` every `every` seconds in a daemon thread, for as long as the process runs."""

    def run() -> None:
        while True:
            time.sleep(every)
            try:
                removed, freed = sweep(folder, keep())
            except Exception:  # a sweep that fails is logged and tried again; it never stops the app
                log.exception("sweeping %s failed", folder)
                continue
            if removed:
                log.info("temporary folder: removed %d files (%.1f MB)", removed, freed / 2**20)

    thread = threading.Thread(target=run, name="temp-sweep", daemon=True)
    thread.start()
    return thread
