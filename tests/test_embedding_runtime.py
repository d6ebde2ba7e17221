"""Runtime choice per machine, and every runtime's vectors against torch eager fp32 on real paintings.

EfficientNet-Lite0 runs with its real weights; ResNet-50 with the session's
freshly initialised state dict (``resnet50_state_file``). The ONNX exports go
to a temporary ``ARTSIM_HOME`` (one per module).
"""

from __future__ import annotations

import numpy as np
import pytest

from artsim import cli
from artsim.embedding import get_embedder
from artsim.embedding.runtimes import backends as rt
from artsim.embedding.runtimes import calibrate, choice
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
        mp.delenv("ARTSIM_EXPORTS", raising=False)  # exports in the home's own folder, as by default
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
    "flags, cuda, onnx, expected",
    [
        ({"avx2", "avx512_bf16"}, False, True, [rt.BF16_GRAPH, rt.ONNX_FP32, rt.TORCH_FP32_FROZEN, rt.TORCH_FP32]),
        ({"avx2", "amx_bf16"}, False, True, [rt.BF16_GRAPH, rt.ONNX_FP32, rt.TORCH_FP32_FROZEN, rt.TORCH_FP32]),
        ({"avx2", "avx512f"}, False, True, [rt.ONNX_FP32, rt.TORCH_FP32_FROZEN, rt.TORCH_FP32]),
        ({"avx2"}, False, False, [rt.TORCH_FP32_FROZEN, rt.TORCH_FP32]),
        ({"avx512_bf16"}, True, True, [rt.CUDA, rt.BF16_GRAPH, rt.ONNX_FP32, rt.TORCH_FP32_FROZEN, rt.TORCH_FP32]),
    ],
)
def test_flags_only_decide_what_is_measured(monkeypatch, flags, cuda, onnx, expected):
    """bf16 is measured where the CPU has the instructions, CUDA where present; none is chosen for it."""
    monkeypatch.setattr(rt, "cpu_flags", lambda: frozenset(flags))
    monkeypatch.setattr(rt, "cuda_present", lambda: cuda)
    monkeypatch.setattr(rt, "onnx_export_available", lambda: onnx)
    assert calibrate.candidates() == expected


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
    expected = choice.choose("auto", auto.name, auto.weights_digest)
    assert (auto.runtime, auto.runtime_reason) == expected[:2]
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


# ------------------------------------------------------------------ measuring the machine


def _table(rates: dict[str, float]):
    """A timer that reports these rates (img/s) instead of timing: the runtimes still run and are checked."""
    return lambda runs, batch_size: {name: rates[name] for name in runs}


@pytest.mark.slow
def test_measurement_chooses_the_fastest_faithful_runtime_and_models_names_it(
    home, resnet50_state_file, monkeypatch, capsys
):
    """Issue 22's two machines, with faked timings: bf16 slower than ONNX Runtime (the Xeon without
    AMX) => ONNX Runtime; bf16 faster (the bf16 EPYC) => bf16. The runtimes are real and their
    vectors are checked against eager fp32 in the same pass; ``artsim models`` names the choice."""
    monkeypatch.setenv("ARTSIM_WEIGHTS", str(resnet50_state_file))
    monkeypatch.delenv("ARTSIM_MODEL", raising=False)
    handle = get_embedder("resnet50", weights=resnet50_state_file)
    assert handle.runtime == rt.ONNX_FP32 or rt.cuda_present()
    assert "not measured" in handle.runtime_reason
    runtimes = (rt.BF16_GRAPH, rt.ONNX_FP32)  # bf16 even where the CPU only emulates it: the vectors count

    xeon = calibrate.measure(handle, runtimes=runtimes, images=2, timer=_table(
        {rt.BF16_GRAPH: 22.9, rt.ONNX_FP32: 41.0, rt.TORCH_FP32: 17.7}))
    assert set(xeon.rates) == {rt.BF16_GRAPH, rt.ONNX_FP32, rt.TORCH_FP32}
    assert min(xeon.cosines.values()) >= choice.FAITHFUL_COSINE, xeon.cosines
    assert (xeon.chosen, xeon.runner_up, xeon.dropped) == (rt.ONNX_FP32, rt.BF16_GRAPH, {})
    choice.save(xeon)
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    assert "runtime onnxruntime-fp32: measured here at 41.0 img/s; runner-up torch-bf16-frozen 22.9 img/s" in out

    epyc = calibrate.measure(handle, runtimes=runtimes, images=2, timer=_table(
        {rt.BF16_GRAPH: 52.0, rt.ONNX_FP32: 31.2, rt.TORCH_FP32: 12.6}))  # reuses the runtimes built
    assert (epyc.chosen, epyc.runner_up) == (rt.BF16_GRAPH, rt.ONNX_FP32)
    choice.save(epyc)
    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    assert "runtime torch-bf16-frozen: measured here at 52.0 img/s; runner-up onnxruntime-fp32 31.2 img/s" in out
    fp32 = get_embedder("resnet50", weights=resnet50_state_file, precision="fp32")
    assert fp32.runtime == rt.ONNX_FP32 and "31.2 img/s" in fp32.runtime_reason  # the fastest fp32 one

    # the handle takes the measured choice and adopts the graph the measurement built
    assert handle.runtime == rt.BF16_GRAPH and handle.precision == "bf16"
    graph = handle.built[rt.BF16_GRAPH]._graph
    assert handle.load()._graph is graph and handle.built == {}
    monkeypatch.setenv(rt.RUNTIME_ENV, rt.ONNX_FP32)  # forced: the measurement is not consulted
    assert get_embedder("resnet50", weights=resnet50_state_file).runtime == rt.ONNX_FP32


@pytest.mark.slow
def test_first_load_measures_once_with_real_timings(home, resnet50_state_file, monkeypatch):
    """Without a measurement, the first load of an automatic handle measures (real clock), saves the
    choice and runs it; the next handle reads it back without measuring."""
    monkeypatch.setenv(rt.MEASURE_ENV, "1")
    monkeypatch.setattr(calibrate, "candidates", lambda: [rt.ONNX_FP32])  # keep it short: ONNX vs eager
    monkeypatch.setattr(calibrate, "MIN_ROUNDS", 1)
    monkeypatch.setattr(calibrate, "TIMED_S", 0.0)
    handle = get_embedder("resnet50", weights=resnet50_state_file)
    assert handle.measure_on_load
    path = choice.record_path(handle.name, handle.weights_digest)
    path.unlink(missing_ok=True)  # the test above saved one
    handle.load()
    measured = choice.load(handle.name, handle.weights_digest)
    assert measured is not None and path.is_file()
    assert set(measured.rates) == {rt.ONNX_FP32, rt.TORCH_FP32} and all(r > 0 for r in measured.rates.values())
    assert measured.chosen == max(measured.rates, key=measured.rates.get)  # both are faithful fp32
    assert handle.runtime == measured.chosen and "measured here at" in handle.runtime_reason
    again = get_embedder("resnet50", weights=resnet50_state_file)
    assert again.runtime == measured.chosen and not again.loaded


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
