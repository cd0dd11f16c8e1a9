"""The training recipes `python -m train` knows: its defaults are the shipped recipe; others are named presets.

"The origin" is the project this repository started from: a ResNet50 fine-tuned on HAM10000 at 224 px with a
dropout + dense head, balanced sampling, Adam 1e-3 for 10 epochs and flip/rotate/zoom/brightness augmentation. Its
recipe is kept as a preset so that it can be reproduced and compared; docs/results.md has both runs.
"""

from __future__ import annotations

SHIPPED = {
    "backbone": "efficientnet_lite0",
    "image_size": 224,
    "epochs": 6,
    "batch_size": 32,
    "lr": 5e-4,
    "schedule": "cosine",
    "label_smoothing": 0.1,
    "sampling": "natural",
    "augment": "device",
    "colour_constancy": "none",
    "patience": 3,
    "tta": True,
    "target_sensitivity": 0.95,
}
ORIGIN = SHIPPED | {
    "backbone": "resnet50",
    "epochs": 10,
    "lr": 1e-3,
    "schedule": "constant",
    "label_smoothing": 0.0,
    "sampling": "balanced",
    "augment": "origin",
    "tta": False,
    "target_sensitivity": 0.90,
}
RECIPES = {"shipped": SHIPPED, "origin": ORIGIN}
