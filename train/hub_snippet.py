"""Use the model with nothing but its Hub repo: P(malignant) and the decision, exactly as the app serves them.

pip install tensorflow==2.21.0 keras==3.15.1 huggingface_hub==2.4.0 pillow==12.3.0 numpy==2.4.6
Research and teaching aid only, not a diagnosis. The app's quality check (not a skin photo, blurred, unlike the
training photos) is not part of this snippet: there the app answers "uncertain" instead.
"""

import io
import json

import keras
import numpy as np
from huggingface_hub import snapshot_download
from PIL import Image, ImageOps

REPO_ID = "skin-lesion-classifier/skin-lesion-lite0"
REVISION = "main"  # pin a commit hash from the repo's history to get the same answers tomorrow
IMAGES = ["lesion.jpg"]

folder = snapshot_download(REPO_ID, revision=REVISION, allow_patterns=["model.keras", "config.json"])
model = keras.saving.load_model(f"{folder}/model.keras", safe_mode=True, compile=False)
cfg = json.load(open(f"{folder}/config.json"))
pre = cfg["preprocessing"]
assert pre["geometry"] == "center_square_crop" and pre["colour_constancy"] == "none", "this snippet covers this model's preprocessing only"


def p_malignant(path: str) -> float:
    image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    made = pre["source_processing"]  # a larger photo is made like the training copies: resampled, JPEG-compressed
    if min(image.size) > made["short_side"]:
        k = made["short_side"] / min(image.size)
        image = image.resize((round(image.width * k), round(image.height * k)), Image.Resampling[made["resample"].upper()])
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=made["jpeg_quality"])
        image = Image.open(buffer).convert("RGB")
    w, h = image.size
    s = min(w, h)  # centre square crop
    image = image.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    x = np.asarray(image.resize((cfg["input_size"],) * 2, Image.Resampling.BILINEAR), dtype=np.float32)
    if pre["channel_order"] == "BGR":
        x = x[..., ::-1]
    x = (x - np.float32(pre["mean"])) / np.float32(pre["std"])
    views = [x, x[:, ::-1], x[::-1], np.rot90(x)] if cfg["tta"] else [x]  # test-time augmentation: mean of 4 views
    logits = model.predict(np.stack(views), verbose=0).mean(axis=0).astype(np.float64) / cfg["temperature"]
    p = np.exp(logits - logits.max())
    p /= p.sum()  # calibrated probabilities of the 7 diagnoses, in cfg["labels"] order
    return float(sum(p[cfg["labels"].index(label)] for label in cfg["malignant_labels"]))


for path in IMAGES:
    p = p_malignant(path)
    decision = "refer" if p >= cfg["threshold"] else "no_flag"  # refer: have it examined by a dermatologist
    print(f"{path}\t{p:.6f}\t{decision}")
