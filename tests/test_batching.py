"""Batched serving gives every image exactly what it gets alone: the inference core and the app's batched `/predict`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference import ImageRejected, Prediction

ATOL = 1e-5


@pytest.fixture(scope="module")
def mixed_inputs(data_dir, tmp_path_factory) -> list[str]:
    """Dermoscopy photos, a black-and-white one, a cat and an unreadable file: different decisions and warnings."""
    from skimage import data as skdata

    folder = tmp_path_factory.mktemp("mixed")
    photos = sorted((data_dir / "images").glob("ISIC_*.jpg"))[:5]
    grey = folder / "grey.jpg"
    Image.open(photos[0]).convert("L").save(grey)
    cat = folder / "cat.png"
    Image.fromarray(skdata.chelsea()).save(cat)
    broken = folder / "broken.jpg"
    broken.write_bytes(b"not an image at all")
    return [str(p) for p in (photos[0], photos[1], broken, grey, photos[2], cat, photos[3], photos[4])]


def assert_same(batched: Prediction | ImageRejected, alone: Prediction | ImageRejected) -> None:
    assert type(batched) is type(alone)
    if isinstance(alone, ImageRejected):
        assert (batched.reason, str(batched)) == (alone.reason, str(alone))
        return
    assert batched.p_malignant == pytest.approx(alone.p_malignant, abs=ATOL)
    assert (batched.decision_code, batched.warning_code, batched.warning) == (alone.decision_code, alone.warning_code, alone.warning)
    assert batched.diagnoses.keys() == alone.diagnoses.keys()
    assert np.allclose(list(batched.diagnoses.values()), list(alone.diagnoses.values()), atol=ATOL)
    assert np.allclose(batched.heatmap, alone.heatmap, atol=ATOL)
    assert np.abs(np.asarray(batched.overlay, np.int16) - np.asarray(alone.overlay, np.int16)).max() <= 1  # uint8 rounding


@pytest.mark.slow
def test_a_batch_gives_each_image_its_one_by_one_result(bundled_classifier, mixed_inputs):
    clf = bundled_classifier
    batched = clf.predict(mixed_inputs, explain=True, tta=True)
    alone = [clf.predict([path], explain=True, tta=True)[0] for path in mixed_inputs]
    for path, b, a in zip(mixed_inputs, batched, alone, strict=True):
        assert_same(b, a), path
    kinds = {r.decision_code if isinstance(r, Prediction) else "refused" for r in alone}
    codes = {r.warning_code for r in alone if isinstance(r, Prediction)}
    assert "refused" in kinds and len(kinds) >= 3, kinds  # the batch really mixes outcomes
    assert {"grey", "not_dermoscopy", None} <= codes, codes


def test_batched_gradcam_equals_one_map_at_a_time(bundled_classifier):
    """Images with opposite decisions share one gradient pass, each towards its own decision."""
    clf = bundled_classifier
    size = clf.config.input_size
    pixels = np.random.default_rng(0).integers(0, 255, size=(4, size, size, 3), dtype=np.uint8)
    _, activations, _ = clf.forward(pixels)
    towards = np.array([True, False, True, False])
    maps = clf.explainer.heatmaps(activations, towards)
    for i in range(4):
        assert np.allclose(maps[i], clf.explainer.heatmap(activations[i], bool(towards[i])), atol=ATOL)
    assert not np.allclose(maps[0], clf.explainer.heatmaps(activations[:1], np.array([False]))[0], atol=ATOL)


# --- the app's batched /predict, called as Gradio calls it (lists in, lists out) -----------------------------------


class FakeRequest:
    headers = {"accept-language": "en"}


@pytest.fixture(scope="module")
def app_module(bundled_classifier):
    import app
    import examples

    app.build_demo(bundled_classifier, examples.ExampleSet([], [], {}))
    return app


@pytest.mark.slow
def test_the_batched_api_answers_as_the_unbatched_one(app_module, mixed_inputs):
    request = FakeRequest()
    answers, overlays = app_module.predict_batch(mixed_inputs, request)
    assert len(answers) == len(overlays) == len(mixed_inputs)
    for path, answer, overlay in zip(mixed_inputs, answers, overlays, strict=True):
        try:
            alone, alone_overlay = app_module.predict(path, request)
        except Exception as error:  # gr.Error: refused alone; in a shared batch, the same message in `error`
            assert overlay is None and answer["error"] == error.message and answer["error_code"] == "not_an_image"
            assert answer["disclaimer"] and "p_malignant" not in answer
            continue
        assert answer.keys() == alone.keys()
        assert answer["p_malignant"] == pytest.approx(alone["p_malignant"], abs=1e-4)  # both rounded to 4 decimals
        for key in ("decision", "decision_code", "decision_text", "warning_code", "malignant", "meaningful", "model"):
            assert answer[key] == alone[key], key
        assert np.allclose(list(answer["diagnoses"].values()), list(alone["diagnoses"].values()), atol=1e-4)
        same = np.abs(np.asarray(Image.open(overlay), np.int16) - np.asarray(Image.open(alone_overlay), np.int16))
        assert same.max() <= 1


def test_a_batch_of_one_refused_file_raises_as_before(app_module, mixed_inputs):
    import gradio as gr

    broken = next(p for p in mixed_inputs if Path(p).name == "broken.jpg")
    with pytest.raises(gr.Error, match="not an image that can be read"):
        app_module.predict_batch([broken], FakeRequest())


def test_a_batch_survives_an_unexpected_failure(app_module, mixed_inputs, monkeypatch):
    """A bug on one image (here: its decoder raising something unforeseen) costs only that image its answer."""
    import inference.classifier

    real = inference.classifier.load_rgb

    def flaky(item):
        if str(item).endswith("cat.png"):
            raise MemoryError("simulated")
        return real(item)

    monkeypatch.setattr(inference.classifier, "load_rgb", flaky)
    paths = [p for p in mixed_inputs if not Path(p).name.startswith(("broken", "grey"))]
    answers, overlays = app_module.predict_batch(paths, FakeRequest())
    refused = [a for a in answers if "error" in a]
    assert len(refused) == 1 and len(answers) == len(paths)
    assert all(0 <= a["p_malignant"] <= 1 and Image.open(o).size for a, o in zip(answers, overlays, strict=True) if "error" not in a)


def test_tta_views_in_one_call_equal_each_view_alone(bundled_classifier):
    """forward(tta=True) runs the image and its 3 extra views as one batch: the mean of each view's logits alone."""
    from inference.outputs import tta_views
    from inference.preprocess import normalise

    clf = bundled_classifier
    size = clf.config.input_size
    pixels = np.random.default_rng(1).integers(0, 255, size=(3, size, size, 3), dtype=np.uint8)
    logits, activations, features = clf.forward(pixels, tta=True)
    plain_logits, plain_activations, plain_features = clf.forward(pixels, tta=False)
    batch = normalise(pixels.astype(np.float32), clf.config.preprocessing)
    per_view = [plain_logits] + [clf._head(clf._backbone(view)[0]).numpy() for view in tta_views(batch)]  # one call per view
    assert np.allclose(logits, np.mean(per_view, axis=0), atol=ATOL)
    assert np.allclose(activations, plain_activations, atol=ATOL) and np.allclose(features, plain_features, atol=ATOL)
    assert not np.allclose(logits, plain_logits, atol=ATOL)  # the views do change the answer
