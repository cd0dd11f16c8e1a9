"""The Gradio app (Hugging Face Spaces entry point): upload dermoscopy photos, get P(malignant), a Grad-CAM
overlay and the decision at the model's threshold, in English or Korean. UI only: the logic is in `inference`.

    python app.py [--model REPO_OR_DIR] [--revision REV] [--host HOST] [--port PORT] [--share]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import io
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from PIL import Image

import examples
from app_i18n import MAX_IMAGES, diagnosis_name, gate_message, language, rejection_message, static_translations, t
from inference import Classifier, ImageRejected, Prediction, load_classifier
from inference.config import MALIGNANT_LABELS

log = logging.getLogger("app")

MAX_FILE_SIZE = "25mb"  # the same limit as inference.preprocess.MAX_BYTES, enforced before upload completes
QUEUE_SIZE = 20  # requests waiting at most; beyond it users are told the queue is full
DISPLAY_SIDE = 360  # px: longest side of the photos shown in a result card
MODEL_EVENTS = "model"  # one concurrency group: the model runs one request at a time (TensorFlow, 2 cores)
I18N = gr.I18n(**static_translations())
# System fonts: the page loads nothing from third-party servers (and looks the same offline).
THEME = gr.themes.Default(primary_hue="blue", neutral_hue="slate", font=["system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"])
CSS = """
.gradio-container { max-width: 1180px !important; }
#disclaimer { border: 2px solid #d97706 !important; background: #fffbeb !important; border-radius: 10px; padding: 10px 16px !important; }
#disclaimer p { color: #78350f !important; margin: 0 !important; font-size: 1rem; }
#examples .grid-wrap { height: auto !important; max-height: none !important; min-height: 0 !important; }
#examples .caption-label { white-space: normal !important; font-size: 0.75rem; line-height: 1.15; max-width: 92% !important; }
#about-model table { width: auto; }
.slc-summary { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 12px 16px; margin-bottom: 14px; }
.slc-summary h3 { margin: 0 0 6px 0; }
.slc-summary ul { margin: 0; padding-left: 20px; }
.slc-notice { color: var(--body-text-color-subdued); font-style: italic; }
.slc-card { border: 1px solid var(--border-color-primary); border-left: 6px solid #94a3b8; border-radius: 10px;
  padding: 12px 16px; margin-bottom: 14px; background: var(--block-background-fill); }
.slc-card.slc-referral { border-left-color: #dc2626; }
.slc-card.slc-noflag { border-left-color: #16a34a; }
.slc-card.slc-warning, .slc-card.slc-error { border-left-color: #d97706; }
.slc-card h3 { margin: 0 0 8px 0; font-size: 1.05rem; display: flex; flex-wrap: wrap; gap: 12px; align-items: baseline; }
.slc-truth { font-weight: normal; font-size: 0.92rem; }
.slc-ok { color: #15803d; font-weight: 600; } .slc-bad { color: #b91c1c; font-weight: 600; }
.slc-body { display: flex; flex-wrap: wrap; gap: 16px; }
.slc-body figure { margin: 0; flex: 0 1 240px; }
.slc-body figure img { width: 100%; border-radius: 6px; display: block; }
.slc-body figcaption { font-size: 0.85rem; color: var(--body-text-color-subdued); margin-top: 4px; }
.slc-verdict { flex: 1 1 300px; min-width: 260px; }
.slc-p { display: flex; justify-content: space-between; align-items: baseline; }
.slc-p-value { font-size: 1.7rem; font-weight: 700; }
.slc-muted .slc-p-value { color: var(--body-text-color-subdued); }
.slc-bar { position: relative; height: 14px; background: #e2e8f0; border-radius: 7px; margin: 4px 0 2px 0; }
.slc-fill { height: 100%; border-radius: 7px; background: #2563eb; }
.slc-referral .slc-fill { background: #dc2626; }
.slc-muted .slc-fill { background: #94a3b8; }
.slc-threshold { position: absolute; top: -4px; bottom: -4px; width: 2px; background: #0f172a; }
.slc-threshold-label { font-size: 0.8rem; color: var(--body-text-color-subdued); }
.slc-decision { font-weight: 600; margin: 8px 0; }
.slc-referral .slc-decision { color: #b91c1c; }
.slc-alert { border: 1px solid #d97706; background: #fffbeb; color: #78350f; border-radius: 8px; padding: 8px 10px; margin: 8px 0; }
.slc-dx { width: 100%; border-collapse: collapse; font-size: 0.88rem; margin-top: 4px; }
#results .slc-dx td { padding: 2px 4px; border: none !important; background: transparent !important; }
#results .slc-dx, #results .slc-dx tr { border: none !important; background: transparent !important; }
.slc-dx td.slc-dx-p { text-align: right; width: 4.5em; font-variant-numeric: tabular-nums; }
.slc-dx td.slc-dx-bar { width: 35%; }
.slc-dx-bar div { height: 8px; border-radius: 4px; background: #64748b; }
.slc-dx tr.slc-dx-malignant .slc-dx-bar div { background: #dc2626; }
.slc-dx-kind { color: var(--body-text-color-subdued); font-size: 0.8rem; }
"""


@dataclass
class Item:
    """One input of a batch and what became of it."""

    name: str
    outcome: Prediction | ImageRejected
    truth: examples.Example | None = None


def percent(p: float) -> str:
    return f"{100 * p:.1f}%"


def data_uri(image: Image.Image) -> str:
    """A small JPEG of the image, inlined so a result card is one self-contained piece of HTML."""
    small = image.copy()
    small.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE))
    buffer = io.BytesIO()
    small.convert("RGB").save(buffer, format="JPEG", quality=88)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def request_language(request: gr.Request | None) -> str:
    return language(request.headers.get("accept-language") if request is not None else None)


def decision_text(lang: str, prediction: Prediction) -> str:
    return t(lang, "above" if prediction.malignant else "below", threshold=percent(prediction.threshold))


def run_batch(clf: Classifier, files: list[tuple[str, str]], example_set: examples.ExampleSet, lang: str, progress) -> list[Item]:
    """Classify (path, display name) pairs one by one, so progress moves and one bad file never stops the rest."""
    items = []
    for i, (path, name) in enumerate(files):
        progress((i, len(files)), desc=t(lang, "progress", i=i + 1, n=len(files)))
        try:
            (outcome,) = clf.predict([path], explain=True)
        except Exception:  # an unexpected failure on one file is reported on its card, not as a crash
            log.exception("classifying %s failed", name)
            outcome = ImageRejected("other", "unexpected error")
        items.append(Item(name, outcome, example_set.true_example(path)))
    return items


def render_summary(items: list[Item], lang: str, notice: str = "") -> str:
    predictions = [i.outcome for i in items if isinstance(i.outcome, Prediction)]
    threshold = percent(predictions[0].threshold) if predictions else ""
    lines = [t(lang, "summary_images", n=len(predictions))]
    if predictions:
        lines.append(t(lang, "summary_above", k=sum(p.malignant for p in predictions), threshold=threshold))
        lines.append(t(lang, "summary_warnings", w=sum(p.warning_code is not None for p in predictions)))
    errors = len(items) - len(predictions)
    if errors:
        lines.append(t(lang, "summary_errors", e=errors))
    judged = [i for i in items if i.truth and isinstance(i.outcome, Prediction)]
    correct = sum(is_correct(i) for i in judged)
    if judged:
        lines.append(t(lang, "summary_truth", m=len(judged), c=correct, accuracy=percent(correct / len(judged))))
    body = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    extra = f'<p class="slc-notice">{html.escape(notice)}</p>' if notice else ""
    return (f'<section class="slc-summary" data-images="{len(predictions)}" data-errors="{errors}" '
            f'data-judged="{len(judged)}" data-correct="{correct}"><h3>{html.escape(t(lang, "summary_title"))}</h3>'
            f"<ul>{body}</ul>{extra}</section>")


def is_correct(item: Item) -> bool:
    return item.outcome.malignant == (item.truth.dx in MALIGNANT_LABELS)


def render_breakdown(lang: str, prediction: Prediction) -> str:
    rows = []
    for dx, p in sorted(prediction.diagnoses.items(), key=lambda kv: -kv[1]):
        malignant = dx in MALIGNANT_LABELS
        kind = t(lang, "malignant_kind" if malignant else "benign_kind")
        rows.append(
            f'<tr class="{"slc-dx-malignant" if malignant else ""}" data-dx="{dx}" data-p="{p:.4f}">'
            f'<td>{html.escape(diagnosis_name(lang, dx))} <span class="slc-dx-kind">{html.escape(kind)}</span></td>'
            f'<td class="slc-dx-bar"><div style="width:{100 * p:.1f}%"></div></td><td class="slc-dx-p">{percent(p)}</td></tr>'
        )
    return f'<p><strong>{html.escape(t(lang, "breakdown"))}</strong></p><table class="slc-dx">{"".join(rows)}</table>'


def render_card(index: int, item: Item, lang: str) -> str:
    title = f"{index + 1}. {html.escape(item.name)}"
    outcome = item.outcome
    if isinstance(outcome, ImageRejected):
        message = rejection_message(lang, outcome.reason)
        return (f'<article class="slc-card slc-error" data-index="{index}" data-error="{html.escape(outcome.reason)}">'
                f"<h3>{title}</h3><p class=\"slc-alert\"><strong>{html.escape(t(lang, 'could_not_read'))}:</strong> "
                f"{html.escape(message)}</p></article>")
    truth = ""
    if item.truth:
        malignant = item.truth.dx in MALIGNANT_LABELS
        kind = t(lang, "malignant_kind" if malignant else "benign_kind")
        mark = (f'<span class="slc-ok">{t(lang, "correct")}</span>' if is_correct(item)
                else f'<span class="slc-bad">{t(lang, "incorrect")}</span>')
        label = t(lang, "truth", label=diagnosis_name(lang, item.truth.dx), kind=kind)
        truth = f'<span class="slc-truth" data-truth="{item.truth.dx}">{html.escape(label)} · {mark}</span>'
    if outcome.warning_code:
        state, muted = "slc-warning slc-muted", " " + html.escape(t(lang, "unreliable"))
        verdict = (f'<div class="slc-alert" data-warning="{html.escape(outcome.warning_code)}"><strong>'
                   f'{html.escape(t(lang, "no_verdict"))}</strong> {html.escape(gate_message(lang, outcome.warning_code))}</div>')
    else:
        state, muted = ("slc-referral" if outcome.malignant else "slc-noflag"), ""
        verdict = f'<p class="slc-decision">{html.escape(decision_text(lang, outcome))}</p>'
    threshold = percent(outcome.threshold)
    empty_map = f"<br>{html.escape(t(lang, 'gradcam_empty'))}" if outcome.heatmap is not None and not outcome.heatmap.any() else ""
    return f"""<article class="slc-card {state}" data-index="{index}" data-p-malignant="{outcome.p_malignant:.4f}"
 data-malignant="{str(outcome.malignant).lower()}" data-threshold="{outcome.threshold:.4f}">
<h3><span>{title}</span>{truth}</h3>
<div class="slc-body">
<figure><img class="slc-photo" alt="{html.escape(t(lang, 'photo'))}" src="{data_uri(outcome.image)}">
<figcaption>{html.escape(t(lang, 'photo'))}</figcaption></figure>
<figure><img class="slc-gradcam" alt="{html.escape(t(lang, 'gradcam'))}" src="{data_uri(outcome.overlay)}">
<figcaption>{html.escape(t(lang, 'gradcam'))}{empty_map}</figcaption></figure>
<div class="slc-verdict">
<div class="slc-p"><span>{html.escape(t(lang, 'p_malignant'))}{muted}</span><span class="slc-p-value">{percent(outcome.p_malignant)}</span>
</div>
<div class="slc-bar"><div class="slc-fill" style="width:{100 * outcome.p_malignant:.1f}%"></div>
<div class="slc-threshold" style="left:{100 * outcome.threshold:.1f}%"></div></div>
<div class="slc-threshold-label">{html.escape(t(lang, 'threshold_mark', threshold=threshold))}</div>
{verdict}
{render_breakdown(lang, outcome)}
</div></div></article>"""


def render_results(items: list[Item], lang: str, notice: str = "") -> str:
    return render_summary(items, lang, notice) + "".join(render_card(i, item, lang) for i, item in enumerate(items))


def placeholder(lang: str, key: str = "placeholder") -> str:
    text = html.escape(t(lang, key)).replace("**", "")
    return f'<p class="slc-notice">{text}</p>'


def render_about(clf: Classifier, lang: str) -> str:
    """The model's identity and measured results, as Markdown."""
    cfg = clf.config
    rows = [
        (t(lang, "about_backbone"), f"`{cfg.backbone}`"),
        (t(lang, "about_input"), f"{cfg.input_size} × {cfg.input_size} px"),
        (t(lang, "about_source"), clf.source.describe()),
        (t(lang, "about_threshold"), percent(cfg.threshold)),
        (t(lang, "about_temperature"), f"{cfg.temperature:.3f}"),
    ]
    if "target_sensitivity" in cfg.extra:
        rows[-2] = (rows[-2][0], rows[-2][1] + f" ({t(lang, 'about_threshold_how', target=percent(cfg.extra['target_sensitivity']))})")
    if clf.source.note:
        rows.append((t(lang, "about_note"), clf.source.note))
    text = [t(lang, "about_model"), "", *(f"- **{k}:** {v}" for k, v in rows), "", t(lang, "about_results"), ""]
    metrics_path = Path(clf.folder) / "metrics.json"
    try:
        metrics = json.loads(metrics_path.read_text())
    except (OSError, ValueError):
        return "\n".join([*text, t(lang, "about_no_metrics")])
    splits = [(name, metrics[name]) for name in ("validation", "test") if isinstance(metrics.get(name), dict)]
    text += [f"| {t(lang, 'about_metric')} | " + " | ".join(t(lang, f"about_{name}") for name, _ in splits) + " |",
             "|---|" + "---:|" * len(splits)]
    for key in ("n", "auc", "sensitivity", "specificity", "precision", "accuracy", "balanced_accuracy_7class", "ece"):
        cells = []
        for _, values in splits:
            value = values.get(key)
            cells.append("–" if value is None else str(value) if key == "n" else f"{value:.3f}" if key in ("auc", "ece")
                         else percent(value))
        text.append(f"| {t(lang, 'm_' + key)} | " + " | ".join(cells) + " |")
    return "\n".join(text)


def overlay_file(image: Image.Image) -> str:
    """The overlay as a PNG file for the API to return.

    Gradio 6.31 writes a returned PIL image in place at a content-hash path (`save_pil_to_cache`), so two
    concurrent requests for the same photo rewrite the file while the first client downloads it (truncated
    download, seen in `python -m bench.load`). A returned file path goes through Gradio's atomic copy instead;
    the file is content-addressed and written with a rename, so it never changes once it exists.
    """
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data = buffer.getvalue()
    folder = Path(os.environ.get("GRADIO_TEMP_DIR", tempfile.gettempdir())) / "overlays"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()}.png"
    if not path.exists():
        fd, staging = tempfile.mkstemp(dir=folder, suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(staging, path)
    return str(path)


def api_result(clf: Classifier, prediction: Prediction) -> dict:
    """The JSON answer of the `predict` endpoint."""
    return {
        **prediction.to_dict(),
        "decision": decision_text("en", prediction) if not prediction.warning_code else gate_message("en", prediction.warning_code),
        "model": clf.describe(),
    }


def build_demo(clf: Classifier, example_set: examples.ExampleSet) -> gr.Blocks:
    """The page: header and disclaimer, a Classify tab (upload, examples, results) and an About tab."""
    gallery_items = example_set.examples

    def captions(lang: str) -> list[tuple[str, str]]:
        return [(str(e.path), f"{diagnosis_name(lang, e.dx)} ({e.dx})") for e in gallery_items]

    def classify(files: list[str] | None, request: gr.Request, progress=gr.Progress()) -> str:  # noqa: B008 (Gradio's way to ask for progress)
        lang = request_language(request)
        files = files or []
        if not files:
            return placeholder(lang, "no_input")
        notice = t(lang, "too_many", given=len(files)) if len(files) > MAX_IMAGES else ""
        named = [(path, Path(path).name) for path in files[:MAX_IMAGES]]
        return render_results(run_batch(clf, named, example_set, lang, progress), lang, notice)

    def classify_examples(chosen: list[examples.Example], lang: str, progress) -> str:
        named = [(str(e.path), t(lang, "example_name", image_id=e.image_id)) for e in chosen]
        return render_results(run_batch(clf, named, example_set, lang, progress), lang)

    def classify_one_example(evt: gr.SelectData, request: gr.Request, progress=gr.Progress()) -> str:  # noqa: B008 (Gradio's way to ask for progress)
        return classify_examples([gallery_items[evt.index]], request_language(request), progress)

    def classify_all_examples(request: gr.Request, progress=gr.Progress()) -> str:  # noqa: B008 (Gradio's way to ask for progress)
        return classify_examples(gallery_items[:MAX_IMAGES], request_language(request), progress)

    def predict(file: str | None, request: gr.Request) -> tuple[dict, str]:
        """One dermoscopy image in; P(malignant), the decision at the threshold, the 7 diagnoses and the Grad-CAM overlay out."""
        lang = request_language(request)
        if not file:
            raise gr.Error(t(lang, "no_input"))
        try:
            prediction = clf.predict_one(file, explain=True)
        except ImageRejected as rejected:
            raise gr.Error(rejection_message(lang, rejected.reason)) from None
        return api_result(clf, prediction), overlay_file(prediction.overlay)

    def on_load(request: gr.Request) -> tuple:
        """Fill in what depends on the browser's language: the empty results area, the About text, the captions."""
        lang = request_language(request)
        return (placeholder(lang), render_about(clf, lang)) + ((captions(lang),) if gallery_items else ())

    model_events = {"concurrency_id": MODEL_EVENTS, "concurrency_limit": 1}
    with gr.Blocks(title="Skin lesion check · 피부 병변 확인", analytics_enabled=False) as demo:
        gr.Markdown(I18N("title"))
        gr.Markdown(I18N("subtitle"))
        gr.Markdown(I18N("disclaimer"), elem_id="disclaimer")
        with gr.Tabs():
            with gr.Tab(I18N("tab_classify"), id="classify"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=1):
                        files = gr.File(label=I18N("upload_label"), file_count="multiple", type="filepath", elem_id="upload", height=180)
                        classify_button = gr.Button(I18N("classify_button"), variant="primary", elem_id="classify")
                    with gr.Column(scale=1):
                        gr.Markdown(I18N("examples_heading"))
                        if gallery_items:
                            gallery = gr.Gallery(captions("en"), label=I18N("examples_label"), show_label=False, columns=4, height="auto",
                                                 allow_preview=False, buttons=[], elem_id="examples", interactive=False)
                            examples_button = gr.Button(I18N("examples_button"), elem_id="classify-examples")
                        else:
                            gallery = None
                            gr.Markdown(I18N("examples_missing"), elem_id="examples-missing")
                results = gr.HTML(elem_id="results", label=I18N("results_label"), min_height=80)
            with gr.Tab(I18N("tab_about"), id="about"):
                about = gr.Markdown(elem_id="about-model")
                with gr.Row():
                    for name, label in (("roc.png", "roc_label"), ("reliability.png", "reliability_label")):
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

        classify_button.click(classify, files, results, api_name="classify", api_visibility="undocumented", **model_events)
        if gallery is not None:
            gallery.select(classify_one_example, None, results, api_visibility="private", **model_events)
            examples_button.click(classify_all_examples, None, results, api_visibility="private", **model_events)
        api_button.click(predict, api_file, [api_json, api_overlay], api_name="predict", **model_events)
        demo.load(on_load, None, [results, about] + ([gallery] if gallery is not None else []), api_visibility="private", queue=False)
    return demo


def materialise_examples(clf: Classifier) -> examples.ExampleSet:
    """The example images for this model: only its own test split's images, from local data or its Hub repo."""
    import os

    from inference.loading import REPO_ENV

    folder = Path(clf.folder)
    repo_id = clf.source.repo_id or os.environ.get(REPO_ENV)
    example_set = examples.materialise(repo_id, clf.source.revision, extra_dirs=[folder],
                                       test_ids=examples.test_split_ids(folder / "split.csv"))
    log.info("examples: %d from %s (missing: %s)", len(example_set.examples), example_set.source, ", ".join(example_set.missing) or "none")
    return example_set


def launch(demo: gr.Blocks, **kwargs):
    """Queue and launch with the app's settings (theme, CSS, translations, limits); kwargs go to Blocks.launch."""
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    return demo.launch(theme=THEME, css=CSS, i18n=I18N, max_file_size=MAX_FILE_SIZE,
                       allowed_paths=[str(examples.cache_dir())], **kwargs)


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
    try:
        clf = load_classifier(args.model, args.revision)
    except Exception as error:  # say what failed in one line, not with a stack trace
        raise SystemExit(f"Could not load the model {args.model or '(default)'}: {type(error).__name__}: {error}") from None
    log.info("model: %s", clf.describe())
    demo = build_demo(clf, materialise_examples(clf))
    launch(demo, server_name=args.host, server_port=args.port, share=args.share, prevent_thread_lock=True)
    if args.share and not demo.share_url:
        print(f"Could not create a public share link (no connection to Gradio's share server); still serving locally at {demo.local_url}",
              flush=True)
    demo.block_thread()


if __name__ == "__main__":
    main()
