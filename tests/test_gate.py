"""The quality gate of the bundled model, measured: on real dermoscopy (validation photos of every archive and the
dermatoscope's original photos) it almost never withholds a result and rarely cautions; on images that are not
dermoscopy (the held-out part of the negative corpus, train/negatives.py, never fitted on) it withholds the result
and never refers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from inference.classifier import NOT_A_LESION_PHOTO
from inference.gate import Gate, GateFileError
from inference.loading import BUNDLED_MODEL
from train.data import other_archives, read_metadata, read_split, sides
from train.negatives import fitting_images, held_out_images

MAX_NO_RESULT_RATE = 0.005  # real dermoscopy told "not a lesion photo": at most 0.5% of any archive's validation photos
MAX_CAUTION_RATE = 0.03  # real dermoscopy cautioned (blurred, unfamiliar)
SAME_PICTURE = 0.5  # mean grey-level difference of 64x64 thumbnails: a re-rendered networkx drawing 0.2, a mostly white screenshot 1.2
# The target is 97% of held-out negatives without a result: 53 of 54 (98.1%), 32 of the first 33 (docs/results.md).
KNOWN_MISSES = {"heatmap"}  # the one that gets a result (unfamiliar, so uncertain, never refer); any new miss fails


def validation_photos(archive_dirs: list[Path]) -> dict[str, list[Path]]:
    """The validation photos of every archive, per archive: the bundled model's own (split.csv) and, of an archive it
    did not train on, the validation side of the split a training run would make (the gate's detector learnt from its
    training side: `train.report.fit_gate`)."""
    split, records = read_split(BUNDLED_MODEL / "split.csv"), read_metadata(archive_dirs)
    photos: dict[str, list[Path]] = {}
    for record in sides(records, split)["val"] + other_archives(records, split)["val"]:
        photos.setdefault(record.archive, []).append(record.path)
    return photos


@pytest.fixture(scope="module")
def fitting_negatives():
    return fitting_images()


@pytest.fixture(scope="module")
def held_out_negatives():
    return held_out_images()


@pytest.fixture(scope="module")
def validation_results(bundled_classifier, archive_dirs):
    return {archive: bundled_classifier.predict(paths) for archive, paths in validation_photos(archive_dirs).items()}


def test_real_dermoscopy_almost_never_gets_no_result(validation_results, archive_dirs):
    """Every archive's validation photos: hardly any without a result. A caution on at most 3% of those of an archive
    the model trained on; on another archive it may be deserved (docs/results.md: the model is weaker there)."""
    split = read_split(BUNDLED_MODEL / "split.csv")
    trained = {r.archive for r in read_metadata(archive_dirs) if r.image_id in split}
    assert trained and len(validation_results) == len(archive_dirs)
    for archive, results in validation_results.items():
        codes = [r.warning_code for r in results]
        no_result = sum(code in NOT_A_LESION_PHOTO for code in codes) / len(codes)
        caution = sum(code in ("blurred", "unfamiliar") for code in codes) / len(codes)
        print(f"{archive}: {len(codes)} validation photos, no result {no_result:.2%}, caution {caution:.2%}")
        assert no_result <= MAX_NO_RESULT_RATE, archive
        assert caution <= MAX_CAUTION_RATE or archive not in trained, archive
        assert "grey" not in codes  # the fixed colour check never fires on a dermoscopy photo


def test_original_photos_almost_never_get_no_result(bundled_classifier, data_dir):
    originals = sorted((data_dir.parent / "ham10000-originals").glob("*.jpg"))
    assert len(originals) > 400
    codes = [r.warning_code for r in bundled_classifier.predict(originals)]
    assert sum(code in NOT_A_LESION_PHOTO for code in codes) / len(codes) <= MAX_NO_RESULT_RATE


def test_held_out_negatives_get_no_result_and_never_a_referral(bundled_classifier, held_out_negatives):
    images = held_out_negatives
    results = bundled_classifier.predict(list(images.values()))
    missed = [name for name, r in zip(images, results, strict=True) if r.meaningful]
    print(f"held-out negatives: {len(images) - len(missed)} of {len(images)} without a result; missed: {missed}")
    assert set(missed) <= KNOWN_MISSES, "a held-out negative that used to be caught now gets a result"
    assert [r.decision_code for r in results].count("refer") == 0
    assert all(r.decision_code == "uncertain" for r in results if not r.meaningful)


def test_the_two_parts_share_no_picture(fitting_negatives, held_out_negatives):
    """A held-out image that is a fitting image in another file (a copy, a re-rendering, another colour version) would
    be reported as never fitted on."""
    def thumbnail(image):
        return np.asarray(image.convert("L").resize((64, 64)), np.float32)

    fitting = {name: thumbnail(image) for name, image in fitting_negatives.items()}
    for name, image in held_out_negatives.items():
        held_out = thumbnail(image)
        differences = {f: np.abs(held_out - t).mean() for f, t in fitting.items()}
        nearest = min(differences, key=differences.get)
        assert differences[nearest] > SAME_PICTURE, (name, nearest)


def test_fitting_negatives_are_caught(bundled_classifier, fitting_negatives):
    """The whole images the detector was fitted on (in-sample: this only checks the fitted gate is the one served)."""
    images = fitting_negatives
    results = bundled_classifier.predict(list(images.values()))
    assert [name for name, r in zip(images, results, strict=True) if r.meaningful] == []


def test_a_cat_gets_no_referral_whatever_its_probability(bundled_classifier, fitting_negatives):
    prediction = bundled_classifier.predict_one(fitting_negatives["cat"], explain=False)
    assert prediction.warning_code == "not_dermoscopy" and "close-up photo of skin" in prediction.warning
    assert prediction.decision_code == "uncertain" and not prediction.malignant


def test_black_and_white_images_are_named_as_such(bundled_classifier, fitting_negatives):
    grey = ["moon", "camera", "page", "microaneurysms"]
    assert [r.warning_code for r in bundled_classifier.predict([fitting_negatives[name] for name in grey])] == ["grey"] * len(grey)


def test_blurred_lesions_never_get_a_reassuring_answer(bundled_classifier, archive_dirs):
    """A lesion photo blurred beyond recognition is cautioned as blurred or, when nothing of a lesion is left to see, gets
    no result (the detector runs first, so that a soft blob that is not skin is never referred as "blurred")."""
    paths = validation_photos(archive_dirs)["HAM10000"][:10]
    blurred = [Image.open(p).convert("RGB").filter(ImageFilter.GaussianBlur(8)) for p in paths]
    results = bundled_classifier.predict(blurred)
    assert all(r.warning_code in ("blurred", "not_dermoscopy") for r in results)
    assert "no_flag" not in [r.decision_code for r in results]
    slightly = [Image.open(p).convert("RGB").filter(ImageFilter.GaussianBlur(2)) for p in paths]
    assert [r.warning_code for r in bundled_classifier.predict(slightly)].count("not_dermoscopy") <= 1


def test_a_tampered_gate_file_is_refused(tmp_path):
    gate = Gate.load(BUNDLED_MODEL)
    gate.max_distance = float("nan")
    gate.save(tmp_path)
    with pytest.raises(GateFileError, match="not finite"):
        Gate.load(tmp_path)
    np.savez(tmp_path / "gate.npz", mean=gate.mean, precision=gate.precision, thresholds=np.zeros(3))  # an earlier design
    with pytest.raises(GateFileError, match="refit"):
        Gate.load(tmp_path)


def test_two_detectors_together_withhold_a_result_only_where_both_would():
    """train.experiments.gate_detectors (issue 23): `both` flags what each detector flags and nothing else, and grouped
    cross-validation names a negative kind as missed when the detector fitted without it lets its image pass."""
    from train.experiments.gate_detectors import DETECTORS, cross_validated_misses, fit, not_dermoscopy

    rng = np.random.default_rng(0)
    kinds = np.repeat([f"kind {i}" for i in range(10)], 3)
    positives = {"served": rng.normal(2, 1, (400, 8)), "imagenet": rng.normal(2, 1, (400, 5))}
    negatives = {"served": rng.normal(-2, 1, (30, 8)), "imagenet": rng.normal(-2, 1, (30, 5))}
    negatives["imagenet"][kinds == "kind 3"] = rng.normal(2, 1, (3, 5))  # like dermoscopy to the ImageNet detector only
    other = rng.normal(2, 1, (100, 8))  # another archive's training side, served features
    fitted = fit(positives, negatives, other)
    flags = {detector: not_dermoscopy(fitted, negatives, detector) for detector in DETECTORS}
    assert (flags["both"] == (flags["served"] & flags["imagenet"])).all()
    assert (flags["served, margin + 1"] <= flags["served"]).all() and (flags["served"] <= flags["served, margin - 1"]).all()
    assert flags["served"].all() and not flags["imagenet"][kinds == "kind 3"].any()
    assert flags["served, + other archives"].all()
    missed = cross_validated_misses(positives, negatives, other, kinds)
    assert missed["served"] == [] and missed["imagenet"] == ["kind 3"] and missed["both"] == ["kind 3"]
    assert missed["served, + other archives"] == []


def test_the_detector_learns_another_archive_and_the_distance_check_does_not():
    """`Gate.fit(..., other_dermoscopy)`: photos of an archive the model did not train on teach the detector that they
    are dermoscopy (here they look like the negatives but for one feature); the distance check, which asks whether a
    photo is like what the model learnt, is fitted on the training photos alone and stays exactly as it was."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (300, 16, 16, 3), dtype=np.uint8)
    training, other, negatives = rng.normal(0, 1, (300, 6)), rng.normal(0, 1, (300, 6)), rng.normal(0, 1, (80, 6))
    training[:, 0] += 6
    negatives[:, 0] -= 6
    other[:, 0] -= 6
    other[:, 1] += 12
    alone, both = Gate.fit(pixels, training, negatives), Gate.fit(pixels, training, negatives, other)
    flagged = {name: gate.dermoscopy_scores(other) < gate.min_detector_score for name, gate in (("alone", alone), ("both", both))}
    assert flagged["alone"].mean() > 0.9 and not flagged["both"].any()
    assert both.dermoscopy_scores(negatives).max() < both.dermoscopy_scores(other).min()  # still told apart
    assert np.array_equal(alone.mean, both.mean) and np.array_equal(alone.precision, both.precision)
    assert alone.max_distance == both.max_distance
