"""The Gradio app, end to end: `python app.py` in a subprocess on 127.0.0.1, as a fresh clone runs it (no HAM10000
folder), driven with gradio_client and raw HTTP.

Also the parts that need no server: translations, language choice, the committed examples and their licence.
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
from page_session import open_page
from PIL import Image
from result_html import cards, summary

import app_i18n
import app_render
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
    """`python app.py --model ... --port ... --share` with no way out: the share link must fail and the app keep serving.

    Like a fresh clone or a Space: no HAM10000 folder anywhere (the examples are the committed ones)."""
    tmp = tmp_path_factory.mktemp("app")
    env = {k: v for k, v in os.environ.items() if k not in ("HAM10000_DIR", "SKIN_LESION_MODEL_REPO", "SKIN_LESION_EXAMPLES_DIR")}
    env = {**env, "HOME": str(tmp / "home"),
           "GRADIO_TEMP_DIR": str(tmp / "gradio"), "GRADIO_ANALYTICS_ENABLED": "False",
           "GRADIO_SHARE_SERVER_ADDRESS": "127.0.0.1:9",  # a closed local port: never a public tunnel, even online
           "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    port = free_port()
    # --max-batch 8: the batched /predict (Gradio's batch=True), the more involved path; one by one is the default and
    # test_batching checks the two give the same answers.
    command = [sys.executable, str(ROOT / "app.py"), "--model", str(app_model), "--host", "127.0.0.1", "--port", str(port), "--share",
               "--max-batch", "8"]
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
    yield types.SimpleNamespace(url=f"http://127.0.0.1:{port}/", lines=lines, temp=tmp / "gradio")
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def client(server, tmp_path_factory):
    from gradio_client import Client

    return open_page(Client(server.url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads"))))  # /classify needs it


@pytest.fixture(scope="module")
def manifest() -> list[examples.Example]:
    return examples.read_manifest()


def image_of(data_dir: Path, image_id: str) -> Path:
    return data_dir / "images" / f"{image_id}.jpg"





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
        assert app_i18n.gate_message("en", code) == app_i18n.EN[f"gate_{code}"] != app_i18n.EN["gate_other"]
    for code in ("refer", "no_flag", "uncertain"):  # every decision code has its name and its sentence
        assert app_i18n.outcome_name("ko", code) == app_i18n.KO[f"outcome_{code}"]
        assert "{threshold}" in app_i18n.EN[f"decision_{code}"] or code == "uncertain"
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


def test_examples_are_committed_with_their_licence(manifest, data_dir, tmp_path):
    """A fresh clone has the images: the manifest's, byte for byte HAM10000's, small, with their licence beside them."""
    import subprocess

    tracked = subprocess.run(["git", "ls-files", "examples"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for example in manifest:
        path = examples.image_path(example.image_id)
        assert f"examples/{path.name}" in tracked, path
        assert path.read_bytes() == image_of(data_dir, example.image_id).read_bytes()
        assert path.stat().st_size < 20_000
    assert sorted(p.stem for p in examples.FOLDER.glob("*.jpg")) == sorted(e.image_id for e in manifest)
    attribution = examples.ATTRIBUTION.read_text()
    assert "examples/ATTRIBUTION.md" in tracked
    assert all(s in attribution for s in ("CC BY-NC 4.0", "Tschandl", "doi:10.1038/sdata.2018.161", "Non-commercial"))
    shown = examples.load()
    assert [e.image_id for e in shown.examples] == [e.image_id for e in manifest] and shown.missing == []
    # An upload with the same bytes is recognised as that example; other bytes are not.
    copy = tmp_path / "renamed.jpg"
    copy.write_bytes(examples.image_path(manifest[1].image_id).read_bytes())
    assert shown.true_example(copy).dx == manifest[1].dx
    other = next(p for p in sorted((data_dir / "images").glob("*.jpg")) if p.stem not in {e.image_id for e in manifest})
    assert shown.true_example(other) is None


def test_examples_outside_the_models_test_split_or_missing_are_left_out_and_logged(manifest, tmp_path, caplog):
    folder = tmp_path / "examples"
    folder.mkdir()
    (folder / "manifest.csv").write_bytes(examples.MANIFEST.read_bytes())
    for example in manifest[1:]:
        (folder / f"{example.image_id}.jpg").write_bytes(examples.image_path(example.image_id).read_bytes())
    with caplog.at_level("WARNING", logger="examples"):
        shown = examples.load(test_ids={e.image_id for e in manifest[:-1]}, folder=folder)
    assert [e.image_id for e in shown.examples] == [e.image_id for e in manifest[1:-1]]
    assert shown.missing == [manifest[0].image_id, manifest[-1].image_id]
    assert manifest[0].image_id in caplog.text and manifest[-1].image_id in caplog.text


# --- against the running app -----------------------------------------------------------------------------


def test_share_fails_plainly_and_the_app_keeps_serving(server, client):
    output = "".join(server.lines)
    assert "Could not create a public share link" in output and server.url.rstrip("/") in output
    assert "Traceback" not in output
    assert "/predict" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]


def test_predict_json_schema(client, data_dir, manifest, app_model):
    from gradio_client import handle_file

    from inference import DISCLAIMER
    from inference.config import LABELS, MALIGNANT_LABELS

    path = image_of(data_dir, manifest[0].image_id)
    result, overlay = client.predict(handle_file(str(path)), api_name="/predict")
    keys = {"p_malignant", "decision_code", "malignant", "meaningful", "threshold", "diagnoses", "warning", "warning_code", "model",
            "disclaimer", "decision", "decision_text"}
    assert keys <= set(result)
    assert 0.0 <= result["p_malignant"] <= 1.0 and 0.0 < result["threshold"] < 1.0
    refer = result["p_malignant"] >= result["threshold"]
    assert result["meaningful"] == (result["warning_code"] not in ("blank", "grey", "not_dermoscopy"))
    assert result["decision_code"] == ("uncertain" if not result["meaningful"] else "refer" if refer else
                                       "uncertain" if result["warning_code"] else "no_flag")
    assert result["decision"] == result["decision_code"]  # named like the CSV's `decision` column
    assert result["malignant"] == (result["decision_code"] == "refer")
    assert list(result["diagnoses"]) == list(LABELS)
    assert sum(result["diagnoses"].values()) == pytest.approx(1.0, abs=1e-3)
    assert sum(result["diagnoses"][k] for k in MALIGNANT_LABELS) == pytest.approx(result["p_malignant"], abs=1e-3)
    assert result["warning"] is None or isinstance(result["warning"], str)
    assert result["disclaimer"] == DISCLAIMER
    assert result["model"].startswith("efficientnet_lite0 · skin-lesion-lite0 @ sha256:")
    assert str(app_model) not in str(result) and str(ROOT) not in str(result)  # no server path in the answer
    expected = {"refer": "At or above the malignancy threshold", "no_flag": "Below the malignancy threshold", "uncertain": "No verdict"}
    assert result["decision_text"].startswith(expected[result["decision_code"]])
    with Image.open(overlay) as image, Image.open(path) as photo:
        assert image.size == photo.size  # the Grad-CAM overlay at the photo's own size


def test_classify_several_images_matches_predict(client, data_dir, manifest):
    from gradio_client import handle_file

    manifest_ids = {e.image_id for e in manifest}
    other = next(p for p in sorted((data_dir / "images").glob("*.jpg")) if p.stem not in manifest_ids)
    paths = [image_of(data_dir, manifest[0].image_id), other, image_of(data_dir, manifest[-1].image_id)]
    html, downloads = client.predict([handle_file(str(p)) for p in paths], "", api_name="/classify")
    found = cards(html)
    csv_file, *reports = downloads
    rows = list(csv.DictReader(open(csv_file, newline="", encoding="utf-8")))
    assert [r["path"] for r in rows] == [p.name for p in paths] and len(reports) == 3
    assert [c["index"] for c in found] == ["0", "1", "2"]
    assert summary(html)["images"] == "3" and summary(html)["errors"] == "0"
    counts = {code: 0 for code in ("refer", "no-flag", "uncertain")}
    for card, path in zip(found, paths, strict=True):
        assert path.name in card["text"]
        single, _ = client.predict(handle_file(str(path)), api_name="/predict")
        assert float(card["p-malignant"]) == pytest.approx(single["p_malignant"], abs=1e-4)
        assert card["decision"] == single["decision_code"] and card["malignant"] == str(single["malignant"]).lower()
        counts[single["decision_code"].replace("_", "-")] += 1
        assert app_render.shown_p(float(card["p-malignant"])) in card["text"]  # to the whole percent on the page
        assert "Probability of malignancy" in card["text"] and "Melanoma" in card["text"]
        assert single["decision_text"].split(":")[0] in card["text"]
        row = rows[int(card["index"])]  # the CSV: the API's figures, at full precision, and the same decision code
        assert float(row["p_malignant"]) == pytest.approx(single["p_malignant"], abs=1e-4) and row["decision"] == single["decision"]
    assert {code: int(summary(html)[code]) for code in counts} == counts
    assert "truth" not in found[1]  # an image that is not an example has no recorded diagnosis


def test_examples_show_true_label_mark_and_accuracy(client, manifest):
    from gradio_client import handle_file

    from inference.config import MALIGNANT_LABELS

    html, _ = client.predict([handle_file(str(examples.image_path(e.image_id))) for e in manifest], "", api_name="/classify")
    found = cards(html)
    assert [c["truth"] for c in found] == [e.dx for e in manifest]
    judged = correct = 0
    for card, example in zip(found, manifest, strict=True):
        assert "Recorded diagnosis" in card["text"]
        if card["decision"] == "uncertain":
            assert "not counted (no verdict)" in card["text"] and "✓" not in card["text"] and "✗" not in card["text"]
            continue
        right = (card["decision"] == "refer") == (example.dx in MALIGNANT_LABELS)
        judged, correct = judged + 1, correct + right
        assert ("benign/malignant ✓ agrees" if right else "benign/malignant ✗ disagrees") in card["text"]
        assert "top diagnosis" in card["text"]
    total = summary(html)
    assert (total["known"], total["judged"], total["correct"]) == (str(len(manifest)), str(judged), str(correct))
    assert f"{correct} agree with it on benign vs malignant: accuracy {app_render.whole_percent(correct / judged)}" in total["text"]


def test_bad_files_get_a_message_and_the_rest_completes(client, data_dir, manifest, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    truncated = tmp_path / "truncated.jpg"
    whole = image_of(data_dir, manifest[0].image_id).read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])
    good = image_of(data_dir, manifest[1].image_id)
    html, downloads = client.predict([handle_file(str(p)) for p in (corrupt, good, truncated)], "", api_name="/classify")
    assert len(downloads) == 2  # the CSV (all three rows) and the one report there is something to report on
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


def test_concurrent_api_requests_share_batches_and_a_bad_file_costs_only_its_own_answer(server, data_dir, manifest, tmp_path):
    """Through Gradio's batching: 7 photos and a corrupt file sent at once; every photo gets its one-by-one answer, the
    corrupt file its reason in words (AppError alone in its batch, `error` when it shared one)."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    photos = [image_of(data_dir, e.image_id) for e in manifest[:7]]
    clients = [Client(server.url, verbose=False) for _ in range(8)]
    answers: dict[int, object] = {}

    def send(i: int, path: Path) -> None:
        try:
            answers[i] = clients[i].predict(handle_file(str(path)), api_name="/predict")[0]
        except AppError as error:
            answers[i] = error

    threads = [threading.Thread(target=send, args=(i, p)) for i, p in enumerate([*photos, corrupt])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    refused = answers[7]
    message = "The file is not an image that can be read (JPEG, PNG, ...)."
    assert (isinstance(refused, AppError) and message in str(refused)) or (refused["error"] == message and "p_malignant" not in refused)
    for i, path in enumerate(photos):
        alone, _ = clients[0].predict(handle_file(str(path)), api_name="/predict")
        batched = answers[i]
        assert batched["p_malignant"] == pytest.approx(alone["p_malignant"], abs=1e-4), path.name  # 4 decimals, either side
        assert batched["diagnoses"] == pytest.approx(alone["diagnoses"], abs=1e-4), path.name
        assert {k: v for k, v in batched.items() if k not in ("p_malignant", "diagnoses")} == \
               {k: v for k, v in alone.items() if k not in ("p_malignant", "diagnoses")}, path.name


def test_korean_follows_the_browser_language(server, data_dir, manifest, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    korean = open_page(Client(server.url, verbose=False, headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"},
                              download_files=str(tmp_path)))
    html, _ = korean.predict([handle_file(str(image_of(data_dir, manifest[0].image_id)))], "", api_name="/classify")
    (card,) = cards(html)
    assert "악성 확률" in card["text"] and "기록된 진단" in card["text"]
    assert app_i18n.KO[f"outcome_{card['decision']}"] in card["text"]
    assert "Probability of malignancy" not in card["text"]
    bad = tmp_path / "empty.png"
    bad.write_bytes(b"")
    with pytest.raises(AppError, match="파일이 비어 있습니다"):
        korean.predict(handle_file(str(bad)), api_name="/predict")


def test_a_fresh_clone_shows_the_examples_and_no_operator_hints(server, manifest):
    import json
    import urllib.request

    with urllib.request.urlopen(server.url + "config", timeout=30) as response:
        config = json.loads(response.read())
    gallery = next(c for c in config["components"] if c.get("props", {}).get("elem_id") == "examples")
    shown = [item["image"]["orig_name"] for item in gallery["props"]["value"]]
    assert shown == [f"{e.image_id}.jpg" for e in manifest]
    page = json.dumps(config)
    assert "examples-missing" not in page and "HAM10000_DIR" not in page and "SKIN_LESION_" not in page
    assert f"examples: {len(manifest)} shown" in "".join(server.lines)


def test_limits_are_stated_and_enforced(client, data_dir, manifest, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    paths = [tmp_path / f"photo{i}.jpg" for i in range(1, app_i18n.MAX_IMAGES + 2)]
    for path in paths:
        path.write_bytes(image_of(data_dir, manifest[0].image_id).read_bytes())
    html, _ = client.predict([handle_file(str(p)) for p in paths], "", api_name="/classify")
    assert len(cards(html)) == app_i18n.MAX_IMAGES
    assert (f"{app_i18n.MAX_IMAGES + 1} files were chosen; only the first {app_i18n.MAX_IMAGES} were classified. "
            f"Not classified: photo{app_i18n.MAX_IMAGES + 1}.jpg.") in html
    assert "upload at least one image" in client.predict([], "", api_name="/classify")[0]
    with pytest.raises(AppError, match="No image to classify"):
        client.predict(None, api_name="/predict")
    huge = tmp_path / "huge.jpg"
    huge.write_bytes(b"\xff\xd8" + bytes(26 * 2**20))
    with pytest.raises(ValueError, match="exceeds the maximum file size"):
        client.predict(handle_file(str(huge)), api_name="/predict")
    assert f"up to {app_i18n.MAX_IMAGES} at once, 25 MB each" in app_i18n.EN["upload_label"]


def test_the_gate_never_reassures(client, server, tmp_path):
    from gradio_client import Client, handle_file

    grey = tmp_path / "grey.png"
    Image.new("RGB", (200, 150), (128, 128, 128)).save(grey)
    result, _ = client.predict(handle_file(str(grey)), api_name="/predict")
    # Not a photo of a lesion: no verdict whatever P says, and P is flagged as not meaningful.
    assert (result["warning_code"], result["decision_code"], result["meaningful"]) == ("blank", "uncertain", False)
    html, _ = client.predict([handle_file(str(grey))], "", api_name="/classify")
    (card,) = cards(html)
    assert card["warning"] == "blank" and card["decision"] == result["decision_code"]
    assert "Caution: This image is almost uniform" in card["text"]
    assert "Below the malignancy threshold" not in card["text"] and "raises no flag" not in card["text"]
    assert summary(html)["no-flag"] == "0"
    korean = open_page(Client(server.url, verbose=False, headers={"Accept-Language": "ko"}, download_files=str(tmp_path)))
    (card,) = cards(korean.predict([handle_file(str(grey))], "", api_name="/classify")[0])
    assert "주의:" in card["text"] and "거의 균일하여" in card["text"]


# --- issue 13: one request must not freeze, bloat or cost the server ----------------------------------------------


def test_a_huge_api_payload_is_refused_at_once_and_the_server_stays_responsive(server):
    import json
    import urllib.error
    import urllib.request

    item = {"path": "/tmp/x.jpg", "meta": {"_type": "gradio.FileData"}}
    for endpoint, data in (("gradio_api/call/predict", [[item] * 100_000]), ("gradio_api/call/classify", [[item] * 20_000]),
                           ("gradio_api/queue/join", [[item] * 1_000])):
        body = json.dumps({"data": data, "fn_index": 0, "session_hash": "abc"}).encode()
        request = urllib.request.Request(server.url + endpoint, data=body, headers={"Content-Type": "application/json"})
        start = time.monotonic()
        # Refused on its declared length, before the body is read: the client sees a 413, or the connection closed
        # while it was still sending (urllib reports a broken pipe).
        with pytest.raises(urllib.error.URLError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert time.monotonic() - start < 2.0, endpoint
        if isinstance(refused.value, urllib.error.HTTPError):
            assert refused.value.code == 413 and "Request refused" in refused.value.read().decode()
        else:
            assert isinstance(refused.value.reason, (BrokenPipeError, ConnectionResetError)), refused.value
        start = time.monotonic()
        with urllib.request.urlopen(server.url + "config", timeout=30) as response:
            assert response.status == 200
        assert time.monotonic() - start < 2.0
    # A small list of many items, and a body that is not JSON, are refused too; a normal call still works.
    many = json.dumps({"data": [[1] * 257]}).encode()
    for body, code in ((many, 413), (b"[1, 2", 400), (b"[1, 2]", 400)):
        request = urllib.request.Request(server.url + "gradio_api/call/classify", data=body, headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == code


def test_only_the_documented_api_is_public(client):
    api = client.view_api(print_info=False, return_format="dict")
    assert list(api["named_endpoints"]) == ["/predict"] and not api["unnamed_endpoints"]


def test_gradio_cleans_its_cache_and_overlays_do_not_pile_up(server, client, manifest):
    import json
    import urllib.request

    from gradio_client import handle_file

    import app

    for example in manifest[:3]:
        client.predict(handle_file(str(examples.image_path(example.image_id))), api_name="/predict")
    assert len(list((server.temp / "overlays").glob("*.png"))) >= 3  # one file per request: none rewrites another's
    time.sleep(app.OVERLAY_MAX_AGE + 1)
    result, overlay = client.predict(handle_file(str(examples.image_path(manifest[0].image_id))), api_name="/predict")
    assert Image.open(overlay).size == (200, 150)  # served from Gradio's copy
    assert len(list((server.temp / "overlays").glob("*.png"))) == 1  # the older ones were deleted once served
    with urllib.request.urlopen(server.url + "config", timeout=30) as response:
        assert json.loads(response.read())  # the server is still up
    assert app.DELETE_CACHE[0] <= 3600 and app.DELETE_CACHE[1] <= 24 * 3600  # the Blocks use it: test_browser checks


def test_a_missing_model_folder_is_an_error(tmp_path):
    env = {**os.environ, "GRADIO_TEMP_DIR": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3"}
    for typo in ("./typo", "models/typo", str(tmp_path / "nowhere")):
        run = subprocess.run([sys.executable, str(ROOT / "app.py"), "--model", typo], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
        assert run.returncode == 2, run.stderr[-2000:]
        assert f"--model {typo}: no such model folder" in run.stderr and "Traceback" not in run.stderr
    from inference.loading import looks_like_a_path

    assert not looks_like_a_path("user/skin-lesion-lite0") and not looks_like_a_path("skin-lesion-lite0")
    assert looks_like_a_path("./typo") and looks_like_a_path("~/typo") and looks_like_a_path("models/typo")
