"""The app in a real browser (Debian's Chromium driven by Playwright), in English and in Korean.

The app runs in-process on 127.0.0.1; screenshots go to artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

import examples

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RESULT_TIMEOUT_MS = 60_000


@pytest.fixture(scope="session")
def app_model() -> Path:
    """The model folder the app serves in these tests: the bundled one."""
    import inference.loading

    return inference.loading.BUNDLED_MODEL


@pytest.fixture(scope="module")
def classifier(app_model):
    from inference import load_classifier

    return load_classifier(str(app_model))


@pytest.fixture(scope="module")
def app_url(classifier):
    import app

    demo = app.build_demo(classifier, app.load_examples(classifier))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app.launch(demo, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (see README)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def two_images(data_dir) -> list[Path]:
    """A melanoma example (true label known) and a test-split image that is not an example."""
    manifest = examples.read_manifest()
    ids = {e.image_id for e in manifest}
    melanoma = next(e for e in manifest if e.dx == "mel")
    other = next(p for p in sorted((data_dir / "images").glob("*.jpg")) if p.stem not in ids)
    return [data_dir / "images" / f"{melanoma.image_id}.jpg", other]


def classify_two(page, url: str, images: list[Path]) -> list[dict]:
    """Open the page, upload the images, press Classify; the rendered cards' numbers and Grad-CAM image state."""
    page.goto(url)
    page.locator("#results .slc-notice").wait_for()  # the page is rendered and its load event has run
    page.locator("#upload input[type=file]").set_input_files([str(p) for p in images])
    for image in images:
        page.locator(f'#upload td.filename[aria-label="{image.name}"]').wait_for()
    page.locator("#classify").click()
    page.locator("#results article.slc-card").nth(len(images) - 1).wait_for(timeout=RESULT_TIMEOUT_MS)
    page.wait_for_function("() => [...document.querySelectorAll('#results img')].every(i => i.complete && i.naturalWidth > 0)")
    return page.eval_on_selector_all(
        "#results article.slc-card",
        """cards => cards.map(c => ({
            p: c.querySelector('.slc-p-value').textContent.trim(),
            data_p: parseFloat(c.dataset.pMalignant),
            text: c.innerText,
            gradcam: [...c.querySelectorAll('img.slc-gradcam')].map(
                i => [i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width]),
            photo: [...c.querySelectorAll('img.slc-photo')].length,
            truth: c.querySelector('[data-truth]')?.dataset.truth ?? null,
        }))""",
    )


# Records whether the results area ever showed "Classifying image i of n" (the progress of a running batch).
WATCH_PROGRESS = """() => {
    window.progressSeen = false;
    new MutationObserver(() => {
        const text = document.querySelector('#results')?.innerText ?? '';
        if (/Classifying image \\d+ of \\d+/.test(text)) window.progressSeen = true;
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def check_cards(found: list[dict], images: list[Path]) -> None:
    assert len(found) == len(images)
    for card, image in zip(found, images, strict=True):
        assert image.name in card["text"]
        assert re.fullmatch(r"\d{1,3}\.\d%", card["p"]), card["p"]
        assert float(card["p"][:-1]) == pytest.approx(100 * card["data_p"], abs=0.051)
        assert card["photo"] == 1
        ((width, height, shown),) = card["gradcam"]  # one Grad-CAM overlay, decoded and laid out
        assert width > 0 and height > 0 and shown > 50
    assert found[0]["truth"] == "mel" and found[1]["truth"] is None


def check_page_is_clean(page) -> None:
    """No raw JSON or stack trace in what a person sees; the API-only components stay hidden."""
    visible = page.locator("body").inner_text()
    assert '"p_malignant"' not in visible and "{'" not in visible and "Traceback" not in visible
    assert not page.get_by_text("Grad-CAM overlay", exact=True).is_visible()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_english_page(browser, app_url, two_images):
    from inference import DISCLAIMER

    page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 900})
    found = classify_two(page, app_url, two_images)
    check_cards(found, two_images)
    disclaimer = page.locator("#disclaimer")
    assert disclaimer.is_visible() and disclaimer.bounding_box()["y"] < 300  # at the top, not in a footer
    assert DISCLAIMER in disclaimer.inner_text()
    assert "Probability of malignancy" in found[0]["text"] and "malignancy threshold of" in found[0]["text"]
    assert "Recorded diagnosis: Melanoma" in found[0]["text"]
    assert "2 image(s) classified" in page.locator("#results .slc-summary").inner_text()
    check_page_is_clean(page)
    screenshot(page, "app-en.png")
    # Clicking an example classifies it, with its recorded diagnosis and a correct/incorrect mark.
    page.locator("#examples button.thumbnail-item").first.click()
    page.wait_for_function("() => document.querySelectorAll('#results article.slc-card').length === 1")
    example = page.locator("#results article.slc-card").inner_text()
    assert "Example ISIC_" in example and re.search("✓ correct|✗ incorrect", example)
    # Classifying all examples gives the accuracy over those with a decision.
    page.locator("#classify-examples").click()
    page.wait_for_function("() => document.querySelectorAll('#results article.slc-card').length === 8")
    text = page.locator("#results .slc-summary").inner_text()
    assert re.search(r"Recorded diagnosis known for 8; of the \d with a decision, \d agree with it: accuracy \d+\.\d%", text), text
    # A batch of uploads shows progress while it runs.
    page.evaluate(WATCH_PROGRESS)
    page.locator("#classify").click()
    page.wait_for_function("() => document.querySelectorAll('#results article.slc-card').length === 2")
    assert page.evaluate("window.progressSeen"), "no progress was shown while the batch ran"
    page.get_by_role("tab", name="About this model").click()
    about = page.locator("#about-model")
    about.get_by_text("Results on held-out lesions").wait_for()
    assert "AUC" in about.inner_text() and "CC BY-NC 4.0" in page.locator("body").inner_text()
    assert re.search(r"Missed cancers: \d+ of \d+ malignant", about.inner_text()) and "melanomas referred" in about.inner_text()
    assert "/work" not in page.locator("body").inner_text() and str(ROOT) not in page.locator("body").inner_text()
    screenshot(page, "app-en-about.png")
    page.close()


def test_korean_page(browser, app_url, two_images):
    page = browser.new_page(locale="ko-KR", viewport={"width": 1280, "height": 900})
    found = classify_two(page, app_url, two_images)
    check_cards(found, two_images)
    assert "진단이 아닙니다" in page.locator("#disclaimer").inner_text()
    assert page.locator("#classify").inner_text().strip() == "분석하기"
    assert "악성 확률" in found[0]["text"] and "기록된 진단: 흑색종" in found[0]["text"]
    assert "Probability of malignancy" not in page.locator("#results").inner_text()
    assert "이미지 2장 분석" in page.locator("#results .slc-summary").inner_text()
    check_page_is_clean(page)
    screenshot(page, "app-ko.png")
    page.close()


def test_phone_sees_progress_and_results_and_the_whole_gallery(browser, app_url, two_images):
    """390 x 844: Classify brings the results (and the progress) into view; every example is on screen, none clipped."""
    page = browser.new_page(locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(app_url)
    page.locator("#results .slc-notice").wait_for()
    gallery = page.locator("#examples")
    gallery.scroll_into_view_if_needed()
    thumbs = page.locator("#examples button.thumbnail-item")
    assert thumbs.count() == 8
    for i in range(8):
        box = thumbs.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (i, box)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scrolling anywhere
    page.locator("#upload input[type=file]").set_input_files([str(p) for p in two_images])
    page.locator("#upload-preview .slc-thumbs img").nth(1).wait_for()
    page.evaluate(WATCH_PROGRESS)
    page.locator("#classify").tap()
    page.locator("#results article.slc-card").nth(1).wait_for(timeout=RESULT_TIMEOUT_MS)
    results = page.locator("#results").bounding_box()
    assert results["y"] < 844 and results["y"] + results["height"] > 0, results  # the results are in the viewport
    first = page.locator("#results article.slc-card").first.bounding_box()
    assert 0 <= first["y"] < 844, first
    assert page.evaluate("window.progressSeen"), "no progress was shown"
    screenshot(page, "app-phone-en.png")
    # Tapping an example also brings its result into view.
    page.evaluate("() => window.scrollTo(0, 0)")
    thumbs.nth(4).tap()
    page.wait_for_function("() => document.querySelectorAll('#results article.slc-card').length === 1")
    page.wait_for_timeout(300)
    card = page.locator("#results article.slc-card").bounding_box()
    assert 0 <= card["y"] < 844, card
    page.close()


def test_more_than_eight_files_are_named_before_classifying(browser, app_url, data_dir, tmp_path):
    images = sorted((data_dir / "images").glob("ISIC_*.jpg"))[:10]
    page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 900})
    page.goto(app_url)
    page.locator("#results .slc-notice").wait_for()
    page.locator("#upload input[type=file]").set_input_files([str(p) for p in images])
    preview = page.locator("#upload-preview .slc-preview")
    preview.wait_for()
    text = preview.inner_text()
    assert f"10 files chosen: at most 8 are classified at once. Not classified: {images[8].name}, {images[9].name}." in text
    page.wait_for_function("() => [...document.querySelectorAll('#upload-preview img')].every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator("#upload-preview img").count() == 8
    assert "dermatoscope" in page.locator("#guidance").inner_text()
    page.close()


def test_app_without_examples_says_so_without_operator_hints(classifier, monkeypatch):
    """A model whose test split holds none of the examples: the page still builds and says so, in visitors' words."""
    import json

    import app

    monkeypatch.setattr(app, "SERVED", app.SERVED)  # build_demo replaces what the handlers serve: put it back after
    demo = app.build_demo(classifier, examples.ExampleSet([], [e.image_id for e in examples.read_manifest()], {}))
    assert demo.delete_cache == app.DELETE_CACHE  # Gradio deletes old uploads and returned files
    config = demo.get_config_file()
    ids = {c.get("props", {}).get("elem_id") for c in config["components"]}
    assert "examples-missing" in ids and "examples" not in ids and "upload" in ids
    page = json.dumps(config, default=str)
    assert "HAM10000_DIR" not in page and "SKIN_LESION_" not in page
