"""HTML and Markdown for the app, from predictions: pure functions (no Gradio, no model, no server), so every
word and number a visitor sees can be unit-tested. The prose itself is in app_i18n.

Every surface (card, summary, results table, printable report) shows P(malignant) with `shown_p`: to the whole
percent, because re-saving the same photo moves it by several points. The API and the CSV keep full precision."""

from __future__ import annotations

import base64
import csv
import html
import io
import math
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

from PIL import Image

import examples
from app_i18n import (
    decision_text,
    diagnosis_name,
    gate_message,
    gate_short,
    outcome_name,
    rejection_message,
    source_name,
    t,
)
from inference import ImageRejected, Prediction
from inference.__main__ import COLUMNS, result_row
from inference.config import MALIGNANT_LABELS, ModelConfig, gate_design, same_recipe
from inference.preprocess import square_box

DISPLAY_SIDE = 360  # px: longest side of the photos shown in a result card and a report
CARD_CLASS = {"refer": "slc-referral", "no_flag": "slc-noflag", "uncertain": "slc-uncertain"}
# P(malignant): closer than this to the threshold, a card says the decision could flip on a retaken photo. Re-saving the
# same photo as a JPEG moves P by a few points (`resave` in metrics.json, `python -m train.resave`).
NEAR_THRESHOLD = 0.05
CSV_COLUMNS = [*COLUMNS, "model"]  # the batch CLI's columns, then the model that produced the row


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
    """Measured rates (sensitivity, AUC-like figures, thresholds): one decimal."""
    return f"{100 * p:.1f}%"


def shown_p(p: float) -> str:
    """A predicted probability, to the whole percent (half up); the ends as "<1%" and ">99%"."""
    if p < 0.005:
        return "<1%"
    if p >= 0.995:
        return ">99%"
    return f"{math.floor(100 * p + 0.5)}%"


def whole_percent(rate: float) -> str:
    """A share of a handful of examples (an accuracy over 8): to the whole percent, 0% and 100% included."""
    return f"{math.floor(100 * rate + 0.5)}%"


def esc(text: object) -> str:
    return html.escape(str(text))


_URIS: OrderedDict[int, tuple[weakref.ref, str]] = OrderedDict()
_URIS_LOCK = threading.Lock()
_URIS_KEPT = 64  # a batch renders each photo in two languages, as a card and as a report: encode it once


def data_uri(image: Image.Image) -> str:
    """A small JPEG of the image, inlined so a result card is one self-contained piece of HTML."""
    with _URIS_LOCK:
        cached = _URIS.get(id(image))
        if cached and cached[0]() is image:
            return cached[1]
    small = image.copy()
    small.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE))
    buffer = io.BytesIO()
    small.convert("RGB").save(buffer, format="JPEG", quality=88)
    uri = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
    with _URIS_LOCK:
        _URIS[id(image)] = (weakref.ref(image), uri)
        while len(_URIS) > _URIS_KEPT:
            _URIS.popitem(last=False)
    return uri


def square_style(width: int, height: int) -> str:
    """CSS placing the model's field of view (inference.preprocess.square_box) over a photo of this size."""
    left, top, right, bottom = square_box(width, height)
    return (f"left:{100 * left / width:.2f}%;top:{100 * top / height:.2f}%;"
            f"width:{100 * (right - left) / width:.2f}%;height:{100 * (bottom - top) / height:.2f}%")


def framed(src: str, size: tuple[int, int] | None, alt: str, css_class: str) -> str:
    """An image with the centre square the model sees drawn over it (dashed), when its size is known."""
    square = f'<span class="slc-square" style="{square_style(*size)}"></span>' if size else ""
    return f'<span class="slc-frame"><img class="{css_class}" alt="{esc(alt)}" src="{esc(src)}">{square}</span>'


# --- what a prediction says ---------------------------------------------------------------------------------------


def is_judged(item: Item) -> bool:
    """Whether the item can count towards accuracy: a recorded diagnosis and a decision (refer or no flag)."""
    return bool(item.truth) and isinstance(item.outcome, Prediction) and item.outcome.decision_code != "uncertain"


def is_correct(item: Item) -> bool:
    """Benign/malignant agreement: a referral for a malignant recorded diagnosis, no flag for a benign one."""
    return (item.outcome.decision_code == "refer") == (item.truth.dx in MALIGNANT_LABELS)


def top_diagnosis(prediction: Prediction) -> tuple[str, float]:
    return max(prediction.diagnoses.items(), key=lambda kv: kv[1])


def near_threshold(prediction: Prediction) -> bool:
    return prediction.meaningful and abs(prediction.p_malignant - prediction.threshold) < NEAR_THRESHOLD


def p_note(lang: str, prediction: Prediction) -> str:
    """Why a P(malignant) is greyed: not meaningful (not a lesion photo) or not reliable (uncertain); else ""."""
    if not prediction.meaningful:
        return t(lang, "not_meaningful")
    return t(lang, "unreliable") if prediction.decision_code == "uncertain" else ""


def outcome_badge(lang: str, code: str) -> str:
    return f'<span class="slc-outcome slc-o-{code}">{esc(outcome_name(lang, code))}</span>'


# --- the results area: summary, table, cards ----------------------------------------------------------------------


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
    same_top = sum(top_diagnosis(i.outcome)[0] == i.truth.dx for i in judged)
    if judged:
        lines.append(t(lang, "summary_truth", m=len(known), j=len(judged), c=correct, accuracy=whole_percent(correct / len(judged))))
        lines.append(t(lang, "summary_top_dx", t=same_top, m=len(judged)))
        if len(known) > len(judged):
            lines.append(t(lang, "summary_truth_skipped", u=len(known) - len(judged)))
    elif known:
        lines.append(t(lang, "summary_truth_none", m=len(known)))
    body = "".join(f"<li>{esc(line)}</li>" for line in lines)
    extra = f'<p class="slc-notice slc-too-many">{esc(notice)}</p>' if notice else ""
    data = " ".join(f'data-{code.replace("_", "-")}="{n}"' for code, n in counts.items())
    return (f'<section class="slc-summary" data-images="{len(predictions)}" data-errors="{errors}" {data} data-cautioned="{cautioned}" '
            f'data-known="{len(known)}" data-judged="{len(judged)}" data-correct="{correct}" data-top-dx="{same_top}">'
            f'<h3>{esc(t(lang, "summary_title"))}</h3>{extra}<ul>{body}</ul></section>')


def render_table(items: list[Item], lang: str) -> str:
    """Every result on one line (P, decision, caution), each linked to its card: the page in a screenful, on a phone too."""
    rows = []
    for index, item in enumerate(items):
        outcome = item.outcome
        link = f'<td class="slc-name"><a href="#card-{index + 1}">{index + 1}. {esc(item.name)}</a></td>'
        if isinstance(outcome, ImageRejected):
            rows.append(f'<tr data-index="{index}" data-error="{esc(outcome.reason)}">{link}<td class="slc-num">–</td>'
                        f'<td colspan="2">{esc(t(lang, "table_error"))}</td></tr>')
            continue
        code = outcome.decision_code
        if not outcome.meaningful:
            p_cell = f'<td class="slc-num slc-dim">{esc(t(lang, "table_not_meaningful"))}</td>'
        else:
            p_cell = f'<td class="slc-num{" slc-dim" if code == "uncertain" else ""}">{esc(shown_p(outcome.p_malignant))}</td>'
        notes = [gate_short(lang, outcome.warning_code)] if outcome.warning_code else []
        if near_threshold(outcome):
            notes.append(t(lang, "near_short"))
        rows.append(f'<tr data-index="{index}" data-decision="{code}">{link}{p_cell}'
                    f"<td>{outcome_badge(lang, code)}</td><td>{esc('; '.join(notes))}</td></tr>")
    head = "".join(f"<th>{esc(t(lang, key))}</th>" for key in ("table_file", "table_p", "table_decision", "table_note"))
    return (f'<div class="slc-table-wrap"><table class="slc-table"><caption>{esc(t(lang, "table_title"))}</caption>'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def render_breakdown(lang: str, prediction: Prediction) -> str:
    """The 7 diagnoses; folded away and greyed when the decision is uncertain (it would look reassuring)."""
    rows = []
    for dx, p in sorted(prediction.diagnoses.items(), key=lambda kv: -kv[1]):
        malignant = dx in MALIGNANT_LABELS
        kind = t(lang, "malignant_kind" if malignant else "benign_kind")
        rows.append(
            f'<tr class="{"slc-dx-malignant" if malignant else ""}" data-dx="{dx}" data-p="{p:.4f}">'
            f'<td>{esc(diagnosis_name(lang, dx))} <span class="slc-dx-kind">{esc(kind)}</span></td>'
            f'<td class="slc-dx-bar"><div style="width:{100 * p:.1f}%"></div></td><td class="slc-dx-p">{esc(shown_p(p))}</td></tr>'
        )
    table = f'<table class="slc-dx">{"".join(rows)}</table>'
    if prediction.decision_code == "uncertain":
        return f'<details class="slc-dx-hidden"><summary>{esc(t(lang, "breakdown_hidden"))}</summary>{table}</details>'
    return f'<p class="slc-dx-title"><strong>{esc(t(lang, "breakdown"))}</strong></p>{table}'


def render_truth(item: Item, lang: str) -> str:
    """The recorded diagnosis, whether the benign/malignant call agrees, and whether the top diagnosis is the recorded one."""
    if not item.truth:
        return ""
    kind = t(lang, "malignant_kind" if item.truth.dx in MALIGNANT_LABELS else "benign_kind")
    top = ""
    if not is_judged(item):
        mark = f'<span class="slc-skip">{esc(t(lang, "not_judged"))}</span>'
    else:
        ok = is_correct(item)
        words = t(lang, "correct" if ok else "incorrect")
        mark = f'<span class="{"slc-ok" if ok else "slc-bad"}" data-agrees="{str(ok).lower()}">{esc(words)}</span>'
        dx, p = top_diagnosis(item.outcome)
        if dx == item.truth.dx:
            top = f' · <span class="slc-ok" data-top-dx="{dx}">{esc(t(lang, "top_dx_same", label=diagnosis_name(lang, dx)))}</span>'
        else:
            top = (f' · <span class="slc-bad" data-top-dx="{dx}">'
                   f'{esc(t(lang, "top_dx_other", label=diagnosis_name(lang, dx), p=shown_p(p)))}</span>')
    label = t(lang, "truth", label=diagnosis_name(lang, item.truth.dx), kind=kind)
    return f'<span class="slc-truth" data-truth="{esc(item.truth.dx)}">{esc(label)} · {mark}{top}</span>'


def render_verdict(lang: str, prediction: Prediction) -> str:
    """P(malignant) against the threshold (greyed when it is no result), the decision in words, the gate's caution
    beside it, a note when P is close to the threshold, and the diagnosis breakdown."""
    code = prediction.decision_code
    note = p_note(lang, prediction)
    muted = f' <span class="slc-p-note">{esc(note)}</span>' if note else ""
    caution = ""
    if prediction.warning_code:
        caution = (f'<div class="slc-alert" data-warning="{esc(prediction.warning_code)}"><strong>{esc(t(lang, "caution"))}</strong> '
                   f"{esc(gate_message(lang, prediction.warning_code))}</div>")
    near = f'<p class="slc-near">{esc(t(lang, "near_threshold"))}</p>' if near_threshold(prediction) else ""
    return f"""<div class="slc-verdict">
<div class="slc-p"><span>{esc(t(lang, 'p_malignant'))}{muted}</span><span class="slc-p-value">{esc(shown_p(prediction.p_malignant))}</span>
</div>
<div class="slc-bar"><div class="slc-fill" style="width:{100 * prediction.p_malignant:.1f}%"></div>
<div class="slc-threshold" style="left:{100 * prediction.threshold:.1f}%"></div></div>
<div class="slc-threshold-label">{esc(t(lang, 'threshold_mark', threshold=percent(prediction.threshold)))}</div>
<p class="slc-decision">{esc(decision_text(lang, code, percent(prediction.threshold)))}</p>
{caution}{near}
{render_breakdown(lang, prediction)}
</div>"""


def render_card(index: int, item: Item, lang: str) -> str:
    """One result: the outcome in a word, the photo (with the square the model sees) and its Grad-CAM map, then the verdict."""
    title = f"{index + 1}. {esc(item.name)}"
    outcome = item.outcome
    if isinstance(outcome, ImageRejected):
        return (f'<article id="card-{index + 1}" class="slc-card slc-error" data-index="{index}" data-error="{esc(outcome.reason)}">'
                f'<h3>{title}</h3><p class="slc-alert"><strong>{esc(t(lang, "could_not_read"))}:</strong> '
                f"{esc(rejection_message(lang, outcome.reason))}</p></article>")
    code = outcome.decision_code
    empty_map = f"<br>{esc(t(lang, 'gradcam_empty'))}" if outcome.heatmap is not None and not outcome.heatmap.any() else ""
    photo = gradcam = ""
    if outcome.image is not None:
        photo = (f"<figure>{framed(data_uri(outcome.image), outcome.image.size, t(lang, 'photo'), 'slc-photo')}"
                 f"<figcaption>{esc(t(lang, 'photo'))}</figcaption></figure>")
    if outcome.overlay is not None:
        gradcam = (f"<figure>{framed(data_uri(outcome.overlay), None, t(lang, 'gradcam'), 'slc-gradcam')}"
                   f'<figcaption>{esc(t(lang, "gradcam"))}{empty_map}</figcaption></figure>')
    warning = f' data-warning="{esc(outcome.warning_code)}"' if outcome.warning_code else ""
    muted = " slc-muted" if code == "uncertain" else ""
    return f"""<article id="card-{index + 1}" class="slc-card {CARD_CLASS[code]}{muted}" data-index="{index}"
 data-decision="{code}" data-p-malignant="{outcome.p_malignant:.4f}" data-malignant="{str(code == "refer").lower()}"
 data-meaningful="{str(outcome.meaningful).lower()}" data-threshold="{outcome.threshold:.4f}"{warning}>
<h3><span class="slc-title">{title}</span>{outcome_badge(lang, code)}{render_truth(item, lang)}</h3>
<div class="slc-body">
{photo}
{gradcam}
{render_verdict(lang, outcome)}
</div></article>"""


def render_results(items: list[Item], lang: str, notice: str = "") -> str:
    """Summary, the table of all results, then one card each."""
    table = render_table(items, lang) if len(items) > 1 else ""
    return render_summary(items, lang, notice) + table + "".join(render_card(i, item, lang) for i, item in enumerate(items))


def placeholder(lang: str, key: str = "placeholder") -> str:
    text = esc(t(lang, key)).replace("**", "")
    return f'<p class="slc-notice">{text}</p>'


def too_many_notice(lang: str, names: list[str], limit: int) -> str:
    """The message for a batch over the limit, naming every file that is not classified ("" when within it)."""
    if len(names) <= limit:
        return ""
    return t(lang, "too_many", given=len(names), names=", ".join(names[limit:]))


def render_upload_preview(names: list[str], urls: list[str], lang: str, limit: int,
                          sizes: list[tuple[int, int] | None] | None = None) -> str:
    """What will be classified (thumbnails, loaded by the browser from Gradio's own file URLs, each with the centre
    square the model sees) and, over the limit, what will not be, by name: said as soon as the files are chosen."""
    if not names:
        return ""
    sizes = sizes or [None] * len(names)
    warning = ""
    if len(names) > limit:
        skipped = ", ".join(names[limit:])
        warning = f'<p class="slc-too-many">{esc(t(lang, "too_many_files", given=len(names), names=skipped))}</p>'
    thumbs = []
    for name, url, size in zip(names[:limit], urls[:limit], sizes[:limit], strict=True):
        ratio = f' style="aspect-ratio:{size[0]}/{size[1]}"' if size else ""
        square = f'<span class="slc-square" style="{square_style(*size)}"></span>' if size else ""
        thumbs.append(f'<li><span class="slc-frame"{ratio}><img src="{esc(url)}" alt="" loading="lazy">{square}</span>'
                      f"<span>{esc(name)}</span></li>")
    note = f'<p class="slc-square-note">{esc(t(lang, "square_note"))}</p>' if any(sizes[:limit]) else ""
    return (f'<div class="slc-preview" data-chosen="{len(names)}" data-kept="{min(len(names), limit)}">{warning}'
            f'<p>{esc(t(lang, "will_classify", n=min(len(names), limit)))}</p><ul class="slc-thumbs">{"".join(thumbs)}</ul>{note}</div>')


def crop_box(width: int, height: int, centre: tuple[float, float], side: float) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the square to classify: `side` of the photo's shorter side, centred on `centre`
    (fractions of the width and height) as far as the photo allows."""
    length = max(1, min(width, height, round(side * min(width, height))))
    left = min(max(round(centre[0] * width - length / 2), 0), width - length)
    top = min(max(round(centre[1] * height - length / 2), 0), height - length)
    return left, top, left + length, top + length


def render_crop_preview(url: str, size: tuple[int, int] | None, centre: tuple[float, float], side: float, lang: str) -> str:
    """The photo to crop with the square that will be classified drawn on it (the model then sees all of that square)."""
    if not url or not size:
        return ""
    left, top, right, bottom = crop_box(*size, centre, side)
    width, height = size
    style = (f"left:{100 * left / width:.2f}%;top:{100 * top / height:.2f}%;"
             f"width:{100 * (right - left) / width:.2f}%;height:{100 * (bottom - top) / height:.2f}%")
    return (f'<div class="slc-crop" data-box="{left},{top},{right},{bottom}"><span class="slc-frame" style="aspect-ratio:{width}/{height}">'
            f'<img src="{esc(url)}" alt=""><span class="slc-square" style="{style}"></span></span>'
            f'<p class="slc-square-note">{esc(t(lang, "crop_hint"))}</p></div>')


# --- results to take away: CSV and a printable report per photo ---------------------------------------------------


def public_model_name(identity: ModelIdentity) -> str:
    """The served model for the API and the About tab: its name and version, no path."""
    return f"{identity.name} @ {identity.version}" if identity.version else identity.name


def results_csv(items: list[Item], identity: ModelIdentity) -> str:
    """The batch CLI's CSV (same columns, same cells, full precision) for a batch on the page; `path` is the file's name."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for item in items:
        writer.writerow({**result_row(item.name, item.outcome), "model": public_model_name(identity)})
    return buffer.getvalue()


REPORT_CSS = """@page { size: A4; margin: 12mm; }
body { font-family: system-ui, "Noto Sans", "NanumGothic", sans-serif; color: #111827; margin: 0; font-size: 10.5pt; line-height: 1.35;
  word-break: keep-all; overflow-wrap: break-word; }
main { max-width: 180mm; margin: 0 auto; padding: 8mm 0; }
h1 { font-size: 15pt; margin: 0 0 3mm 0; }
.disclaimer { border: 2px solid #b45309; background: #fffbeb; color: #451a03; border-radius: 6px; padding: 2.5mm 4mm; margin: 0 0 4mm 0; }
.images { display: flex; gap: 5mm; margin-bottom: 3mm; }
figure { margin: 0; flex: 1 1 0; }
figcaption { font-size: 8.5pt; color: #374151; margin-top: 1mm; }
.slc-frame { position: relative; display: block; }
img { display: block; width: 100%; max-height: 70mm; object-fit: contain; border-radius: 4px; }
.slc-square { position: absolute; border: 2px dashed #ffffff; outline: 1px dashed #111827; box-sizing: border-box; }
.outcome { display: inline-block; font-weight: 700; text-transform: uppercase; padding: 0.5mm 3mm; border-radius: 99px;
  border: 1.5px solid #111827; margin-right: 3mm; }
.p { font-size: 20pt; font-weight: 700; }
.dim { color: #6b7280; }
.decision { font-weight: 600; margin: 2mm 0; }
.caution { border: 1px solid #b45309; background: #fffbeb; color: #451a03; border-radius: 6px; padding: 2mm 3mm; margin: 2mm 0; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; }
td, th { text-align: left; padding: 0.6mm 2mm; border-bottom: 1px solid #e5e7eb; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.muted td { color: #6b7280; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.5mm 4mm; font-size: 9pt; margin: 3mm 0 0 0; }
dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
.print { font-size: 8.5pt; color: #374151; }
@media print { .print { display: none; } main { padding: 0; } }"""


def render_report(item: Item, lang: str, identity: ModelIdentity, made: str) -> str:
    """A printable one-page HTML report for one photo: disclaimer, photo with the square the model sees, Grad-CAM
    overlay, P(malignant), decision, caution, threshold, the diagnosis breakdown, model id, version and date.
    Self-contained (images inlined), so it opens and prints anywhere."""
    prediction = item.outcome
    if not isinstance(prediction, Prediction):
        raise ValueError("a report needs a prediction")
    code = prediction.decision_code
    threshold = percent(prediction.threshold)
    images = ""
    if prediction.image is not None:
        images += (f"<figure>{framed(data_uri(prediction.image), prediction.image.size, t(lang, 'photo'), 'photo')}"
                   f"<figcaption>{esc(t(lang, 'photo'))}. {esc(t(lang, 'report_square'))}</figcaption></figure>")
    if prediction.overlay is not None:
        images += (f"<figure>{framed(data_uri(prediction.overlay), None, t(lang, 'gradcam'), 'gradcam')}"
                   f"<figcaption>{esc(t(lang, 'gradcam'))}</figcaption></figure>")
    note = p_note(lang, prediction)
    p_class = "p dim" if code == "uncertain" else "p"
    caution = ""
    if prediction.warning_code:
        caution = (f'<p class="caution" data-warning="{esc(prediction.warning_code)}"><strong>{esc(t(lang, "caution"))}</strong> '
                   f"{esc(gate_message(lang, prediction.warning_code))}</p>")
    near = f"<p>{esc(t(lang, 'near_threshold'))}</p>" if near_threshold(prediction) else ""
    rows = "".join(f'<tr><td>{esc(diagnosis_name(lang, dx))}</td><td class="num">{esc(shown_p(p))}</td></tr>'
                   for dx, p in sorted(prediction.diagnoses.items(), key=lambda kv: -kv[1]))
    breakdown_title = t(lang, "report_breakdown_unreliable" if code == "uncertain" else "breakdown")
    facts = [(t(lang, "report_file"), item.name), (t(lang, "report_threshold"), threshold),
             (t(lang, "report_model"), identity.name), (t(lang, "report_version"), identity.version or t(lang, "about_unknown")),
             (t(lang, "report_trained"), identity.date or t(lang, "about_unknown")), (t(lang, "report_generated"), made)]
    if item.truth:
        facts.insert(1, (t(lang, "report_recorded"), diagnosis_name(lang, item.truth.dx)))
    facts_html = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
    disclaimer = t(lang, "disclaimer").replace("**", "")
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(t(lang, "report_title"))}: {esc(item.name)}</title><style>{REPORT_CSS}</style></head>
<body><main data-decision="{code}" data-meaningful="{str(prediction.meaningful).lower()}" data-p-malignant="{prediction.p_malignant:.4f}">
<h1>{esc(t(lang, "report_title"))}</h1>
<p class="disclaimer" id="disclaimer">{esc(disclaimer)}</p>
<div class="images">{images}</div>
<p><span class="outcome">{esc(outcome_name(lang, code))}</span> {esc(t(lang, "p_malignant"))}:
<span class="{p_class}">{esc(shown_p(prediction.p_malignant))}</span>
{f'<span class="dim">{esc(note)}</span>' if note else ""} · {esc(t(lang, "threshold_mark", threshold=threshold))}</p>
<p class="decision">{esc(decision_text(lang, code, threshold))}</p>
{caution}{near}
<p><strong>{esc(breakdown_title)}</strong></p>
<table class="{"muted" if code == "uncertain" else ""}">{rows}</table>
<dl>{facts_html}</dl>
<p class="print">{esc(t(lang, "report_print"))}</p>
</main></body></html>
"""


def api_result(prediction: Prediction, identity: ModelIdentity, backbone: str) -> dict:
    """The JSON answer of the `predict` endpoint: `decision` is the code, as in the CSV (and `decision_code`, kept for
    clients written against it); `decision_text` is the decision in English words, with the caution when there is one."""
    result = prediction.to_dict()
    result["decision"] = prediction.decision_code
    result["decision_text"] = decision_text("en", prediction.decision_code, percent(prediction.threshold))
    if prediction.warning_code:
        result["decision_text"] += " " + t("en", "caution") + " " + gate_message("en", prediction.warning_code)
    result["model"] = f"{backbone} · {public_model_name(identity)}"
    return result


# --- About --------------------------------------------------------------------------------------------------------


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




@dataclass
class HeldOut:
    """Figures on photos from a source or archive the model never trained on (one or more runs)."""

    kind: str  # "clinic" or "archive"
    source: str
    figures: list[dict]  # per run: n, malignant, auc, sensitivity, specificity, warnings (any may be missing)


def _figures(held: dict, warnings: float | None) -> dict:
    confusion = held.get("confusion") or {}
    malignant = held.get("malignant", confusion["tp"] + confusion["fn"] if confusion else None)
    return {"n": held.get("n"), "malignant": malignant, "auc": held.get("auc"), "sensitivity": held.get("sensitivity"),
            "specificity": held.get("specificity"), "warnings": warnings}


def held_out_results(metrics: dict, tta: bool = True) -> list[HeldOut]:
    """The `out_of_source` runs of metrics.json with the served recipe, by held-out source (with TTA when served with
    it; the gate's rate only for runs whose gate has the served design): a clinic of HAM10000 held out, or a whole
    archive (`held_out_kind`)."""
    served_training = metrics.get("training") or {}
    served_gate = gate_design(metrics.get("gate"))
    found: dict[tuple[str, str], HeldOut] = {}
    for run in metrics.get("out_of_source") or []:
        training = run.get("training") or {}
        if not (same_recipe(training, served_training) and training.get("holdout_source")):
            continue
        held = run["held_out_tta"] if tta and "held_out_tta" in run else run["held_out"]
        same_gate = gate_design(run.get("gate")) == served_gate
        figures = _figures(held, run["held_out"].get("gate_flag_rate") if same_gate else None)
        kind = run.get("held_out_kind", "clinic")
        found.setdefault((kind, training["holdout_source"]), HeldOut(kind, training["holdout_source"], [])).figures.append(figures)
    return list(found.values())


def _span(values: list, fmt) -> str:
    """One figure, or the range over runs; "–" when none is recorded."""
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    low, high = fmt(min(values)), fmt(max(values))
    return low if low == high else f"{low}–{high}"


def _outside_lines(lang: str, metrics: dict, tta: bool, identity: ModelIdentity) -> list[str]:
    """In-source beside out-of-source figures, with what "another clinic" means, and the external evaluation."""
    lines = ["", t(lang, "about_outside"), "", t(lang, "about_outside_intro"), ""]
    test = metrics.get("test") or {}
    gate_rate = (metrics.get("gate") or {}).get("validation_false_alarm_rate")
    rows = []
    if test.get("n"):
        rows.append((t(lang, "about_in_source"), [_figures(test, gate_rate)]))
    results = held_out_results(metrics, tta)
    for result in results:
        key = "about_other_clinic" if result.kind == "clinic" else "about_other_archive"
        rows.append((t(lang, key, source=source_name(lang, result.source)), result.figures))
    if rows:
        lines += [f"| {t(lang, 'about_where')} | {t(lang, 'about_n')} | AUC | {t(lang, 'm_sensitivity')} | {t(lang, 'm_specificity')} | "
                  f"{t(lang, 'about_warnings')} |", "|---|---:|---:|---:|---:|---:|"]
        for label, figures in rows:
            first = figures[0]
            n = "–" if first["n"] is None else f"{first['n']:,}" + ("" if first["malignant"] is None else f" ({first['malignant']:,})")
            cells = [n, _span([f["auc"] for f in figures], lambda v: f"{v:.3f}"),
                     *(_span([f[key] for f in figures], percent) for key in ("sensitivity", "specificity", "warnings"))]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        if test.get("n") and gate_rate is not None:
            lines += ["", t(lang, "about_in_source_note")]
    if not results:
        lines += ["", t(lang, "about_outside_none")]
    return [*lines, "", rounding_note(lang, metrics)]


def rounding_note(lang: str, metrics: dict | None) -> str:
    """Why P is shown to the whole percent, with the measured spread when metrics.json has it."""
    resave = (metrics or {}).get("resave")
    if not resave:
        return t(lang, "about_rounding_unmeasured")
    return t(lang, "about_rounding", quality=resave["quality"], p95=f"{resave['p95_points']:.1f}", max=f"{resave['max_points']:.1f}",
             n=f"{resave['photos']:,}")


def render_about(lang: str, identity: ModelIdentity, config: ModelConfig, metrics: dict | None) -> str:
    """The model's identity and its measured results, in source and out of source, as Markdown, in the visitor's language."""
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
        return "\n".join([*text, t(lang, "about_no_metrics"), "", rounding_note(lang, metrics)])
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
    text += _outside_lines(lang, metrics, config.tta, identity)
    return "\n".join(text)

