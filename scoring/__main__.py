"""Score folders, files or a list of paths/URLs on Ray: one CSV or Parquet file with the batch CLI's columns.

    python -m scoring PATH... --out results.csv|results.parquet [--list FILE] [--workers 2] [--batch-size 64]
                      [--address auto|ray://HOST:10001] [--model REPO_OR_DIR] [--revision REV] [--tta | --no-tta]

Ray Data streams the paths through a pool of `--workers` actors, each loading the model once and classifying a batch
per call with the same core as `python -m inference` (so the rows are the CLI's rows, in input order). Without
--address, Ray starts on this machine and stops at the end; with it, the job joins that cluster (every node needs
this repository's requirements-cluster.txt installed; the code and the model folder are shipped with the job). The
file is written by this process as the rows arrive and moved into place when the run completes.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import sys
import urllib.request
from pathlib import Path

from inference.__main__ import COLUMNS, EXIT_NOTHING_CLASSIFIED, EXIT_OK, EXIT_USAGE, classify, find_images, result_row
from inference.preprocess import MAX_BYTES, ImageRejected

ROOT = Path(__file__).resolve().parent.parent
URL_SCHEMES = ("http://", "https://")
URL_TIMEOUT = 30  # s per download
SHIPPED_EXCLUDES = [".git", ".venv", "tests", "docs", "results", "runs", "data", "__pycache__"]  # not needed to score


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m scoring", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", metavar="PATH", help="image files, folders (searched recursively) or http(s) URLs")
    p.add_argument("--list", help="a text file with one path or URL per line (read on this machine)")
    p.add_argument("--out", required=True, help="file to write: .csv or .parquet")
    p.add_argument("--address", help="Ray cluster to join (`auto` on a cluster node, or ray://HEAD:10001); default: a local Ray")
    p.add_argument("--workers", type=int, default=2, help="actors, each with its own copy of the model")
    p.add_argument("--cpus-per-worker", type=float, default=1.0)
    p.add_argument("--batch-size", type=int, default=64, help="images per actor call")
    p.add_argument("--model", help="model folder or Hub repo id (default: $SKIN_LESION_MODEL_REPO, else the bundled model)")
    p.add_argument("--revision", help="Hub revision to pin")
    p.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None, help="default: the model's config.json")
    return p.parse_args(argv)


def inputs(paths: list[str], listing: str | None) -> list[str]:
    """URLs as given; files and folders as the batch CLI finds them (same order, same path strings)."""
    names = list(paths)
    if listing:
        names += [line.strip() for line in Path(listing).read_text().splitlines() if line.strip()]
    found: list[str] = []
    for name in names:
        found += [name] if name.startswith(URL_SCHEMES) else [str(p) for p in find_images([name])]
    return list(dict.fromkeys(found))


def fetch(name: str) -> str | bytes | ImageRejected:
    """A local path as is; a URL's bytes (at most MAX_BYTES), or the reason it could not be read."""
    if not name.startswith(URL_SCHEMES):
        return name
    try:
        with urllib.request.urlopen(name, timeout=URL_TIMEOUT) as response:
            data = response.read(MAX_BYTES + 1)
    except Exception as error:
        return ImageRejected("not_found", f"could not download {name}: {error}")
    if len(data) > MAX_BYTES:
        return ImageRejected("too_large", f"larger than {MAX_BYTES // 2**20} MB")
    return data


class Scorer:
    """A Ray Data actor: loads the model once, then turns each batch of paths into the batch CLI's rows."""

    def __init__(self, model: str | None, revision: str | None, tta: bool | None):
        from inference import load_classifier

        self.classifier = load_classifier(model, revision)
        self.tta = tta

    def __call__(self, batch: dict) -> dict[str, list[str]]:
        names = [str(name) for name in batch["path"]]
        sources = [fetch(name) for name in names]
        usable = [s for s in sources if not isinstance(s, ImageRejected)]
        results = iter(result for _, result in classify(self.classifier, usable, explain=False, tta=self.tta))
        rows = [result_row(name, source if isinstance(source, ImageRejected) else next(results))  # path as the CLI writes it
                for name, source in zip(names, sources, strict=True)]
        return {column: [row[column] for row in rows] for column in COLUMNS}


def score(names: list[str], args: argparse.Namespace):
    """The Ray Data pipeline: paths -> actor pool -> rows, in input order; yields pandas batches of rows."""
    import ray

    local = {"num_cpus": max(1, round(args.workers * args.cpus_per_worker)), "include_dashboard": False}  # a Ray of our own
    ray.init(address=args.address, log_to_driver=False, **({} if args.address else local),
             runtime_env={"working_dir": str(ROOT), "excludes": SHIPPED_EXCLUDES,
                          "env_vars": {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": "."}})
    try:
        ray.data.DataContext.get_current().execution_options.preserve_order = True
        rows = ray.data.from_items([{"path": name} for name in names]).map_batches(
            Scorer, fn_constructor_kwargs={"model": args.model, "revision": args.revision, "tta": args.tta},
            concurrency=args.workers, num_cpus=args.cpus_per_worker, batch_size=args.batch_size, batch_format="numpy")
        yield from rows.iter_batches(batch_size=args.batch_size, batch_format="pandas")
    finally:
        ray.shutdown()


def write(batches, out: Path) -> tuple[int, int]:
    """Rows to a CSV (the CLI's format) or a Parquet file of strings; (rows, rows with an error)."""
    total = errors = 0
    with contextlib.ExitStack() as stack:
        if out.suffix.lower() == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pa.schema([(column, pa.string()) for column in COLUMNS])
            writer = stack.enter_context(pq.ParquetWriter(out, schema))

            def put(frame) -> None:
                writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
        else:
            rows = csv.DictWriter(stack.enter_context(open(out, "w", newline="")), fieldnames=COLUMNS)
            rows.writeheader()

            def put(frame) -> None:
                rows.writerows(frame.to_dict("records"))
        for frame in batches:
            put(frame[COLUMNS])
            total, errors = total + len(frame), errors + int((frame["error"] != "").sum())
    return total, errors


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        print(f"error: --out {out}: give a .csv or .parquet file", file=sys.stderr)
        return EXIT_USAGE
    names = inputs(args.paths, args.list)
    if not names:
        print("error: no image files or URLs given", file=sys.stderr)
        return EXIT_NOTHING_CLASSIFIED
    from inference import DISCLAIMER

    print(DISCLAIMER + "\n", file=sys.stderr)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial{out.suffix}")
    try:
        total, refused = write(score(names, args), partial)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    print(f"{total} files: {total - refused} classified, {refused} could not be used -> {out}", file=sys.stderr)
    return EXIT_OK if total > refused else EXIT_NOTHING_CLASSIFIED


if __name__ == "__main__":
    sys.exit(main())
