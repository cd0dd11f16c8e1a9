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
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import gradio as gr
from starlette.middleware import Middleware

import examples
from app_guard import PayloadGuard
from app_i18n import MAX_IMAGES, diagnosis_name, language, rejection_message, static_translations, t
from app_render import (
    Item,
    ModelIdentity,
    api_result,
    placeholder,
    render_about,
    render_results,
    render_upload_preview,
    too_many_notice,
)
from inference import Classifier, ImageRejected, load_classifier
from inference import model_files as files
from inference.loading import missing_local_folder

log = logging.getLogger("app")

ROOT = Path(__file__).resolve().parent
CSS_FILE = ROOT / "app.css"
MAX_FILE_SIZE = "25mb"  # the same limit as inference.preprocess.MAX_BYTES, enforced before upload completes
QUEUE_SIZE = 20  # requests waiting at most; beyond it users are told the queue is full
MODEL_EVENTS = {"concurrency_id": "model", "concurrency_limit": 1}  # TensorFlow on 2 cores: one request at a time
# Gradio's temporary files (uploads, returned files): every 10 minutes, delete those older than an hour.
DELETE_CACHE = (600, 3600)
# s: Gradio copies the API's overlay PNG into its own cache as soon as `predict` returns, before it answers; our
# staging copy is deleted by the next request once this old, so the folder holds only the last few seconds' overlays.
OVERLAY_MAX_AGE = 5.0
EXIT_USAGE = 2
I18N = gr.I18n(**static_translations())
# System fonts: the page loads nothing from third-party servers (and looks the same offline).
THEME = gr.themes.Default(primary_hue="blue", neutral_hue="slate", font=["system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"])
# On a phone the results sit below the upload and the examples: bring them into view when work starts.
SCROLL_TO_RESULTS = "() => { document.getElementById('results')?.scrollIntoView({block: 'start'}); }"


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


# --- event handlers -----------------------------------------------------------------------------------------------


def classify(files_in: list[str] | None, request: gr.Request, progress=gr.Progress()) -> str:  # noqa: B008 (Gradio's way to ask for progress)
    """The Classify button: the first MAX_IMAGES uploads, each with its card; the rest named as not classified."""
    lang = request_language(request)
    paths = list(files_in or [])
    if not paths:
        return placeholder(lang, "no_input")
    names = upload_names(paths)
    notice = too_many_notice(lang, names, MAX_IMAGES)
    items = classify_paths(list(zip(paths[:MAX_IMAGES], names[:MAX_IMAGES], strict=True)), lang, progress)
    return render_results(items, lang, notice)


def preview_upload(files_in: list[str] | None, request: gr.Request) -> str:
    """As soon as files are chosen: thumbnails of what will be classified, and by name what will not."""
    paths = list(files_in or [])
    urls = [f"gradio_api/file={quote(p)}" for p in paths]
    return render_upload_preview(upload_names(paths), urls, request_language(request), MAX_IMAGES)


def classify_one_example(evt: gr.SelectData, request: gr.Request) -> str:
    lang = request_language(request)
    items = example_items()
    index = evt.index if isinstance(evt.index, int) else -1
    if not 0 <= index < len(items):
        return placeholder(lang)
    return render_results(named_examples([items[index]], lang), lang)


def classify_all_examples(request: gr.Request) -> str:
    lang = request_language(request)
    return render_results(named_examples(example_items()[:MAX_IMAGES], lang), lang)


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
    """One dermoscopy image in; P(malignant), the decision (refer / no_flag / uncertain), the 7 diagnoses and the Grad-CAM overlay out."""
    lang = request_language(request)
    if not file:
        raise gr.Error(t(lang, "no_input"))
    state = served()
    try:
        prediction = state.classifier.predict_one(file, explain=True)
    except ImageRejected as rejected:
        raise gr.Error(rejection_message(lang, rejected.reason)) from None
    buffer = io.BytesIO()
    prediction.overlay.save(buffer, format="PNG")
    return api_result(prediction, state.identity, state.classifier.config.backbone), overlay_file(buffer.getvalue())


def about_text(lang: str) -> str:
    state = served()
    if lang not in state.about:
        state.about[lang] = render_about(lang, state.identity, state.classifier.config, state.metrics)
    return state.about[lang]


def captions(lang: str) -> list[tuple[str, str]]:
    return [(str(e.path), f"{diagnosis_name(lang, e.dx)} ({e.dx})") for e in served().examples.examples]


def on_load(request: gr.Request) -> tuple:
    """Fill in what depends on the browser's language: the empty results area, the About text, the captions."""
    lang = request_language(request)
    return (placeholder(lang), about_text(lang)) + ((captions(lang),) if served().examples.examples else ())


# --- the page -----------------------------------------------------------------------------------------------------


def build_demo(clf: Classifier, example_set: examples.ExampleSet) -> gr.Blocks:
    """The page: header and disclaimer, a Classify tab (upload, examples, results) and an About tab."""
    global SERVED
    SERVED = Served(clf, model_identity(clf), read_metrics(Path(clf.folder)), example_set)
    has_examples = bool(example_set.examples)
    with gr.Blocks(title="Skin lesion check · 피부 병변 확인", analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(I18N("title"))
        gr.Markdown(I18N("subtitle"))
        gr.Markdown(I18N("disclaimer"), elem_id="disclaimer")
        with gr.Tabs():
            with gr.Tab(I18N("tab_classify"), id="classify"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=1):
                        upload = gr.File(label=I18N("upload_label"), file_count="multiple", type="filepath", elem_id="upload", height=180)
                        preview = gr.HTML(elem_id="upload-preview")
                        classify_button = gr.Button(I18N("classify_button"), variant="primary", elem_id="classify")
                        gr.Markdown(I18N("guidance"), elem_id="guidance")
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
                results = gr.HTML(elem_id="results", label=I18N("results_label"), min_height=80)
            with gr.Tab(I18N("tab_about"), id="about"):
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
        with gr.Group(visible=False):  # the public API: components the page never shows
            api_file = gr.File(label="image", type="filepath", file_count="single")
            api_json = gr.JSON(label="result")
            api_overlay = gr.Image(label="Grad-CAM overlay", type="filepath", format="png")
            api_button = gr.Button("predict")

        upload.change(preview_upload, upload, preview, api_visibility="private", queue=False, show_progress="hidden")
        classify_button.click(classify, upload, results, api_name="classify", api_visibility="undocumented", show_progress="full",
                              **MODEL_EVENTS)
        classify_button.click(None, js=SCROLL_TO_RESULTS)  # in the browser only
        if gallery is not None:
            gallery.select(classify_one_example, None, results, api_visibility="private", **MODEL_EVENTS)
            gallery.select(None, js=SCROLL_TO_RESULTS)
            examples_button.click(classify_all_examples, None, results, api_visibility="private", **MODEL_EVENTS)
            examples_button.click(None, js=SCROLL_TO_RESULTS)
        api_button.click(predict, api_file, [api_json, api_overlay], api_name="predict", **MODEL_EVENTS)
        demo.load(on_load, None, [results, about] + ([gallery] if gallery is not None else []), api_visibility="private", queue=False)
    return demo


def load_examples(clf: Classifier) -> examples.ExampleSet:
    """The committed example images that are in this model's own test split (all of them if it records no split)."""
    example_set = examples.load(test_ids=examples.test_split_ids(Path(clf.folder) / files.SPLIT))
    log.info("examples: %d shown (not shown: %s)", len(example_set.examples), ", ".join(example_set.missing) or "none")
    return example_set


def launch(demo: gr.Blocks, **kwargs):
    """Queue and launch with the app's settings (theme, CSS, translations, limits); kwargs go to Blocks.launch."""
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    return demo.launch(theme=THEME, css=CSS_FILE.read_text(), i18n=I18N, max_file_size=MAX_FILE_SIZE,
                       allowed_paths=[str(examples.FOLDER)], app_kwargs={"middleware": [Middleware(PayloadGuard)]}, **kwargs)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Skin lesion classifier app (research and teaching aid, not a diagnosis).")
    parser.add_argument("--model", default=None, help="model folder or Hugging Face Hub repo id "
                        "(default: $SKIN_LESION_MODEL_REPO, else the bundled models/skin-lesion-lite0)")
    parser.add_argument("--revision", default=None, help="Hub revision to pin (default: $SKIN_LESION_MODEL_REVISION)")
    parser.add_argument("--host", default=None, help="address to listen on (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: $GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--share", action="store_true", help="also ask Gradio for a temporary public link (needs internet)")
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
    demo = build_demo(clf, load_examples(clf))
    launch(demo, server_name=args.host, server_port=args.port, share=args.share, prevent_thread_lock=True)
    if args.share and not demo.share_url:
        print(f"Could not create a public share link (no connection to Gradio's share server); still serving locally at {demo.local_url}",
              flush=True)
    demo.block_thread()


if __name__ == "__main__":
    main()
