"""Runtime choice per machine, and every runtime's vectors against torch eager fp32 on real paintings.

EfficientNet-Lite0 runs with its real weights; ResNet-50 with the session's
freshly initialised state dict (``resnet50_state_file``). The ONNX exports go
to a temporary ``ARTSIM_HOME`` (one per module).
"""

from __future__ import annotations

import numpy as np
import pytest

from artsim.embedding import get_embedder
from artsim.embedding import runtime as rt
from artsim.inputs.images import load_image
from tests.helpers import SHARED_GALLERY

PAINTINGS = [
    "Gustav Klimt/adele_bloch_bauer_i__inky.jpg",
    "Claude Monet/water_lilies_1906_ryerson__inky.jpg",
    "Vincent van Gogh/the_starry_night__inky.jpg",
    "Vincent van Gogh/the_starry_night__image_style_transfer.png",
]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("artsim-home")
        mp.setenv("ARTSIM_HOME", str(path))
        yield path


@pytest.fixture(scope="module")
def gallery_batch():
    """A few real paintings through the fast load path, as ``(name -> batch)`` per model."""
    if not SHARED_GALLERY.is_dir():
        pytest.skip(f"test gallery not found at {SHARED_GALLERY} (set ARTSIM_TEST_GALLERY)")
    files = [SHARED_GALLERY / f for f in PAINTINGS if (SHARED_GALLERY / f).is_file()]
    assert len(files) >= 3

    def batch(embedder) -> np.ndarray:
        images = [load_image(f, max_side=embedder.load_max_side, draft_side=embedder.load_draft_side) for f in files]
        return np.stack([embedder.preprocess(im) for im in images])

    return batch


# ------------------------------------------------------------------ the choice


@pytest.mark.parametrize(
    "flags, cuda, onnx, precision, expected",
    [
        ({"avx2", "avx512_bf16"}, False, True, "auto", rt.BF16_GRAPH),
        ({"avx2", "amx_bf16"}, False, True, "auto", rt.BF16_GRAPH),
        ({"avx2", "avx512f"}, False, True, "auto", rt.ONNX_FP32),
        ({"avx2", "avx512_bf16"}, False, True, "fp32", rt.ONNX_FP32),
        ({"avx2"}, False, True, "bf16", rt.BF16_GRAPH),
        ({"avx2"}, False, False, "auto", rt.TORCH_FP32),
        ({"avx2"}, True, True, "auto", rt.CUDA),
        ({"avx512_bf16"}, True, True, "fp32", rt.CUDA),
    ],
)
def test_runtime_choice(monkeypatch, flags, cuda, onnx, precision, expected):
    monkeypatch.setattr(rt, "cpu_flags", lambda: frozenset(flags))
    monkeypatch.setattr(rt, "cuda_present", lambda: cuda)
    monkeypatch.setattr(rt, "onnx_export_available", lambda: onnx)
    runtime, why = rt.choose(precision)
    assert runtime == expected and why
    if precision == "fp32" and not cuda:
        assert "fp32 requested" in why


def test_cpu_flags_read_from_proc_cpuinfo():
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        pytest.skip("no /proc/cpuinfo on this system")
    line = next(ln for ln in text.splitlines() if ln.startswith(("flags", "Features")))
    assert rt.cpu_flags() == frozenset(line.split(":", 1)[1].split())


def test_handle_reports_runtime_and_forced_fp32(home):
    auto = get_embedder("efficientnet-lite0")
    fp32 = get_embedder("efficientnet-lite0", precision="fp32")
    assert auto.runtime == rt.choose("auto")[0] and auto.runtime_reason == rt.choose("auto")[1]
    assert fp32.runtime in (rt.ONNX_FP32, rt.CUDA) and fp32.precision == "fp32"
    assert auto.fingerprint == fp32.fingerprint  # the runtime is not part of the cache key
    assert not auto.loaded and not fp32.loaded


# ------------------------------------------------------------------ fidelity of each runtime


def _runtime_vs_eager(embedder, batch) -> np.ndarray:
    vectors = embedder.embed_arrays(batch)
    model = embedder.model  # the eager fp32 module on the CPU
    eager = embedder._run(lambda x: embedder._features(model, x), batch)
    return cosines(vectors, eager)


@pytest.mark.slow
def test_onnxruntime_fp32_matches_torch_fp32_efficientnet(home, gallery_batch):
    embedder = get_embedder("efficientnet-lite0", precision="fp32")
    if embedder.runtime != rt.ONNX_FP32:
        pytest.skip(f"fp32 runs on {embedder.runtime} here")
    cos = _runtime_vs_eager(embedder, gallery_batch(embedder))
    assert embedder._session is not None and cos.min() >= 0.999, cos
    assert list((home / "onnx").glob("efficientnet-lite0-*.onnx"))  # exported once, cached


@pytest.mark.slow
def test_onnxruntime_fp32_matches_torch_fp32_resnet50(home, gallery_batch, resnet50_state_file):
    embedder = get_embedder("resnet50", weights=resnet50_state_file, precision="fp32")
    if embedder.runtime != rt.ONNX_FP32:
        pytest.skip(f"fp32 runs on {embedder.runtime} here")
    cos = _runtime_vs_eager(embedder, gallery_batch(embedder))
    assert cos.min() >= 0.999, cos
    # a second handle on the same weights reuses the export (no torch model is built for it)
    again = get_embedder("resnet50", weights=resnet50_state_file, precision="fp32").load()
    assert again._session is not None and again._model is None


@pytest.mark.slow
@pytest.mark.parametrize("name", ["efficientnet-lite0", "resnet50"])
def test_bf16_graph_close_to_torch_fp32(home, gallery_batch, resnet50_state_file, name):
    if not rt.cpu_has_native_bf16():
        pytest.skip("no native bf16 on this CPU: the frozen bf16 graph is not chosen here")
    weights = resnet50_state_file if name == "resnet50" else None
    embedder = get_embedder(name, weights=weights, precision="bf16")
    cos = _runtime_vs_eager(embedder, gallery_batch(embedder))
    assert embedder._graph is not None and cos.min() >= 0.99, cos


@pytest.mark.skipif(not rt.cuda_present(), reason="no CUDA GPU on this machine: the cuda runtime cannot run")
def test_cuda_autocast_close_to_cpu_fp32(gallery_batch):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("torch cannot use the GPU here")
    embedder = get_embedder("efficientnet-lite0")
    assert embedder.runtime == rt.CUDA
    batch = gallery_batch(embedder)
    vectors = embedder.embed_arrays(batch)
    assert embedder.precision in ("bf16", "fp16")
    fp32 = get_embedder("efficientnet-lite0", precision="fp32")  # the GPU without autocast
    assert fp32.runtime == rt.CUDA and fp32.precision == "fp32"
    assert cosines(vectors, fp32.embed_arrays(batch)).min() >= 0.99


@pytest.mark.parametrize(("limit", "expected"), [("", 4), ("1", 1), ("3", 3), ("64", 4), ("0", 4), ("two", 4)])
def test_cpu_threads_is_the_affinity_capped_by_omp_num_threads(monkeypatch, limit, expected):
    """Thread pools (decoding, ONNX Runtime) follow OMP_NUM_THREADS, as torch does, never above the cores."""
    monkeypatch.setattr(rt.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", limit)
    assert rt.cpu_threads() == expected
