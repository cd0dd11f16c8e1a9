"""The Gradio app, end to end: `python app.py` in a subprocess on 127.0.0.1, driven with gradio_client.

Also the parts that need no server: translations, language choice, the example manifest and where its
images come from.
"""

from __future__ import annotations

import csv
import os
import re
import socket
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest
from PIL import Image

import app_i18n
import examples

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 180  # s: TensorFlow import, model load and warm-up on a busy 2-core machine


@pytest.fixture(scope="session")
def app_model() -> Path:
    """The model folder the app serves in these tests: the bundled one."""
    import inference.loading

    return inference.loading.BUNDLED_MODEL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(app_model, data_dir, tmp_path_factory):
    """`python app.py --model ... --port ... --share` with no way out: the share link must fail and the app keep serving."""
    tmp = tmp_path_factory.mktemp("app")
    env = {**os.environ, "HAM10000_DIR": str(data_dir), "SKIN_LESION_EXAMPLES_DIR": str(tmp / "examples"),
           "GRADIO_TEMP_DIR": str(tmp / "gradio"), "GRADIO_ANALYTICS_ENABLED": "False",
           "GRADIO_SHARE_SERVER_ADDRESS": "127.0.0.1:9",  # a closed local port: never a public tunnel, even online
           "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    port = free_port()
    command = [sys.executable, str(ROOT / "app.py"), "--model", str(app_model), "--host", "127.0.0.1", "--port", str(port), "--share"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not any("still serving locally" in line for line in lines):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("app.py did not start:\n" + "".join(lines[-40:]))
        time.sleep(0.5)
    yield types.SimpleNamespace(url=f"http://127.0.0.1:{port}/", lines=lines, examples=tmp / "examples")
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def client(server, tmp_path_factory):
    from gradio_client import Client

    return Client(server.url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


@pytest.fixture(scope="module")
def manifest() -> list[examples.Example]:
    return examples.read_manifest()


def image_of(data_dir: Path, image_id: str) -> Path:
    return data_dir / "images" / f"{image_id}.jpg"


def cards(html: str) -> list[dict]:
    """Each result card's data attributes, plus its text, from the classify endpoint's HTML."""
    found = []
    for chunk in html.split("<article")[1:]:
        attributes = dict(re.findall(r'data-([\w-]+)="([^"]*)"', chunk))
        text = re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]+"', "", chunk))
        found.append({**attributes, "text": " ".join(text.split())})
    return found


def summary(html: str) -> dict:
    section = re.search(r'<section class="slc-summary"([^>]*)>(.*?)</section>', html, re.S)
    assert section, html[:500]
    return {**dict(re.findall(r'data-([\w-]+)="([^"]*)"', section.group(1))), "text": re.sub(r"<[^>]+>", " ", section.group(2))}


# --- no server needed ------------------------------------------------------------------------------------


def test_every_string_is_translated():
    from inference.gate import MESSAGES

    assert set(app_i18n.EN) == set(app_i18n.KO)
    for key, english in app_i18n.EN.items():
        korean = app_i18n.KO[key]
        assert korean and korean != english, key
        assert sorted(re.findall(r"{(\w+)}", english)) == sorted(re.findall(r"{(\w+)}", korean)), key
        assert re.search(r"[\uac00-\ud7a3]", korean), key  # Hangul in every Korean string
    for code in MESSAGES:  # every gate warning and every refusal reason has its own message
        assert app_i18n.gate_message("ko", code) == app_i18n.KO[f"gate_{code}"]
        assert app_i18n.gate_message("en", code) == MESSAGES[code]
    for reason in ("not_found", "empty", "too_large", "not_an_image", "truncated", "too_small"):
        assert app_i18n.rejection_message("ko", reason) != app_i18n.rejection_message("ko", "something_new")
    assert app_i18n.rejection_message("en", "something_new") == app_i18n.EN["reject_other"]
    from inference import DISCLAIMER

    assert DISCLAIMER in app_i18n.EN["disclaimer"]


def test_language_follows_accept_language():
    assert app_i18n.language("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7") == "ko"
    assert app_i18n.language("en-GB,en;q=0.9,ko;q=0.8") == "en"
    assert app_i18n.language("fr-FR,fr;q=0.9,ko;q=0.5") == "ko"  # the first supported one
    assert app_i18n.language("de,en;q=0.1,ko;q=0.2") == "ko"  # by quality, not by position
    assert app_i18n.language("") == app_i18n.language(None) == app_i18n.language("fr") == "en"
    assert app_i18n.language("ko;q=bad,en") == "en"


def test_manifest_is_the_test_split(manifest, data_dir, app_model):
    from train.data import read_metadata, split_by_lesion

    records = read_metadata(data_dir)
    split = split_by_lesion(records, seed=42)
    dx = {r.image_id: r.dx for r in records}
    assert {"nv", "bkl", "mel", "bcc"} <= {e.dx for e in manifest}
    assert len({e.image_id for e in manifest}) == len(manifest) <= app_i18n.MAX_IMAGES
    for example in manifest:
        assert split[example.image_id] == "test", example
        assert dx[example.image_id] == example.dx, example
    assert {e.image_id for e in manifest} <= examples.test_split_ids(app_model / "split.csv")
    # The committed manifest is exactly what `python -m examples` draws.
    assert examples.select(records, split) == manifest


def test_examples_come_from_data_then_hub_else_none(manifest, data_dir, tmp_path, monkeypatch):
    import inference

    monkeypatch.setenv(examples.CACHE_ENV, str(tmp_path / "cache"))
    some = tmp_path / "some"  # a data dir holding only two of the images
    some.mkdir()
    for example in manifest[:2]:
        (some / f"{example.image_id}.jpg").write_bytes(image_of(data_dir, example.image_id).read_bytes())
    monkeypatch.setattr(examples, "data_dirs", lambda: [some])
    hub_folder = tmp_path / "hub" / "examples"
    hub_folder.mkdir(parents=True)
    (hub_folder / f"{manifest[2].image_id}.jpg").write_bytes(image_of(data_dir, manifest[2].image_id).read_bytes())
    calls = []

    def download_examples(repo_id, revision, timeout):
        calls.append((repo_id, revision))
        return hub_folder  # like inference.hub.download_examples: the examples/ folder

    fake_hub = types.SimpleNamespace(download_examples=download_examples)
    monkeypatch.setattr(inference, "hub", fake_hub, raising=False)
    monkeypatch.setitem(sys.modules, "inference.hub", fake_hub)

    found = examples.materialise("user/model", "abc123")
    assert [e.image_id for e in found.examples] == [e.image_id for e in manifest[:3]]
    assert found.source == "hub" and calls == [("user/model", "abc123")]
    assert set(found.missing) == {e.image_id for e in manifest[3:]}
    # An upload with the same bytes is recognised as that example; other bytes are not.
    copy = tmp_path / "renamed.jpg"
    copy.write_bytes(image_of(data_dir, manifest[1].image_id).read_bytes())
    assert found.true_example(copy).dx == manifest[1].dx
    assert found.true_example(image_of(data_dir, manifest[5].image_id)) is None
    # Without data and with a failing Hub the app gets no examples, and no exception.
    monkeypatch.setenv(examples.CACHE_ENV, str(tmp_path / "empty-cache"))

    def unreachable(*_):
        raise ConnectionError("Hub unreachable")

    fake_hub.download_examples = unreachable
    monkeypatch.setattr(examples, "data_dirs", lambda: [tmp_path / "nowhere"])
    none = examples.materialise("user/model", None)
    assert (none.examples, none.source, len(none.missing)) == ([], "none", len(manifest))
    # A model whose test split excludes an example never shows it.
    monkeypatch.setattr(examples, "data_dirs", lambda: [data_dir])
    only = examples.materialise(None, None, test_ids={manifest[0].image_id})
    assert [e.image_id for e in only.examples] == [manifest[0].image_id]


# --- against the running app -----------------------------------------------------------------------------


def test_share_fails_plainly_and_the_app_keeps_serving(server, client):
    output = "".join(server.lines)
    assert "Could not create a public share link" in output and server.url.rstrip("/") in output
    assert "Traceback" not in output
    assert "/predict" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]


def test_predict_json_schema(client, data_dir, manifest):
    from gradio_client import handle_file

    from inference import DISCLAIMER
    from inference.config import LABELS, MALIGNANT_LABELS

    path = image_of(data_dir, manifest[0].image_id)
    result, overlay = client.predict(handle_file(str(path)), api_name="/predict")
    keys = {"p_malignant", "malignant", "threshold", "diagnoses", "warning", "warning_code", "model", "disclaimer", "decision"}
    assert keys <= set(result)
    assert 0.0 <= result["p_malignant"] <= 1.0 and 0.0 < result["threshold"] < 1.0
    assert result["malignant"] == (result["p_malignant"] >= result["threshold"])
    assert list(result["diagnoses"]) == list(LABELS)
    assert sum(result["diagnoses"].values()) == pytest.approx(1.0, abs=1e-3)
    assert sum(result["diagnoses"][k] for k in MALIGNANT_LABELS) == pytest.approx(result["p_malignant"], abs=1e-3)
    assert result["warning"] is None or isinstance(result["warning"], str)
    assert result["disclaimer"] == DISCLAIMER
    assert "efficientnet" in result["model"] or "resnet" in result["model"]
    expected = "Above the malignancy threshold" if result["malignant"] else "Below the malignancy threshold"
    assert result["warning_code"] or result["decision"].startswith(expected)
    with Image.open(overlay) as image, Image.open(path) as photo:
        assert image.size == photo.size  # the Grad-CAM overlay at the photo's own size


def test_classify_several_images_matches_predict(client, data_dir, manifest):
    from gradio_client import handle_file

    manifest_ids = {e.image_id for e in manifest}
    other = next(p for p in sorted((data_dir / "images").glob("*.jpg")) if p.stem not in manifest_ids)
    paths = [image_of(data_dir, manifest[0].image_id), other, image_of(data_dir, manifest[-1].image_id)]
    html = client.predict([handle_file(str(p)) for p in paths], api_name="/classify")
    found = cards(html)
    assert [c["index"] for c in found] == ["0", "1", "2"]
    assert summary(html)["images"] == "3" and summary(html)["errors"] == "0"
    for card, path in zip(found, paths, strict=True):
        assert path.name in card["text"]
        single, _ = client.predict(handle_file(str(path)), api_name="/predict")
        assert float(card["p-malignant"]) == pytest.approx(single["p_malignant"], abs=1e-4)
        assert card["malignant"] == str(single["malignant"]).lower()
        assert f"{100 * float(card['p-malignant']):.1f}%" in card["text"]
        assert "Probability of malignancy" in card["text"] and "Melanoma" in card["text"]
        decision = "Above the malignancy threshold of" if single["malignant"] else "Below the malignancy threshold of"
        assert "No verdict" in card["text"] if single["warning_code"] else decision in card["text"]
    assert "truth" not in found[1]  # an image that is not an example has no recorded diagnosis


def test_examples_show_true_label_mark_and_accuracy(client, data_dir, manifest):
    from gradio_client import handle_file

    from inference.config import MALIGNANT_LABELS

    html = client.predict([handle_file(str(image_of(data_dir, e.image_id))) for e in manifest], api_name="/classify")
    found = cards(html)
    assert [c["truth"] for c in found] == [e.dx for e in manifest]
    correct = 0
    for card, example in zip(found, manifest, strict=True):
        right = (card["malignant"] == "true") == (example.dx in MALIGNANT_LABELS)
        correct += right
        assert ("✓ correct" if right else "✗ incorrect") in card["text"]
        assert "Recorded diagnosis" in card["text"]
    total = summary(html)
    assert (total["judged"], total["correct"]) == (str(len(manifest)), str(correct))
    assert f"{correct} correct, accuracy {100 * correct / len(manifest):.1f}%" in total["text"]


def test_bad_files_get_a_message_and_the_rest_completes(client, data_dir, manifest, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    truncated = tmp_path / "truncated.jpg"
    whole = image_of(data_dir, manifest[0].image_id).read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])
    good = image_of(data_dir, manifest[1].image_id)
    html = client.predict([handle_file(str(p)) for p in (corrupt, good, truncated)], api_name="/classify")
    found = cards(html)
    assert found[0]["error"] == "not_an_image" and "not an image that can be read" in found[0]["text"]
    assert found[2]["error"] == "truncated" and "damaged or incomplete" in found[2]["text"]
    assert "p-malignant" in found[1] and "error" not in found[1]
    assert (summary(html)["images"], summary(html)["errors"]) == ("1", "2")
    assert "Traceback" not in html
    with pytest.raises(AppError, match="not an image that can be read"):
        client.predict(handle_file(str(corrupt)), api_name="/predict")
    result, _ = client.predict(handle_file(str(good)), api_name="/predict")  # the server is still fine
    assert 0.0 <= result["p_malignant"] <= 1.0


def test_korean_follows_the_browser_language(server, data_dir, manifest, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    korean = Client(server.url, verbose=False, headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"}, download_files=str(tmp_path))
    html = korean.predict([handle_file(str(image_of(data_dir, manifest[0].image_id)))], api_name="/classify")
    (card,) = cards(html)
    assert "악성 확률" in card["text"] and "기록된 진단" in card["text"]
    assert ("악성 기준치" in card["text"]) != ("판정하지 않습니다" in card["text"])
    assert "Probability of malignancy" not in card["text"]
    bad = tmp_path / "empty.png"
    bad.write_bytes(b"")
    with pytest.raises(AppError, match="파일이 비어 있습니다"):
        korean.predict(handle_file(str(bad)), api_name="/predict")


def test_server_copies_examples_outside_the_repo(server, manifest):
    assert sorted(p.stem for p in server.examples.glob("*.jpg")) == sorted(e.image_id for e in manifest)
    assert not list((ROOT / "examples").glob("*.jpg"))  # the images are never in the repository
    with open(examples.MANIFEST, newline="") as handle:
        assert next(csv.reader(handle)) == ["image_id", "dx", "label"]


def test_limits_are_stated_and_enforced(client, data_dir, manifest, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    one = handle_file(str(image_of(data_dir, manifest[0].image_id)))
    html = client.predict([one] * (app_i18n.MAX_IMAGES + 1), api_name="/classify")
    assert len(cards(html)) == app_i18n.MAX_IMAGES
    assert f"Only the first {app_i18n.MAX_IMAGES} of {app_i18n.MAX_IMAGES + 1} images were classified" in html
    assert "upload at least one image" in client.predict([], api_name="/classify")
    with pytest.raises(AppError, match="No image to classify"):
        client.predict(None, api_name="/predict")
    huge = tmp_path / "huge.jpg"
    huge.write_bytes(b"\xff\xd8" + bytes(26 * 2**20))
    with pytest.raises(ValueError, match="exceeds the maximum file size"):
        client.predict(handle_file(str(huge)), api_name="/predict")
    assert f"up to {app_i18n.MAX_IMAGES} at once, 25 MB each" in app_i18n.EN["upload_label"]


def test_gate_warning_replaces_the_verdict(client, server, tmp_path):
    from gradio_client import Client, handle_file

    grey = tmp_path / "grey.png"
    Image.new("RGB", (200, 150), (128, 128, 128)).save(grey)
    html = client.predict([handle_file(str(grey))], api_name="/classify")
    (card,) = cards(html)
    assert card["warning"] == "blank"
    assert "No verdict for this image." in card["text"] and "almost uniform" in card["text"]
    assert "Above the malignancy threshold" not in card["text"] and "Below the malignancy threshold" not in card["text"]
    assert "1 with a warning" in summary(html)["text"]
    result, _ = client.predict(handle_file(str(grey)), api_name="/predict")
    assert result["warning_code"] == "blank" and result["decision"] == result["warning"]
    korean = Client(server.url, verbose=False, headers={"Accept-Language": "ko"}, download_files=str(tmp_path))
    (card,) = cards(korean.predict([handle_file(str(grey))], api_name="/classify"))
    assert "이 이미지에 대해서는 판정하지 않습니다" in card["text"] and "거의 균일하여" in card["text"]
