"""The inference core: every input kind, consistent outputs, Grad-CAM that points at the evidence."""

from __future__ import annotations

import io

import keras
import numpy as np
import pytest
from PIL import Image
from tf_keras_vis.gradcam import Gradcam

from inference import DISCLAIMER, Classifier, ImageRejected, load_classifier
from inference.config import LABELS, ModelConfig, Preprocessing
from inference.gradcam import decision_score

SIZE = 64
MEL, NV = LABELS.index("mel"), LABELS.index("nv")


def synthetic_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Skin-coloured noise; half carry a dark blob somewhere (labelled melanoma), half do not (naevus)."""
    images = np.clip(rng.normal([200, 160, 140], 12, size=(n, SIZE, SIZE, 3)), 0, 255)
    labels = np.where(rng.random(n) < 0.5, MEL, NV)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    for image, label in zip(images, labels, strict=True):
        if label == MEL:
            cy, cx = rng.integers(10, SIZE - 10, size=2)
            image[(yy - cy) ** 2 + (xx - cx) ** 2 < 36] = [60, 40, 30]
    return images.astype(np.uint8), labels


@pytest.fixture(scope="module")
def blob_model(tmp_path_factory) -> Classifier:
    """A small flat CNN trained for seconds to call a dark blob malignant, saved as a model folder."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu", name="top_activation")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    model = keras.Model(inputs, keras.layers.Dense(7, name="logits")(x))
    preprocessing = Preprocessing(source_resolution=SIZE)
    images, labels = synthetic_images(1500, np.random.default_rng(0))
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit((images - 127.0) / 128.0, labels, epochs=4, batch_size=50, verbose=0)
    folder = tmp_path_factory.mktemp("blob")
    model.save(folder / "model.keras")
    ModelConfig("tiny_cnn", SIZE, preprocessing, threshold=0.5, gradcam_layer="top_activation").save(folder)
    return load_classifier(str(folder))


def blob_image(cy: int, cx: int) -> np.ndarray:
    image, _ = synthetic_images(1, np.random.default_rng(1))
    yy, xx = np.mgrid[:SIZE, :SIZE]
    image = image[0].copy()
    image[(yy - cy) ** 2 + (xx - cx) ** 2 < 36] = [60, 40, 30]
    return image


def test_blob_model_learned_the_task(blob_model):
    images, labels = synthetic_images(200, np.random.default_rng(2))
    predictions = blob_model.predict(list(images))
    accuracy = np.mean([p.malignant == (label == MEL) for p, label in zip(predictions, labels, strict=True)])
    assert accuracy > 0.9


@pytest.mark.parametrize("cy, cx", [(14, 14), (14, 50), (50, 14), (50, 50)])
def test_gradcam_points_at_the_blob(blob_model, cy, cx):
    prediction = blob_model.predict_one(blob_image(cy, cx), explain=True)
    assert prediction.malignant
    heatmap = prediction.heatmap
    peak = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    cell = SIZE / heatmap.shape[0]
    assert abs((peak[0] + 0.5) * cell - cy) <= cell * 1.5 and abs((peak[1] + 0.5) * cell - cx) <= cell * 1.5
    assert prediction.overlay.size == (SIZE, SIZE)


def test_split_gradcam_equals_tf_keras_vis_on_the_whole_model(blob_model):
    """Differentiating only the head gives the map tf-keras-vis computes on the full model."""
    image = blob_image(20, 40)
    prediction = blob_model.predict_one(image, explain=True)
    full = keras.saving.load_model(blob_model.folder / "model.keras", safe_mode=True, compile=False)
    x = (image[None].astype(np.float32) - 127.0) / 128.0
    reference = np.asarray(
        Gradcam(full, clone=False)(
            decision_score(blob_model.config.malignant_mask, True),
            x,
            penultimate_layer="top_activation",
            seek_penultimate_conv_layer=False,
            expand_cam=False,
            normalize_cam=False,
        )
    )[0]
    assert np.allclose(prediction.heatmap, reference / reference.max(), atol=1e-4)


def test_overlay_keeps_the_original_resolution(blob_model):
    photo = Image.fromarray(blob_image(32, 32)).resize((400, 300))
    prediction = blob_model.predict_one(photo, explain=True)
    assert prediction.overlay.size == (400, 300) and prediction.image.size == (400, 300)


def test_every_input_kind_gives_the_same_prediction(blob_model, tmp_path):
    image = blob_image(30, 30)
    path = tmp_path / "lesion.png"
    Image.fromarray(image).save(path)
    inputs = [image, image / 255.0, Image.fromarray(image), path, str(path), path.read_bytes()]
    results = blob_model.predict(inputs)
    assert all(abs(r.p_malignant - results[0].p_malignant) < 1e-3 for r in results)


def test_probabilities_are_consistent(blob_model):
    for prediction in blob_model.predict([blob_image(20, 20), synthetic_images(1, np.random.default_rng(5))[0][0]]):
        assert sum(prediction.diagnoses.values()) == pytest.approx(1.0, abs=1e-6)
        malignant = sum(prediction.diagnoses[k] for k in ("mel", "bcc", "akiec"))
        assert prediction.p_malignant == pytest.approx(malignant, abs=1e-9)
        assert prediction.malignant == (prediction.p_malignant >= prediction.threshold)
        assert prediction.disclaimer == DISCLAIMER
        assert set(prediction.to_dict()) >= {"p_malignant", "malignant", "threshold", "diagnoses", "warning", "disclaimer"}


def test_bad_inputs_in_a_batch_do_not_stop_the_others(blob_model):
    buffer = io.BytesIO()
    Image.fromarray(blob_image(30, 30)).save(buffer, "JPEG")
    results = blob_model.predict([b"", buffer.getvalue(), b"<html></html>", buffer.getvalue()[:200]])
    assert [type(r).__name__ for r in results] == ["ImageRejected", "Prediction", "ImageRejected", "ImageRejected"]
    assert [r.reason for r in results if isinstance(r, ImageRejected)] == ["empty", "not_an_image", "not_an_image"]
    with pytest.raises(ImageRejected):
        blob_model.predict_one(b"")


def test_tta_averages_views(blob_model):
    image = blob_image(20, 44)
    plain, tta = blob_model.predict_one(image, explain=False), blob_model.predict_one(image, explain=False, tta=True)
    assert plain.malignant and tta.malignant
    assert sum(tta.diagnoses.values()) == pytest.approx(1.0)
