"""The app in a real browser (Debian's Chromium driven by Playwright): English and Korean, light and dark, desktop
(1280 x 900) and phone (390 x 844).

The app runs in-process on 127.0.0.1; screenshots go to artifacts/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import csv
import io
import json
import re
import socket
from pathlib import Path

import pytest
from PIL import Image

import examples
from app_i18n import source_name
from app_render import held_out_results

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RESULT_TIMEOUT_MS = 60_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
WCAG_AA = 4.5  # minimum contrast of normal text


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


@pytest.fixture(scope="module")
def eight_images(data_dir) -> list[Path]:
    return sorted((data_dir / "images").glob("ISIC_*.jpg"))[:8]


@pytest.fixture(scope="module")
def grey_photo(tmp_path_factory) -> Path:
    """A uniform grey picture: the gate's `blank`, an uncertain card with a caution (and no P presented as a result)."""
    path = tmp_path_factory.mktemp("grey") / "grey.png"
    Image.new("RGB", (200, 150), (128, 128, 128)).save(path)
    return path


def open_page(browser, url: str, locale: str = "en-US", viewport: dict = DESKTOP, scheme: str = "light", **options):
    page = browser.new_page(locale=locale, viewport=viewport, color_scheme=scheme, **options)
    page.goto(url)
    page.locator("#results .slc-notice").wait_for()  # the page is rendered and its load event has run
    return page


def upload(page, images: list[Path]) -> None:
    page.locator("#upload input[type=file]").set_input_files([str(p) for p in images])
    page.locator("#upload-preview .slc-thumbs img").nth(min(len(images), 8) - 1).wait_for()


def wait_for_cards(page, n: int) -> None:
    page.locator("#results article.slc-card").nth(n - 1).wait_for(timeout=RESULT_TIMEOUT_MS)
    page.wait_for_function(f"() => document.querySelectorAll('#results article.slc-card').length === {n}")
    page.wait_for_function("() => [...document.querySelectorAll('#results img')].every(i => i.complete && i.naturalWidth > 0)")


def classify(page, images: list[Path]) -> list[dict]:
    """Upload the images, press Classify; the rendered cards' numbers and Grad-CAM image state."""
    upload(page, images)
    page.locator("#classify").click()
    wait_for_cards(page, len(images))
    return page.eval_on_selector_all(
        "#results article.slc-card",
        """cards => cards.map(c => ({
            p: c.querySelector('.slc-p-value')?.textContent.trim(),
            data_p: parseFloat(c.dataset.pMalignant),
            decision: c.dataset.decision,
            text: c.innerText,
            gradcam: [...c.querySelectorAll('img.slc-gradcam')].map(
                i => [i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width]),
            photo: [...c.querySelectorAll('img.slc-photo')].length,
            square: [...c.querySelectorAll('.slc-square')].length,
            truth: c.querySelector('[data-truth]')?.dataset.truth ?? null,
        }))""",
    )


def classify_two(page, url: str, images: list[Path]) -> list[dict]:
    page.goto(url)
    page.locator("#results .slc-notice").wait_for()
    return classify(page, images)


# Records, frame by frame while a batch runs, whether the Classify button was busy and whether the progress text
# ("Classifying image i of n", in either language) was inside the window.
WATCH_PROGRESS = """() => {
    window.progressSeen = false; window.progressInView = false; window.busySeen = false; window.stopWatch = false;
    const pattern = /Classifying image \\d+ of \\d+|\\d+장 중 \\d+번째 이미지 분석 중/;
    const tick = () => {
        if (document.querySelector('#classify')?.getAttribute('aria-busy') === 'true') window.busySeen = true;
        for (const el of document.querySelectorAll('#results *')) {
            if (el.children.length || !pattern.test(el.textContent)) continue;
            window.progressSeen = true;
            const box = el.getBoundingClientRect();
            if (box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight) window.progressInView = true;
        }
        if (!window.stopWatch) requestAnimationFrame(tick);
    };
    tick();
}"""

# WCAG contrast of each matched element's text against the first opaque background behind it.
CONTRAST = """(selector) => {
    const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
        .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    const background = el => {
        for (let e = el; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
        }
        return [255, 255, 255];
    };
    return [...document.querySelectorAll(selector)].filter(el => el.offsetParent !== null && el.textContent.trim()).map(el => {
        const [a, b] = [lum(rgb(getComputedStyle(el).color).slice(0, 3)), lum(background(el))].sort((x, y) => y - x);
        return {text: el.textContent.trim().slice(0, 40), ratio: (a + 0.05) / (b + 0.05)};
    });
}"""

# Words (runs of non-space characters) that the layout split across two lines: "1,4/97", "Tes/t", "더모/스코피" (a
# break after a hyphen, a dash or a slash, or before an opening parenthesis, is fair).
SPLIT_WORDS = """(selector) => {
    const split = [];
    for (const root of document.querySelectorAll(selector)) {
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (!node.parentElement || node.parentElement.offsetParent === null) continue;
            if (node.parentElement.closest('.slc-name, .slc-title')) continue;  // file names may wrap anywhere
            for (const match of node.textContent.matchAll(/\\S+/g)) {
                if (match[0].length > 24) continue;  // a file name or a URL may wrap
                const range = document.createRange();
                range.setStart(node, match.index);
                range.setEnd(node, match.index + match[0].length);
                const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
                if (tops.size < 2) continue;
                let first = null, at = -1;  // where the second line starts
                for (let i = 0; i < match[0].length && at < 0; i++) {
                    range.setStart(node, match.index + i);
                    range.setEnd(node, match.index + i + 1);
                    const top = Math.round(range.getBoundingClientRect().top);
                    if (first === null) first = top; else if (top > first + 2) at = i;
                }
                if (at > 0 && ('-–/'.includes(match[0][at - 1]) || match[0][at] === '(')) continue;
                split.push(match[0]);
            }
        }
    }
    return split;
}"""


# Elements whose content spills out of them (text running into the next table cell).
OVERFLOWING = """(selector) => [...document.querySelectorAll(selector)]
    .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.trim())"""


def check_cards(found: list[dict], images: list[Path]) -> None:
    assert len(found) == len(images)
    for card, image in zip(found, images, strict=True):
        assert image.name in card["text"]
        assert re.fullmatch(r"<1%|>99%|\d{1,2}%", card["p"]), card["p"]  # to the whole percent
        if card["p"][0].isdigit():
            assert float(card["p"][:-1]) == pytest.approx(100 * card["data_p"], abs=0.5)
        assert card["photo"] == 1 and card["square"] == 1  # the photo, with the square the model sees
        ((width, height, shown),) = card["gradcam"]  # one Grad-CAM overlay, decoded and laid out
        assert width > 0 and height > 0 and shown > 50
    assert found[0]["truth"] == "mel" and found[1]["truth"] is None


def check_page_is_clean(page) -> None:
    """No raw JSON or stack trace in what a person sees; the API-only components stay hidden."""
    visible = page.locator("body").inner_text()
    assert '"p_malignant"' not in visible and "{'" not in visible and "Traceback" not in visible
    assert not page.get_by_text("Grad-CAM overlay", exact=True).is_visible()


def screenshot(page, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


def pick_language(page, name: str) -> None:
    """Gradio's own menu: footer Settings -> Language -> `name`."""
    page.locator("footer button:has(img[alt='Settings']), footer button:has(img[alt='설정'])").click()
    page.locator("input[aria-label=Language]").click()
    page.locator("[role=option]", has_text=name).click()
    page.keyboard.press("Escape")
    page.locator("div[role=dialog] .backdrop, .backdrop").first.click(position={"x": 5, "y": 5})  # close the Settings panel
    page.locator("div[role=dialog]").wait_for(state="detached")
    page.wait_for_function(f"() => document.documentElement.lang === '{'ko' if name == '한국어' else 'en'}'")


# --- the page, in English and Korean -------------------------------------------------------------------------------


def test_english_page(browser, app_url, two_images):
    from inference import DISCLAIMER

    page = browser.new_page(locale="en-US", viewport=DESKTOP)
    found = classify_two(page, app_url, two_images)
    check_cards(found, two_images)
    disclaimer = page.locator("#disclaimer")
    assert disclaimer.is_visible() and disclaimer.bounding_box()["y"] < 300  # at the top, not in a footer
    assert DISCLAIMER in disclaimer.inner_text()
    assert "Probability of malignancy" in found[0]["text"] and "malignancy threshold of" in found[0]["text"]
    assert "Recorded diagnosis: Melanoma" in found[0]["text"]
    assert "2 image(s) classified" in page.locator("#results .slc-summary").inner_text()
    assert page.locator("#results table.slc-table tbody tr").count() == 2  # the results at a glance
    check_page_is_clean(page)
    screenshot(page, "app-en.png")
    # The tab and the button are not both "Classify"; the placeholder does not send examples to the button.
    assert page.get_by_role("tab", name="Photos and results").is_visible() and page.locator("#classify").inner_text().strip() == "Classify"
    # Clicking an example classifies it, with its recorded diagnosis and what is compared with it.
    page.locator("#examples button.thumbnail-item").first.click()
    page.wait_for_function("() => document.querySelectorAll('#results article.slc-card').length === 1")
    example = page.locator("#results article.slc-card").inner_text()
    assert "Example ISIC_" in example and re.search("benign/malignant (✓ agrees|✗ disagrees)", example) and "top diagnosis" in example
    assert "✓ correct" not in example
    # Classifying all examples gives the accuracy over those with a decision.
    page.locator("#classify-examples").click()
    page.wait_for_function("() => document.querySelectorAll('#results article.slc-card').length === 8")
    text = page.locator("#results .slc-summary").inner_text()
    assert re.search(r"Recorded diagnosis known for 8; of the \d with a decision, \d agree with it on benign vs malignant: "
                     r"accuracy \d+%", text), text
    page.get_by_role("tab", name="About this model").click()
    about = page.locator("#about-model")
    about.get_by_text("Results on held-out lesions").wait_for()
    assert "AUC" in about.inner_text() and "CC BY-NC 4.0" in page.locator("body").inner_text()
    assert re.search(r"Missed cancers: \d+ of \d+ malignant", about.inner_text()) and "melanomas referred" in about.inner_text()
    for held in held_out_results(json.loads((ROOT / "models/skin-lesion-lite0/metrics.json").read_text())):  # out of source
        label = "Another clinic: " if held.kind == "clinic" else "Another archive: "
        lowest_auc = f"{min(f['auc'] for f in held.figures):.3f}"
        assert label + source_name("en", held.source) in about.inner_text() and lowest_auc in about.inner_text()
    assert "/work" not in page.locator("body").inner_text() and str(ROOT) not in page.locator("body").inner_text()
    screenshot(page, "app-en-about.png")
    page.close()


def test_korean_page(browser, app_url, two_images):
    page = browser.new_page(locale="ko-KR", viewport=DESKTOP)
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


# --- issue 25: the page as a clinician meets it --------------------------------------------------------------------


@pytest.mark.parametrize(("scheme", "locale", "viewport"), [("dark", "en-US", DESKTOP), ("dark", "ko-KR", PHONE),
                                                            ("light", "en-US", PHONE), ("light", "ko-KR", DESKTOP)])
def test_disclaimer_cautions_and_decisions_are_readable_in_light_and_dark(browser, app_url, two_images, grey_photo, scheme, locale,
                                                                           viewport):
    """Dark mode (Gradio follows the system's) must not hide the warnings: every coloured text keeps WCAG AA contrast."""
    page = open_page(browser, app_url, locale=locale, scheme=scheme, viewport=viewport)
    assert page.evaluate("document.body.classList.contains('dark')") == (scheme == "dark")
    classify(page, [*two_images, grey_photo])
    assert page.locator("#results .slc-alert[data-warning='blank']").is_visible()  # a caution on screen to measure
    checked = []
    for selector in ("#disclaimer p", "#disclaimer strong", ".slc-alert", ".slc-alert strong", ".slc-decision", ".slc-near",
                     ".slc-ok, .slc-bad", ".slc-outcome", "#results .slc-table td", ".slc-p-note", ".slc-p-value", ".slc-threshold-label",
                     ".slc-dx-hidden summary"):
        found = page.evaluate(CONTRAST, selector)
        checked += found
        assert not [f for f in found if f["ratio"] < WCAG_AA], (selector, [f for f in found if f["ratio"] < WCAG_AA])
    assert len(checked) >= 10
    assert page.evaluate(OVERFLOWING, "#results .slc-table td, #results .slc-table th") == []  # the table's cells hold their text
    screenshot(page, f"contrast-{scheme}-{locale[:2]}-{'phone' if viewport == PHONE else 'desktop'}.png")
    page.close()


def test_uncertain_card_folds_its_breakdown_and_greys_what_is_not_a_result(browser, app_url, grey_photo):
    page = open_page(browser, app_url)
    classify(page, [grey_photo])
    card = page.locator("#results article.slc-card")
    assert card.get_attribute("data-decision") == "uncertain" and card.get_attribute("data-meaningful") == "false"
    assert "not meaningful" in card.inner_text() and "examined by a dermatologist" not in card.inner_text()
    assert not card.locator("table.slc-dx").is_visible()  # folded away: no reassuring "benign 68%" in full contrast
    value = card.locator(".slc-p-value")
    assert value.evaluate("e => getComputedStyle(e).fontWeight") == "400"
    card.locator("details.slc-dx-hidden summary").click()  # still there for who asks
    assert card.locator("table.slc-dx").is_visible()
    page.close()


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
def test_gradios_language_menu_switches_everything(browser, app_url, two_images, locale):
    """Settings -> Language: results, captions, preview, About and downloads follow, not only Gradio's own labels."""
    page = open_page(browser, app_url, locale=locale)
    classify(page, two_images)
    if locale == "en-US":
        target, other = "한국어", "Probability of malignancy"
        words = ("악성 확률", "이미지 2장 분석", "흑색종", "모델 정보", "분석할 이미지")
    else:
        target, words, other = "English", ("Probability of malignancy", "2 image(s) classified", "Melanoma", "About this model",
                                           "Will be classified"), "악성 확률"
    before = page.locator("#downloads a[href$='.html']").first.get_attribute("href")
    pick_language(page, target)
    results = page.locator("#results")
    page.wait_for_function(f"() => document.querySelector('#results').innerText.includes('{words[0]}')")
    assert words[1] in results.inner_text() and other not in results.inner_text()
    assert words[2] in page.locator("#examples").inner_text()  # the example captions
    assert words[4] in page.locator("#upload-preview").inner_text()
    page.wait_for_function(f"() => document.querySelector('#downloads a[href$=\".html\"]')?.getAttribute('href') !== '{before}'")
    report = page.request.get(page.locator("#downloads a[href$='.html']").first.get_attribute("href")).text()
    assert words[0] in report and other not in report
    page.get_by_role("tab", name=words[3]).click()
    about = page.locator("#about-model").inner_text()
    assert ("다른 병원" in about) == (target == "한국어") and ("Another clinic" in about) == (target == "English")
    screenshot(page, f"language-menu-{locale[:2]}-to-{target[:2]}.png")
    page.close()


@pytest.mark.parametrize(("viewport", "locale"), [(DESKTOP, "en-US"), (PHONE, "ko-KR")])
def test_progress_and_a_busy_classify_are_in_view(browser, app_url, eight_images, viewport, locale):
    """8 uploads push the results below the fold: Classify turns busy and the progress is brought into the window."""
    phone = viewport == PHONE
    page = open_page(browser, app_url, locale=locale, viewport=viewport, is_mobile=phone, has_touch=phone)
    upload(page, eight_images)
    assert page.locator("#results").bounding_box()["y"] > viewport["height"]  # below the fold before the run
    page.evaluate(WATCH_PROGRESS)
    page.locator("#classify").tap() if phone else page.locator("#classify").click()
    wait_for_cards(page, 8)
    page.evaluate("window.stopWatch = true")
    assert page.evaluate("window.progressSeen"), "no progress was shown while the batch ran"
    assert page.evaluate("window.progressInView"), "the progress was never inside the window"
    assert page.evaluate("window.busySeen"), "Classify never showed it was busy"
    page.wait_for_function("() => !document.querySelector('#classify').classList.contains('slc-busy')")
    screenshot(page, f"progress-{'phone' if phone else 'desktop'}-{locale[:2]}.png")
    page.close()


def test_downloads_csv_and_a_one_page_report(browser, app_url, two_images, tmp_path):
    from inference.__main__ import COLUMNS

    page = open_page(browser, app_url)
    found = classify(page, two_images)
    links = page.locator("#downloads a")
    page.wait_for_function("() => document.querySelectorAll('#downloads a[href$=\".html\"]').length === 2")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    csv_url = next(h for h in hrefs if h.endswith(".csv"))
    rows = list(csv.DictReader(io.StringIO(page.request.get(csv_url).text())))
    assert list(rows[0]) == [*COLUMNS, "model"] and [r["path"] for r in rows] == [p.name for p in two_images]
    for row, card in zip(rows, found, strict=True):
        assert row["decision"] == card["decision"] and float(row["p_malignant"]) == pytest.approx(card["data_p"], abs=1e-4)
    report_url = next(h for h in hrefs if h.endswith(".html"))
    report = browser.new_page()
    report.set_content(page.request.get(report_url).text())
    text = report.locator("body").inner_text()
    for words in ("Not a diagnosis", "Probability of malignancy", "Malignancy threshold", "skin-lesion-lite0", "sha256:",
                  two_images[0].name):
        assert words in text, words
    assert report.locator("img").count() == 2 and report.locator(".slc-square").count() == 1
    report.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    pdf = tmp_path / "report.pdf"
    report.pdf(path=str(pdf), format="A4")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes())) == 1  # prints on one page
    report.screenshot(path=str(ARTIFACTS / "report-en.png"), full_page=True) if ARTIFACTS.exists() else None
    report.close()
    page.close()


@pytest.mark.parametrize("locale", ["en-US", "ko-KR"])
def test_phone_keeps_words_whole_captions_whole_and_a_compact_table(browser, app_url, eight_images, grey_photo, locale):
    page = open_page(browser, app_url, locale=locale, viewport=PHONE, is_mobile=True, has_touch=True)
    # Examples run at once: the placeholder does not send them to the Classify button.
    assert ("it is classified at once" if locale == "en-US" else "예시는 바로 분석됩니다") in page.locator("#results").inner_text()
    captions = page.eval_on_selector_all("#examples button.thumbnail-item", """items => items.map(b => {
        const c = b.querySelector('.caption-label'), i = b.querySelector('img');
        return {text: c.textContent, clipped: c.scrollWidth > c.clientWidth + 1 || c.scrollHeight > c.clientHeight + 1,
                overlaps: c.getBoundingClientRect().top < i.getBoundingClientRect().bottom - 1};
    })""")
    assert len(captions) == 8 and not [c for c in captions if c["clipped"] or c["overlaps"]], captions
    classify(page, [*eight_images[:7], grey_photo])  # one row with a caution in its note
    table = page.locator("#results .slc-table-wrap")
    assert table.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "the results table needs sideways scrolling"
    assert page.evaluate(OVERFLOWING, "#results .slc-table td, #results .slc-table th") == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.evaluate(SPLIT_WORDS, "#disclaimer, #results, #guidance") == []
    page.get_by_role("tab", name="모델 정보" if locale == "ko-KR" else "About this model").click()
    page.locator("#about-model table").first.wait_for()
    assert page.evaluate(SPLIT_WORDS, "#about-model") == []
    screenshot(page, f"phone-{locale[:2]}-about.png")
    page.close()


def test_thumbnails_show_the_square_the_model_sees_and_a_photo_can_be_cropped(browser, app_url, two_images):
    page = open_page(browser, app_url)
    upload(page, two_images[:1])
    square = page.locator("#upload-preview .slc-square")
    assert square.count() == 1 and "width:75.00%" in square.get_attribute("style")  # a 4:3 photo: its centre square
    box, frame = square.bounding_box(), page.locator("#upload-preview .slc-frame").bounding_box()
    assert box["height"] == pytest.approx(frame["height"], abs=2) and box["width"] == pytest.approx(0.75 * frame["width"], abs=2)
    # The crop step: one photo, a click on the lesion moves the square there, and that square is classified.
    page.locator("#crop").get_by_text("Crop one photo to its lesion").click()
    page.locator("#crop-photo input[type=file]").set_input_files(str(two_images[1]))
    preview = page.locator("#crop-preview .slc-crop")
    preview.wait_for()
    assert preview.get_attribute("data-box") == "55,30,145,120"  # 60% of the 150 px side, in the middle of 200 x 150
    image = page.locator("#crop-photo img").first
    box = image.bounding_box()
    image.click(position={"x": box["width"] * 0.9, "y": box["height"] * 0.5})
    page.wait_for_function("() => document.querySelector('#crop-preview .slc-crop')?.dataset.box !== '55,30,145,120'")
    left, top, right, bottom = map(int, preview.get_attribute("data-box").split(","))
    assert (right - left, bottom - top) == (90, 90) and right == 200  # moved right, as far as the photo goes
    page.locator("#classify-crop").click()
    wait_for_cards(page, 1)
    card = page.locator("#results article.slc-card")
    assert f"{two_images[1].name} (cropped)" in card.locator("h3").inner_text()
    photo = card.locator("img.slc-photo")
    assert photo.evaluate("i => i.naturalWidth === i.naturalHeight")  # the square, whole: the model sees all of it
    screenshot(page, "crop.png")
    page.close()


def test_phone_sees_the_whole_gallery_and_an_example_in_view(browser, app_url, two_images):
    """390 x 844: every example on screen, none clipped; tapping one brings its result into view."""
    page = open_page(browser, app_url, viewport=PHONE, is_mobile=True, has_touch=True)
    gallery = page.locator("#examples")
    gallery.scroll_into_view_if_needed()
    thumbs = page.locator("#examples button.thumbnail-item")
    assert thumbs.count() == 8
    for i in range(8):
        box = thumbs.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (i, box)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scrolling anywhere
    screenshot(page, "app-phone-en.png")
    page.evaluate("() => window.scrollTo(0, 0)")
    thumbs.nth(4).tap()
    page.wait_for_function("() => document.querySelectorAll('#results article.slc-card').length === 1")
    page.wait_for_timeout(300)
    card = page.locator("#results article.slc-card").bounding_box()
    assert 0 <= card["y"] < 844, card
    page.close()


def test_more_than_eight_files_are_named_before_classifying(browser, app_url, data_dir, tmp_path):
    images = sorted((data_dir / "images").glob("ISIC_*.jpg"))[:10]
    page = open_page(browser, app_url)
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
