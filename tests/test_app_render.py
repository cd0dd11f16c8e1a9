"""The app's words and numbers without a server: rendering (app_render), prose (app_i18n) and the handlers of app.py
driven with a stand-in classifier."""

from __future__ import annotations

import json
import re
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from result_html import cards, summary

import app_i18n
import app_render
import examples
from app_render import Item, ModelIdentity
from inference import ImageRejected, Prediction
from inference.config import LABELS, ModelConfig

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "models" / "skin-lesion-lite0"
THRESHOLD = 0.165
IDENTITY = ModelIdentity("skin-lesion-lite0", "bundled", "sha256:0123456789ab", "2026-11-25")


def prediction(p: float, warning_code: str | None = None) -> Prediction:
    """A prediction with P(malignant) = p, split between melanoma and nevus, with a photo and an overlay."""
    diagnoses = dict.fromkeys(LABELS, 0.0) | {"mel": p, "nv": 1 - p}
    photo = Image.new("RGB", (40, 30), (180, 120, 100))
    return Prediction(p, THRESHOLD, diagnoses, warning_code and "a warning", warning_code, image=photo,
                      heatmap=np.ones((7, 7)), overlay=photo)





MEL = examples.Example("ISIC_1", "mel", "melanoma")
NV = examples.Example("ISIC_2", "nv", "melanocytic nevus")


# --- the three outcomes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("p", "warning", "code", "says", "never"), [
    (0.70, None, "refer", "At or above the malignancy threshold of 16.5%: have this lesion examined", "No verdict"),
    (0.70, "not_dermoscopy", "refer", "At or above the malignancy threshold of 16.5%: have this lesion examined", "No verdict"),
    (0.05, "not_dermoscopy", "uncertain", "No verdict for this image. This is not reassurance", "Below the malignancy threshold"),
    (0.05, None, "no_flag", "Below the malignancy threshold of 16.5%: this model raises no flag", "At or above"),
])
def test_a_card_shows_one_of_three_outcomes(p, warning, code, says, never):
    (card,) = cards(app_render.render_card(0, Item("x.jpg", prediction(p, warning)), "en"))
    assert card["decision"] == code
    assert card["malignant"] == str(code == "refer").lower()
    assert says in card["text"] and never not in card["text"]
    assert app_i18n.t("en", f"outcome_{code}") in card["text"]
    # The gate's caution stands beside the decision whenever the gate fired, also beside a referral.
    assert ("Caution: This does not look like the dermoscopy photos" in card["text"]) == (warning is not None)
    assert ("(not reliable for this image)" in card["text"]) == (code == "uncertain")


def test_korean_card():
    (card,) = cards(app_render.render_card(0, Item("x.jpg", prediction(0.7, "blurred")), "ko"))
    assert "진료 권고" in card["text"] and "피부과 전문의의 진찰을 받으세요" in card["text"] and "주의:" in card["text"]
    assert "너무 흐려서" in card["text"] and "Refer" not in card["text"]


def test_summary_counts_each_outcome_and_accuracy_only_where_it_can():
    items = [
        Item("a", prediction(0.7), MEL),  # refer, melanoma: agrees
        Item("b", prediction(0.7, "not_dermoscopy"), NV),  # refer with a caution, nevus: disagrees
        Item("c", prediction(0.05, "blank"), MEL),  # uncertain: not counted in accuracy
        Item("d", prediction(0.05), NV),  # no flag, nevus: agrees
        Item("e", ImageRejected("truncated", "damaged")),
    ]
    html = app_render.render_results(items, "en")
    total = summary(html)
    assert (total["images"], total["errors"], total["refer"], total["no-flag"], total["uncertain"], total["cautioned"]) == (
        "4", "1", "2", "1", "1", "1")
    assert (total["known"], total["judged"], total["correct"]) == ("4", "3", "2")
    assert "Refer: 2 (at or above the threshold of 16.5%; 1 of them with a caution about the photo)" in total["text"]
    assert "No flag: 1" in total["text"] and "Uncertain: 1" in total["text"] and "1 file(s) could not be read" in total["text"]
    assert "of the 3 with a decision, 2 agree with it: accuracy 66.7%" in total["text"]
    assert "1 uncertain not counted in this accuracy" in total["text"]
    marks = [c["text"] for c in cards(html)]
    assert "✓ correct" in marks[0] and "✗ incorrect" in marks[1] and "not counted (no verdict)" in marks[2] and "✓ correct" in marks[3]
    assert "✓" not in marks[2] and "✗" not in marks[2]
    # Only uncertain ones with a recorded diagnosis: no accuracy at all, and it says so.
    only = summary(app_render.render_results([Item("c", prediction(0.05, "blank"), MEL)], "ko"))
    assert only["judged"] == "0" and "정확도를 표시하지 않습니다" in only["text"]


def test_api_result_has_the_decision_code_and_no_path():
    result = app_render.api_result(prediction(0.7, "not_dermoscopy"), IDENTITY, "efficientnet_lite0")
    assert result["decision_code"] == "refer" and result["malignant"] is True
    assert result["decision"].startswith("At or above") and "Caution:" in result["decision"]
    assert result["model"] == "efficientnet_lite0 · skin-lesion-lite0 @ sha256:0123456789ab"
    uncertain = app_render.api_result(prediction(0.05, "blank"), IDENTITY, "efficientnet_lite0")
    assert (uncertain["decision_code"], uncertain["malignant"]) == ("uncertain", False)
    assert json.dumps(uncertain)  # JSON-ready


# --- upload limits ------------------------------------------------------------------------------------------------


def test_more_files_than_the_limit_are_named_at_once():
    names = [f"photo{i}.jpg" for i in range(1, 11)]
    html = app_render.render_upload_preview(names, [f"gradio_api/file=/x/{n}" for n in names], "en", 8)
    assert "10 files chosen: at most 8 are classified at once. Not classified: photo9.jpg, photo10.jpg." in html
    assert html.count("<img") == 8 and "photo8.jpg" in html
    assert app_render.render_upload_preview(names[:3], names[:3], "en", 8).count("<img") == 3
    assert "Not classified" not in app_render.render_upload_preview(names[:8], names[:8], "en", 8)
    assert app_render.too_many_notice("ko", names, 8).endswith("분석하지 않은 파일: photo9.jpg, photo10.jpg.")
    assert app_render.too_many_notice("en", names[:8], 8) == ""


# --- About --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled_metrics() -> dict:
    return json.loads((BUNDLED / "metrics.json").read_text())


def test_about_gives_absolute_counts_melanoma_gate_and_version(bundled_metrics):
    config = ModelConfig.load(BUNDLED)
    test = bundled_metrics["test"]
    fn, tp, fp, tn = (test["confusion"][k] for k in ("fn", "tp", "fp", "tn"))
    mel = test["by_diagnosis"]["mel"]
    en = app_render.render_about("en", IDENTITY, config, bundled_metrics)
    assert f"{fn:,} of {fn + tp:,} malignant lesions were below the threshold" in en
    assert f"{fp:,} of {fp + tn:,} benign lesions were referred" in en
    assert f"{mel['flagged']} of {mel['n']} melanomas referred" in en and f"{mel['n'] - mel['flagged']} missed" in en
    gate = bundled_metrics["gate"]["validation_false_alarm_rate"]
    assert f"flagged {100 * gate:.1f}% of the {bundled_metrics['validation']['n']:,} validation" in en
    assert "`skin-lesion-lite0`" in en and "sha256:0123456789ab" in en and "2026-11-25" in en and "bundled with the app" in en
    ko = app_render.render_about("ko", IDENTITY, config, bundled_metrics)
    assert f"악성 병변 {fn + tp:,}개 중 {fn:,}개" in ko and f"흑색종 {mel['n']}개 중 {mel['flagged']}개" in ko and "앱에 포함된 모델" in ko
    for line in ko.splitlines():  # every line of prose is Korean (table rows and names aside)
        if line.startswith(("- **", "### ")) and "`" not in line:
            assert re.search(r"[\uac00-\ud7a3]", line), line
    assert "Missed" not in ko and "melanomas" not in ko
    for text in (en, ko):
        assert "/" + "work" not in text and str(ROOT) not in text and "metrics.json" not in text


def test_about_without_recorded_figures_says_so():
    config = ModelConfig.load(BUNDLED)
    unknown = ModelIdentity("my-run", "local", "sha256:ab", "", fell_back=True)
    text = app_render.render_about("en", unknown, config, {"test": {"n": 10}})
    assert "not recorded" in text and "melanoma" in text.lower() and "could not be loaded" in text
    assert "No measured results" in app_render.render_about("en", unknown, config, None)


def test_one_meaning_of_refer_everywhere():
    """The card's words and the About tab's agree: refer = have it examined by a dermatologist, not a diagnosis."""
    for lang, examined, not_a_diagnosis in (("en", "examined by a dermatologist", "not a diagnosis"), ("ko", "진찰", "암 진단")):
        card, intended = app_i18n.t(lang, "decision_refer", threshold="x"), app_i18n.t(lang, "about_intended")
        assert examined in card and examined in intended
        assert not_a_diagnosis in card and not_a_diagnosis in intended
    everything = " ".join(app_i18n.EN.values())
    assert "must not be used to decide whether a lesion is examined" not in everything
    for table in (app_i18n.EN, app_i18n.KO):  # operator hints never reach the page
        assert not any(word in " ".join(table.values()) for word in ("HAM10000_DIR", "SKIN_LESION_", "environment variable", "환경 변수"))


# --- the handlers, with a stand-in classifier ---------------------------------------------------------------------


class CountingClassifier:
    """Answers like Classifier.predict and counts the images it was asked to classify."""

    def __init__(self) -> None:
        self.images = 0
        self.config = ModelConfig.load(BUNDLED)

    def predict(self, images, explain=False, tta=None):
        self.images += len(images)
        return [prediction(0.7 if i % 2 else 0.05) for i, _ in enumerate(images)]


@pytest.fixture
def served_app(monkeypatch):
    import app

    clf = CountingClassifier()
    monkeypatch.setattr(app, "SERVED", app.Served(clf, IDENTITY, None, examples.load()))
    return app, clf


def test_examples_are_classified_once_per_server(served_app):
    app, clf = served_app
    request = types.SimpleNamespace(headers={"accept-language": "ko"})
    first = app.classify_all_examples(request)
    assert len(cards(first)) == len(examples.read_manifest()) == clf.images
    for _ in range(5):  # more clicks, on all of them or on one: no more inference
        assert app.classify_all_examples(types.SimpleNamespace(headers={})).count("<article") == clf.images
        assert app.classify_one_example(types.SimpleNamespace(index=2), request).count("<article") == 1
    assert clf.images == len(examples.read_manifest())
    assert "예시 ISIC_" in first and "기록된 진단" in first
    # A forged index is answered with the placeholder, not an exception.
    assert "slc-notice" in app.classify_one_example(types.SimpleNamespace(index=10**6), request)


def test_overlay_staging_files_are_deleted(tmp_path, monkeypatch):
    import app

    folder = tmp_path / "overlays"
    first = Path(app.overlay_file(b"png-1", folder))
    assert first.read_bytes() == b"png-1"
    old = app.time.time() - app.OVERLAY_MAX_AGE - 1
    import os

    os.utime(first, (old, old))
    second = Path(app.overlay_file(b"png-2", folder))
    assert not first.exists() and second.exists()
    assert sorted(folder.iterdir()) == [second]


def test_every_refusal_reason_of_the_core_is_translated():
    """Each reason code the core can refuse an image with has its own message in both languages."""
    source = "\n".join(p.read_text() for p in (ROOT / "inference").glob("*.py"))
    reasons = set(re.findall(r'ImageRejected\(\s*"([a-z_]+)"', source))
    assert {"bad_aspect_ratio", "too_large", "truncated"} <= reasons
    for lang in ("en", "ko"):
        messages = {reason: app_i18n.rejection_message(lang, reason) for reason in reasons}
        assert all(m != app_i18n.t(lang, "reject_other") for m in messages.values()), messages
        assert all("{" not in m for m in messages.values())
