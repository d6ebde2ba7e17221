"""Magenta style predictor (ONNX): shapes, preprocessing by hand, and a real near-duplicate check."""

from __future__ import annotations

import csv
import hashlib

import numpy as np
import pytest
from PIL import Image

from artsim.embedding.base import make_fingerprint
from artsim.embedding.style import PREPROCESS_VERSION, StyleEmbedder, model_path
from tests.helpers import SHARED_GALLERY

GALLERY = SHARED_GALLERY
# three reproductions of The Starry Night from different sources, and paintings by other artists
COPIES = [
    "Vincent van Gogh/the_starry_night__image_style_transfer.png",
    "Vincent van Gogh/the_starry_night__inky.jpg",
    "Vincent van Gogh/the_starry_night__neural_style.jpg",
]
OTHERS = [
    "Gustav Klimt/the_kiss__inky.jpg",
    "Wassily Kandinsky/composition_vii__inky.jpg",
    "Claude Monet/water_lilies_1906_ryerson__inky.jpg",
    "Pierre-Auguste Renoir/le_moulin_de_la_galette__inky.jpg",
    "Edgar Degas/the_ballet_class__inky.jpg",
    "Edvard Munch/the_scream__inky.jpg",
]


@pytest.fixture(scope="module")
def embedder() -> StyleEmbedder:
    return StyleEmbedder()


@pytest.fixture(scope="module")
def paintings() -> list[Image.Image]:
    if not GALLERY.is_dir():
        pytest.skip(f"test gallery not found at {GALLERY} (set ARTSIM_TEST_GALLERY)")
    with open(GALLERY / "metadata.csv", newline="") as fh:
        works = {row["file"]: row["work"] for row in csv.DictReader(fh)}
    assert {works[f] for f in COPIES} == {"van-gogh-starry-night"}
    images = []
    for name in COPIES + OTHERS:
        with Image.open(GALLERY / name) as im:
            img = im.convert("RGB")
        img.thumbnail((512, 512))
        images.append(img)
    return images


def test_shape_finite_deterministic(embedder, paintings):
    first = embedder.embed(paintings[:4], batch_size=3)
    again = embedder.embed(paintings[:4], batch_size=1)
    assert first.shape == (4, 100) and first.dtype == np.float32
    assert np.isfinite(first).all()
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first[0], first[3])


def test_copies_of_a_work_are_closer_than_other_artists(embedder, paintings):
    x = embedder.embed(paintings)
    x = x - x.mean(axis=0)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sim = x @ x.T
    n = len(COPIES)
    within = sim[:n, :n][~np.eye(n, dtype=bool)]
    between = sim[:n, n:]
    assert within.min() > between.max()
    assert within.min() - between.max() > 0.3  # measured: 0.99 versus about 0.3


def test_preprocess_centre_crop_and_scale(embedder):
    # 400 x 200: red | green (the centre 200 x 200) | blue; the square crop keeps only green
    arr = np.zeros((200, 400, 3), np.uint8)
    arr[:, :100, 0] = 255
    arr[:, 100:300, 1] = 255
    arr[:, 300:, 2] = 255
    x = embedder.preprocess(Image.fromarray(arr))
    assert x.shape == (256, 256, 3) and x.dtype == np.float32
    np.testing.assert_allclose(x, np.broadcast_to([0.0, 1.0, 0.0], x.shape), atol=1e-6)


def test_preprocess_lanczos_resize_by_hand(embedder):
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8))
    expected = np.asarray(img.resize((256, 256), Image.Resampling.LANCZOS), dtype=np.float32) / 255
    np.testing.assert_allclose(embedder.preprocess(img), expected, atol=1e-7)


def test_fingerprint_counter_and_precision(embedder):
    digest = hashlib.sha256(model_path().read_bytes()).hexdigest()
    assert embedder.fingerprint == make_fingerprint("style", digest, PREPROCESS_VERSION)
    before = embedder.images_embedded
    embedder.embed_arrays(np.zeros((2, 256, 256, 3), np.float32))
    assert embedder.images_embedded == before + 2
    assert StyleEmbedder(precision="bf16").precision == "fp32"  # ONNX runs fp32 regardless
    with pytest.raises(ValueError, match="precision"):
        StyleEmbedder(precision="half")
