"""Regenerate examples/manifest.csv and the example images from HAM10000's test split: `python -m examples --data-dir DIR`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from examples import MANIFEST, copy_images, select, write_manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=os.environ.get("HAM10000_DIR", "data/ham10000"),
                        help="HAM10000 folder (default: $HAM10000_DIR, else data/ham10000)")
    args = parser.parse_args(argv)
    if not Path(args.data_dir).is_dir():
        parser.error(f"HAM10000 not found at {args.data_dir}: pass --data-dir")
    from train.data import read_metadata, split_by_lesion

    records = read_metadata(args.data_dir)
    chosen = select(records, split_by_lesion(records, seed=42))
    write_manifest(chosen)
    copy_images(chosen, {r.image_id: r.path for r in records})
    print(f"wrote {len(chosen)} examples to {MANIFEST.parent}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
