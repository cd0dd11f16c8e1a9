"""Hub round trip over real HTTP on loopback: push with the real client, pull at a pinned revision, fall back when the Hub
is offline, refuses, hangs, misses the repo or serves a damaged model, and a third party's plain snippet.

huggingface_hub reads HF_ENDPOINT and HF_HOME once, at import, and another test module may have imported it already
(gradio does). So the `hub` fixture sets the environment (for subprocesses) and also points the already-imported
constants at the test Hub and an empty HF home; `test_client_talks_to_the_test_hub` checks that this took.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hub_server import HubServer

TOKEN = "hf_testtoken_0123456789abcdefghij"
REPO = "tester/skin-lesion-smoke"
BROKEN_REPO = "tester/skin-lesion-broken"
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_TIMEOUT = 5.0  # s, what a caller would give the examples after the model
HANG_BOUND_S = 60  # generous: the point is "returns at all", not speed


def _point_client_at(mp: pytest.MonkeyPatch, endpoint: str, home: Path | None = None) -> None:
    from huggingface_hub import constants

    mp.setenv("HF_ENDPOINT", endpoint)
    mp.setattr(constants, "ENDPOINT", endpoint)
    mp.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    if home is not None:
        mp.setenv("HF_HOME", str(home))
        mp.setattr(constants, "HF_HOME", str(home))
        mp.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
        mp.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
        mp.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
        mp.setattr(constants, "HF_HUB_OFFLINE", False)
        for name in ("HF_HUB_CACHE", "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "HUGGING_FACE_HUB_TOKEN"):
            mp.delenv(name, raising=False)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """The test Hub, with the client (in this process and in subprocesses) pointed at it and at an empty HF home."""
    with HubServer(tokens={TOKEN}) as server, pytest.MonkeyPatch.context() as mp:
        _point_client_at(mp, server.url, tmp_path_factory.mktemp("hf-home"))
        mp.setenv("HF_TOKEN", TOKEN)
        mp.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
        yield server


@pytest.fixture(autouse=True)
def hub_not_remembered_as_down():
    """Each test starts with no memory of an earlier test's Hub that did not answer."""
    from inference.hub import forget_unreachable

    forget_unreachable()


@pytest.fixture(scope="module")
def examples_dir(tmp_path_factory, data_dir) -> Path:
    folder = tmp_path_factory.mktemp("examples")
    image_id = "ISIC_0024306"
    shutil.copyfile(next(data_dir.rglob(f"{image_id}.jpg")), folder / f"{image_id}.jpg")
    (folder / "manifest.csv").write_text(f"image_id,dx,label\n{image_id},nv,melanocytic nevus\n")
    return folder


def _variant(source: Path, out: Path, **replace: bytes) -> Path:
    """A model folder like `source` (files linked, not copied) with some files' contents replaced."""
    out.mkdir()
    for path in source.iterdir():
        if path.name in replace:
            (out / path.name).write_bytes(replace[path.name])
        else:
            (out / path.name).symlink_to(path)
    return out


@pytest.fixture(scope="module")
def pushed(hub, smoke_model, examples_dir, tmp_path_factory) -> dict:
    """Two pushes of REPO (the smoke model, then a re-evaluated version of it) and one of a damaged model."""
    from train.push import push_model_folder

    v1 = push_model_folder(smoke_model, REPO, examples_dir=examples_dir)
    metrics = json.loads((smoke_model / "metrics.json").read_text())
    metrics["test"]["auc"] = 0.5
    v2_folder = _variant(smoke_model, tmp_path_factory.mktemp("v2") / "model", **{
        "metrics.json": json.dumps(metrics).encode(),
        "README.md": (smoke_model / "README.md").read_bytes() + b"\nSecond version.\n",
    })
    v2 = push_model_folder(v2_folder, REPO)
    model = (smoke_model / "model.keras").read_bytes()
    broken_folder = _variant(smoke_model, tmp_path_factory.mktemp("broken") / "model", **{"model.keras": model[: len(model) // 2]})
    broken = push_model_folder(broken_folder, BROKEN_REPO)
    return {"v1": v1, "v2": v2, "v2_folder": v2_folder, "broken": broken}


@pytest.fixture
def bundled(monkeypatch, smoke_model) -> Path:
    """models/skin-lesion-lite0 may not exist yet: the smoke model stands in as the bundled fallback."""
    monkeypatch.setattr("inference.loading.BUNDLED_MODEL", smoke_model)
    return smoke_model


@pytest.fixture(scope="module")
def pulled(pushed):
    from inference import load_classifier

    return load_classifier(REPO, revision=pushed["v1"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_client_talks_to_the_test_hub(hub):
    from huggingface_hub import HfApi, hf_hub_url

    assert hf_hub_url(REPO, "config.json").startswith(hub.url)
    assert HfApi().endpoint == hub.url


# -- push ----------------------------------------------------------------------------------------------------------


def test_push_makes_one_commit_per_push_with_the_projects_card(hub, pushed, smoke_model, examples_dir):
    repo = hub.repos[REPO]
    v1, v2 = repo.commits[pushed["v1"]], repo.commits[pushed["v2"]]
    assert len(repo.commits) == 3  # the repo's initial commit, then exactly one per push
    assert repo.branches["main"] == pushed["v2"] != pushed["v1"]
    local = {p.name: p.read_bytes() for p in smoke_model.iterdir()}
    assert {path: v1.files[path] for path in local} == local  # every file of the model folder, byte for byte
    assert v1.files["README.md"].startswith(b"---\nlicense: cc-by-nc-4.0")  # our card, not a generated one
    assert v1.files["examples/manifest.csv"] == (examples_dir / "manifest.csv").read_bytes()
    assert v1.files["examples/ISIC_0024306.jpg"] == (examples_dir / "ISIC_0024306.jpg").read_bytes()
    test = json.loads(local["metrics.json"])["test"]
    assert f"AUC {test['auc']:.3f}" in v1.message
    assert f"sensitivity {test['sensitivity']:.1%}" in v1.message and f"specificity {test['specificity']:.1%}" in v1.message
    assert "AUC 0.500" in v2.message
    assert "examples/manifest.csv" in v2.files  # a push without examples keeps the earlier ones


def test_push_cli_prints_commit_and_url_and_never_the_token(hub, smoke_model):
    result = subprocess.run([sys.executable, "-m", "train.push", str(smoke_model), "tester/cli-push", "--private"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    sha = hub.repos["tester/cli-push"].branches["main"]
    assert f"commit {sha}" in result.stdout and f"{hub.url}/tester/cli-push/commit/{sha}" in result.stdout
    assert hub.repos["tester/cli-push"].private
    assert TOKEN not in result.stdout + result.stderr


def test_push_refuses_without_token(hub, smoke_model, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env["HF_HOME"] = str(tmp_path)  # no stored token either
    result = subprocess.run([sys.executable, "-m", "train.push", str(smoke_model), "tester/no-token"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no Hugging Face token" in result.stderr and "Traceback" not in result.stderr
    assert "tester/no-token" not in hub.repos


@pytest.mark.parametrize("missing", ["config.json", "metrics.json", "README.md", "model.keras"])
def test_push_refuses_an_incomplete_folder(hub, smoke_model, tmp_path, capsys, missing):
    from train.push import main

    folder = tmp_path / "model"
    folder.mkdir()
    for path in smoke_model.iterdir():
        if path.name != missing:
            (folder / path.name).symlink_to(path)
    assert main([str(folder), "tester/incomplete"]) == 2
    err = capsys.readouterr().err
    assert f"{missing} missing" in err and "Traceback" not in err
    assert "tester/incomplete" not in hub.repos


def test_push_failure_message_hides_the_token(hub, smoke_model):
    from train.push import PushError, push_model_folder

    wrong = "hf_wrongtoken_abcdefghijklmnopqrstuv"
    with pytest.raises(PushError) as raised:
        push_model_folder(smoke_model, "tester/denied", token=wrong)
    assert "401" in str(raised.value) and wrong not in str(raised.value)
    assert "tester/denied" not in hub.repos


def test_token_is_in_no_commit_or_file(hub, pushed):
    for repo in hub.repos.values():
        for commit in repo.commits.values():
            assert TOKEN not in commit.message
            assert not any(TOKEN.encode() in content for content in commit.files.values())


# -- pull ----------------------------------------------------------------------------------------------------------


def test_pull_at_pinned_revision(pushed, pulled, smoke_model):
    assert pulled.source.kind == "hub" and pulled.source.revision == pushed["v1"] and pulled.source.repo_id == REPO
    assert pulled.source.note == ""
    folder = pulled.folder
    assert folder.name == pushed["v1"]
    from inference import model_files

    for name in model_files.SERVED:  # split.csv included: the app shows only examples from the model's test split
        assert (folder / name).read_bytes() == (smoke_model / name).read_bytes()
    assert not (folder / "examples").exists()  # the app has its own
    assert pushed["v1"][:8] in pulled.describe()


def test_old_revision_still_served_byte_identical_after_a_new_push(pushed, smoke_model):
    from inference.hub import download_model

    old, old_commit = download_model(REPO, pushed["v1"], timeout=30)
    new, new_commit = download_model(REPO, pushed["v2"], timeout=30)
    latest, latest_commit = download_model(REPO, "main", timeout=30)
    assert (old_commit, new_commit, latest_commit) == (pushed["v1"], pushed["v2"], pushed["v2"])
    assert (old / "README.md").read_bytes() == (smoke_model / "README.md").read_bytes()
    assert (new / "README.md").read_bytes().endswith(b"Second version.\n")
    assert json.loads((new / "metrics.json").read_text())["test"]["auc"] == 0.5
    assert (old / "metrics.json").read_bytes() == (smoke_model / "metrics.json").read_bytes()


def test_examples_download(pushed, examples_dir):
    from inference.hub import download_examples

    folder = download_examples(REPO, pushed["v1"], timeout=30)
    with open(folder / "manifest.csv", newline="") as handle:
        ids = [row["image_id"] for row in csv.DictReader(handle)]
    assert ids == ["ISIC_0024306"]
    assert (folder / "ISIC_0024306.jpg").read_bytes() == (examples_dir / "ISIC_0024306.jpg").read_bytes()
    assert download_examples(BROKEN_REPO, pushed["broken"], timeout=30) is None  # a repo without examples
    assert download_examples("tester/no-such-repo", None, timeout=30) is None


# -- fallbacks -----------------------------------------------------------------------------------------------------


def test_offline_mode_serves_the_cache(pushed, pulled, monkeypatch):
    from huggingface_hub import constants

    from inference import load_classifier

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    clf = load_classifier(REPO, revision=pushed["v1"])
    assert clf.source.kind == "cache" and clf.source.revision == pushed["v1"]
    assert clf.folder == pulled.folder
    assert "hub: OfflineModeIsEnabled" in clf.source.note


def test_connection_refused_serves_the_cache_then_the_bundled_model(pushed, pulled, bundled, monkeypatch):
    from inference import hub, load_classifier

    with pytest.MonkeyPatch.context() as mp:
        _point_client_at(mp, f"http://127.0.0.1:{_free_port()}")  # nothing listens there
        clf = load_classifier(REPO, revision=pushed["v1"])
        assert clf.source.kind == "cache" and clf.source.revision == pushed["v1"]
        assert "hub: ConnectError" in clf.source.note
        assert hub.cached_model(REPO, "main")[1] == pushed["v2"]  # the branch was recorded in refs/ when pulled
        never_pulled = "0" * 40
        clf = load_classifier(REPO, revision=never_pulled)
        assert clf.source.kind == "bundled" and clf.source.path == bundled
        assert "hub: ConnectError" in clf.source.note and "cache: " in clf.source.note


def test_hanging_hub_falls_back_in_bounded_time(hub, pushed, pulled, monkeypatch):
    from inference import hub as hub_client
    from inference import load_classifier

    monkeypatch.setenv("SKIN_LESION_HUB_TIMEOUT", "2")
    hub.set_mode("hang")
    try:
        start = time.monotonic()
        clf = load_classifier(REPO, revision=pushed["v1"])
        elapsed = time.monotonic() - start
        assert hub_client.download_examples("tester/never-pulled", "main", timeout=1) is None
    finally:
        hub.set_mode("normal")
    assert elapsed < HANG_BOUND_S
    assert clf.source.kind == "cache" and clf.source.revision == pushed["v1"]
    assert "hub: TimeoutError" in clf.source.note


def _start(repo: str, revision: str) -> tuple[object, object, float]:
    """What the app does with the Hub at start-up: the model, then the examples; (classifier, examples, seconds)."""
    from inference import hub as hub_client
    from inference import load_classifier

    start = time.monotonic()
    clf = load_classifier(repo, revision=revision)
    found = hub_client.download_examples(repo, revision, timeout=EXAMPLES_TIMEOUT)
    return clf, found, time.monotonic() - start


def test_a_hub_that_never_answers_delays_start_up_by_at_most_15_s(hub, pushed, pulled, bundled, monkeypatch, caplog):
    """With the default timeouts it took 36 s (model 20 s, examples 20 s); measured against an offline start."""
    from huggingface_hub import constants

    monkeypatch.delenv("SKIN_LESION_HUB_TIMEOUT", raising=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(constants, "HF_HUB_OFFLINE", True)
        offline, _, offline_s = _start(REPO, pushed["v1"])
    hub.set_mode("hang")
    try:
        cached, _, cached_s = _start(REPO, pushed["v1"])
        with caplog.at_level("INFO"):
            bundled_clf, found, bundled_s = _start("tester/never-pulled", "main")
    finally:
        hub.set_mode("normal")
    assert offline.source.kind == cached.source.kind == "cache" and bundled_clf.source.kind == "bundled" and found is None
    assert cached_s - offline_s <= 15 and bundled_s - offline_s <= 15, (offline_s, cached_s, bundled_s)
    serving = [r.getMessage() for r in caplog.records if r.getMessage().startswith("serving")]
    assert serving and all("bundled model" in m and "tester/never-pulled" not in m.split("(fallback")[0] for m in serving)


def test_hub_that_stalls_mid_download_is_given_up_at_the_deadline(hub, smoke_model):
    from inference.hub import download_model
    from train.push import push_model_folder

    commit = push_model_folder(smoke_model, "tester/stalls")
    hub.set_mode("hang_files")  # model info and tree listing answer, files never come
    try:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            download_model("tester/stalls", commit, timeout=2)
        elapsed = time.monotonic() - start
    finally:
        hub.set_mode("normal")
    assert elapsed < HANG_BOUND_S
    assert ("GET", f"/api/models/tester/stalls/tree/{commit}") in hub.requests


def test_missing_repo_falls_back_to_the_bundled_model(hub, pushed, bundled):
    from inference import hub as hub_client
    from inference import load_classifier

    clf = load_classifier("tester/no-such-repo", revision=pushed["v1"])
    assert clf.source.kind == "bundled" and clf.source.path == bundled
    assert "hub: LookupError: no repository tester/no-such-repo" in clf.source.note
    with pytest.raises(LookupError, match="no revision"):
        hub_client.download_model(REPO, "f" * 40, timeout=30)


def test_hub_answering_404_for_a_cached_repo_serves_the_cache(hub, pushed, pulled):
    from inference import load_classifier

    hub.set_mode("not_found")
    try:
        clf = load_classifier(REPO, revision=pushed["v1"])
    finally:
        hub.set_mode("normal")
    assert clf.source.kind == "cache" and "no repository" in clf.source.note


def test_damaged_model_falls_back_with_the_reason(pushed, bundled):
    from inference import load_classifier

    clf = load_classifier(BROKEN_REPO, revision=pushed["broken"])
    assert clf.source.kind == "bundled"
    assert "hub: ValueError: model.keras is damaged" in clf.source.note
    assert "cache: ValueError: model.keras is damaged" in clf.source.note  # the damaged download is not served either


def test_check_model_folder_names_the_damaged_file(smoke_model, tmp_path):
    from inference.hub import check_model_folder

    check_model_folder(smoke_model)
    folder = _variant(smoke_model, tmp_path / "bad-config", **{"config.json": b'{"backbone": "efficientnet_lite0", '})
    with pytest.raises(ValueError, match="config.json is unreadable"):
        check_model_folder(folder)
    folder = _variant(smoke_model, tmp_path / "bad-gate", **{"gate.npz": b"not a zip"})
    with pytest.raises(ValueError, match="gate.npz is damaged"):
        check_model_folder(folder)
    (tmp_path / "bad-gate" / "gate.npz").unlink()
    with pytest.raises(ValueError, match="gate.npz is missing"):
        check_model_folder(folder)


# -- third party ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def snippet_python(tmp_path_factory) -> Path:
    """A fresh virtual environment holding only the pinned packages the model card's snippet names (from pip's cache)."""
    from train.model_card import HUB_SNIPPET

    pins = re.search(r"^pip install (.+)$", HUB_SNIPPET.read_text(), re.M).group(1).split()
    venv = tmp_path_factory.mktemp("snippet-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", *pins], capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return python


def card_snippet(card: str, repo_id: str, revision: str, images: list[Path]) -> str:
    """The model card's Python block, pointed at this repo, revision and these photos (the three lines made for it)."""
    code = re.search(r"## How to use.*?```python\n(.*?)```", card, re.S).group(1)
    for name, value in (("REPO_ID", repo_id), ("REVISION", revision), ("IMAGES", [str(p) for p in images])):
        code, n = re.subn(rf"^{name} = .*$", f"{name} = {value!r}", code, count=1, flags=re.M)
        assert n == 1, name
    return code


@pytest.mark.slow
def test_the_model_cards_snippet_gives_the_apps_answers(hub, pushed, pulled, data_dir, tmp_path, snippet_python):
    """The card's snippet, run in a clean venv on the card as pulled from the Hub, gives the app's P(malignant) and,
    where the quality check passes, its decision."""
    from PIL import Image
    from skimage import data as skimage_data

    lesion = next(data_dir.rglob("ISIC_0024306.jpg"))  # a training-sized photo (150 px short side)
    other = next(data_dir.rglob("ISIC_0024310.jpg"))
    cat = tmp_path / "chelsea.png"  # 451x300: exercises the downscale to the training level of detail
    Image.fromarray(skimage_data.chelsea()).save(cat)
    small = tmp_path / "small.jpg"  # below the training resolution: resized up only
    Image.open(lesion).resize((120, 90)).save(small)
    images = [lesion, other, cat, small]
    script = tmp_path / "snippet.py"  # run from elsewhere, so nothing of this repository can be imported
    script.write_text(card_snippet((pulled.folder / "README.md").read_text(), REPO, pushed["v1"], images))
    env = {**os.environ, "HF_HOME": str(tmp_path / "third-party-home")}  # downloads on its own
    env.pop("PYTHONPATH", None)
    result = subprocess.run([str(snippet_python), str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [row[0] for row in rows] == [str(p) for p in images]
    ours = pulled.predict(images)
    assert [float(row[1]) for row in rows] == pytest.approx([p.p_malignant for p in ours], abs=1e-4)
    for row, prediction in zip(rows, ours, strict=True):
        if prediction.warning_code is None:
            assert row[2] == prediction.decision_code, row
