"""Cluster scoring on a local Ray (2 workers) writes the batch CLI's rows, in the CLI's order."""

from __future__ import annotations

import csv
import functools
import http.server
import threading
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from PIL import Image

from inference.__main__ import COLUMNS
from inference.__main__ import main as cli_main
from scoring.__main__ import main as scoring_main
from scoring.__main__ import write


@pytest.fixture(scope="module")
def photos(data_dir, tmp_path_factory) -> Path:
    """A folder of 7 photos (one black and white) and a file that is no image."""
    folder = tmp_path_factory.mktemp("photos")
    for source in sorted((data_dir / "images").glob("ISIC_*.jpg"))[10:16]:
        (folder / source.name).write_bytes(source.read_bytes())
    Image.open(folder / source.name).convert("L").save(folder / "grey.jpg")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return folder


@pytest.fixture()
def web_server(photos):
    """The photo folder over HTTP on loopback: URLs are scored like files."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(photos))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_local_ray_with_two_workers_writes_the_cli_rows(photos, web_server, tmp_path):
    assert cli_main([str(photos), "--out", str(tmp_path / "cli.csv")]) == 0
    url = web_server + "ISIC_" + sorted(photos.glob("ISIC_*.jpg"))[0].name.removeprefix("ISIC_")
    listing = tmp_path / "more.txt"
    listing.write_text(f"{url}\n{web_server}missing.jpg\n")
    code = scoring_main([str(photos), "--list", str(listing), "--out", str(tmp_path / "ray.csv"), "--workers", "2", "--batch-size", "3"])
    assert code == 0
    cli, ray = read_csv(tmp_path / "cli.csv"), read_csv(tmp_path / "ray.csv")
    assert list(ray[0]) == COLUMNS
    assert ray[: len(cli)] == cli  # same rows, same order, same path strings
    assert any(row["error"].startswith("not_an_image") for row in cli) and any(row["warning"].startswith("grey") for row in cli)
    by_url, missing = ray[len(cli):]
    assert {**by_url, "path": ""} == {**cli[0], "path": ""} and by_url["path"] == url
    assert missing["error"].startswith("not_found") and missing["p_malignant"] == ""


def test_parquet_holds_the_same_rows_as_csv(tmp_path):
    rows = pd.DataFrame([dict.fromkeys(COLUMNS, "x") | {"path": f"p{i}", "error": "" if i else "bad: no"} for i in range(5)])
    assert write(iter([rows[:2], rows[2:]]), tmp_path / "rows.parquet") == (5, 1)
    assert write(iter([rows[:2], rows[2:]]), tmp_path / "rows.csv") == (5, 1)
    assert pq.read_table(tmp_path / "rows.parquet").to_pylist() == read_csv(tmp_path / "rows.csv")
