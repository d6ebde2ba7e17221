"""ResNet-50 embedder and weight resolution (explicit > ARTSIM_WEIGHTS > torch cache > download).

Weights here are freshly initialised torchvision ResNet-50 state dicts written to
tmp; downloads go to a local HTTP server or a closed local port, never the network.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import ResNet50_Weights, resnet18

from artsim.embedding import weights as weights_mod
from artsim.embedding.base import make_fingerprint
from artsim.embedding.resnet import PREPROCESS_VERSION, ResNet50Embedder
from artsim.embedding.runtime import TORCH_FP32 as EAGER
from artsim.embedding.weights import (
    RESNET50_URL,
    load_state_dict_file,
    resnet50_weights_status,
    resolve_resnet50_weights,
)
from artsim.errors import WeightsUnavailable

TORCHVISION_NAME = "resnet50-11ad3fa6.pth"


def triple(status) -> tuple:
    return status.source, status.path, status.present


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def state_files(tmp_path_factory, resnet50_state_file) -> dict[str, Path]:
    """Three ResNet-50 state dicts: ``a`` (the session's), ``b`` and ``c`` = ``a`` with one BN bias shifted."""
    folder = tmp_path_factory.mktemp("weights")
    state = torch.load(resnet50_state_file, weights_only=True)
    files = {"a": resnet50_state_file}
    for key, shift in (("b", 0.5), ("c", -0.5)):
        perturbed = dict(state)
        perturbed["layer4.2.bn3.bias"] = state["layer4.2.bn3.bias"] + shift
        files[key] = folder / f"{key}.pth"
        torch.save(perturbed, files[key])
    return files


@pytest.fixture
def clean_env(monkeypatch, tmp_path) -> Path:
    """No ARTSIM_WEIGHTS, an empty TORCH_HOME; returns the hub checkpoint folder."""
    monkeypatch.delenv("ARTSIM_WEIGHTS", raising=False)
    monkeypatch.delenv(weights_mod.URL_ENV, raising=False)
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # downloads here go straight to 127.0.0.1
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return tmp_path / "torch-home" / "hub" / "checkpoints"


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


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_dir(tmp_path):
    """A local HTTP server serving ``tmp_path/served``; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# --- resolution order ------------------------------------------------------------------


def test_url_constant_matches_torchvision():
    assert RESNET50_URL == ResNet50_Weights.IMAGENET1K_V2.url
    assert RESNET50_URL.endswith("/" + TORCHVISION_NAME)


def test_status_order_explicit_env_cache(clean_env, tmp_path, monkeypatch):
    explicit, env = tmp_path / "explicit.pth", tmp_path / "env.pth"
    cached = clean_env / TORCHVISION_NAME
    for p in (explicit, env, cached):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    monkeypatch.setenv("ARTSIM_WEIGHTS", str(env))

    assert triple(resnet50_weights_status(explicit)) == ("argument", str(explicit), True)
    assert triple(resnet50_weights_status()) == ("ARTSIM_WEIGHTS", str(env), True)
    monkeypatch.delenv("ARTSIM_WEIGHTS")
    assert triple(resnet50_weights_status()) == ("torch-cache", str(cached), True)
    cached.unlink()
    status = resnet50_weights_status()
    assert (status.source, status.path, status.present) == ("download", str(cached), False)


def test_named_file_missing_does_not_fall_through(clean_env, tmp_path, monkeypatch):
    cached = clean_env / TORCHVISION_NAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    missing = tmp_path / "nope.pth"
    with pytest.raises(WeightsUnavailable, match="nope.pth"):
        resolve_resnet50_weights(missing, allow_download=False)
    monkeypatch.setenv("ARTSIM_WEIGHTS", str(missing))
    status = resnet50_weights_status()
    assert (status.source, status.present) == ("ARTSIM_WEIGHTS", False)
    with pytest.raises(WeightsUnavailable, match="ARTSIM_WEIGHTS"):
        resolve_resnet50_weights(allow_download=False)


def test_embedder_picks_file_in_order(state_files, clean_env, monkeypatch, images):
    clean_env.mkdir(parents=True)
    (clean_env / TORCHVISION_NAME).write_bytes(state_files["c"].read_bytes())
    monkeypatch.setenv("ARTSIM_WEIGHTS", str(state_files["b"]))

    got = {}
    for expected_source, key, arg in (
        ("argument", "a", state_files["a"]),
        ("ARTSIM_WEIGHTS", "b", None),
        ("torch-cache", "c", None),
    ):
        if expected_source == "torch-cache":
            monkeypatch.delenv("ARTSIM_WEIGHTS")
        emb = ResNet50Embedder(arg, runtime=EAGER, allow_download=False)
        assert emb.weights_source == expected_source
        assert emb.fingerprint == make_fingerprint("resnet50", sha256(state_files[key]), PREPROCESS_VERSION)
        got[key] = emb.embed(images[:1])
    # the three files really differ where it shows: in the vectors
    assert not np.allclose(got["a"], got["b"], atol=1e-3)
    assert not np.allclose(got["a"], got["c"], atol=1e-3)
    assert not np.allclose(got["b"], got["c"], atol=1e-3)


def test_status_does_not_touch_network(clean_env, monkeypatch):
    """With nothing present, the status check must not connect to the download host."""
    connections = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.5)
    monkeypatch.setenv(weights_mod.URL_ENV, f"http://127.0.0.1:{server.getsockname()[1]}/{TORCHVISION_NAME}")
    try:
        status = resnet50_weights_status()
        try:
            connections.append(server.accept())
        except TimeoutError:
            pass
    finally:
        server.close()
    assert not status.present
    assert connections == []


# --- download and offline ------------------------------------------------------------


def test_offline_fails_fast_with_fix(clean_env, monkeypatch):
    url = f"http://127.0.0.1:{closed_port()}/{TORCHVISION_NAME}"
    monkeypatch.setenv(weights_mod.URL_ENV, url)
    with pytest.raises(WeightsUnavailable) as info:
        ResNet50Embedder(precision="fp32")
    message = str(info.value)
    for needed in (TORCHVISION_NAME, "ARTSIM_WEIGHTS", str(clean_env), url):
        assert needed in message
    assert not clean_env.exists() or not any(clean_env.iterdir())  # no partial file left


def test_disabled_download_message_names_torchvision_url(clean_env):
    with pytest.raises(WeightsUnavailable) as info:
        resolve_resnet50_weights(allow_download=False)
    message = str(info.value)
    for needed in (RESNET50_URL, TORCHVISION_NAME, str(clean_env), "ARTSIM_WEIGHTS", "TORCH_HOME"):
        assert needed in message


def test_stalled_server_times_out(clean_env, monkeypatch):
    """A server that accepts the connection but never answers must not hang the caller."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)  # the kernel completes handshakes; nobody ever answers
    monkeypatch.setenv(weights_mod.URL_ENV, f"http://127.0.0.1:{server.getsockname()[1]}/{TORCHVISION_NAME}")
    monkeypatch.setattr(weights_mod, "DOWNLOAD_TIMEOUT", 1.0)
    try:
        with pytest.raises(WeightsUnavailable, match="timed out"):
            resolve_resnet50_weights(progress=False)
    finally:
        server.close()


def test_download_into_torch_cache(state_files, clean_env, monkeypatch, http_dir, images):
    folder, base = http_dir
    payload = state_files["b"].read_bytes()
    name = f"resnet50-{hashlib.sha256(payload).hexdigest()[:8]}.pth"
    (folder / name).write_bytes(payload)
    monkeypatch.setenv(weights_mod.URL_ENV, f"{base}/{name}")

    emb = ResNet50Embedder(precision="fp32", progress=False)
    assert emb.weights_source == "download"
    assert Path(emb.weights_path) == clean_env / name
    assert (clean_env / name).read_bytes() == payload
    assert emb.fingerprint == make_fingerprint("resnet50", sha256(state_files["b"]), PREPROCESS_VERSION)
    assert sorted(p.name for p in clean_env.iterdir()) == [name]
    # next time it comes from the cache
    assert triple(resnet50_weights_status()) == ("torch-cache", str(clean_env / name), True)


def test_download_with_wrong_hash_is_refused(clean_env, monkeypatch, http_dir):
    folder, base = http_dir
    name = "resnet50-00000000.pth"
    (folder / name).write_bytes(b"not the promised bytes")
    monkeypatch.setenv(weights_mod.URL_ENV, f"{base}/{name}")
    with pytest.raises(WeightsUnavailable, match="sha256"):
        resolve_resnet50_weights(progress=False)
    assert list(clean_env.iterdir()) == []  # neither the file nor a .partial


def test_download_http_error(clean_env, monkeypatch, http_dir):
    _, base = http_dir
    monkeypatch.setenv(weights_mod.URL_ENV, f"{base}/{TORCHVISION_NAME}")
    with pytest.raises(WeightsUnavailable, match="HTTP 404"):
        resolve_resnet50_weights(progress=False)


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


def test_reference_preprocess_is_bit_identical_to_torchvision_transform(resnet50_state_file):
    from torchvision.models import ResNet50_Weights

    rng = np.random.default_rng(0)
    transform = ResNet50_Weights.IMAGENET1K_V2.transforms()
    embedder = ResNet50Embedder(resnet50_state_file, allow_download=False, reference=True)
    fast = ResNet50Embedder(resnet50_state_file, allow_download=False)
    assert embedder.fingerprint != fast.fingerprint  # the two paths never share cached vectors
    assert embedder.load_draft_side > 10_000 and fast.load_draft_side == 464  # full decode vs draft >= 2x
    for size in [(300, 200), (200, 300), (232, 500), (640, 232), (224, 224), (1000, 999)]:
        image = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
        np.testing.assert_array_equal(embedder.preprocess(image), transform(image).numpy())
