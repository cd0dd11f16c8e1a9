"""Every string the app shows, in English and Korean: headings, the disclaimer, the three decisions, the gate's
cautions and the refusals, keyed by the codes the core returns (`Prediction.decision_code`,
`Prediction.warning_code`, `ImageRejected.reason`).

One table serves both ways of translating: static labels go to the browser through `gr.I18n` (which follows
the browser's language), and text built per request (results, the About page) is picked here from the
request's Accept-Language header, which the browser sets from the same language preference.
"""

from __future__ import annotations

from inference.disclaimer import DISCLAIMER
from inference.preprocess import MAX_ASPECT, MAX_BYTES, MAX_PIXELS, MAX_PIXELS_NON_JPEG, MIN_SIDE

LANGUAGES = ("en", "ko")
DEFAULT_LANGUAGE = "en"
MAX_IMAGES = 8  # images per batch; also said in the upload label

_LIMITS = {"max_mb": MAX_BYTES // 2**20, "max_mp": MAX_PIXELS // 10**6, "max_mp_other": MAX_PIXELS_NON_JPEG // 10**6,
           "min_side": MIN_SIDE, "max_images": MAX_IMAGES, "max_aspect": MAX_ASPECT}

EN: dict[str, str] = {
    # Header and static UI (also sent through gr.I18n).
    "title": "# Pigmented skin lesion check: dermoscopy photo → benign or malignant?",
    "subtitle": "Estimates whether a dermoscopy photo of a pigmented skin lesion looks benign or malignant, and shows "
    "with a Grad-CAM heat map which regions drove the estimate.",
    "disclaimer": f"**⚠ Not a diagnosis.** {DISCLAIMER}",
    "tab_classify": "Photos and results",
    "tab_about": "About this model",
    "upload_label": f"Dermoscopy images: JPEG or PNG, up to {MAX_IMAGES} at once, {_LIMITS['max_mb']} MB each",
    "classify_button": "Classify",
    "examples_heading": "### Examples\nHeld-out test images from HAM10000 with their recorded diagnosis. Click one to classify it, "
    "or classify them all to see how the model does on them.",
    "examples_label": "Example images (held-out test set)",
    "examples_button": "Classify all examples",
    "examples_missing": "No examples are available for this model.",
    "examples_credit": "Example images: HAM10000 (Tschandl et al. 2018, doi:10.1038/sdata.2018.161), CC BY-NC 4.0.",
    "guidance": "**For a meaningful result:** a dermoscopy photo (taken through a dermatoscope), one pigmented lesion, "
    "centred and whole, in focus; do not crop the lesion's edge. The model looks only at the centre square of a photo "
    "(dashed on each thumbnail). Ordinary phone photos are not what the model knows.",
    "results_label": "Results",
    "roc_label": "**ROC curve** (test split): how well P(malignant) separates benign from malignant; the dot is the threshold.",
    "reliability_label": "**Reliability diagram** (test split): predicted P(malignant) against the observed rate of malignancy.",
    "about_intended": "### Intended use\nA research and teaching aid: to explore how a neural network judges dermoscopy "
    "photos of pigmented skin lesions, and where it looks. It is not a medical device and it does not diagnose.\n\n"
    "**What the three results mean.** **Refer:** P(malignancy) is at or above the model's threshold, so the model "
    "suggests having the lesion examined by a dermatologist; it is not a diagnosis of cancer, and many lesions it refers "
    "are benign. **No flag:** below the threshold; this never rules out a malignancy. **Uncertain:** no verdict, never "
    "reassurance. No result is a reason not to see a dermatologist about a lesion that changes or worries you, and none "
    "decides treatment or removal.\n\n"
    "| the photo | P(malignancy) at or above the threshold | below the threshold |\n|---|---|---|\n"
    "| a usable dermoscopy photo | **Refer** | **No flag** |\n"
    "| blurred, or a dermoscopy photo unlike the training photos (another dermatoscope, light, magnification, a rare "
    "lesion) | **Refer**, with a caution beside it | **Uncertain** |\n"
    "| not a usable photo of a skin lesion (blank, black and white, not a dermoscopy close-up) | **Uncertain**: "
    "P(malignancy) is shown greyed as not meaningful | **Uncertain** |",
    "about_limitations": "### Limitations\n"
    "- Trained and tested on one public data set (HAM10000: dermoscopy images collected in Austria and Australia, "
    "mostly of light skin). Its figures from other clinics (below) are lower than on its own test split, and it has "
    "not been validated on other populations.\n"
    "- It only knows 7 diagnoses (listed in the results). Other lesions, non-pigmented lesions, nails, mucosa, "
    "ordinary (non-dermoscopic) photos and images of anything else give meaningless numbers; a check flags images "
    "that look unlike its training photos, but it cannot catch all of them.\n"
    "- The threshold is set for high sensitivity, so many benign lesions are flagged (false alarms), and some "
    "malignant lesions are still missed.\n"
    "- The Grad-CAM map shows which regions influenced the output, not a medical reason.",
    "about_data": "### Data and licence\nTrained on HAM10000 (Tschandl, Rosendahl & Kittler, *Scientific Data* 5, 180161, "
    "2018, doi:10.1038/sdata.2018.161), licensed **CC BY-NC 4.0**: the model and the example images may be used for "
    "non-commercial purposes only, with attribution.",
    # Results (built per request).
    "placeholder": "Upload dermoscopy images and press **Classify**, or click an example: it is classified at once.",
    "will_classify": "Will be classified ({n}):",
    "too_many_files": "{given} files chosen: at most {max_images} are classified at once. Not classified: {names}.",
    "no_input": "No image to classify: upload at least one image or click an example.",
    "too_many": "{given} files were chosen; only the first {max_images} were classified. Not classified: {names}.",
    "progress": "Classifying image {i} of {n}",
    "summary_title": "Summary",
    "summary_images": "{n} image(s) classified",
    "summary_refer": "Refer: {k} (at or above the threshold of {threshold})",
    "summary_refer_caution": "Refer: {k} (at or above the threshold of {threshold}; {c} of them with a caution about the photo)",
    "summary_no_flag": "No flag: {k} (below the threshold)",
    "summary_uncertain": "Uncertain: {k} (no verdict: the photo could not be judged)",
    "summary_errors": "{e} file(s) could not be read",
    "summary_truth": "Recorded diagnosis known for {m}; of the {j} with a decision, {c} agree with it on benign vs malignant: "
    "accuracy {accuracy}",
    "summary_top_dx": "Top diagnosis the same as the recorded one: {t} of {m}",
    "summary_truth_skipped": "{u} uncertain not counted in this accuracy (no decision to compare)",
    "summary_truth_none": "Recorded diagnosis known for {m}, but none got a decision: no accuracy to show",
    "example_name": "Example {image_id}",
    "photo": "Photo",
    "gradcam": "Grad-CAM: regions that drove the result",
    "gradcam_empty": "(empty map: no region pushed the model towards this result)",
    "p_malignant": "Probability of malignancy",
    "threshold_mark": "threshold {threshold}",
    "outcome_refer": "Refer",
    "outcome_no_flag": "No flag",
    "outcome_uncertain": "Uncertain",
    "decision_refer": "At or above the malignancy threshold of {threshold}: have this lesion examined by a dermatologist. "
    "This is not a diagnosis of cancer.",
    "decision_no_flag": "Below the malignancy threshold of {threshold}: this model raises no flag. That does not rule out a "
    "malignancy; a lesion that changes or worries you still needs a dermatologist.",
    "decision_uncertain": "No verdict for this image. This is not reassurance: a lesion that changes or worries you needs "
    "a dermatologist.",
    "caution": "Caution:",
    "unreliable": "(not reliable for this image)",
    "breakdown": "Estimated probability of each diagnosis",
    "malignant_kind": "malignant",
    "benign_kind": "benign",
    "truth": "Recorded diagnosis: {label} ({kind})",
    "correct": "benign/malignant ✓ agrees",
    "incorrect": "benign/malignant ✗ disagrees",
    "not_judged": "benign/malignant: not counted (no verdict)",
    "top_dx_same": "top diagnosis ✓ {label}",
    "top_dx_other": "top diagnosis ✗ {label} ({p})",
    "could_not_read": "Could not be classified",
    # Gate warnings (prediction.warning_code) and refusals (ImageRejected.reason).
    "gate_blank": "This image is almost uniform: it does not show a skin lesion the model can judge.",
    "gate_blurred": "This image is too blurred for the model to judge; retake the photo in focus.",
    "gate_grey": "This is a black-and-white image; dermoscopy photos are in colour, so its number is not reliable.",
    "gate_not_dermoscopy": "This does not look like a close-up photo of skin (a dermoscopy photo), so the model gives no "
    "result for it. Upload a dermoscopy photo of a skin lesion.",
    "gate_unfamiliar": "This dermoscopy photo is unlike the photos the model learnt from (another dermatoscope, light, "
    "magnification or a rare kind of lesion): it has seen few photos like it, so its answer is less reliable. An "
    "unusual-looking lesion is itself a reason to have it examined.",
    "gate_other": "This image does not look like the dermoscopy photos the model was trained on; its number is not reliable.",
    "reject_not_found": "The file could not be found on the server; please upload it again.",
    "reject_empty": "The file is empty (0 bytes).",
    "reject_too_large": "The file is too large: at most {max_mb} MB, and {max_mp} megapixels for JPEG, {max_mp_other} for "
    "other formats.",
    "reject_bad_aspect_ratio": "The image is too long and narrow: its longer side may be at most {max_aspect} times the shorter. "
    "Crop it around the lesion.",
    "reject_not_an_image": "The file is not an image that can be read (JPEG, PNG, ...).",
    "reject_truncated": "The image file is damaged or incomplete and could not be decoded.",
    "reject_too_small": "The image is too small: at least {min_side}×{min_side} pixels are needed.",
    "reject_too_complex": "The image file is too complex to decode safely (too much metadata, or it took too long to decode).",
    "reject_other": "The file could not be used as an image.",
    # Diagnoses.
    "dx_nv": "Melanocytic nevus",
    "dx_bkl": "Benign keratosis-like lesion",
    "dx_df": "Dermatofibroma",
    "dx_vasc": "Vascular lesion",
    "dx_mel": "Melanoma",
    "dx_bcc": "Basal cell carcinoma",
    "dx_akiec": "Actinic keratosis / intraepithelial carcinoma",
    # About (built per request).
    "about_model": "### The model",
    "about_id": "Model",
    "about_version": "Version",
    "about_date": "Date",
    "about_unknown": "not recorded",
    "about_backbone": "Network",
    "about_input": "Input size",
    "about_source": "Loaded from",
    "source_bundled": "bundled with the app",
    "source_local": "a local model folder",
    "source_hub": "the Hugging Face Hub",
    "source_cache": "the Hugging Face Hub (local copy)",
    "about_fallback": "The configured model could not be loaded, so the app serves this one instead.",
    "about_threshold": "Malignancy threshold",
    "about_threshold_how": "chosen on the validation split for a sensitivity of {target}",
    "about_temperature": "Calibration (temperature)",
    "about_results": "### Results on held-out lesions",
    "about_counts": "On the {n} test images, held out from training and validation:",
    "about_missed": "**Missed cancers:** {fn} of {malignant} malignant lesions were below the threshold (sensitivity {sensitivity}).",
    "about_false_alarms": "**False alarms:** {fp} of {benign} benign lesions were referred (specificity {specificity}); "
    "of all referrals, {precision} were malignant.",
    "about_melanoma": "**Melanoma:** {flagged} of {n} melanomas referred (melanoma sensitivity {sensitivity}); {missed} missed.",
    "about_melanoma_unknown": "**Melanoma:** its own sensitivity is not recorded for this model.",
    "about_gate": "**Photos the quality check warned about:** {p} of the {n} validation dermoscopy images ({k}); what a "
    "warning does to the decision is in the table under Intended use.",
    "about_gate_unknown": "**Uncertain photos:** the quality check's rate is not recorded for this model.",
    "about_no_metrics": "No measured results are recorded for this model.",
    "about_metric": "Measure",
    "about_validation": "Validation",
    "about_test": "Test",
    "m_n": "Images",
    "m_auc": "AUC (benign vs malignant)",
    "m_sensitivity": "Sensitivity (malignant found)",
    "m_specificity": "Specificity (benign cleared)",
    "m_precision": "Precision (flagged that were malignant)",
    "m_accuracy": "Accuracy at the threshold",
    "m_balanced_accuracy_7class": "Balanced accuracy over the 7 diagnoses",
    "m_ece": "Calibration error (ECE)",
    # Added for issue 25.
    "not_meaningful": "(not meaningful: not a usable photo of a skin lesion)",
    "near_threshold": "Close to the threshold: the same lesion photographed or saved again can land on the other side of it.",
    "breakdown_hidden": "Estimated probability of each diagnosis: not reliable for this image (show anyway)",
    "table_title": "All results at a glance",
    "table_file": "File",
    "table_p": "P(malignant)",
    "table_decision": "Decision",
    "table_note": "Note",
    "table_not_meaningful": "not meaningful",
    "table_error": "could not be classified",
    "near_short": "near the threshold",
    "gate_short_blank": "caution: blank image",
    "gate_short_blurred": "caution: blurred",
    "gate_short_grey": "caution: black and white",
    "gate_short_not_dermoscopy": "caution: not a dermoscopy photo",
    "gate_short_unfamiliar": "caution: unlike the training photos",
    "gate_short_other": "caution: unusual photo",
    "downloads_label": "Take away: the results table (CSV) and a printable one-page report per photo",
    "square_note": "Dashed square: the part of each photo the model looks at (its centre square). If the lesion is not inside "
    "it, crop the photo first (below).",
    "crop_heading": "Crop one photo to its lesion (optional)",
    "crop_label": "Photo to crop: upload it, then click (or tap) the centre of the lesion",
    "crop_size": "Size of the square, in % of the photo's shorter side",
    "crop_hint": "Dashed square: the part of the photo that will be classified. Click the photo to move it onto the lesion; "
    "the slider sets its size.",
    "crop_button": "Classify the cropped photo",
    "cropped_name": "{name} (cropped)",
    "busy": "Classifying…",
    "report_title": "Skin lesion check: report for one photo",
    "report_file": "File",
    "report_model": "Model",
    "report_version": "Version",
    "report_trained": "Trained",
    "report_generated": "Report made",
    "report_threshold": "Malignancy threshold",
    "report_square": "Dashed square: the part of the photo the model looks at (its centre square).",
    "report_print": "To print it or save it as PDF: Ctrl+P (⌘P on a Mac).",
    "report_recorded": "Recorded diagnosis",
    "report_breakdown_unreliable": "Estimated probability of each diagnosis (not reliable for this image)",
    "about_outside": "### Photos from other clinics",
    "about_outside_intro": "HAM10000's photos come from a few clinics, each with its own dermatoscopes (its acquisition "
    "sources). **Another clinic** below is one of those sources left out of training entirely: a model trained with this "
    "model's recipe, without that source, then scored on all of its photos, at a threshold chosen on its own in-source "
    "validation photos as for this model. It is the nearest thing measured here to a clinic with another dermatoscope, "
    "other light and other patients. Where a source was held out in two training runs (two seeds), the range over both is given.",
    "about_outside_none": "Not measured for this model's training recipe.",
    "about_where": "Photos from",
    "about_n": "Images (malignant)",
    "about_warnings": "Quality-check warnings",
    "about_in_source": "Test split: the clinics it was trained on",
    "about_in_source_note": "Warnings on the first row: validation split.",
    "about_other_clinic": "Another clinic: {source}",
    "about_other_archive": "Another archive: {source}",
    "about_rounding": "**How precise the numbers are.** P(malignancy) is shown to the whole percent: saving the same "
    "photo again as a JPEG (quality {quality}) moved it by {p95} points or less for 95 of 100 photos, and by up to {max} "
    "points ({n} original dermatoscope photos), so a figure like 12.3% would claim more than the model holds. The API "
    "and the CSV keep full precision.",
    "about_rounding_unmeasured": "**How precise the numbers are.** P(malignancy) is shown to the whole percent: a photo "
    "saved again as a JPEG gets a slightly different one. The API and the CSV keep full precision.",
    "src_rosendahl": "rosendahl (Queensland, Australia)",
    "src_vidir_modern": "vidir_modern (Vienna, modern dermatoscopes)",
    "src_vidir_molemax": "vidir_molemax (Vienna, MoleMax camera)",
    "src_vienna_dias": "vienna_dias (Vienna, the older DIAS dermatoscope)",
    "src_isic2017": "ISIC 2017 challenge photos",
    "dx_short_nv": "Nevus",
    "dx_short_bkl": "Benign keratosis",
    "dx_short_df": "Dermatofibroma",
    "dx_short_vasc": "Vascular lesion",
    "dx_short_mel": "Melanoma",
    "dx_short_bcc": "Basal cell carcinoma",
    "dx_short_akiec": "Actinic keratosis",
}

KO: dict[str, str] = {
    "title": "# 색소성 피부 병변 확인: 더모스코피 사진 → 양성 또는 악성?",
    "subtitle": "색소성 피부 병변의 더모스코피(피부확대경) 사진이 양성으로 보이는지 악성으로 보이는지 추정하고, "
    "어떤 부위가 추정에 영향을 주었는지 Grad-CAM 히트맵으로 보여 줍니다.",
    "disclaimer": "**⚠ 진단이 아닙니다.** 연구 및 교육용 보조 도구일 뿐이며 진단이 아닙니다. 이 모델은 더모스코피 사진을 보고 "
    "색소성 피부 병변이 양성으로 보이는지 악성으로 보이는지를 추정합니다. 모델은 틀릴 수 있으며, 의료기기로 승인되지 "
    "않았습니다. 걱정되는 병변이 있으면 피부과 전문의의 진료를 받으세요. 진단은 임상 진찰과, 필요한 경우 조직검사(생검)로만 "
    "내려집니다.",
    "tab_classify": "사진과 결과",
    "tab_about": "모델 정보",
    "upload_label": f"더모스코피 이미지: JPEG 또는 PNG, 한 번에 최대 {MAX_IMAGES}장, 장당 {_LIMITS['max_mb']}MB 이하",
    "classify_button": "분석하기",
    "examples_heading": "### 예시\n학습에 사용되지 않은 HAM10000 테스트 이미지와 기록된 진단명입니다. 하나를 클릭하면 분석하고, "
    "모두 분석하면 모델이 이 이미지들에서 얼마나 맞히는지 볼 수 있습니다.",
    "examples_label": "예시 이미지 (테스트 세트)",
    "examples_button": "예시 모두 분석하기",
    "examples_missing": "이 모델에 사용할 수 있는 예시가 없습니다.",
    "examples_credit": "예시 이미지: HAM10000(Tschandl 외 2018, doi:10.1038/sdata.2018.161), CC BY-NC 4.0.",
    "guidance": "**의미 있는 결과를 얻으려면:** 더모스코피(피부확대경)로 찍은 사진, 색소성 병변 하나, 병변이 가운데에 전체가 "
    "나오도록, 초점이 맞게 찍으세요. 병변의 가장자리를 잘라 내지 마세요. 모델은 사진의 가운데 정사각형만 봅니다(각 미리보기에 "
    "점선으로 표시). 일반 휴대폰 사진은 모델이 학습한 사진이 아닙니다.",
    "results_label": "결과",
    "roc_label": "**ROC 곡선** (테스트 세트): 악성 확률이 양성과 악성을 얼마나 잘 구분하는지 보여 줍니다. 점은 기준치입니다.",
    "reliability_label": "**신뢰도 도표** (테스트 세트): 예측한 악성 확률과 실제 악성 비율을 비교합니다.",
    "about_intended": "### 사용 목적\n연구 및 교육용 보조 도구입니다. 신경망이 색소성 피부 병변의 더모스코피 사진을 어떻게 판단하고 "
    "어디를 보는지 살펴보기 위한 것입니다. 의료기기가 아니며 진단하지 않습니다.\n\n"
    "**세 가지 결과의 뜻.** **진료 권고:** 악성 확률이 모델의 기준치 이상이어서, 모델이 피부과 전문의의 진찰을 받아 보도록 "
    "권합니다. 암 진단이 아니며, 권고된 병변 중 많은 수가 양성입니다. **표시 없음:** 기준치 미만입니다. 악성이 배제되는 것은 "
    "아닙니다. **불확실:** 판정하지 않습니다. 안심해도 된다는 뜻이 아닙니다. 어떤 결과도 변하거나 걱정되는 병변을 "
    "피부과 전문의에게 보이지 않을 이유가 되지 않으며, 치료나 제거를 결정하지 않습니다.\n\n"
    "| 사진 | 악성 확률이 기준치 이상 | 기준치 미만 |\n|---|---|---|\n"
    "| 판단할 수 있는 더모스코피 사진 | **진료 권고** | **표시 없음** |\n"
    "| 흐린 사진, 또는 학습한 사진과 다른 더모스코피 사진(다른 더모스코프, 조명, 배율, 드문 병변) | **진료 권고**와 그 옆의 "
    "주의 표시 | **불확실** |\n"
    "| 판단할 수 있는 피부 병변 사진이 아님(균일한 이미지, 흑백, 피부를 가까이 찍은 사진이 아님) | **불확실**: 악성 확률은 "
    "의미 없음으로 흐리게 표시 | **불확실** |",
    "about_limitations": "### 한계\n"
    "- 하나의 공개 데이터 세트(HAM10000: 오스트리아와 호주에서 수집된, 주로 밝은 피부의 더모스코피 이미지)로 학습하고 "
    "평가했습니다. 다른 병원 사진에서의 결과(아래)는 자체 테스트 세트에서보다 낮으며, 다른 인구 집단에서는 검증되지 "
    "않았습니다.\n"
    "- 7가지 진단만 알고 있습니다(결과에 표시). 그 밖의 병변, 비색소성 병변, 손발톱, 점막, 일반(비더모스코피) 사진, 그 밖의 "
    "이미지에 대해서는 의미 없는 숫자가 나옵니다. 학습 사진과 다르게 보이는 이미지를 경고하는 검사가 있지만 모두 걸러 내지는 "
    "못합니다.\n"
    "- 민감도가 높도록 기준치를 정했기 때문에 양성 병변도 많이 표시되며(위양성), 일부 악성 병변은 여전히 놓칩니다.\n"
    "- Grad-CAM 지도는 어떤 부위가 출력에 영향을 주었는지 보여 줄 뿐, 의학적 근거가 아닙니다.",
    "about_data": "### 데이터와 라이선스\nHAM10000(Tschandl, Rosendahl & Kittler, *Scientific Data* 5, 180161, 2018, "
    "doi:10.1038/sdata.2018.161)으로 학습했으며, 라이선스는 **CC BY-NC 4.0**입니다. 모델과 예시 이미지는 출처를 밝히고 "
    "비상업적 목적으로만 사용할 수 있습니다.",
    "placeholder": "더모스코피 이미지를 올리고 **분석하기**를 누르거나, 예시를 클릭하세요. 예시는 바로 분석됩니다.",
    "will_classify": "분석할 이미지({n}장):",
    "too_many_files": "{given}개 파일을 골랐습니다. 한 번에 최대 {max_images}장까지 분석합니다. 분석하지 않을 파일: {names}.",
    "no_input": "분석할 이미지가 없습니다. 이미지를 한 장 이상 올리거나 예시를 클릭하세요.",
    "too_many": "{given}개 파일 중 처음 {max_images}장만 분석했습니다. 분석하지 않은 파일: {names}.",
    "progress": "{n}장 중 {i}번째 이미지 분석 중",
    "summary_title": "요약",
    "summary_images": "이미지 {n}장 분석",
    "summary_refer": "진료 권고: {k}장 (기준치 {threshold} 이상)",
    "summary_refer_caution": "진료 권고: {k}장 (기준치 {threshold} 이상, 그중 {c}장은 사진에 대한 주의 표시)",
    "summary_no_flag": "표시 없음: {k}장 (기준치 미만)",
    "summary_uncertain": "불확실: {k}장 (판정 없음: 사진을 판단할 수 없음)",
    "summary_errors": "읽을 수 없는 파일: {e}개",
    "summary_truth": "기록된 진단이 있는 {m}장 중 판정이 나온 {j}장에서 양성/악성이 {c}장 일치: 정확도 {accuracy}",
    "summary_top_dx": "가장 높은 진단이 기록된 진단과 같음: {m}장 중 {t}장",
    "summary_truth_skipped": "불확실 {u}장은 이 정확도에 넣지 않았습니다(비교할 판정 없음)",
    "summary_truth_none": "기록된 진단이 있는 {m}장 모두 판정이 나오지 않아 정확도를 표시하지 않습니다",
    "example_name": "예시 {image_id}",
    "photo": "사진",
    "gradcam": "Grad-CAM: 결과에 영향을 준 부위",
    "gradcam_empty": "(빈 지도: 이 결과 쪽으로 모델을 이끈 부위가 없음)",
    "p_malignant": "악성 확률",
    "threshold_mark": "기준치 {threshold}",
    "outcome_refer": "진료 권고",
    "outcome_no_flag": "표시 없음",
    "outcome_uncertain": "불확실",
    "decision_refer": "악성 기준치 {threshold} 이상: 이 병변은 피부과 전문의의 진찰을 받으세요. 암 진단은 아닙니다.",
    "decision_no_flag": "악성 기준치 {threshold} 미만: 이 모델은 표시하지 않았습니다. 그렇다고 악성이 배제되는 것은 아니며, "
    "변하거나 걱정되는 병변은 피부과 전문의의 진찰이 필요합니다.",
    "decision_uncertain": "이 이미지에 대해서는 판정하지 않습니다. 안심해도 된다는 뜻이 아닙니다. 변하거나 걱정되는 병변은 "
    "피부과 전문의의 진찰이 필요합니다.",
    "caution": "주의:",
    "unreliable": "(이 이미지에서는 신뢰할 수 없음)",
    "breakdown": "진단별 추정 확률",
    "malignant_kind": "악성",
    "benign_kind": "양성",
    "truth": "기록된 진단: {label} ({kind})",
    "correct": "양성/악성 ✓ 일치",
    "incorrect": "양성/악성 ✗ 불일치",
    "not_judged": "양성/악성: 계산에서 제외(판정 없음)",
    "top_dx_same": "가장 높은 진단 ✓ {label}",
    "top_dx_other": "가장 높은 진단 ✗ {label} ({p})",
    "could_not_read": "분석할 수 없음",
    "gate_blank": "이 이미지는 거의 균일하여 모델이 판단할 수 있는 피부 병변이 보이지 않습니다.",
    "gate_blurred": "이 이미지는 너무 흐려서 모델이 판단할 수 없습니다. 초점을 맞춰 다시 촬영하세요.",
    "gate_grey": "흑백 이미지입니다. 더모스코피 사진은 컬러이므로 이 이미지에 대한 숫자는 신뢰할 수 없습니다.",
    "gate_not_dermoscopy": "피부를 가까이 찍은 사진(더모스코피 사진)으로 보이지 않아 모델이 결과를 내지 않습니다. 피부 병변의 "
    "더모스코피 사진을 올려 주세요.",
    "gate_unfamiliar": "이 더모스코피 사진은 모델이 학습한 사진과 다릅니다(다른 더모스코프, 조명, 배율 또는 드문 병변). 모델이 "
    "이런 사진을 거의 보지 못했으므로 답의 신뢰도가 낮습니다. 모양이 특이한 병변은 그 자체로 진찰을 받을 이유가 됩니다.",
    "gate_other": "모델이 학습한 더모스코피 사진과 다르게 보입니다. 숫자를 신뢰할 수 없습니다.",
    "reject_not_found": "서버에서 파일을 찾을 수 없습니다. 다시 올려 주세요.",
    "reject_empty": "파일이 비어 있습니다(0바이트).",
    "reject_too_large": "파일이 너무 큽니다. 최대 {max_mb}MB, JPEG는 {max_mp}메가픽셀, "
    "그 밖의 형식은 {max_mp_other}메가픽셀까지 가능합니다.",
    "reject_bad_aspect_ratio": "이미지가 너무 길고 좁습니다. 긴 변이 짧은 변의 {max_aspect}배를 넘을 수 없습니다. 병변 주위로 잘라 주세요.",
    "reject_not_an_image": "읽을 수 있는 이미지 파일(JPEG, PNG 등)이 아닙니다.",
    "reject_truncated": "이미지 파일이 손상되었거나 불완전하여 읽을 수 없습니다.",
    "reject_too_small": "이미지가 너무 작습니다. 최소 {min_side}×{min_side} 픽셀이 필요합니다.",
    "reject_too_complex": "이미지 파일이 너무 복잡해서 안전하게 읽을 수 없습니다(메타데이터가 너무 많거나 읽는 데 너무 오래 걸림).",
    "reject_other": "이 파일은 이미지로 사용할 수 없습니다.",
    "dx_nv": "멜라닌세포 모반(점)",
    "dx_bkl": "양성 각화증 유사 병변",
    "dx_df": "피부섬유종",
    "dx_vasc": "혈관 병변",
    "dx_mel": "흑색종",
    "dx_bcc": "기저세포암",
    "dx_akiec": "광선각화증 / 상피내암",
    "about_model": "### 모델",
    "about_id": "모델",
    "about_version": "버전",
    "about_date": "날짜",
    "about_unknown": "기록 없음",
    "about_backbone": "신경망",
    "about_input": "입력 크기",
    "about_source": "불러온 곳",
    "source_bundled": "앱에 포함된 모델",
    "source_local": "로컬 모델 폴더",
    "source_hub": "Hugging Face Hub(온라인)",
    "source_cache": "Hugging Face Hub(로컬 사본)",
    "about_fallback": "설정된 모델을 불러올 수 없어 이 모델을 대신 제공합니다.",
    "about_threshold": "악성 기준치",
    "about_threshold_how": "검증 세트에서 민감도 {target}에 맞춰 정함",
    "about_temperature": "보정(온도)",
    "about_results": "### 학습에 쓰지 않은 병변에서의 결과",
    "about_counts": "학습과 검증에 쓰지 않은 테스트 이미지 {n}장에서:",
    "about_missed": "**놓친 암:** 악성 병변 {malignant}개 중 {fn}개가 기준치 미만이었습니다(민감도 {sensitivity}).",
    "about_false_alarms": "**위양성:** 양성 병변 {benign}개 중 {fp}개에 진료를 권고했습니다(특이도 {specificity}). "
    "권고한 것 중 실제 악성은 {precision}였습니다.",
    "about_melanoma": "**흑색종:** 흑색종 {n}개 중 {flagged}개에 진료를 권고했습니다(흑색종 민감도 {sensitivity}). "
    "{missed}개를 놓쳤습니다.",
    "about_melanoma_unknown": "**흑색종:** 이 모델에는 흑색종만의 민감도가 기록되어 있지 않습니다.",
    "about_gate": "**품질 검사가 경고한 사진:** 검증용 더모스코피 이미지 {n}장 중 {p}({k}장). 경고가 판정에 미치는 영향은 "
    "‘사용 목적’의 표에 있습니다.",
    "about_gate_unknown": "**불확실한 사진:** 이 모델에는 품질 검사 비율이 기록되어 있지 않습니다.",
    "about_no_metrics": "이 모델에는 측정 결과가 기록되어 있지 않습니다.",
    "about_metric": "지표",
    "about_validation": "검증",
    "about_test": "테스트",
    "m_n": "이미지 수",
    "m_auc": "AUC (양성 대 악성)",
    "m_sensitivity": "민감도 (악성을 찾아낸 비율)",
    "m_specificity": "특이도 (양성을 양성으로 본 비율)",
    "m_precision": "정밀도 (표시된 것 중 실제 악성)",
    "m_accuracy": "기준치에서의 정확도",
    "m_balanced_accuracy_7class": "7가지 진단의 균형 정확도",
    "m_ece": "보정 오차 (ECE)",
    "not_meaningful": "(의미 없음: 판단할 수 있는 피부 병변 사진이 아님)",
    "near_threshold": "기준치에 가깝습니다. 같은 병변을 다시 찍거나 다시 저장하면 기준치의 반대쪽에 놓일 수 있습니다.",
    "breakdown_hidden": "진단별 추정 확률: 이 이미지에서는 신뢰할 수 없음 (그래도 보기)",
    "table_title": "전체 결과 한눈에 보기",
    "table_file": "파일",
    "table_p": "악성 확률",
    "table_decision": "판정",
    "table_note": "참고",
    "table_not_meaningful": "의미 없음",
    "table_error": "분석할 수 없음",
    "near_short": "기준치 근처",
    "gate_short_blank": "주의: 균일한 이미지",
    "gate_short_blurred": "주의: 흐림",
    "gate_short_grey": "주의: 흑백",
    "gate_short_not_dermoscopy": "주의: 더모스코피 사진 아님",
    "gate_short_unfamiliar": "주의: 학습한 사진과 다름",
    "gate_short_other": "주의: 특이한 사진",
    "downloads_label": "내려받기: 결과 표(CSV)와 사진마다 인쇄할 수 있는 한 쪽짜리 보고서",
    "square_note": "점선 정사각형: 모델이 보는 부분(사진의 가운데 정사각형)입니다. 병변이 그 안에 없으면 먼저 사진을 잘라 "
    "주세요(아래).",
    "crop_heading": "사진 한 장을 병변에 맞게 자르기(선택)",
    "crop_label": "자를 사진: 올린 다음 병변의 가운데를 클릭(또는 탭)하세요",
    "crop_size": "정사각형 크기 (사진의 짧은 변에 대한 %)",
    "crop_hint": "점선 정사각형: 분석할 부분입니다. 사진을 클릭해 병변 위로 옮기고, 슬라이더로 크기를 정하세요.",
    "crop_button": "자른 사진 분석하기",
    "cropped_name": "{name} (자름)",
    "busy": "분석 중…",
    "report_title": "피부 병변 확인: 사진 한 장에 대한 보고서",
    "report_file": "파일",
    "report_model": "모델",
    "report_version": "버전",
    "report_trained": "학습 날짜",
    "report_generated": "보고서 작성",
    "report_threshold": "악성 기준치",
    "report_square": "점선 정사각형: 모델이 보는 부분(사진의 가운데 정사각형).",
    "report_print": "인쇄하거나 PDF로 저장하려면: Ctrl+P (Mac은 ⌘P).",
    "report_recorded": "기록된 진단",
    "report_breakdown_unreliable": "진단별 추정 확률 (이 이미지에서는 신뢰할 수 없음)",
    "about_outside": "### 다른 병원의 사진에서",
    "about_outside_intro": "HAM10000의 사진은 몇 곳의 병원에서 각자의 더모스코프로 찍은 것입니다(수집 출처). 아래의 **다른 병원**은 "
    "그 출처 하나를 학습에서 완전히 뺀 것입니다. 이 모델과 같은 방법으로 그 출처 없이 학습한 모델을 그 출처의 모든 사진으로 "
    "평가했고, 기준치는 이 모델과 마찬가지로 학습 출처의 검증 사진에서 정했습니다. 다른 더모스코프, 다른 조명, 다른 환자를 가진 "
    "병원에 여기서 측정할 수 있는 가장 가까운 경우입니다. 한 출처를 두 번의 학습(두 가지 시드)에서 뺀 경우 두 결과의 범위를 적었습니다.",
    "about_outside_none": "이 모델의 학습 방법으로는 측정되지 않았습니다.",
    "about_where": "사진 출처",
    "about_n": "이미지 수 (악성)",
    "about_warnings": "품질 검사 경고",
    "about_in_source": "테스트 세트: 학습한 병원들",
    "about_in_source_note": "첫 줄의 경고 비율은 검증 세트에서 잰 것입니다.",
    "about_other_clinic": "다른 병원: {source}",
    "about_other_archive": "다른 아카이브: {source}",
    "about_rounding": "**숫자의 정밀도.** 악성 확률은 정수 퍼센트로 표시합니다. 같은 사진을 품질 {quality}의 JPEG로 다시 "
    "저장하면 사진 100장 중 95장에서 {p95}%포인트 이하, 최대 {max}%포인트 움직였으므로(원본 더모스코프 사진 {n}장), 12.3% 같은 "
    "숫자는 모델이 가진 것보다 많은 것을 주장합니다. API와 CSV는 전체 정밀도를 유지합니다.",
    "about_rounding_unmeasured": "**숫자의 정밀도.** 악성 확률은 정수 퍼센트로 표시합니다. 같은 사진을 JPEG로 다시 저장하면 "
    "값이 조금 달라집니다. API와 CSV는 전체 정밀도를 유지합니다.",
    "src_rosendahl": "rosendahl (호주 퀸즐랜드)",
    "src_vidir_modern": "vidir_modern (빈, 최신 더모스코프)",
    "src_vidir_molemax": "vidir_molemax (빈, MoleMax 카메라)",
    "src_vienna_dias": "vienna_dias (빈, 이전 DIAS 더모스코프)",
    "src_isic2017": "ISIC 2017 챌린지 사진",
    "dx_short_nv": "모반(점)",
    "dx_short_bkl": "양성 각화증",
    "dx_short_df": "피부섬유종",
    "dx_short_vasc": "혈관 병변",
    "dx_short_mel": "흑색종",
    "dx_short_bcc": "기저세포암",
    "dx_short_akiec": "광선각화증",
}

TRANSLATIONS = {"en": EN, "ko": KO}


def language(accept_language: str | None) -> str:
    """The supported language the browser prefers most (Accept-Language header), else English."""
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower().split("-")[0]))
    return next((tag for _, _, tag in sorted(ranked) if tag in LANGUAGES), DEFAULT_LANGUAGE)


def t(lang: str, key: str, **values) -> str:
    """The text for `key` in `lang` (English if missing there), with `values` and the input limits filled in."""
    text = TRANSLATIONS.get(lang, EN).get(key) or EN[key]
    return text.format(**_LIMITS, **values) if "{" in text else text


def decision_text(lang: str, code: str, threshold: str) -> str:
    """The decision in words for a `Prediction.decision_code`."""
    return t(lang, f"decision_{code}", threshold=threshold)


def outcome_name(lang: str, code: str) -> str:
    return t(lang, f"outcome_{code}")


def gate_message(lang: str, code: str | None) -> str:
    return t(lang, f"gate_{code}" if f"gate_{code}" in EN else "gate_other")


def rejection_message(lang: str, reason: str) -> str:
    return t(lang, f"reject_{reason}" if f"reject_{reason}" in EN else "reject_other")


def diagnosis_name(lang: str, dx: str) -> str:
    return t(lang, f"dx_{dx}")


def short_diagnosis(lang: str, dx: str) -> str:
    """A diagnosis in a word or two, for captions under small thumbnails."""
    return t(lang, f"dx_short_{dx}") if f"dx_short_{dx}" in EN else diagnosis_name(lang, dx)


def gate_short(lang: str, code: str) -> str:
    """The gate's caution in a few words, for the results table."""
    return t(lang, f"gate_short_{code}" if f"gate_short_{code}" in EN else "gate_short_other")


def source_name(lang: str, source: str) -> str:
    """A HAM10000 acquisition source (or another archive) with where it comes from; its code if unknown."""
    return t(lang, f"src_{source}") if f"src_{source}" in EN else source


def static_translations() -> dict[str, dict[str, str]]:
    """The table for gr.I18n (keys without format fields are sent as they are)."""
    return {lang: {k: v for k, v in table.items() if "{" not in v} for lang, table in TRANSLATIONS.items()}
