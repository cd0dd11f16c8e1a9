"""Issue 24 against `python app.py` on 127.0.0.1: which events a raw request can run, and Gradio's temporary folder.

Raw HTTP (httpx, sockets), as an attacker would send it, not gradio_client: `view_api` listed only `/predict`, but a
raw `POST /gradio_api/run/<name>` answered for `classify` (8 images a call), `classify_all_examples`, `on_load` and
`preview_upload`; and an upload whose connection closed half-way left its `tmp*` file in the temporary folder for good.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from page_session import load_event, open_page

import app_tempdir

TIMEOUT = 60  # s per request


@pytest.fixture(scope="module")
def app(smoke_model, tmp_path_factory):
    from bench.server import AppServer

    temp = tmp_path_factory.mktemp("gradio-temp")
    previous = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(temp)  # the child's; AppServer passes the environment on
    try:
        with AppServer(smoke_model, log=tmp_path_factory.mktemp("app") / "app.log") as server:
            server.temp = temp
            yield server
    finally:
        if previous is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = previous


@pytest.fixture(scope="module")
def config(app) -> dict:
    return httpx.get(app.url + "config", timeout=TIMEOUT).json()


def event(config: dict, name: str) -> dict:
    return next(d for d in config["dependencies"] if d.get("api_name") == name)


def post(app, path: str, body: dict) -> httpx.Response:
    return httpx.post(app.url + path, json=body, timeout=TIMEOUT)


PAGE_EVENTS = ["classify", "classify_all_examples", "on_load", "preview_upload"]


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGE_EVENTS)
def test_the_pages_events_do_not_answer_by_name(app, config, name):
    data = [None] * len(event(config, name)["inputs"])
    for path in (f"gradio_api/run/{name}", f"gradio_api/call/{name}", f"gradio_api/api/{name}"):
        response = post(app, path, {"data": data, "session_hash": uuid.uuid4().hex[:11]})
        assert response.status_code == 404, (path, response.status_code, response.text[:300])
        assert "not an API endpoint" in response.text and "/predict" in response.text
    assert app.alive()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["classify", "classify_all_examples", "preview_upload"])
def test_the_pages_events_answer_only_in_a_session_that_opened_the_page(app, config, name):
    fn = event(config, name)
    data = [None] * len(fn["inputs"])
    stranger = uuid.uuid4().hex[:11]
    for path in ("gradio_api/run/predict", "gradio_api/queue/join"):  # how the page sends them: by index
        response = post(app, path, {"data": data, "fn_index": fn["id"], "session_hash": stranger, "event_data": None})
        assert response.status_code == 403, (path, response.status_code, response.text[:300])
        assert post(app, path, {"data": data, "fn_index": fn["id"], "event_data": None}).status_code == 403  # no session at all
    page = uuid.uuid4().hex[:11]
    opened = post(app, "gradio_api/run/predict", {"data": [None] * len(load_event(config)["inputs"]), "fn_index": load_event(config)["id"],
                                                   "session_hash": page})
    assert opened.status_code == 200, opened.text[:300]
    path = "gradio_api/queue/join" if fn.get("queue", True) is not False else "gradio_api/run/predict"
    response = post(app, path, {"data": data, "fn_index": fn["id"], "session_hash": page, "event_data": None, "trigger_id": None})
    assert response.status_code == 200, response.text[:300]


@pytest.mark.slow
def test_the_public_api_still_answers_anyone(app, data_dir):
    from gradio_client import Client, handle_file

    photo = next((data_dir / "images").glob("ISIC_*.jpg"))
    client = Client(app.url, verbose=False)
    answer, overlay = client.predict(handle_file(str(photo)), api_name="/predict")
    assert 0 <= answer["p_malignant"] <= 1 and Path(overlay).is_file()
    html, _ = open_page(Client(app.url, verbose=False)).predict([handle_file(str(photo))], "", api_name="/classify")
    assert "p-malignant" in html  # the page's Classify, in a page session


def aborted_upload(url: str, declared: int, sent: int) -> None:
    """Start a multipart upload of `declared` bytes, send `sent` of them, and close the connection."""
    where = urlparse(url)
    boundary = "abortedboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"photo.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode()
    request = (f"POST /gradio_api/upload HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
               f"Content-Length: {declared}\r\n\r\n").encode()
    with socket.create_connection((where.hostname, where.port), timeout=TIMEOUT) as connection:
        connection.sendall(request + head + bytes(sent))
        time.sleep(0.5)  # let the server write what it received


@pytest.mark.slow
def test_aborted_uploads_are_swept_from_the_temporary_folder(app):
    """20 aborted 5 MB uploads left 100 MB that Gradio's own sweep never removed."""
    before = set(app.temp.glob("tmp*"))
    for _ in range(3):
        aborted_upload(app.url, declared=5 * 2**20, sent=2**20)
    deadline = time.monotonic() + 10
    while len(left := set(app.temp.glob("tmp*")) - before) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(left) == 3  # left behind by Gradio: what the app's sweeper is for
    removed, _ = app_tempdir.sweep(app.temp, keep=set(), partial_age=0.0)
    assert removed >= 3 and not list(app.temp.glob("tmp*"))
    assert httpx.get(app.url + "config", timeout=TIMEOUT).status_code == 200  # the page is still served


def test_sweep_removes_abandoned_uploads_then_the_oldest_files_over_the_cap(tmp_path):
    now = time.time()

    def file(name: str, size: int, age: float) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(size))
        os.utime(path, (now - age, now - age))
        return path

    abandoned = file("tmpabc", 100, age=600)
    in_progress = file("tmpdef", 100, age=5)
    shown = file("a" * 64 + "/example.jpg", 1_000, age=9_000)  # an example the page shows: never removed
    oldest = file("b" * 64 + "/upload.jpg", 1_000, age=8_000)
    newer = file("c" * 64 + "/upload.jpg", 1_000, age=100)
    removed, freed = app_tempdir.sweep(tmp_path, keep={str(shown)}, partial_age=120, max_bytes=2_200, now=now)
    assert (removed, freed) == (2, 1_100)
    assert not abandoned.exists() and not oldest.exists()
    assert in_progress.exists() and shown.exists() and newer.exists()


def test_launch_starts_the_temporary_folder_sweeper(smoke_model, monkeypatch, tmp_path):
    import threading

    import app
    from inference import load_classifier

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    clf = load_classifier(str(smoke_model))
    demo = app.build_demo(clf, app.load_examples(clf))
    try:
        app.launch(demo, server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
        assert any(thread.name == "temp-sweep" and thread.is_alive() for thread in threading.enumerate())
    finally:
        demo.close()


def test_event_policy_on_a_small_page():
    import gradio as gr

    from app_guard import EventPolicy

    def predict(text: str) -> str:
        return text

    def preview(text: str) -> str:
        return text

    def on_load() -> str:
        return ""

    with gr.Blocks() as demo:
        box, out, button = gr.Textbox(), gr.Textbox(), gr.Button()
        button.click(predict, box, out, api_name="predict")
        box.change(preview, box, out, api_visibility="private")
        demo.load(on_load, None, out, api_visibility="private")
    ids = {fn.api_name: fn._id for fn in demo.fns.values()}
    policy = EventPolicy.of(demo)
    assert policy.refusal("/gradio_api/call/predict", {"data": ["x"]}) is None  # the API: anyone
    assert policy.refusal("/gradio_api/queue/join", {"fn_index": ids["predict"], "session_hash": "s"}) is None
    assert policy.refusal("/gradio_api/run/preview", {"data": ["x"]})[0] == 404  # never by name
    assert policy.refusal("/gradio_api/call/v2/on_load", {})[0] == 404
    page = {"fn_index": ids["preview"], "session_hash": "s", "data": ["x"]}
    assert policy.refusal("/gradio_api/run/predict", page)[0] == 403  # not a page session yet
    assert policy.refusal("/gradio_api/run/predict", {**page, "fn_index": str(ids["preview"])})[0] == 400  # "1" would be read as 1
    assert policy.refusal("/gradio_api/run/predict", {"fn_index": ids["on_load"], "session_hash": "s", "data": []}) is None
    assert policy.refusal("/gradio_api/run/predict", page) is None  # the page's session now
    assert policy.refusal("/gradio_api/queue/join", {**page, "session_hash": "other"})[0] == 403
    assert policy.refusal("/gradio_api/queue/join", {"fn_index": 999, "session_hash": "x"}) is None  # Gradio refuses unknown ones
