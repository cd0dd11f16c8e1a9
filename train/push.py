"""python -m train.push MODEL_DIR REPO_ID: publish a model folder to the Hugging Face Hub in one commit.

The model card is the folder's own README.md (written by training, never a generated one), and the commit
message carries the headline test metrics, so the repo's history reads as a list of models. The token comes
from HF_TOKEN or `hf auth login` and is never printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from inference import model_files as files

REQUIRED_FILES = files.PUBLISHED


class PushError(Exception):
    """The push did not happen; the message says why (and never holds the token)."""


class PushRefused(PushError):
    """The push was refused before contacting the Hub: incomplete folder, no token."""


def headline(metrics: dict) -> str:
    """'test AUC 0.912, sensitivity 90.1%, specificity 71.3%' from metrics.json."""
    test = metrics.get("test") or {}
    parts = []
    for key, name, fmt in (("auc", "AUC", "{:.3f}"), ("sensitivity", "sensitivity", "{:.1%}"), ("specificity", "specificity", "{:.1%}")):
        if isinstance(test.get(key), (int, float)):
            parts.append(f"{name} {fmt.format(test[key])}")
    return "test " + ", ".join(parts) if parts else "no test metrics"


def _files(folder: Path) -> list[Path]:
    """Every file below `folder`, hidden ones (and those in hidden folders) excepted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _check(folder: Path, examples_dir: Path | None) -> tuple[dict, dict]:
    """(config, metrics) of a complete model folder, else PushRefused."""
    if not folder.is_dir():
        raise PushRefused(f"{folder} is not a folder")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise PushRefused(f"{folder} is not a complete model folder: {', '.join(missing)} missing (train writes all of them)")
    if examples_dir is not None and not (examples_dir / files.EXAMPLES_MANIFEST).is_file():
        raise PushRefused(f"{examples_dir} has no manifest.csv: not an examples folder")
    try:
        return json.loads((folder / files.CONFIG).read_text()), json.loads((folder / files.METRICS).read_text())
    except (OSError, ValueError) as error:
        raise PushRefused(f"config.json or metrics.json in {folder} cannot be read: {error}") from None


def push_model_folder(
    folder: str | Path, repo_id: str, private: bool = False, examples_dir: str | Path | None = None, token: str | None = None
) -> str:
    """Create `repo_id` if needed and upload the folder (+ examples_dir as examples/) in one commit; return its hash."""
    from huggingface_hub import CommitOperationAdd, HfApi, get_token

    folder = Path(folder)
    examples_dir = Path(examples_dir) if examples_dir else None
    config, metrics = _check(folder, examples_dir)
    token = token or get_token()
    if not token:
        raise PushRefused("no Hugging Face token: set HF_TOKEN or run `hf auth login` (a token with write access)")
    operations = [CommitOperationAdd(path.relative_to(folder).as_posix(), path) for path in _files(folder)]
    if examples_dir:
        operations += [CommitOperationAdd(f"{files.EXAMPLES_DIR}/" + path.relative_to(examples_dir).as_posix(), path)
                       for path in _files(examples_dir) if path.suffix in (".csv", ".jpg", ".md")]  # not the code beside them
    message = f"{config.get('backbone', 'model')}: {headline(metrics)}"
    description = (
        f"input {config.get('input_size')} px, threshold {config.get('threshold', 0):.4f}, temperature {config.get('temperature', 1):.3f}; "
        f"{len(operations)} files, pushed with `python -m train.push`."
    )
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        info = api.create_commit(repo_id, operations, commit_message=message, commit_description=description)
    except Exception as error:  # network, permissions, invalid repo id: one readable line, token scrubbed
        text = " ".join(str(error).split()).replace(token, "***")
        raise PushError(f"could not push to {repo_id}: {type(error).__name__}: {text}") from None
    print(f"pushed {folder} to {repo_id}\ncommit {info.oid}\n{info.commit_url}")
    return info.oid


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m train.push", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir", help="a model folder written by `python -m train` (model.keras, config.json, metrics.json, README.md, ...)")
    p.add_argument("repo_id", help="the Hub model repo, e.g. your-name/skin-lesion-lite0 (created if missing)")
    p.add_argument("--private", action="store_true", help="create the repo as private (no effect on an existing repo)")
    p.add_argument("--examples-dir", help="a folder with manifest.csv and example images, uploaded as examples/")
    args = p.parse_args(argv)
    try:
        push_model_folder(args.model_dir, args.repo_id, private=args.private, examples_dir=args.examples_dir)
    except PushRefused as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except PushError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
