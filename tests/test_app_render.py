"""The app's words and numbers without a server: rendering (app_render), prose (app_i18n) and the handlers of app.py
driven with a stand-in classifier."""

from __future__ import annotations

import csv
import io
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
    # A real dermoscopy photo unlike the training photos: the referral stands, with the caution beside it.
    (0.70, "unfamiliar", "refer", "At or above the malignancy threshold of 16.5%: have this lesion examined", "No verdict"),
    (0.70, "blurred", "refer", "At or above the malignancy threshold of 16.5%: have this lesion examined", "No verdict"),
    # Not a photo of a skin lesion at all: never a referral, however high P (no referral for a cat).
    (0.70, "not_dermoscopy", "uncertain", "No verdict for this image. This is not reassurance", "examined by a dermatologist"),
    (0.70, "blank", "uncertain", "No verdict for this image. This is not reassurance", "examined by a dermatologist"),
    (0.05, "not_dermoscopy", "uncertain", "No verdict for this image. This is not reassurance", "Below the malignancy threshold"),
    (0.05, "unfamiliar", "uncertain", "No verdict for this image. This is not reassurance", "Below the malignancy threshold"),
    (0.05, None, "no_flag", "Below the malignancy threshold of 16.5%: this model raises no flag", "At or above"),
])
def test_a_card_shows_one_of_three_outcomes(p, warning, code, says, never):
    html = app_render.render_card(0, Item("x.jpg", prediction(p, warning)), "en")
    (card,) = cards(html)
    assert card["decision"] == code
    assert card["malignant"] == str(code == "refer").lower()
    assert says in card["text"] and never not in card["text"]
    assert app_i18n.t("en", f"outcome_{code}") in card["text"]
    # The gate's caution stands right after the decision whenever the gate fired, also beside a referral.
    if warning:
        caution = "Caution: " + app_i18n.EN[f"gate_{warning}"]
        assert caution in card["text"] and card["text"].index(says) < card["text"].index(caution)
    else:
        assert "Caution:" not in card["text"]
    meaningful = warning not in ("not_dermoscopy", "blank", "grey")
    assert card["meaningful"] == str(meaningful).lower()
    assert ("(not meaningful: not a usable photo of a skin lesion)" in card["text"]) == (not meaningful)
    assert ("(not reliable for this image)" in card["text"]) == (code == "uncertain" and meaningful)
    # An uncertain card's breakdown is folded away (a closed <details>), a decided card's is in view.
    assert ("<details" in html) == (code == "uncertain") and "<details open" not in html


def test_korean_card():
    (card,) = cards(app_render.render_card(0, Item("x.jpg", prediction(0.7, "blurred")), "ko"))
    assert "진료 권고" in card["text"] and "피부과 전문의의 진찰을 받으세요" in card["text"] and "주의:" in card["text"]
    assert "너무 흐려서" in card["text"] and "Refer" not in card["text"]
    (card,) = cards(app_render.render_card(0, Item("x.jpg", prediction(0.7, "not_dermoscopy")), "ko"))
    assert "의미 없음" in card["text"] and "진찰을 받으세요" not in card["text"] and card["decision"] == "uncertain"
    (card,) = cards(app_render.render_card(0, Item("x.jpg", prediction(0.7, "unfamiliar")), "ko"))
    assert "진료 권고" in card["text"] and "학습한 사진과 다릅니다" in card["text"]


@pytest.mark.parametrize(("p", "shown"), [(0.0, "<1%"), (0.0049, "<1%"), (0.005, "1%"), (0.1234, "12%"), (0.125, "13%"),
                                          (0.9949, "99%"), (0.995, ">99%"), (1.0, ">99%")])
def test_p_is_shown_to_the_whole_percent(p, shown):
    assert app_render.shown_p(p) == shown


def test_one_rounding_on_card_table_summary_and_report():
    """P(malignant) 12.34% reads "12%" everywhere a person sees it; the API and the CSV keep full precision."""
    item = Item("x.jpg", prediction(0.1234))
    html = app_render.render_results([item, Item("y.jpg", prediction(0.4567))], "en")
    (first, second) = cards(html)
    assert "12%" in first["text"] and "12.3" not in first["text"] and "46%" in second["text"] and "45.7" not in second["text"]
    table = re.search(r"<table class=\"slc-table\">.*?</table>", html, re.S).group(0)
    assert '<td class="slc-num">12%</td>' in table and '<td class="slc-num">46%</td>' in table
    report = app_render.render_report(item, "en", IDENTITY, "2026-12-05 10:00 UTC")
    assert ">12%<" in report and "12.3" not in report
    assert app_render.api_result(item.outcome, IDENTITY, "b")["p_malignant"] == 0.1234
    assert "0.1234" in app_render.results_csv([item], IDENTITY)
    # The diagnosis breakdown is rounded alike.
    assert first["text"].count("88%") == 1  # nevus 87.66%


def test_near_the_threshold_says_the_decision_could_flip():
    near = cards(app_render.render_card(0, Item("x", prediction(THRESHOLD - 0.03)), "en"))[0]["text"]
    far = cards(app_render.render_card(0, Item("x", prediction(0.6)), "en"))[0]["text"]
    meaningless = cards(app_render.render_card(0, Item("x", prediction(THRESHOLD, "blank")), "en"))[0]["text"]
    says = "Close to the threshold"
    assert says in near and says not in far and says not in meaningless


def test_not_meaningful_is_never_a_result_on_any_surface():
    """A photo that is not of a skin lesion (here P = 90%): no referral wording, no P presented as a result, the breakdown
    folded away, on the card, in the table, the summary and the report; the API says so with its codes."""
    item = Item("cat.jpg", prediction(0.9, "not_dermoscopy"))
    html = app_render.render_results([item, Item("ok.jpg", prediction(0.05))], "en")
    card = cards(html)[0]
    assert card["decision"] == "uncertain" and "slc-muted" in html.split("<article")[1].split(">")[0]
    assert "have this lesion examined" not in card["text"] and "Refer" not in card["text"]
    row = re.search(r'<tr data-index="0".*?</tr>', html, re.S).group(0)
    assert "not meaningful" in row and "90%" not in row and "Uncertain" in row
    assert summary(html)["refer"] == "0" and summary(html)["uncertain"] == "1"
    report = app_render.render_report(item, "en", IDENTITY, "now")
    assert 'data-decision="uncertain"' in report and "not meaningful" in report and "have this lesion examined" not in report
    result = app_render.api_result(item.outcome, IDENTITY, "b")
    assert (result["decision"], result["decision_code"], result["malignant"], result["meaningful"], result["warning_code"]) == (
        "uncertain", "uncertain", False, False, "not_dermoscopy")


def test_summary_counts_each_outcome_and_accuracy_only_where_it_can():
    items = [
        Item("a", prediction(0.7), MEL),  # refer, melanoma: agrees
        Item("b", prediction(0.7, "unfamiliar"), NV),  # refer with a caution, nevus: disagrees
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
    assert "of the 3 with a decision, 2 agree with it on benign vs malignant: accuracy 67%" in total["text"]
    assert "1 uncertain not counted in this accuracy" in total["text"]
    marks = [c["text"] for c in cards(html)]
    assert "benign/malignant ✓ agrees" in marks[0] and "benign/malignant ✗ disagrees" in marks[1]
    assert "not counted (no verdict)" in marks[2] and "benign/malignant ✓ agrees" in marks[3]
    assert "✓" not in marks[2] and "✗" not in marks[2]
    # Only uncertain ones with a recorded diagnosis: no accuracy at all, and it says so.
    only = summary(app_render.render_results([Item("c", prediction(0.05, "blank"), MEL)], "ko"))
    assert only["judged"] == "0" and "정확도를 표시하지 않습니다" in only["text"]


def test_an_example_says_what_is_compared():
    """A melanoma referred with actinic keratosis as its top diagnosis: the benign/malignant call agrees, the top
    diagnosis does not, and the card says both (no bare "✓ correct")."""
    diagnoses = dict.fromkeys(LABELS, 0.05) | {"akiec": 0.327, "mel": 0.2, "nv": 0.223}
    photo = Image.new("RGB", (40, 30))
    outcome = Prediction(0.6, THRESHOLD, diagnoses, image=photo, overlay=photo, heatmap=np.ones((7, 7)))
    html = app_render.render_results([Item("ex", outcome, MEL)], "en")
    (card,) = cards(html)
    assert "benign/malignant ✓ agrees" in card["text"]
    assert "top diagnosis ✗ Actinic keratosis / intraepithelial carcinoma (33%)" in card["text"]
    assert "✓ correct" not in card["text"] and "Top diagnosis the same as the recorded one: 0 of 1" in summary(html)["text"]
    (same,) = cards(app_render.render_results([Item("ex", prediction(0.7), MEL)], "ko"))
    assert "가장 높은 진단 ✓ 흑색종" in same["text"] and "양성/악성 ✓ 일치" in same["text"]


def test_results_table_has_one_row_per_input_linked_to_its_card():
    items = [Item("a.jpg", prediction(0.7, "unfamiliar")), Item("b.jpg", ImageRejected("truncated", "damaged")),
             Item("c.jpg", prediction(0.05))]
    html = app_render.render_results(items, "ko")
    rows = re.findall(r'<tr data-index="(\d)"[^>]*>(.*?)</tr>', html, re.S)
    assert [i for i, _ in rows] == ["0", "1", "2"]
    assert 'href="#card-1">1. a.jpg</a>' in rows[0][1] and "진료 권고" in rows[0][1] and "주의: 학습한 사진과 다름" in rows[0][1]
    assert "분석할 수 없음" in rows[1][1] and "표시 없음" in rows[2][1]
    assert all(f'id="card-{n}"' in html for n in (1, 2, 3))
    assert "slc-table" not in app_render.render_results(items[:1], "en")  # one result: its card says it all


def test_api_result_names_the_decision_like_the_csv_and_has_no_path():
    result = app_render.api_result(prediction(0.7, "unfamiliar"), IDENTITY, "efficientnet_lite0")
    assert result["decision"] == result["decision_code"] == "refer" and result["malignant"] is True
    assert result["decision_text"].startswith("At or above") and "Caution:" in result["decision_text"]
    assert result["model"] == "efficientnet_lite0 · skin-lesion-lite0 @ sha256:0123456789ab"
    uncertain = app_render.api_result(prediction(0.05, "blank"), IDENTITY, "efficientnet_lite0")
    assert (uncertain["decision"], uncertain["malignant"]) == ("uncertain", False)
    assert json.dumps(uncertain)  # JSON-ready


# --- results to take away -----------------------------------------------------------------------------------------


def test_csv_has_the_batch_clis_columns_and_cells():
    from inference.__main__ import COLUMNS, result_row

    items = [Item("a.jpg", prediction(0.7, "unfamiliar")), Item("=evil.jpg", ImageRejected("truncated", "damaged"))]
    rows = list(csv.DictReader(io.StringIO(app_render.results_csv(items, IDENTITY))))
    assert list(rows[0]) == [*COLUMNS, "model"]
    for row, item in zip(rows, items, strict=True):
        assert {k: row[k] for k in COLUMNS} == result_row(item.name, item.outcome)
        assert row["model"] == "skin-lesion-lite0 @ sha256:0123456789ab"
    assert (rows[0]["decision"], rows[0]["malignant"], rows[0]["p_malignant"]) == ("refer", "1", "0.7000")
    assert rows[1]["path"].startswith("'=") and rows[1]["error"].startswith("truncated")  # spreadsheet-safe, like the CLI


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_report_is_one_printable_page_with_everything_a_record_needs(lang):
    photo = Image.new("RGB", (400, 300), (180, 120, 100))
    outcome = prediction(0.7, "unfamiliar")
    outcome.image, outcome.overlay = photo, photo
    report = app_render.render_report(Item("lesion 1.jpg", outcome, MEL), lang, IDENTITY, "2026-12-05 10:00 UTC")
    assert report.startswith("<!doctype html>") and f'<html lang="{lang}">' in report and "@page" in report
    assert report.count("data:image/jpeg;base64,") == 2  # photo and overlay, inlined
    assert "left:12.50%;top:0.00%;width:75.00%;height:100.00%" in report  # the square the model sees on a 4:3 photo
    for text in ("skin-lesion-lite0", "sha256:0123456789ab", "2026-11-25", "2026-12-05 10:00 UTC", "lesion 1.jpg", "70%", "16.5%"):
        assert text in report, text
    words = app_i18n.TRANSLATIONS[lang]
    for key in ("report_title", "outcome_refer", "caution", "gate_unfamiliar", "report_threshold", "report_model", "report_version"):
        assert app_render.esc(words[key]) in report, key
    assert app_render.esc(words["disclaimer"].replace("**", "")) in report
    if lang == "ko":
        assert "Refer" not in report and "Probability" not in report


def test_preview_draws_the_square_the_model_sees():
    html = app_render.render_upload_preview(["wide.jpg", "tall.jpg", "odd.bin"], ["u1", "u2", "u3"], "en", 8,
                                            [(400, 300), (300, 600), None])
    assert "left:12.50%;top:0.00%;width:75.00%;height:100.00%" in html
    assert "left:0.00%;top:25.00%;width:100.00%;height:50.00%" in html
    assert html.count('class="slc-square"') == 2 and "Dashed square" in html
    assert "Dashed square" not in app_render.render_upload_preview(["x"], ["u"], "en", 8, [None])


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
    assert f"{100 * gate:.1f}% of the {bundled_metrics['validation']['n']:,} validation dermoscopy images" in en
    assert "`skin-lesion-lite0`" in en and "sha256:0123456789ab" in en and "2026-11-25" in en and "bundled with the app" in en
    ko = app_render.render_about("ko", IDENTITY, config, bundled_metrics)
    assert f"악성 병변 {fn + tp:,}개 중 {fn:,}개" in ko and f"흑색종 {mel['n']}개 중 {mel['flagged']}개" in ko and "앱에 포함된 모델" in ko
    for line in ko.splitlines():  # every line of prose is Korean (table rows and names aside)
        if line.startswith(("- **", "### ")) and "`" not in line:
            assert re.search(r"[\uac00-\ud7a3]", line), line
    assert "Missed" not in ko and "melanomas" not in ko
    for text in (en, ko):
        assert "/" + "work" not in text and str(ROOT) not in text and "metrics.json" not in text


def test_about_puts_figures_from_other_clinics_beside_the_in_source_ones(bundled_metrics):
    """The served recipe's held-out-source runs (TTA, as served), each source with n, AUC, sensitivity, specificity and
    the gate's warnings, beside the test split; what "another clinic" means; how precise P is, as measured."""
    config = ModelConfig.load(BUNDLED)
    identity = IDENTITY
    en = app_render.render_about("en", identity, config, bundled_metrics)
    results = app_render.held_out_results(bundled_metrics)
    kinds = {r.source: r.kind for r in results}
    assert kinds == {"rosendahl": "clinic", "vidir_modern": "clinic", "vienna_dias": "clinic", "isic2017": "archive"}
    served = [run for run in bundled_metrics["out_of_source"]
              if run["run"] in ("rosendahl/device-augment", "rosendahl/device-augment-seed7")]
    # the recipe's two seeds; runs of other recipes (e.g. trained with ISIC 2017) are left out
    assert len(next(r for r in results if r.source == "rosendahl").figures) == 2
    archive = next(line for line in en.splitlines() if line.startswith("| Another archive: ISIC 2017"))
    ooa = next(run for run in bundled_metrics["out_of_source"] if run.get("held_out_kind") == "archive")
    assert f"{ooa['held_out_tta']['auc']:.3f}" in archive
    aucs = sorted(f"{run['held_out_tta']['auc']:.3f}" for run in served)
    row = next(line for line in en.splitlines() if line.startswith("| Another clinic: rosendahl"))
    held = served[0]["held_out"]
    assert f"{held['n']:,} ({held['malignant']:,})" in row and f"{aucs[0]}–{aucs[1]}" in row
    assert "Queensland" in row and row.count("%") >= 4  # sensitivity and specificity, each a range
    same_gate = app_render.gate_design(served[0]["gate"]) == app_render.gate_design(bundled_metrics["gate"])
    assert row.endswith("| – |") != same_gate  # the gate's warnings only from runs whose gate is the one served
    test = bundled_metrics["test"]
    in_source = next(line for line in en.splitlines() if line.startswith("| Test split: the clinics it was trained on"))
    assert f"{test['auc']:.3f}" in in_source and app_render.percent(test["sensitivity"]) in in_source
    assert "left out of training entirely" in en
    assert "whole percent" in en
    resave = bundled_metrics.get("resave")
    if resave:  # the measured spread of P when a photo is re-saved (`python -m train.resave`)
        assert f"up to {resave['max_points']:.1f} points" in en
    ko = app_render.render_about("ko", identity, config, bundled_metrics)
    assert "다른 병원: rosendahl (호주 퀸즐랜드)" in ko and "학습에서 완전히 뺀" in ko
    assert "Another clinic" not in ko and "left out of training" not in ko


def test_about_shows_whatever_held_out_figures_are_recorded(bundled_metrics):
    config = ModelConfig.load(BUNDLED)
    bare = {k: v for k, v in bundled_metrics.items() if k != "out_of_source"}
    text = app_render.render_about("en", IDENTITY, config, bare)
    assert "Not measured for this model's training recipe" in text and "| Test split" in text
    run = next(r for r in bundled_metrics["out_of_source"] if r["run"] == "rosendahl/device-augment")
    held = {"n": 600, "malignant": 117, "auc": 0.71, "sensitivity": 0.9, "specificity": 0.35, "gate_flag_rate": 0.04}
    archive_run = {**run, "held_out": held, "held_out_tta": held, "held_out_kind": "archive",
                   "training": {**run["training"], "holdout_source": "isic2017"}}
    text = app_render.render_about("en", IDENTITY, config, {**bare, "out_of_source": [archive_run]})
    row = next(line for line in text.splitlines() if line.startswith("| Another archive"))
    gate = "4.0%" if app_render.gate_design(run.get("gate")) == app_render.gate_design(bare["gate"]) else "–"
    assert row == f"| Another archive: ISIC 2017 challenge photos | 600 (117) | 0.710 | 90.0% | 35.0% | {gate} |", row
    other = {**archive_run, "training": {**archive_run["training"], "lr": 1.0}}  # another recipe: not this model's evidence
    assert "Another archive" not in app_render.render_about("en", IDENTITY, config, {**bare, "out_of_source": [other]})


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
    first, _, _ = app.classify_all_examples("", request)
    assert len(cards(first)) == len(examples.read_manifest()) == clf.images
    for _ in range(5):  # more clicks, on all of them or on one: no more inference
        assert app.classify_all_examples("", types.SimpleNamespace(headers={}))[0].count("<article") == clf.images
        assert app.classify_one_example("", types.SimpleNamespace(index=2), request)[0].count("<article") == 1
    assert clf.images == len(examples.read_manifest())
    assert "예시 ISIC_" in first and "기록된 진단" in first
    # A forged index is answered with the placeholder, not an exception.
    html, downloads, view = app.classify_one_example("", types.SimpleNamespace(index=10**6), request)
    assert "slc-notice" in html and view is None and downloads is None


def test_the_page_language_wins_and_a_switch_rerenders_without_the_model(served_app, tmp_path, monkeypatch):
    """Gradio's language menu (sent as the page's language) beats the browser's Accept-Language; switching it re-renders
    the results, the downloads, the preview, About and captions from the session's view, with no model run."""
    app, clf = served_app
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    english_browser = types.SimpleNamespace(headers={"accept-language": "en-US,en;q=0.9"})
    photos = [str(examples.image_path(e.image_id)) for e in examples.read_manifest()[:2]]
    html, downloads, view = app.classify(photos, "ko", english_browser)
    assert "악성 확률" in html and "Probability of malignancy" not in html and clf.images == 2
    files = downloads
    assert [Path(f).name for f in files] == ["skin-lesion-results.csv", *(f"report-{i}-{Path(p).stem}.html" for i, p in (
        (1, photos[0]), (2, photos[1])))]
    assert all(Path(f).is_relative_to(tmp_path) for f in files) and "<html lang=\"ko\">" in Path(files[1]).read_text()
    results, downloads_en, preview, about, tab, about_tab, gallery = app.relang("en", view, photos, english_browser)
    assert "Probability of malignancy" in results and "악성 확률" not in results and clf.images == 2
    assert '<html lang="en">' in Path(downloads_en[1]).read_text() and downloads_en[0] == files[0]
    assert "Will be classified (2)" in preview and "Dashed square" in preview
    assert "### The model" in about and gallery[0][1] == "Nevus" and about_tab["label"] == "About this model"
    results, _, preview, about, tab, about_tab, gallery = app.relang("ko-KR", None, None, english_browser)
    assert "예시를 클릭하세요" in results and preview == "" and "### 모델" in about and gallery[0][1] == "모반(점)"
    assert (tab["label"], about_tab["label"]) == ("사진과 결과", "모델 정보")
    # An API client sends no page language: Accept-Language decides.
    assert "악성 확률" in app.classify(photos[:1], "", types.SimpleNamespace(headers={"accept-language": "ko"}))[0]


def test_downloads_are_staged_once_and_purged_with_gradios_cache(served_app, tmp_path, monkeypatch):
    app, _ = served_app
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    request = types.SimpleNamespace(headers={})
    photo = str(examples.image_path(examples.read_manifest()[0].image_id))
    _, _, first = app.classify([photo], "en", request)
    batch = Path(first["files"]["en"][0]).parent
    assert sorted(p.name for p in batch.iterdir()) == ["en", "ko", "skin-lesion-results.csv"]
    old = app.time.time() - app.DOWNLOAD_MAX_AGE - 1
    import os

    os.utime(batch, (old, old))
    app.classify([photo], "en", request)
    assert not batch.exists() and len(list((tmp_path / "downloads").iterdir())) == 1
    _, downloads = app.shown(first, "en")  # a switch after the purge: no missing file handed to Gradio
    assert downloads is None


def test_a_cropped_photo_is_classified_under_its_own_name(served_app, tmp_path, monkeypatch):
    """The crop step: a click sets the square's centre, the slider its size; the model gets exactly that square."""
    app, clf = served_app
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    photo = tmp_path / "lesion.jpg"
    pixels = np.zeros((300, 400, 3), np.uint8)
    pixels[:, 200:] = 255  # left half black, right half white
    Image.fromarray(pixels).save(photo, quality=95)
    request = types.SimpleNamespace(headers={})
    centre, preview = app.move_crop(str(photo), 50, "en", types.SimpleNamespace(index=[350, 150]), request)
    assert centre == (0.875, 0.5) and 'data-box="250,75,400,225"' in preview and "Dashed square" in preview
    seen = []
    clf.predict = lambda images, explain=False, tta=None: seen.extend(images) or [prediction(0.05) for _ in images]
    html, downloads, view = app.classify_crop(str(photo), centre, 50, "ko", request)
    ((square,),) = [seen]
    assert square.size == (150, 150) and np.asarray(square).mean() > 250  # the right (white) part, 150 px square
    (card,) = cards(html)
    assert "lesion.jpg (자름)" in card["text"] and "lesion.jpg (cropped)" in view["html"]["en"] and len(downloads) == 2
    assert app_render.crop_box(400, 300, (0.0, 0.0), 0.6) == (0, 0, 180, 180)  # clamped inside the photo
    assert app_render.crop_box(400, 300, (0.5, 0.5), 1.0) == (50, 0, 350, 300)
    assert app.crop_centre("forged") == app.DEFAULT_CROP_CENTRE and app.crop_side(10_000) == 1.0
    html, downloads, view = app.classify_crop(None, None, None, "en", request)
    assert "No image to classify" in html and view is None
    (tmp_path / "junk.jpg").write_bytes(b"not an image")
    (card,) = cards(app.classify_crop(str(tmp_path / "junk.jpg"), centre, 50, "en", request)[0])
    assert card["error"] == "not_an_image"


def test_thumbnail_size_follows_exif_rotation(tmp_path):
    import app

    plain, turned = tmp_path / "plain.jpg", tmp_path / "turned.jpg"
    Image.new("RGB", (400, 300)).save(plain)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter
    Image.new("RGB", (400, 300)).save(turned, exif=exif)
    (tmp_path / "junk.jpg").write_bytes(b"not an image")
    assert app.photo_size(str(plain)) == (400, 300) and app.photo_size(str(turned)) == (300, 400)
    assert app.photo_size(str(tmp_path / "junk.jpg")) is None


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
