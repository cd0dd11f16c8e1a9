"""Regenerate examples/manifest.csv from HAM10000's test split: `python -m examples --data-dir DIR`."""

from __future__ import annotations

import argparse

from examples import MANIFEST, data_dirs, select, write_manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=None,
                        help="HAM10000 folder (default: the first of $HAM10000_DIR, data/ham10000, ../shared/data/ham10000)")
    args = parser.parse_args(argv)
    from train.data import read_metadata, split_by_lesion

    data_dir = args.data_dir or next((d for d in data_dirs() if d.is_dir()), None)
    if data_dir is None:
        parser.error("HAM10000 not found: pass --data-dir")
    records = read_metadata(data_dir)
    chosen = select(records, split_by_lesion(records, seed=42))
    write_manifest(chosen)
    print(f"wrote {len(chosen)} examples to {MANIFEST}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
