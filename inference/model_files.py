"""The model folder's file names and file sets, in one place: training writes them, the Hub push publishes them,
the Hub pull fetches them, the app and the examples read them. Nothing else spells these names out."""

from __future__ import annotations

MODEL = "model.keras"  # the network, saved without optimizer state
CONFIG = "config.json"  # how to serve it: preprocessing, threshold, temperature, labels
GATE = "gate.npz"  # the quality / not-dermoscopy gate's statistics
METRICS = "metrics.json"  # validation and test results
CARD = "README.md"  # the model card (the Hub repo's README)
SPLIT = "split.csv"  # image_id -> train / val / test: which images the model never saw
ROC_PLOT = "roc.png"
RELIABILITY_PLOT = "reliability.png"
CONFUSION_PLOT = "confusion.png"
PLOTS = (ROC_PLOT, RELIABILITY_PLOT, CONFUSION_PLOT)
EXAMPLES_DIR = "examples"  # in this repository and in a Hub model repo: the example images, manifest, licence
EXAMPLES_MANIFEST = "manifest.csv"  # image_id, dx, label
EXAMPLES_ATTRIBUTION = "ATTRIBUTION.md"  # the images' source and licence (CC BY-NC 4.0)
EXAMPLE_IMAGE = "{image_id}.jpg"

# Serving cannot start without these.
REQUIRED = (MODEL, CONFIG, GATE)
# What the app and the CLI fetch from a Hub model repo (split.csv: the examples shown must be test images).
SERVED = (*REQUIRED, METRICS, CARD, SPLIT, *PLOTS)
# A folder must hold these to be published (train writes all of them); everything else in it is published too.
PUBLISHED = (*REQUIRED, METRICS, CARD, SPLIT)

# An out-of-source run (`python -m train --holdout-source ...`) writes these instead of a publishable folder.
HOLDOUT = "holdout.json"  # in-source validation and held-out source figures
HOLDOUT_LOGITS = "holdout_logits.npz"  # their logits and labels, for choosing a threshold later
HOLDOUT_TWINS = "twins.json"  # `python -m train.twins RUN` on the held-out source's full-size originals
