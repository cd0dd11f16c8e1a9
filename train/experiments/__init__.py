"""Experiment tools: they read finished runs (results/) and answer one question each; the recipe never imports them.

- `python -m train.experiments.runs`: the index of every run kept in results/ (results/runs.csv).
- `python -m train.experiments.ensemble`: held-out AUC of averaged runs, and paired AUC differences between runs.
- `python -m train.experiments.screening_threshold`: the validation target that keeps a sensitivity out of source.
- `python -m train.experiments.source_processing`: how the training copies were made from the dermatoscope's files.
- `python -m train.experiments.gate_detectors`: not-dermoscopy detectors compared on real dermoscopy and negatives.
"""
