"""The Gradio app (Hugging Face Spaces entry point): upload dermoscopy photos, get P(malignant), a Grad-CAM
overlay and one of three decisions (refer, no flag, uncertain), in English or Korean.

UI only: the logic is in `inference`, the HTML in `app_render`, the words in `app_i18n`, the styles in `app.css`,
the API payload limits in `app_guard`.

    python app.py [--model REPO_OR_DIR] [--revision REV] [--host HOST] [--port PORT] [--share]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import gradio as gr
from PIL import Image
from starlette.middleware import Middleware

import app_tempdir
import examples
from app_guard import EventPolicy, PayloadGuard
from app_i18n import LANGUAGES, MAX_IMAGES, language, rejection_message, short_diagnosis, static_translations, t
from app_render import (
    Item,
    ModelIdentity,
    api_result,
    crop_box,
    placeholder,
    render_about,
    render_crop_preview,
    render_report,
    render_results,
    render_upload_preview,
    results_csv,
    too_many_notice,
)
from inference import DISCLAIMER, Classifier, ImageRejected, load_classifier
from inference import model_files as files
from inference.loading import missing_local_folder
from inference.preprocess import load_rgb

log = logging.getLogger("app")

ROOT = Path(__file__).resolve().parent
CSS_FILE = ROOT / "app.css"
MAX_FILE_SIZE = "25mb"  # the same limit as inference.preprocess.MAX_BYTES, enforced before upload completes
QUEUE_SIZE = 64  # requests waiting at most (~13 s of work at the ~5 requests/s measured): beyond it, "Queue is full"
MODEL_EVENTS = {"concurrency_id": "model", "concurrency_limit": 1}  # TensorFlow on 2 cores: one model call at a time
# Above 1, `/predict` requests waiting together go through the model as one batch (Gradio's batch=True): one forward
# pass, one Grad-CAM pass. 1 (one by one) because on 2 CPU cores batches answered fewer requests/s with a longer p95:
# a batch is not cheaper per image there (docs/performance.md); raise it where it is (a GPU).
MAX_BATCH = int(os.environ.get("SKIN_LESION_MAX_BATCH", "1"))
# Gradio's temporary files (uploads, returned files): every 10 minutes, delete those older than an hour.
DELETE_CACHE = (600, 3600)
# s: Gradio copies the API's overlay PNG into its own cache as soon as `predict` returns, before it answers; our
# staging copy is deleted by the next request once this old, so the folder holds only the last few seconds' overlays.
OVERLAY_MAX_AGE = 5.0
# The API's overlay PNG: zlib level 1 encodes a 600x450 overlay in ~2.5 ms instead of ~12 ms (level 6), ~12% larger.
OVERLAY_PNG = {"format": "PNG", "compress_level": 1}
EXIT_USAGE = 2
I18N = gr.I18n(**static_translations())
# System fonts: the page loads nothing from third-party servers (and looks the same offline).
THEME = gr.themes.Default(primary_hue="blue", neutral_hue="slate", font=["system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"])
# s: the downloads (CSV, reports) of a batch stay staged this long, as Gradio keeps its own copies (DELETE_CACHE): a
# language switch hands out the same batch's files in the other language.
DOWNLOAD_MAX_AGE = DELETE_CACHE[1]
RUN_BUTTONS = "#classify, #classify-examples, #classify-crop"
PREVIEW_MAX_EXIF = 64 * 1024  # bytes of EXIF the upload preview reads for a photo's orientation
CROP_PERCENT = (20, 100, 60)  # the crop square's side in % of the photo's shorter side: least, most, at first
DEFAULT_CROP_CENTRE = (0.5, 0.5)


def with_language(inputs: int, lang_at: int, busy: bool = False) -> str:
    """JS run in the browser before an event's request: the page's language goes with it (as input `lang_at` of the
    first `inputs`). With busy: the run buttons turn busy and the results area (where the progress shows) scrolls into
    view, on a desktop with a long upload list as on a phone."""
    start = f"""
    document.querySelectorAll('{RUN_BUTTONS}').forEach(b => {{
        b.classList.add('slc-busy'); b.setAttribute('aria-busy', 'true');
        b.dataset.busy = (window.slcBusy || {{}})[lang.split('-')[0]] || (window.slcBusy || {{}}).en || '…';
    }});
    const results = document.getElementById('results');
    if (results) results.style.minHeight = '75vh';  // room to bring the progress to the top of the window
    document.getElementById('results-area')?.scrollIntoView({{block: 'start'}});""" if busy else ""
    return f"""(...args) => {{
    const lang = document.documentElement.lang || '';{start}
    const values = args.slice(0, {inputs});
    values[{lang_at}] = lang;
    return values;
}}"""


def before_run(inputs: int, lang_at: int) -> str:
    return with_language(inputs, lang_at, busy=True)


AFTER_RUN = f"""() => {{ document.querySelectorAll('{RUN_BUTTONS}').forEach(b => {{
    b.classList.remove('slc-busy'); b.removeAttribute('aria-busy'); }});
    const results = document.getElementById('results');
    if (results) results.style.minHeight = ''; }}"""


def page_script() -> str:
    """JS run once per page: the busy label in each language, and the page's language (Gradio's i18n, which its
    Settings menu changes) copied into the hidden #page-lang box whenever it changes, so that what the server renders
    (results, About, captions) follows it."""
    busy = {lang: t(lang, "busy") for lang in LANGUAGES}
    return f"""() => {{
    window.slcBusy = {json.dumps(busy, ensure_ascii=False)};
    const sync = () => {{
        const box = document.querySelector('#page-lang textarea, #page-lang input');
        if (!box) return false;
        const lang = document.documentElement.lang || '';
        if (box.value !== lang) {{ box.value = lang; box.dispatchEvent(new Event('input', {{bubbles: true}})); }}
        return true;
    }};
    new MutationObserver(sync).observe(document.documentElement, {{attributes: true, attributeFilter: ['lang']}});
    const wait = setInterval(() => {{ if (sync()) clearInterval(wait); }}, 200);
}}"""


@dataclass
class Served:
    """What the handlers serve: the model, its identity and measured results, the examples, and cached results."""

    classifier: Classifier
    identity: ModelIdentity
    metrics: dict | None
    examples: examples.ExampleSet
    example_items: list[Item] | None = None  # classified once, on first use: example clicks run no model
    about: dict[str, str] = field(default_factory=dict)  # per language


SERVED: Served | None = None


def served() -> Served:
    if SERVED is None:
        raise RuntimeError("build_demo() has not been called")
    return SERVED


def request_language(request: gr.Request | None) -> str:
    return language(request.headers.get("accept-language") if request is not None else None)


def page_language(page_lang: str | None, request: gr.Request | None) -> str:
    """The language the page shows: Gradio's i18n locale (the browser's language, or the one picked in Gradio's
    Settings menu), sent by the browser with each event; the Accept-Language header when it is not (API clients)."""
    return language(page_lang) if page_lang else request_language(request)


def model_identity(clf: Classifier) -> ModelIdentity:
    """Name, version and date of the served model, for visitors: a Hub commit or a hash of the weights, no path."""
    source = clf.source
    if source.kind in ("hub", "cache"):
        name, version = source.repo_id or Path(clf.folder).name, (source.revision or "")[:12]
    else:
        name = Path(clf.folder).name
        with open(Path(clf.folder) / files.MODEL, "rb") as handle:
            version = "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()[:12]
    training = clf.config.extra.get("training") or {}
    return ModelIdentity(name, source.kind, version, str(training.get("date") or ""), fell_back=bool(source.note))


def read_metrics(folder: Path) -> dict | None:
    try:
        return json.loads((folder / files.METRICS).read_text())
    except (OSError, ValueError):
        return None


def classify_paths(named: list[tuple[str, str]], lang: str, progress) -> list[Item]:
    """Classify (path, display name) pairs one by one, so progress moves and one bad file never stops the rest."""
    state = served()
    items = []
    for i, (path, name) in enumerate(named):
        progress((i, len(named)), desc=t(lang, "progress", i=i + 1, n=len(named)))
        try:
            (outcome,) = state.classifier.predict([path], explain=True)
        except Exception:  # an unexpected failure on one file is reported on its card, not as a crash
            log.exception("classifying %s failed", name)
            outcome = ImageRejected("other", "unexpected error")
        items.append(Item(name, outcome, state.examples.true_example(path)))
    return items


def example_items() -> list[Item]:
    """Every example, classified once for the whole server: a click on an example (or on all) costs no inference."""
    state = served()
    if state.example_items is None:
        chosen = state.examples.examples
        outcomes = state.classifier.predict([str(e.path) for e in chosen], explain=True) if chosen else []
        state.example_items = [Item(e.image_id, outcome, e) for e, outcome in zip(chosen, outcomes, strict=True)]
    return state.example_items


def named_examples(items: list[Item], lang: str) -> list[Item]:
    return [Item(t(lang, "example_name", image_id=item.truth.image_id), item.outcome, item.truth) for item in items]


def upload_names(paths: list[str]) -> list[str]:
    return [Path(p).name for p in paths]


def photo_size(path: str) -> tuple[int, int] | None:
    """Width and height of an uploaded photo as a browser shows it (EXIF rotation applied), from its header only."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            exif = image.info.get("exif") or b""
            # Stored turned by a quarter: shown the other way round. Only a camera-sized EXIF block is parsed here (a
            # hostile one is refused when the photo is classified).
            if len(exif) <= PREVIEW_MAX_EXIF and image.getexif().get(0x0112) in (5, 6, 7, 8):
                width, height = height, width
            return width, height
    except Exception:  # not an image we can read: no square on its thumbnail (classifying it says why)
        return None


# --- results to take away -----------------------------------------------------------------------------------------


def downloads_folder() -> Path:
    """Where a batch's downloads are staged: inside Gradio's own temporary folder (GRADIO_TEMP_DIR), swept with it."""
    return Path(gr.utils.get_upload_folder()) / "downloads"


def purge_downloads(folder: Path, max_age: float = DOWNLOAD_MAX_AGE) -> None:
    """Delete staged batches older than max_age (Gradio has copied what it served into its own cache)."""
    cutoff = time.time() - max_age
    for old in folder.glob("batch-*"):
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:  # already gone: another request purged it
            pass


def safe_stem(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", Path(name).stem)[:60].strip("._") or "photo"


def results_view(named: Callable[[str], list[Item]], notice: Callable[[str], str]) -> dict:
    """A batch's results in every language, rendered once: the HTML, and the files to take away (the CSV and a
    printable report per photo), staged for Gradio to serve. Kept in the session, so a language switch costs no model."""
    state = served()
    folder = downloads_folder()
    folder.mkdir(parents=True, exist_ok=True)
    purge_downloads(folder)
    batch = Path(tempfile.mkdtemp(dir=folder, prefix="batch-"))
    made = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    csv_path = batch / "skin-lesion-results.csv"
    csv_path.write_text(results_csv(named("en"), state.identity), encoding="utf-8")
    view: dict = {"html": {}, "files": {}}
    for lang in LANGUAGES:
        items = named(lang)
        view["html"][lang] = render_results(items, lang, notice(lang))
        (batch / lang).mkdir()
        reports = []
        for i, item in enumerate(items):
            if isinstance(item.outcome, ImageRejected):
                continue
            path = batch / lang / f"report-{i + 1}-{safe_stem(item.name)}.html"
            path.write_text(render_report(item, lang, state.identity, made), encoding="utf-8")
            reports.append(str(path))
        view["files"][lang] = [str(csv_path), *reports]
    return view


def shown(view: dict | None, lang: str, empty: str = "placeholder") -> tuple[str, list[str] | None]:
    """The results area and the downloads for a view, in `lang` (the placeholder and no downloads without one; an
    empty downloads box is hidden by app.css)."""
    if not view:
        return placeholder(lang, empty), None
    present = [path for path in view["files"].get(lang, []) if Path(path).exists()]
    return view["html"][lang], present or None


# --- event handlers -----------------------------------------------------------------------------------------------


def classify(files_in: list[str] | None, page_lang: str | None, request: gr.Request,
             progress=gr.Progress()) -> tuple[str, list[str] | None, dict | None]:  # noqa: B008 (Gradio's way to ask for progress)
    """The Classify button: the first MAX_IMAGES uploads, each with its card; the rest named as not classified.
    Returns the results area, the downloads and the session's view (the same results in every language)."""
    lang = page_language(page_lang, request)
    paths = list(files_in or [])
    if not paths:
        return (*shown(None, lang, "no_input"), None)
    names = upload_names(paths)
    items = classify_paths(list(zip(paths[:MAX_IMAGES], names[:MAX_IMAGES], strict=True)), lang, progress)
    view = results_view(lambda _: items, lambda lang: too_many_notice(lang, names, MAX_IMAGES))
    return (*shown(view, lang), view)


def crop_centre(value: object) -> tuple[float, float]:
    """The crop's centre as fractions of the photo, from the session (the photo's centre when unset or forged)."""
    try:
        x, y = (min(max(float(v), 0.0), 1.0) for v in value)
        return x, y
    except (TypeError, ValueError):
        return DEFAULT_CROP_CENTRE


def crop_side(percent: float | None) -> float:
    try:
        return min(max(float(percent), CROP_PERCENT[0]), CROP_PERCENT[1]) / 100
    except (TypeError, ValueError):
        return CROP_PERCENT[2] / 100


def show_crop(photo: str | None, centre: object, percent: float | None, page_lang: str | None, request: gr.Request) -> str:
    """The photo to crop with the square that will be classified, as the browser shows the upload."""
    if not photo:
        return ""
    return render_crop_preview(f"gradio_api/file={quote(photo)}", photo_size(photo), crop_centre(centre), crop_side(percent),
                               page_language(page_lang, request))


def new_crop_photo(photo: str | None, percent: float | None, page_lang: str | None, request: gr.Request) -> tuple:
    """A new photo to crop: the square starts in its centre."""
    return DEFAULT_CROP_CENTRE, show_crop(photo, DEFAULT_CROP_CENTRE, percent, page_lang, request)


def move_crop(photo: str | None, percent: float | None, page_lang: str | None, evt: gr.SelectData, request: gr.Request) -> tuple:
    """A click (or tap) on the photo: the square moves there (Gradio gives the pixel clicked, in the photo's own size)."""
    size = photo_size(photo) if photo else None
    index = evt.index if isinstance(evt.index, (list, tuple)) and len(evt.index) == 2 else None
    if not size or index is None:
        return DEFAULT_CROP_CENTRE, show_crop(photo, DEFAULT_CROP_CENTRE, percent, page_lang, request)
    centre = crop_centre((index[0] / size[0], index[1] / size[1]))
    return centre, show_crop(photo, centre, percent, page_lang, request)


def classify_crop(photo: str | None, centre: object, percent: float | None, page_lang: str | None, request: gr.Request,
                  progress=gr.Progress()) -> tuple[str, list[str] | None, dict | None]:  # noqa: B008 (Gradio's way to ask for progress)
    """The crop step: the chosen square of one photo, classified (the model then sees all of it)."""
    lang = page_language(page_lang, request)
    if not photo:
        return (*shown(None, lang, "no_input"), None)
    name = Path(photo).name
    progress((0, 1), desc=t(lang, "progress", i=1, n=1))
    try:
        image = load_rgb(photo)
        square = image.crop(crop_box(*image.size, crop_centre(centre), crop_side(percent)))
        (outcome,) = served().classifier.predict([square], explain=True)
    except ImageRejected as rejected:
        outcome = rejected
    except Exception:  # an unexpected failure is reported on the card, not as a crash
        log.exception("classifying a crop of %s failed", name)
        outcome = ImageRejected("other", "unexpected error")
    view = results_view(lambda lang: [Item(t(lang, "cropped_name", name=name), outcome)], lambda _: "")
    return (*shown(view, lang), view)


def preview_upload(files_in: list[str] | None, page_lang: str | None, request: gr.Request) -> str:
    """As soon as files are chosen: thumbnails of what will be classified (with the square the model sees), and by
    name what will not."""
    paths = list(files_in or [])
    urls = [f"gradio_api/file={quote(p)}" for p in paths]
    sizes = [photo_size(p) for p in paths[:MAX_IMAGES]] + [None] * max(0, len(paths) - MAX_IMAGES)
    return render_upload_preview(upload_names(paths), urls, page_language(page_lang, request), MAX_IMAGES, sizes)


def classify_one_example(page_lang: str | None, evt: gr.SelectData, request: gr.Request) -> tuple[str, list[str] | None, dict | None]:
    lang = page_language(page_lang, request)
    items = example_items()
    index = evt.index if isinstance(evt.index, int) else -1
    if not 0 <= index < len(items):
        return (*shown(None, lang), None)
    view = results_view(lambda lang: named_examples([items[index]], lang), lambda _: "")
    return (*shown(view, lang), view)


def classify_all_examples(page_lang: str | None, request: gr.Request) -> tuple[str, list[str] | None, dict | None]:
    lang = page_language(page_lang, request)
    view = results_view(lambda lang: named_examples(example_items()[:MAX_IMAGES], lang), lambda _: "")
    return (*shown(view, lang), view)


def overlay_file(png: bytes, folder: Path | None = None) -> str:
    """The overlay as a PNG file for the API to return, in our own staging folder.

    Gradio 6.31 writes a returned PIL image in place at a content-hash path, so two concurrent requests for the same
    photo could rewrite it while the first client downloads it; a returned path goes through Gradio's atomic copy
    into its cache instead (cleaned by `delete_cache`). Our staging copy is deleted once older than OVERLAY_MAX_AGE,
    so the folder stays bounded whatever the traffic.
    """
    folder = folder or Path(os.environ.get("GRADIO_TEMP_DIR", tempfile.gettempdir())) / "overlays"
    folder.mkdir(parents=True, exist_ok=True)
    purge_overlays(folder)
    fd, path = tempfile.mkstemp(dir=folder, prefix="overlay-", suffix=".png")
    with os.fdopen(fd, "wb") as handle:
        handle.write(png)
    return path


def purge_overlays(folder: Path, max_age: float = OVERLAY_MAX_AGE) -> None:
    cutoff = time.time() - max_age
    for old in folder.glob("overlay-*.png"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:  # already gone: another request purged it
            pass


def predict(file: str | None, request: gr.Request) -> tuple[dict, str]:
    """One dermoscopy image in; P(malignant), the decision (refer / no_flag / uncertain), the 7 diagnoses and the Grad-CAM overlay out.
    A file that cannot be used raises gr.Error with the reason in words. The batch of one of `predict_batch`."""
    answers, overlays = predict_batch([file], request)
    return answers[0], overlays[0]


def refusal_text(lang: str, reason: str) -> str:
    return t(lang, "no_input") if reason == "no_input" else rejection_message(lang, reason)


def refusal(lang: str, reason: str) -> dict:
    """The answer of a refused file that shared a batch with others (Gradio cannot fail one request of a batch)."""
    return {"error": refusal_text(lang, reason), "error_code": reason, "disclaimer": DISCLAIMER}


def predict_batch(files: list[str | None], request: gr.Request) -> tuple[list[dict], list[str | None]]:
    """`predict` for the requests Gradio grouped into one batch (`batch=True`): one model call, each image's answer
    the one it gets alone.

    A refused file alone in its batch raises as `predict` does; sharing a batch, it is answered with `error` (the
    reason in words) and `error_code`, and the others keep their results."""
    requests = request if isinstance(request, list) else [request] * len(files)
    langs = [request_language(r) for r in requests]
    state = served()
    present = [f for f in files if f]
    outcomes = iter(state.classifier.predict(present, explain=True) if present else [])
    answers: list[dict] = []
    overlays: list[str | None] = []
    for file, lang in zip(files, langs, strict=True):
        outcome = next(outcomes) if file else ImageRejected("no_input", "no image")
        if isinstance(outcome, ImageRejected):
            if len(files) == 1:
                raise gr.Error(refusal_text(lang, outcome.reason))
            answers.append(refusal(lang, outcome.reason))
            overlays.append(None)
            continue
        buffer = io.BytesIO()
        outcome.overlay.save(buffer, **OVERLAY_PNG)
        answers.append(api_result(outcome, state.identity, state.classifier.config.backbone))
        overlays.append(overlay_file(buffer.getvalue()))
    return answers, overlays


def about_text(lang: str) -> str:
    state = served()
    if lang not in state.about:
        state.about[lang] = render_about(lang, state.identity, state.classifier.config, state.metrics)
    return state.about[lang]


def captions(lang: str) -> list[tuple[str, str]]:
    """The examples' recorded diagnoses in a word or two: whole under a phone-sized thumbnail."""
    return [(str(e.path), short_diagnosis(lang, e.dx)) for e in served().examples.examples]


def on_load(page_lang: str | None, request: gr.Request) -> tuple:
    """Fill in what depends on the page's language: the empty results area, the About text, the captions."""
    lang = page_language(page_lang, request)
    return (placeholder(lang), about_text(lang)) + ((captions(lang),) if served().examples.examples else ())


def relang(page_lang: str | None, view: dict | None, files_in: list[str] | None, request: gr.Request) -> tuple:
    """The page's language changed (Gradio's Settings menu, or its first setting on load): everything the server
    rendered follows it, from the session's view (no model run): results, downloads, upload preview, About, captions."""
    lang = page_language(page_lang, request)
    results, downloads = shown(view, lang)
    preview = preview_upload(files_in, lang, request)
    # Gradio 6.31 re-translates only the selected tab's label when its language menu changes: set both.
    tabs = (gr.update(label=t(lang, "tab_classify")), gr.update(label=t(lang, "tab_about")))
    return (results, downloads, preview, about_text(lang), *tabs) + ((captions(lang),) if served().examples.examples else ())


# --- the page -----------------------------------------------------------------------------------------------------


def build_demo(clf: Classifier, example_set: examples.ExampleSet, max_batch: int = MAX_BATCH) -> gr.Blocks:
    """The page: header and disclaimer, a tab of photos and results (upload, crop step, examples, downloads, results)
    and an About tab; every word in the page's language, which the hidden #page-lang box carries to the server.
    `/predict` requests are batched up to max_batch (1: one by one)."""
    global SERVED
    SERVED = Served(clf, model_identity(clf), read_metrics(Path(clf.folder)), example_set)
    has_examples = bool(example_set.examples)
    with gr.Blocks(title="Skin lesion check · 피부 병변 확인", analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(I18N("title"))
        gr.Markdown(I18N("subtitle"))
        gr.Markdown(I18N("disclaimer"), elem_id="disclaimer")
        with gr.Tabs():
            with gr.Tab(I18N("tab_classify"), id="classify") as classify_tab:
                with gr.Row(equal_height=False):
                    with gr.Column(scale=1):
                        upload = gr.File(label=I18N("upload_label"), file_count="multiple", type="filepath", elem_id="upload", height=180)
                        preview = gr.HTML(elem_id="upload-preview")
                        classify_button = gr.Button(I18N("classify_button"), variant="primary", elem_id="classify")
                        gr.Markdown(I18N("guidance"), elem_id="guidance")
                        with gr.Accordion(I18N("crop_heading"), open=False, elem_id="crop"):
                            crop_photo = gr.Image(label=I18N("crop_label"), type="filepath", sources=["upload"], buttons=[],
                                                  height=280, elem_id="crop-photo")
                            crop_percent = gr.Slider(CROP_PERCENT[0], CROP_PERCENT[1], value=CROP_PERCENT[2], step=5,
                                                     label=I18N("crop_size"), elem_id="crop-size")
                            crop_preview = gr.HTML(elem_id="crop-preview")
                            crop_button = gr.Button(I18N("crop_button"), elem_id="classify-crop")
                            crop_at = gr.State(DEFAULT_CROP_CENTRE)
                    with gr.Column(scale=1):
                        gr.Markdown(I18N("examples_heading"))
                        if has_examples:
                            gallery = gr.Gallery(captions("en"), label=I18N("examples_label"), show_label=False, columns=4, height="auto",
                                                 allow_preview=False, buttons=[], elem_id="examples", interactive=False)
                            examples_button = gr.Button(I18N("examples_button"), elem_id="classify-examples")
                            gr.Markdown(I18N("examples_credit"), elem_id="examples-credit")
                        else:
                            gallery = None
                            gr.Markdown(I18N("examples_missing"), elem_id="examples-missing")
                with gr.Column(elem_id="results-area"):
                    downloads = gr.File(label=I18N("downloads_label"), file_count="multiple", interactive=False, height=240,
                                        elem_id="downloads")
                    results = gr.HTML(elem_id="results", label=I18N("results_label"), min_height=80)
            with gr.Tab(I18N("tab_about"), id="about") as about_tab:
                about = gr.Markdown(elem_id="about-model")
                with gr.Row():
                    for name, label in ((files.ROC_PLOT, "roc_label"), (files.RELIABILITY_PLOT, "reliability_label")):
                        if (Path(clf.folder) / name).is_file():
                            with gr.Column():
                                gr.Markdown(I18N(label))
                                gr.Image(str(Path(clf.folder) / name), show_label=False, interactive=False, buttons=[], height=360,
                                         elem_classes="slc-plot")
                gr.Markdown(I18N("about_intended"))
                gr.Markdown(I18N("about_limitations"))
                gr.Markdown(I18N("about_data"))
        page_lang = gr.Textbox(visible="hidden", elem_id="page-lang", container=False)  # set by page_script()
        view = gr.State(None)  # the last results of this session, in every language
        with gr.Group(visible=False):  # the public API: components the page never shows
            api_file = gr.File(label="image", type="filepath", file_count="single")
            api_json = gr.JSON(label="result")
            api_overlay = gr.Image(label="Grad-CAM overlay", type="filepath", format="png")
            api_button = gr.Button("predict")

        shown_results = [results, downloads, view]
        run = {"show_progress": "full", "show_progress_on": [results], **MODEL_EVENTS}  # progress where the page scrolls to
        upload.change(preview_upload, [upload, page_lang], preview, js=with_language(2, 1), api_visibility="private", queue=False,
                      show_progress="hidden")
        classify_button.click(classify, [upload, page_lang], shown_results, js=before_run(2, 1), api_name="classify",
                              api_visibility="undocumented", **run).then(None, js=AFTER_RUN)
        crop_button.click(classify_crop, [crop_photo, crop_at, crop_percent, page_lang], shown_results, js=before_run(4, 3),
                          api_visibility="private", **run).then(None, js=AFTER_RUN)
        crop = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}
        crop_photo.change(new_crop_photo, [crop_photo, crop_percent, page_lang], [crop_at, crop_preview], js=with_language(3, 2), **crop)
        crop_photo.select(move_crop, [crop_photo, crop_percent, page_lang], [crop_at, crop_preview], js=with_language(3, 2), **crop)
        crop_percent.change(show_crop, [crop_photo, crop_at, crop_percent, page_lang], crop_preview, js=with_language(4, 3), **crop)
        if gallery is not None:
            gallery.select(classify_one_example, [page_lang], shown_results, js=before_run(1, 0), api_visibility="private",
                           **run).then(None, js=AFTER_RUN)
            examples_button.click(classify_all_examples, [page_lang], shown_results, js=before_run(1, 0), api_visibility="private",
                                  **run).then(None, js=AFTER_RUN)
        if max_batch > 1:
            api_button.click(predict_batch, api_file, [api_json, api_overlay], api_name="predict", batch=True, max_batch_size=max_batch,
                             **MODEL_EVENTS)
        else:
            api_button.click(predict, api_file, [api_json, api_overlay], api_name="predict", **MODEL_EVENTS)
        by_language = [results, downloads, preview, about, classify_tab, about_tab] + ([gallery] if gallery is not None else [])
        page_lang.change(relang, [page_lang, view, upload], by_language, api_visibility="private", queue=False, show_progress="hidden")
        demo.load(on_load, [page_lang], [results, about] + ([gallery] if gallery is not None else []), js=with_language(1, 0),
                  api_visibility="private", queue=False)
    return demo


def load_examples(clf: Classifier) -> examples.ExampleSet:
    """The committed example images that are in this model's own test split (all of them if it records no split)."""
    example_set = examples.load(test_ids=examples.test_split_ids(Path(clf.folder) / files.SPLIT))
    log.info("examples: %d shown (not shown: %s)", len(example_set.examples), ", ".join(example_set.missing) or "none")
    return example_set


def launch(demo: gr.Blocks, **kwargs):
    """Queue and launch with the app's settings (theme, CSS, translations, limits); kwargs go to Blocks.launch."""
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    app_tempdir.start_sweeping(Path(gr.utils.get_upload_folder()), lambda: app_tempdir.keep_in_cache(demo))
    guard = Middleware(PayloadGuard, events=EventPolicy.of(demo))  # payload limits; only /predict for anyone
    return demo.launch(theme=THEME, css=CSS_FILE.read_text(), js=page_script(), i18n=I18N, max_file_size=MAX_FILE_SIZE,
                       allowed_paths=[str(examples.FOLDER)], app_kwargs={"middleware": [guard]}, **kwargs)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Skin lesion classifier app (research and teaching aid, not a diagnosis).")
    parser.add_argument("--model", default=None, help="model folder or Hugging Face Hub repo id "
                        "(default: $SKIN_LESION_MODEL_REPO, else the bundled models/skin-lesion-lite0)")
    parser.add_argument("--revision", default=None, help="Hub revision to pin (default: $SKIN_LESION_MODEL_REVISION)")
    parser.add_argument("--host", default=None, help="address to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--share", action="store_true", help="also ask Gradio for a temporary public link (needs internet)")
    parser.add_argument("--max-batch", type=int, default=MAX_BATCH,
                        help="API requests answered in one model call at most (default: $SKIN_LESION_MAX_BATCH or 1: one by one)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    model = args.model and os.path.expanduser(args.model)
    if model and missing_local_folder(args.model):
        print(f"error: --model {args.model}: no such model folder (a Hugging Face Hub model is named owner/name)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    try:
        clf = load_classifier(model, args.revision)
    except Exception as error:  # say what failed in one line, not with a stack trace
        print(f"error: could not load the model {args.model or '(default)'}: {type(error).__name__}: {error}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    log.info("model: %s", clf.describe())
    demo = build_demo(clf, load_examples(clf), max(1, args.max_batch))
    launch(demo, server_name=args.host, server_port=args.port, share=args.share, prevent_thread_lock=True)
    if args.share and not demo.share_url:
        print(f"Could not create a public share link (no connection to Gradio's share server); still serving locally at {demo.local_url}",
              flush=True)
    demo.block_thread()


if __name__ == "__main__":
    main()
