"""The README's "use the model without this repository" snippet, run by tests/test_hub.py against a test Hub.

Usage: python third_party_snippet.py REPO_ID REVISION IMAGE [IMAGE ...]  (prints one P(malignant) per image)
The README snippet is this file without `import sys` and the argument line, with the repo id and revision written in.
"""

import io
import json
import sys

import keras
import numpy as np
from huggingface_hub import snapshot_download
from PIL import Image, ImageOps

repo_id, revision, images = sys.argv[1], sys.argv[2], sys.argv[3:]

folder = snapshot_download(repo_id, revision=revision, allow_patterns=["model.keras", "config.json"])  # pin a commit hash
model = keras.saving.load_model(f"{folder}/model.keras", safe_mode=True, compile=False)
cfg = json.load(open(f"{folder}/config.json"))
pre = cfg["preprocessing"]


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


for path in images:
    print(f"{p_malignant(path):.6f}")
