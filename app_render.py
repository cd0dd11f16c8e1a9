"""HTML and Markdown for the app, from predictions: pure functions (no Gradio, no model, no server), so every
word and number a visitor sees can be unit-tested. The prose itself is in app_i18n."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass

from PIL import Image

import examples
from app_i18n import decision_text, diagnosis_name, gate_message, outcome_name, rejection_message, t
from inference import ImageRejected, Prediction
from inference.config import MALIGNANT_LABELS, ModelConfig

DISPLAY_SIDE = 360  # px: longest side of the photos shown in a result card
CARD_CLASS = {"refer": "slc-referral", "no_flag": "slc-noflag", "uncertain": "slc-uncertain"}


@dataclass
class Item:
    """One input of a batch and what became of it."""

    name: str
    outcome: Prediction | ImageRejected
    truth: examples.Example | None = None


@dataclass(frozen=True)
class ModelIdentity:
    """What a visitor may know about the served model: names, versions and dates, never a filesystem path."""

    name: str  # a Hub repo id, or the model folder's name
    kind: str  # "hub", "cache", "bundled" or "local"
    version: str  # a Hub commit, else a short content hash of the weights
    date: str  # when it was trained, or ""
    fell_back: bool = False  # the configured model could not be loaded


def percent(p: float) -> str:
    return f"{100 * p:.1f}%"


def esc(text: object) -> str:
    return html.escape(str(text))


def data_uri(image: Image.Image) -> str:
    """A small JPEG of the image, inlined so a result card is one self-contained piece of HTML."""
    small = image.copy()
    small.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE))
    buffer = io.BytesIO()
    small.convert("RGB").save(buffer, format="JPEG", quality=88)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def is_judged(item: Item) -> bool:
    """Whether the item can count towards accuracy: a recorded diagnosis and a decision (refer or no flag)."""
    return bool(item.truth) and isinstance(item.outcome, Prediction) and item.outcome.decision_code != "uncertain"


def is_correct(item: Item) -> bool:
    return (item.outcome.decision_code == "refer") == (item.truth.dx in MALIGNANT_LABELS)


def render_summary(items: list[Item], lang: str, notice: str = "") -> str:
    """Counts of each outcome, then accuracy over what has both a recorded diagnosis and a decision."""
    predictions = [i.outcome for i in items if isinstance(i.outcome, Prediction)]
    codes = [p.decision_code for p in predictions]
    counts = {code: codes.count(code) for code in CARD_CLASS}
    cautioned = sum(p.decision_code == "refer" and p.warning_code is not None for p in predictions)
    lines = [t(lang, "summary_images", n=len(predictions))]
    if predictions:
        threshold = percent(predictions[0].threshold)
        if cautioned:
            lines.append(t(lang, "summary_refer_caution", k=counts["refer"], c=cautioned, threshold=threshold))
        else:
            lines.append(t(lang, "summary_refer", k=counts["refer"], threshold=threshold))
        lines.append(t(lang, "summary_no_flag", k=counts["no_flag"]))
        lines.append(t(lang, "summary_uncertain", k=counts["uncertain"]))
    errors = len(items) - len(predictions)
    if errors:
        lines.append(t(lang, "summary_errors", e=errors))
    known = [i for i in items if i.truth and isinstance(i.outcome, Prediction)]
    judged = [i for i in known if is_judged(i)]
    correct = sum(is_correct(i) for i in judged)
    if judged:
        lines.append(t(lang, "summary_truth", m=len(known), j=len(judged), c=correct, accuracy=percent(correct / len(judged))))
        if len(known) > len(judged):
            lines.append(t(lang, "summary_truth_skipped", u=len(known) - len(judged)))
    elif known:
        lines.append(t(lang, "summary_truth_none", m=len(known)))
    body = "".join(f"<li>{esc(line)}</li>" for line in lines)
    extra = f'<p class="slc-notice slc-too-many">{esc(notice)}</p>' if notice else ""
    data = " ".join(f'data-{code.replace("_", "-")}="{n}"' for code, n in counts.items())
    return (f'<section class="slc-summary" data-images="{len(predictions)}" data-errors="{errors}" {data} data-cautioned="{cautioned}" '
            f'data-known="{len(known)}" data-judged="{len(judged)}" data-correct="{correct}"><h3>{esc(t(lang, "summary_title"))}</h3>'
            f"{extra}<ul>{body}</ul></section>")


def render_breakdown(lang: str, prediction: Prediction) -> str:
    rows = []
    for dx, p in sorted(prediction.diagnoses.items(), key=lambda kv: -kv[1]):
        malignant = dx in MALIGNANT_LABELS
        kind = t(lang, "malignant_kind" if malignant else "benign_kind")
        rows.append(
            f'<tr class="{"slc-dx-malignant" if malignant else ""}" data-dx="{dx}" data-p="{p:.4f}">'
            f'<td>{esc(diagnosis_name(lang, dx))} <span class="slc-dx-kind">{esc(kind)}</span></td>'
            f'<td class="slc-dx-bar"><div style="width:{100 * p:.1f}%"></div></td><td class="slc-dx-p">{percent(p)}</td></tr>'
        )
    return f'<p><strong>{esc(t(lang, "breakdown"))}</strong></p><table class="slc-dx">{"".join(rows)}</table>'


def render_truth(item: Item, lang: str) -> str:
    if not item.truth:
        return ""
    kind = t(lang, "malignant_kind" if item.truth.dx in MALIGNANT_LABELS else "benign_kind")
    if not is_judged(item):
        mark = f'<span class="slc-skip">{esc(t(lang, "not_judged"))}</span>'
    elif is_correct(item):
        mark = f'<span class="slc-ok">{esc(t(lang, "correct"))}</span>'
    else:
        mark = f'<span class="slc-bad">{esc(t(lang, "incorrect"))}</span>'
    label = t(lang, "truth", label=diagnosis_name(lang, item.truth.dx), kind=kind)
    return f'<span class="slc-truth" data-truth="{esc(item.truth.dx)}">{esc(label)} · {mark}</span>'


def render_card(index: int, item: Item, lang: str) -> str:
    """One result: the outcome in a word, the photo and its Grad-CAM map, P(malignant) against the threshold,
    the decision in words, the gate's caution beside it when there is one, and the 7-diagnosis breakdown."""
    title = f"{index + 1}. {esc(item.name)}"
    outcome = item.outcome
    if isinstance(outcome, ImageRejected):
        return (f'<article class="slc-card slc-error" data-index="{index}" data-error="{esc(outcome.reason)}">'
                f'<h3>{title}</h3><p class="slc-alert"><strong>{esc(t(lang, "could_not_read"))}:</strong> '
                f"{esc(rejection_message(lang, outcome.reason))}</p></article>")
    code = outcome.decision_code
    threshold = percent(outcome.threshold)
    caution = ""
    if outcome.warning_code:
        caution = (f'<div class="slc-alert" data-warning="{esc(outcome.warning_code)}"><strong>{esc(t(lang, "caution"))}</strong> '
                   f"{esc(gate_message(lang, outcome.warning_code))}</div>")
    muted = f" {esc(t(lang, 'unreliable'))}" if code == "uncertain" else ""
    empty_map = f"<br>{esc(t(lang, 'gradcam_empty'))}" if outcome.heatmap is not None and not outcome.heatmap.any() else ""
    gradcam = ""
    if outcome.overlay is not None:
        gradcam = (f'<figure><img class="slc-gradcam" alt="{esc(t(lang, "gradcam"))}" src="{data_uri(outcome.overlay)}">'
                   f'<figcaption>{esc(t(lang, "gradcam"))}{empty_map}</figcaption></figure>')
    return f"""<article class="slc-card {CARD_CLASS[code]}{" slc-muted" if code == "uncertain" else ""}" data-index="{index}"
 data-decision="{code}" data-p-malignant="{outcome.p_malignant:.4f}" data-malignant="{str(code == "refer").lower()}"
 data-threshold="{outcome.threshold:.4f}">
<h3><span>{title}</span><span class="slc-outcome">{esc(outcome_name(lang, code))}</span>{render_truth(item, lang)}</h3>
<div class="slc-body">
<figure><img class="slc-photo" alt="{esc(t(lang, 'photo'))}" src="{data_uri(outcome.image)}">
<figcaption>{esc(t(lang, 'photo'))}</figcaption></figure>
{gradcam}
<div class="slc-verdict">
<div class="slc-p"><span>{esc(t(lang, 'p_malignant'))}{muted}</span><span class="slc-p-value">{percent(outcome.p_malignant)}</span>
</div>
<div class="slc-bar"><div class="slc-fill" style="width:{100 * outcome.p_malignant:.1f}%"></div>
<div class="slc-threshold" style="left:{100 * outcome.threshold:.1f}%"></div></div>
<div class="slc-threshold-label">{esc(t(lang, 'threshold_mark', threshold=threshold))}</div>
<p class="slc-decision">{esc(decision_text(lang, code, threshold))}</p>
{caution}
{render_breakdown(lang, outcome)}
</div></div></article>"""


def render_results(items: list[Item], lang: str, notice: str = "") -> str:
    return render_summary(items, lang, notice) + "".join(render_card(i, item, lang) for i, item in enumerate(items))


def placeholder(lang: str, key: str = "placeholder") -> str:
    text = esc(t(lang, key)).replace("**", "")
    return f'<p class="slc-notice">{text}</p>'


def too_many_notice(lang: str, names: list[str], limit: int) -> str:
    """The message for a batch over the limit, naming every file that is not classified ("" when within it)."""
    if len(names) <= limit:
        return ""
    return t(lang, "too_many", given=len(names), names=", ".join(names[limit:]))


def render_upload_preview(names: list[str], urls: list[str], lang: str, limit: int) -> str:
    """What will be classified (thumbnails, loaded by the browser from Gradio's own file URLs) and, over the limit,
    what will not be, by name: said as soon as the files are chosen, before anything runs."""
    if not names:
        return ""
    warning = ""
    if len(names) > limit:
        skipped = ", ".join(names[limit:])
        warning = f'<p class="slc-too-many">{esc(t(lang, "too_many_files", given=len(names), names=skipped))}</p>'
    thumbs = "".join(f'<li><img src="{esc(url)}" alt="" loading="lazy"><span>{esc(name)}</span></li>'
                     for name, url in zip(names[:limit], urls[:limit], strict=True))
    return (f'<div class="slc-preview" data-chosen="{len(names)}" data-kept="{min(len(names), limit)}">{warning}'
            f'<p>{esc(t(lang, "will_classify", n=min(len(names), limit)))}</p><ul class="slc-thumbs">{thumbs}</ul></div>')


def public_model_name(identity: ModelIdentity) -> str:
    """The served model for the API and the About tab: its name and version, no path."""
    return f"{identity.name} @ {identity.version}" if identity.version else identity.name


def api_result(prediction: Prediction, identity: ModelIdentity, backbone: str) -> dict:
    """The JSON answer of the `predict` endpoint."""
    result = prediction.to_dict()
    result["decision"] = decision_text("en", prediction.decision_code, percent(prediction.threshold))
    if prediction.warning_code:
        result["decision"] += " " + t("en", "caution") + " " + gate_message("en", prediction.warning_code)
    result["model"] = f"{backbone} · {public_model_name(identity)}"
    return result


def _metrics_lines(lang: str, metrics: dict) -> list[str]:
    """Absolute counts a clinician asks for: cancers missed, false alarms, melanoma on its own, the gate's rate."""
    test = metrics.get("test") or {}
    lines = []
    confusion = test.get("confusion")
    if confusion:
        malignant, benign = confusion["tp"] + confusion["fn"], confusion["tn"] + confusion["fp"]
        lines += [t(lang, "about_counts", n=f"{test.get('n', malignant + benign):,}"),
                  "- " + t(lang, "about_missed", fn=f"{confusion['fn']:,}", malignant=f"{malignant:,}",
                           sensitivity=percent(test["sensitivity"])),
                  "- " + t(lang, "about_false_alarms", fp=f"{confusion['fp']:,}", benign=f"{benign:,}",
                           specificity=percent(test["specificity"]), precision=percent(test["precision"]))]
    melanoma = (test.get("by_diagnosis") or {}).get("mel")
    if melanoma and melanoma.get("n"):
        lines.append("- " + t(lang, "about_melanoma", flagged=melanoma["flagged"], n=melanoma["n"],
                              missed=melanoma["n"] - melanoma["flagged"], sensitivity=percent(melanoma["flagged"] / melanoma["n"])))
    else:
        lines.append("- " + t(lang, "about_melanoma_unknown"))
    gate, n_val = metrics.get("gate") or {}, (metrics.get("validation") or {}).get("n")
    if "validation_false_alarm_rate" in gate and n_val:
        rate = gate["validation_false_alarm_rate"]
        lines.append("- " + t(lang, "about_gate", p=percent(rate), n=f"{n_val:,}", k=round(rate * n_val)))
    else:
        lines.append("- " + t(lang, "about_gate_unknown"))
    return lines


def render_about(lang: str, identity: ModelIdentity, config: ModelConfig, metrics: dict | None) -> str:
    """The model's identity and its measured results, as Markdown, in the visitor's language."""
    unknown = t(lang, "about_unknown")
    threshold = percent(config.threshold)
    if "target_sensitivity" in config.extra:
        threshold += f" ({t(lang, 'about_threshold_how', target=percent(config.extra['target_sensitivity']))})"
    rows = [
        (t(lang, "about_id"), f"`{identity.name}`"),
        (t(lang, "about_version"), f"`{identity.version}`" if identity.version else unknown),
        (t(lang, "about_date"), identity.date or unknown),
        (t(lang, "about_source"), t(lang, f"source_{identity.kind}")),
        (t(lang, "about_backbone"), f"`{config.backbone}`"),
        (t(lang, "about_input"), f"{config.input_size} × {config.input_size} px"),
        (t(lang, "about_threshold"), threshold),
        (t(lang, "about_temperature"), f"{config.temperature:.3f}"),
    ]
    text = [t(lang, "about_model"), "", *(f"- **{k}:** {v}" for k, v in rows)]
    if identity.fell_back:
        text += ["", t(lang, "about_fallback")]
    text += ["", t(lang, "about_results"), ""]
    if not metrics:
        return "\n".join([*text, t(lang, "about_no_metrics")])
    text += [*_metrics_lines(lang, metrics), ""]
    splits = [(name, metrics[name]) for name in ("validation", "test") if isinstance(metrics.get(name), dict)]
    text += [f"| {t(lang, 'about_metric')} | " + " | ".join(t(lang, f"about_{name}") for name, _ in splits) + " |",
             "|---|" + "---:|" * len(splits)]
    for key in ("n", "auc", "sensitivity", "specificity", "precision", "accuracy", "balanced_accuracy_7class", "ece"):
        cells = []
        for _, values in splits:
            value = values.get(key)
            cells.append("–" if value is None else f"{value:,}" if key == "n" else f"{value:.3f}" if key in ("auc", "ece")
                         else percent(value))
        text.append(f"| {t(lang, 'm_' + key)} | " + " | ".join(cells) + " |")
    return "\n".join(text)
