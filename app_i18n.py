"""Every string the app shows, in English and Korean.

One table serves both ways of translating: static labels go to the browser through `gr.I18n` (which follows
the browser's language), and text built per request (results, the About page) is picked here from the
request's Accept-Language header, which the browser sets from the same language preference.
"""

from __future__ import annotations

from inference.disclaimer import DISCLAIMER
from inference.gate import MESSAGES as GATE_MESSAGES
from inference.preprocess import MAX_BYTES, MAX_PIXELS, MIN_SIDE

LANGUAGES = ("en", "ko")
DEFAULT_LANGUAGE = "en"
MAX_IMAGES = 8  # images per batch; also said in the upload label

_LIMITS = {"max_mb": MAX_BYTES // 2**20, "max_mp": MAX_PIXELS // 10**6, "min_side": MIN_SIDE, "max_images": MAX_IMAGES}

EN: dict[str, str] = {
    # Header and static UI (also sent through gr.I18n).
    "title": "# Pigmented skin lesion check: dermoscopy photo → benign or malignant?",
    "subtitle": "Estimates whether a dermoscopy photo of a pigmented skin lesion looks benign or malignant, and shows "
    "with a Grad-CAM heat map which regions drove the estimate.",
    "disclaimer": f"**⚠ Not a diagnosis.** {DISCLAIMER}",
    "tab_classify": "Classify",
    "tab_about": "About this model",
    "upload_label": f"Dermoscopy images: JPEG or PNG, up to {MAX_IMAGES} at once, {_LIMITS['max_mb']} MB each",
    "classify_button": "Classify",
    "examples_heading": "### Examples\nHeld-out test images from HAM10000 with their recorded diagnosis. Click one to classify it, "
    "or classify them all to see how the model does on them.",
    "examples_label": "Example images (held-out test set)",
    "examples_button": "Classify all examples",
    "examples_missing": "No example images are available on this server. To get them, point the environment variable "
    "`HAM10000_DIR` at a HAM10000 folder (or place it at `data/ham10000`), or set `SKIN_LESION_MODEL_REPO` to a model "
    "repo on the Hugging Face Hub that holds `examples/`, then restart the app.",
    "results_label": "Results",
    "roc_label": "**ROC curve** (test split): how well P(malignant) separates benign from malignant; the dot is the threshold.",
    "reliability_label": "**Reliability diagram** (test split): predicted P(malignant) against the observed rate of malignancy.",
    "about_intended": "### Intended use\nA research and teaching aid: to explore how a neural network judges dermoscopy "
    "photos of pigmented skin lesions, and where it looks. It is not a medical device, it does not diagnose, and it "
    "must not be used to decide whether a lesion is examined, treated or removed.",
    "about_limitations": "### Limitations\n"
    "- Trained and tested on one public data set (HAM10000: dermoscopy images collected in Austria and Australia, "
    "mostly of light skin). It has not been validated on other populations, cameras or clinics; the test results "
    "on this page come from held-out lesions of the same data set.\n"
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
    "placeholder": "Upload dermoscopy images or click an example, then press **Classify**.",
    "no_input": "No image to classify: upload at least one image or click an example.",
    "too_many": "Only the first {max_images} of {given} images were classified (at most {max_images} per batch).",
    "progress": "Classifying image {i} of {n}",
    "summary_title": "Summary",
    "summary_images": "{n} image(s) classified",
    "summary_above": "{k} above the malignancy threshold of {threshold}",
    "summary_warnings": "{w} with a warning (no verdict)",
    "summary_errors": "{e} file(s) could not be read",
    "summary_truth": "Recorded diagnosis known for {m}: {c} correct, accuracy {accuracy}",
    "example_name": "Example {image_id}",
    "photo": "Photo",
    "gradcam": "Grad-CAM: regions that drove the result",
    "gradcam_empty": "(empty map: no region pushed the model towards this result)",
    "p_malignant": "Probability of malignancy",
    "threshold_mark": "threshold {threshold}",
    "above": "Above the malignancy threshold of {threshold}: refer for examination by a dermatologist.",
    "below": "Below the malignancy threshold of {threshold}: this model raises no flag. That does not rule out a "
    "malignancy; a lesion that changes or worries you still needs a dermatologist.",
    "no_verdict": "No verdict for this image.",
    "unreliable": "(not meaningful for this image)",
    "breakdown": "Estimated probability of each diagnosis",
    "malignant_kind": "malignant",
    "benign_kind": "benign",
    "truth": "Recorded diagnosis: {label} ({kind})",
    "correct": "✓ correct",
    "incorrect": "✗ incorrect",
    "could_not_read": "Could not be classified",
    # Gate warnings (prediction.warning_code) and refusals (ImageRejected.reason).
    "gate_blank": GATE_MESSAGES["blank"],
    "gate_blurred": GATE_MESSAGES["blurred"],
    "gate_not_dermoscopy": GATE_MESSAGES["not_dermoscopy"],
    "gate_other": "This image does not look like the dermoscopy photos the model was trained on; the result is not reliable.",
    "reject_not_found": "The file could not be found on the server; please upload it again.",
    "reject_empty": "The file is empty (0 bytes).",
    "reject_too_large": "The file is too large: at most {max_mb} MB and {max_mp} megapixels.",
    "reject_not_an_image": "The file is not an image that can be read (JPEG, PNG, ...).",
    "reject_truncated": "The image file is damaged or incomplete and could not be decoded.",
    "reject_too_small": "The image is too small: at least {min_side}×{min_side} pixels are needed.",
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
    "about_backbone": "Network",
    "about_input": "Input size",
    "about_source": "Loaded from",
    "about_note": "Note",
    "about_threshold": "Malignancy threshold",
    "about_threshold_how": "chosen on the validation split for a sensitivity of {target}",
    "about_temperature": "Calibration (temperature)",
    "about_results": "### Results on held-out lesions",
    "about_no_metrics": "This model folder has no metrics.json, so no results can be shown.",
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
}

KO: dict[str, str] = {
    "title": "# 색소성 피부 병변 확인: 더모스코피 사진 → 양성 또는 악성?",
    "subtitle": "색소성 피부 병변의 더모스코피(피부확대경) 사진이 양성으로 보이는지 악성으로 보이는지 추정하고, "
    "어떤 부위가 추정에 영향을 주었는지 Grad-CAM 히트맵으로 보여 줍니다.",
    "disclaimer": "**⚠ 진단이 아닙니다.** 연구 및 교육용 보조 도구일 뿐이며 진단이 아닙니다. 이 모델은 더모스코피 사진을 보고 "
    "색소성 피부 병변이 양성으로 보이는지 악성으로 보이는지를 추정합니다. 모델은 틀릴 수 있으며, 의료기기로 승인되지 "
    "않았습니다. 걱정되는 병변이 있으면 피부과 전문의의 진료를 받으세요. 진단은 임상 진찰과, 필요한 경우 조직검사(생검)로만 "
    "내려집니다.",
    "tab_classify": "분석",
    "tab_about": "모델 정보",
    "upload_label": f"더모스코피 이미지: JPEG 또는 PNG, 한 번에 최대 {MAX_IMAGES}장, 장당 {_LIMITS['max_mb']}MB 이하",
    "classify_button": "분석하기",
    "examples_heading": "### 예시\n학습에 사용되지 않은 HAM10000 테스트 이미지와 기록된 진단명입니다. 하나를 클릭하면 분석하고, "
    "모두 분석하면 모델이 이 이미지들에서 얼마나 맞히는지 볼 수 있습니다.",
    "examples_label": "예시 이미지 (테스트 세트)",
    "examples_button": "예시 모두 분석하기",
    "examples_missing": "이 서버에는 예시 이미지가 없습니다. 예시를 사용하려면 환경 변수 `HAM10000_DIR`을 HAM10000 폴더로 "
    "지정하거나(또는 `data/ham10000`에 두거나), `SKIN_LESION_MODEL_REPO`를 `examples/`가 있는 Hugging Face Hub 모델 "
    "저장소로 지정한 뒤 앱을 다시 시작하세요.",
    "results_label": "결과",
    "roc_label": "**ROC 곡선** (테스트 세트): 악성 확률이 양성과 악성을 얼마나 잘 구분하는지 보여 줍니다. 점은 기준치입니다.",
    "reliability_label": "**신뢰도 도표** (테스트 세트): 예측한 악성 확률과 실제 악성 비율을 비교합니다.",
    "about_intended": "### 사용 목적\n연구 및 교육용 보조 도구입니다. 신경망이 색소성 피부 병변의 더모스코피 사진을 어떻게 판단하고 "
    "어디를 보는지 살펴보기 위한 것입니다. 의료기기가 아니며 진단하지 않습니다. 병변의 검사, 치료 또는 제거 여부를 결정하는 데 "
    "사용해서는 안 됩니다.",
    "about_limitations": "### 한계\n"
    "- 하나의 공개 데이터 세트(HAM10000: 오스트리아와 호주에서 수집된, 주로 밝은 피부의 더모스코피 이미지)로 학습하고 "
    "평가했습니다. 다른 인구 집단, 카메라, 병원에서는 검증되지 않았으며, 이 페이지의 테스트 결과는 같은 데이터 세트에서 학습에 쓰지 "
    "않은 병변으로 얻은 것입니다.\n"
    "- 7가지 진단만 알고 있습니다(결과에 표시). 그 밖의 병변, 비색소성 병변, 손발톱, 점막, 일반(비더모스코피) 사진, 그 밖의 "
    "이미지에 대해서는 의미 없는 숫자가 나옵니다. 학습 사진과 다르게 보이는 이미지를 경고하는 검사가 있지만 모두 걸러 내지는 "
    "못합니다.\n"
    "- 민감도가 높도록 기준치를 정했기 때문에 양성 병변도 많이 표시되며(위양성), 일부 악성 병변은 여전히 놓칩니다.\n"
    "- Grad-CAM 지도는 어떤 부위가 출력에 영향을 주었는지 보여 줄 뿐, 의학적 근거가 아닙니다.",
    "about_data": "### 데이터와 라이선스\nHAM10000(Tschandl, Rosendahl & Kittler, *Scientific Data* 5, 180161, 2018, "
    "doi:10.1038/sdata.2018.161)으로 학습했으며, 라이선스는 **CC BY-NC 4.0**입니다. 모델과 예시 이미지는 출처를 밝히고 "
    "비상업적 목적으로만 사용할 수 있습니다.",
    "placeholder": "더모스코피 이미지를 올리거나 예시를 클릭한 다음 **분석하기**를 누르세요.",
    "no_input": "분석할 이미지가 없습니다. 이미지를 한 장 이상 올리거나 예시를 클릭하세요.",
    "too_many": "{given}장 중 처음 {max_images}장만 분석했습니다(한 번에 최대 {max_images}장).",
    "progress": "{n}장 중 {i}번째 이미지 분석 중",
    "summary_title": "요약",
    "summary_images": "이미지 {n}장 분석",
    "summary_above": "악성 기준치 {threshold} 이상: {k}장",
    "summary_warnings": "경고(판정 없음): {w}장",
    "summary_errors": "읽을 수 없는 파일: {e}개",
    "summary_truth": "기록된 진단이 있는 {m}장 중 {c}장 정답, 정확도 {accuracy}",
    "example_name": "예시 {image_id}",
    "photo": "사진",
    "gradcam": "Grad-CAM: 결과에 영향을 준 부위",
    "gradcam_empty": "(빈 지도: 이 결과 쪽으로 모델을 이끈 부위가 없음)",
    "p_malignant": "악성 확률",
    "threshold_mark": "기준치 {threshold}",
    "above": "악성 기준치 {threshold} 이상: 피부과 전문의의 진찰을 받으세요.",
    "below": "악성 기준치 {threshold} 미만: 이 모델은 경고를 표시하지 않았습니다. 그렇다고 악성이 배제되는 것은 아니며, "
    "변하거나 걱정되는 병변은 피부과 전문의의 진찰이 필요합니다.",
    "no_verdict": "이 이미지에 대해서는 판정하지 않습니다.",
    "unreliable": "(이 이미지에서는 의미 없음)",
    "breakdown": "진단별 추정 확률",
    "malignant_kind": "악성",
    "benign_kind": "양성",
    "truth": "기록된 진단: {label} ({kind})",
    "correct": "✓ 정답",
    "incorrect": "✗ 오답",
    "could_not_read": "분석할 수 없음",
    "gate_blank": "이 이미지는 거의 균일하여 피부 병변이 보이지 않습니다. 아래 결과는 의미가 없습니다.",
    "gate_blurred": "이 이미지는 너무 흐려서 평가할 수 없습니다. 초점을 맞춰 다시 촬영하세요. 아래 결과는 신뢰할 수 없습니다.",
    "gate_not_dermoscopy": "모델이 학습한 색소성 피부 병변의 더모스코피 사진으로 보이지 않습니다. 이 이미지에 대한 아래 결과는 "
    "의미가 없습니다.",
    "gate_other": "모델이 학습한 더모스코피 사진과 다르게 보입니다. 결과를 신뢰할 수 없습니다.",
    "reject_not_found": "서버에서 파일을 찾을 수 없습니다. 다시 올려 주세요.",
    "reject_empty": "파일이 비어 있습니다(0바이트).",
    "reject_too_large": "파일이 너무 큽니다. 최대 {max_mb}MB, {max_mp}메가픽셀까지 가능합니다.",
    "reject_not_an_image": "읽을 수 있는 이미지 파일(JPEG, PNG 등)이 아닙니다.",
    "reject_truncated": "이미지 파일이 손상되었거나 불완전하여 읽을 수 없습니다.",
    "reject_too_small": "이미지가 너무 작습니다. 최소 {min_side}×{min_side} 픽셀이 필요합니다.",
    "reject_other": "이 파일은 이미지로 사용할 수 없습니다.",
    "dx_nv": "멜라닌세포 모반(점)",
    "dx_bkl": "양성 각화증 유사 병변",
    "dx_df": "피부섬유종",
    "dx_vasc": "혈관 병변",
    "dx_mel": "흑색종",
    "dx_bcc": "기저세포암",
    "dx_akiec": "광선각화증 / 상피내암",
    "about_model": "### 모델",
    "about_backbone": "신경망",
    "about_input": "입력 크기",
    "about_source": "불러온 곳",
    "about_note": "참고",
    "about_threshold": "악성 기준치",
    "about_threshold_how": "검증 세트에서 민감도 {target}에 맞춰 정함",
    "about_temperature": "보정(온도)",
    "about_results": "### 학습에 쓰지 않은 병변에서의 결과",
    "about_no_metrics": "이 모델 폴더에는 metrics.json이 없어 결과를 표시할 수 없습니다.",
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


def gate_message(lang: str, code: str | None) -> str:
    return t(lang, f"gate_{code}" if f"gate_{code}" in EN else "gate_other")


def rejection_message(lang: str, reason: str) -> str:
    return t(lang, f"reject_{reason}" if f"reject_{reason}" in EN else "reject_other")


def diagnosis_name(lang: str, dx: str) -> str:
    return t(lang, f"dx_{dx}")


def static_translations() -> dict[str, dict[str, str]]:
    """The table for gr.I18n (keys without format fields are sent as they are)."""
    return {lang: {k: v for k, v in table.items() if "{" not in v} for lang, table in TRANSLATIONS.items()}
