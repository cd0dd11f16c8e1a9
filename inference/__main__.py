"""Batch CLI: classify every image in files and folders, one CSV row per file.

    python -m inference PATH... [--out results.csv] [--gradcam-dir DIR] [--model REPO_OR_DIR] [--revision REV] [--tta | --no-tta]

Folders are searched recursively for image files (by extension); a file named on the command line is always
tried. A file that cannot be used becomes a row with its error and the run goes on; the exit code is non-zero
only when no image at all could be classified. The CSV goes to --out or stdout; progress and messages go to
stderr.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from inference.config import LABELS

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
CHUNK = 64  # images per call to Classifier.predict (it batches 32 at a time); bounds memory with --gradcam-dir
EXIT_OK, EXIT_NOTHING_CLASSIFIED, EXIT_USAGE = 0, 1, 2
UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f<>:"/\\|?*]')  # not allowed in a file name on some system
MAX_STEM_BYTES = 120  # file names are limited to 255 bytes; the suffix and a number need a few
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = ["path", "p_malignant", "decision", "malignant", "threshold", *(f"p_{label}" for label in LABELS), "warning", "error"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m inference", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files and/or folders (searched recursively)")
    p.add_argument("--out", help="CSV file to write (default: stdout)")
    p.add_argument("--gradcam-dir", help="also save a Grad-CAM overlay per image as PNG into this folder")
    p.add_argument("--model", help="model folder or Hub repo id (default: $SKIN_LESION_MODEL_REPO, else the bundled model)")
    p.add_argument("--revision", help="Hub revision to pin (default: $SKIN_LESION_MODEL_REVISION)")
    p.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                   help="average over flipped and turned views (4x the compute); default: the model's config.json")
    return p.parse_args(argv)


def find_images(paths: list[str]) -> list[Path]:
    """Files named explicitly, plus image files found below folders; sorted within a folder, no duplicates."""
    found: dict[Path, None] = {}
    for name in paths:
        path = Path(name)
        if path.is_dir():
            below = (p for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
            found.update(dict.fromkeys(sorted(below)))
        else:  # a file, or a missing path that becomes an error row
            found[path] = None
    return list(found)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def result_row(path: Path, result) -> dict[str, str]:
    """A CSV row for a Prediction, an ImageRejected or any other exception."""
    from inference import Prediction

    row = dict.fromkeys(COLUMNS, "")
    row["path"] = str(path)
    if isinstance(result, Prediction):
        row.update(p_malignant=f"{result.p_malignant:.4f}", decision=result.decision_code,
                   malignant=str(int(result.decision_code == "refer")), threshold=f"{result.threshold:.4f}")
        row.update({f"p_{label}": f"{result.diagnoses[label]:.4f}" for label in LABELS})
        row["warning"] = f"{result.warning_code}: {one_line(result.warning)}" if result.warning_code else ""
    else:
        row["error"] = f"{getattr(result, 'reason', type(result).__name__)}: {one_line(result)}"
    return {column: spreadsheet_safe(cell) for column, cell in row.items()}


def overlay_name(path: Path, used: set[str]) -> str:
    """A unique, valid PNG file name for the overlay of `path`: its stem (cut short, odd characters replaced),
    numbered when two images share one."""
    stem = UNSAFE_IN_NAME.sub("_", path.stem).encode()[:MAX_STEM_BYTES].decode(errors="ignore") or "image"
    name, n = f"{stem}_gradcam.png", 1
    while name.lower() in used:  # lower: unique on case-insensitive file systems too
        n += 1
        name = f"{stem}_{n}_gradcam.png"
    used.add(name.lower())
    return name


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet will show as text, not run as a formula (OWASP: prefix a quote to = + - @ tab CR)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def output_clash(out: Path, inputs: list[str]) -> str | None:
    """Why writing the CSV to `out` would destroy or pollute an input, if it would."""
    target = out.expanduser().resolve()
    if target.is_dir():
        return f"--out {out} is a folder; give a file name"
    for name in inputs:
        source = Path(name).expanduser().resolve()
        if target == source or (target.is_file() and source.is_file() and target.samefile(source)):  # links too
            return f"--out {out} is one of the inputs; it would be overwritten"
        if source.is_dir() and target.is_relative_to(source):
            return f"--out {out} is inside {name}, a folder being read"
    return None


def save_overlay(overlay, folder: Path, source: Path, used: set[str]) -> Path | None:
    """Save the overlay of `source` into `folder` as a new file, never over one that is there already (an input photo
    named X_gradcam.png, an earlier run's overlay): a name in use gets the next number. A failure (disk full,
    permissions) is reported, its partial file removed, and the run goes on."""
    while True:
        path = folder / overlay_name(source, used)
        try:
            handle = open(path, "xb")  # "x": a file this run creates, or none
        except FileExistsError:
            continue
        except OSError as error:
            print(f"warning: could not save {path}: {error.strerror or error}", file=sys.stderr)
            return None
        try:
            with handle:
                overlay.save(handle, "PNG")
            return path
        except OSError as error:
            path.unlink(missing_ok=True)
            print(f"warning: could not save {path}: {error.strerror or error}", file=sys.stderr)
            return None


def classify(clf, paths: list[Path], explain: bool, tta: bool | None) -> Iterator[tuple[Path, object]]:
    """(path, Prediction | exception) per path, in order; an unexpected error in a chunk is isolated per image."""
    for start in range(0, len(paths), CHUNK):
        chunk = paths[start : start + CHUNK]
        try:
            results = clf.predict(chunk, explain=explain, tta=tta)
        except Exception:  # one bad image must not cost the others their result
            results = []
            for path in chunk:
                try:
                    results += clf.predict([path], explain=explain, tta=tta)
                except Exception as error:
                    results.append(error)
        yield from zip(chunk, results, strict=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from tqdm import tqdm

    from inference import DISCLAIMER, Prediction, load_classifier
    from inference.loading import missing_local_folder

    if args.model and missing_local_folder(args.model):
        print(f"error: --model {args.model}: no such model folder", file=sys.stderr)
        return EXIT_USAGE
    clash = args.out and output_clash(Path(args.out), args.paths)
    if clash:
        print(f"error: {clash}; choose another --out", file=sys.stderr)
        return EXIT_USAGE
    paths = find_images(args.paths)
    if not paths:
        print("error: no image files found in " + ", ".join(args.paths), file=sys.stderr)
        return EXIT_NOTHING_CLASSIFIED
    print(DISCLAIMER + "\n", file=sys.stderr)
    try:
        clf = load_classifier(args.model and os.path.expanduser(args.model), args.revision)
    except Exception as error:
        print(f"error: could not load the model {args.model or ''}: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_USAGE
    tta = clf.config.tta if args.tta is None else args.tta
    print(f"model: {clf.describe()}" + (" (with test-time augmentation)" if tta else ""), file=sys.stderr)
    if clf.source.note:
        print(f"note: {clf.source.note}", file=sys.stderr)
    gradcam_dir = Path(args.gradcam_dir) if args.gradcam_dir else None
    if gradcam_dir:
        gradcam_dir.mkdir(parents=True, exist_ok=True)

    # The CSV is written beside --out and moved into place at the end: an interrupted run leaves no half-written file.
    partial = Path(args.out).with_name(f".{Path(args.out).name}.{os.getpid()}.partial") if args.out else None
    try:
        out = open(partial, "x", newline="") if partial else sys.stdout  # "x": never over a file this run did not create
    except OSError as error:
        print(f"error: cannot write --out {args.out}: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE
    classified = refused = warned = 0
    used_names: set[str] = set()
    done = False
    try:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        progress = tqdm(total=len(paths), unit="img", file=sys.stderr, dynamic_ncols=True)
        for path, result in classify(clf, paths, explain=gradcam_dir is not None, tta=tta):
            if isinstance(result, Prediction):
                classified += 1
                warned += result.warning_code is not None
                if gradcam_dir and result.overlay is not None:
                    save_overlay(result.overlay, gradcam_dir, path, used_names)
            else:
                refused += 1
            writer.writerow(result_row(path, result))
            progress.update()
        progress.close()
        done = True
    finally:
        if partial:
            out.close()
            if done:
                os.replace(partial, args.out)
            else:
                partial.unlink()
    where = f" -> {args.out}" if args.out else ""
    print(f"{len(paths)} files: {classified} classified ({warned} with a warning), {refused} could not be used{where}", file=sys.stderr)
    if gradcam_dir:
        print(f"Grad-CAM overlays: {gradcam_dir}", file=sys.stderr)
    return EXIT_OK if classified else EXIT_NOTHING_CLASSIFIED


if __name__ == "__main__":
    sys.exit(main())
