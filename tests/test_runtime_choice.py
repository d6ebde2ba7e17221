"""The runtime choice read back from a machine's measurement (issue 22): picking, keying, forcing, cost.

No model runs here (tests/test_embedding_runtime.py measures real runtimes): the
measurements are made by hand, as :mod:`artsim.embedding.runtimes.calibrate` would save them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artsim.embedding.runtimes import backends as rt
from artsim.embedding.runtimes import choice

BF16, ONNX, FROZEN, EAGER = rt.BF16_GRAPH, rt.ONNX_FP32, rt.TORCH_FP32_FROZEN, rt.TORCH_FP32
REPO = Path(__file__).resolve().parents[1]
FAITHFUL = {BF16: 0.9991, ONNX: 1.0, FROZEN: 1.0, EAGER: 1.0}


#: The function itself: the fixture below stands a fixed answer in for it in the other tests.
REAL_CUDA_PRESENT = rt.cuda_present


@pytest.fixture(autouse=True)
def cpu_machine(monkeypatch, tmp_path):
    monkeypatch.setenv("ARTSIM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(rt.RUNTIME_ENV, raising=False)
    monkeypatch.setattr(rt, "cuda_present", lambda: False)
    monkeypatch.setattr(rt, "onnx_export_available", lambda: True)


def measured(rates: dict[str, float], cosines: dict[str, float] = FAITHFUL, model: str = "resnet50",
             digest: str = "w1") -> choice.Measurement:
    chosen, runner_up, dropped = choice.pick(rates, cosines)
    return choice.Measurement(model, digest, rates, {n: cosines[n] for n in rates}, dropped, chosen, runner_up,
                              key=choice.machine_key())


@pytest.mark.parametrize(
    "rates, expected",
    [
        ({BF16: 22.9, ONNX: 41.0, FROZEN: 34.8, EAGER: 30.1}, (ONNX, FROZEN)),  # the Xeon without AMX
        ({BF16: 52.0, ONNX: 31.2, EAGER: 12.6}, (BF16, ONNX)),  # the bf16 EPYC
        ({ONNX: 18.4, EAGER: 12.6}, (ONNX, EAGER)),  # AVX2 only: no bf16 measured
        ({EAGER: 9.0}, (EAGER, None)),
    ],
)
def test_pick_keeps_the_fastest_faithful_runtime(rates, expected):
    chosen, runner_up, dropped = choice.pick(rates, FAITHFUL)
    assert (chosen, runner_up, dropped) == (*expected, {})


def test_an_unfaithful_runtime_is_dropped_however_fast():
    cosines = {**FAITHFUL, BF16: 0.9938}  # EfficientNet-Lite0's bf16 graph on the synthetic images here
    chosen, runner_up, dropped = choice.pick({BF16: 60.0, ONNX: 41.0, EAGER: 20.0}, cosines)
    assert (chosen, runner_up) == (ONNX, EAGER) and set(dropped) == {BF16} and "0.99380" in dropped[BF16]
    assert choice.pick({BF16: 60.0}, {BF16: float("nan")})[0] is None


def test_choose_reads_the_measurement_with_its_rates_and_runner_up():
    assert choice.choose("auto", "resnet50", "w1") == (ONNX, "not measured on this machine yet: ONNX Runtime "
                                                       "fp32, the safe fast default", True)
    choice.save(measured({BF16: 22.9, ONNX: 41.0, FROZEN: 34.8, EAGER: 30.1}))
    auto = choice.choose("auto", "resnet50", "w1")
    assert auto == (ONNX, "measured here at 41.0 img/s; runner-up torch-fp32-frozen 34.8 img/s", False)
    assert choice.choose("auto", "resnet50", "other weights").pending  # measured per weights
    assert choice.choose("auto", "efficientnet-lite0", "w1").pending  # and per model

    choice.save(measured({BF16: 52.0, ONNX: 31.2, FROZEN: 28.0, EAGER: 12.6}))
    assert choice.choose("auto", "resnet50", "w1").runtime == BF16
    fp32 = choice.choose("fp32", "resnet50", "w1")  # forced fp32: the fastest fp32 runtime measured
    assert fp32.runtime == ONNX and "31.2 img/s; runner-up torch-bf16-frozen 52.0" in fp32.reason
    assert choice.choose("bf16", "resnet50", "w1").runtime == BF16


def test_the_environment_variable_forces_a_runtime(monkeypatch):
    choice.save(measured({BF16: 52.0, ONNX: 31.2, EAGER: 12.6}))
    monkeypatch.setenv(rt.RUNTIME_ENV, FROZEN)
    assert choice.choose("auto", "resnet50", "w1") == (FROZEN, f"chosen by {rt.RUNTIME_ENV}", False)
    assert choice.choose("fp32", "resnet50", "w1").runtime == ONNX  # --precision is more specific
    monkeypatch.setenv(rt.RUNTIME_ENV, "openvino")
    ignored = choice.choose("auto", "resnet50", "w1")
    assert ignored.runtime == BF16 and ignored.reason.startswith("ARTSIM_RUNTIME='openvino' is not one of")


def test_a_new_machine_quota_or_upgrade_measures_again(monkeypatch):
    """The record is keyed by CPU model and flags, threads and library versions."""
    choice.save(measured({ONNX: 41.0, EAGER: 30.1}))
    assert not choice.choose("auto", "resnet50", "w1").pending
    with monkeypatch.context() as mp:
        threads = rt.cpu_threads()  # (1 under two pytest workers: OMP_NUM_THREADS)
        mp.setattr(rt, "cpu_threads", lambda: threads + 1)  # another container quota
        assert choice.choose("auto", "resnet50", "w1").pending
    this = choice._static_key()
    for part, value in (("libraries", {**this["libraries"], "torch": "9.9.9"}), ("cpu", "Another CPU"),
                        ("flags", ["avx2"]), ("gpus", ["NVIDIA H100"])):
        with monkeypatch.context() as mp:
            mp.setattr(choice, "_static_key", lambda p=part, v=value: {**this, p: v})
            assert choice.choose("auto", "resnet50", "w1").pending, part
    assert not choice.choose("auto", "resnet50", "w1").pending


def test_a_record_from_another_machine_is_not_used():
    path = choice.save(measured({ONNX: 41.0, EAGER: 30.1}))
    data = json.loads(path.read_text())
    data["key"]["threads"] = 64  # copied from elsewhere under this machine's file name
    path.write_text(json.dumps(data))
    assert choice.load("resnet50", "w1") is None
    path.write_text("{not json")
    assert choice.load("resnet50", "w1") is None


def test_machine_key_reads_this_machine():
    key = choice.machine_key()
    assert key["threads"] == rt.cpu_threads() and key["flags"] == sorted(rt.cpu_flags())
    assert key["libraries"]["numpy"] and key["cpu"]


def test_a_later_start_reads_the_choice_at_no_cost(tmp_path, monkeypatch):
    """With a measurement saved, a fresh process gets the measured runtime from a handle without
    importing torch or onnxruntime, in milliseconds."""
    from artsim.embedding import get_embedder

    monkeypatch.undo()  # this machine as it is (the fresh process sees it so)
    home = tmp_path / "home"
    monkeypatch.setenv("ARTSIM_HOME", str(home))
    handle = get_embedder("efficientnet-lite0")
    choice.save(measured({ONNX: 33.0, EAGER: 7.0}, model=handle.name, digest=handle.weights_digest))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop(rt.RUNTIME_ENV, None)
    code = (
        "import sys, time, json\n"
        "from artsim.embedding import get_embedder\n"
        "h = get_embedder('efficientnet-lite0')\n"
        "t = time.perf_counter(); runtime, why = h.runtime, h.runtime_reason; s = time.perf_counter() - t\n"
        "print(json.dumps([runtime, why, s, [m for m in ('torch', 'onnxruntime') if m in sys.modules]]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    runtime, why, seconds, heavy = json.loads(out.stdout.strip().splitlines()[-1])
    assert (runtime, why) == (ONNX, "measured here at 33.0 img/s; runner-up torch-fp32 7.0 img/s")
    assert heavy == [] and seconds < 0.5


def test_the_app_measures_only_what_is_not_measured(monkeypatch):
    from artsim.embedding import get_embedder
    from dashboard import model_prep

    monkeypatch.setenv("ARTSIM_MODEL", "efficientnet-lite0")
    pending = model_prep.unmeasured_models()
    assert pending[0] == "efficientnet-lite0" and "style" not in pending
    handle = get_embedder("efficientnet-lite0")
    choice.save(measured({ONNX: 33.0, EAGER: 7.0}, model=handle.name, digest=handle.weights_digest))
    assert "efficientnet-lite0" not in model_prep.unmeasured_models()
    monkeypatch.setenv(rt.MEASURE_ENV, "0")
    assert model_prep.measure_runtimes() == []  # off: no child started


def test_app_handles_never_measure_on_a_view():
    from dashboard import cache, handles

    handles.embedder.clear()  # one handle per process: another test in this worker may have loaded it
    handle = cache.embedder("efficientnet-lite0")
    assert handle.measure_on_load is False and not handle.loaded
    assert handle.runtime == ONNX and "not measured" in handle.runtime_reason
    started = time.perf_counter()
    assert handle.runtime == ONNX  # pending: read again while nothing is built (a background result)
    assert time.perf_counter() - started < 0.5


def test_the_timer_times_every_runtime_in_rounds_and_drops_hopeless_ones():
    from artsim.embedding.runtimes.calibrate import BatchTimer

    calls = {"fast": 0, "slower": 0, "hopeless": 0}

    def run(name: str, seconds: float):
        def one():
            calls[name] += 1
            time.sleep(seconds)
        return one

    runs = {"fast": run("fast", 0.05), "slower": run("slower", 0.06), "hopeless": run("hopeless", 0.5)}
    rates = BatchTimer(min_rounds=3, max_rounds=5, timed_s=0.0, hopeless=0.5)(runs, 8)
    # sleeps only ever last longer than asked (a loaded machine): rates are at most 8 / sleep
    assert rates["fast"] <= 8 / 0.05 and rates["slower"] <= 8 / 0.06 and rates["hopeless"] <= 8 / 0.5
    assert rates["hopeless"] < min(rates["fast"], rates["slower"])
    assert calls == {"fast": 3, "slower": 3, "hopeless": 1}  # rounds of one batch each; hopeless: one


def test_cuda_present_while_another_thread_is_still_importing_torch(monkeypatch):
    """A module being imported sits in sys.modules half made: the guess must not touch it."""
    import importlib.machinery
    import types

    half_made = types.ModuleType("torch")
    half_made.__spec__ = importlib.machinery.ModuleSpec("torch", None)
    half_made.__spec__._initializing = True  # what importlib sets while the module's body runs
    monkeypatch.setitem(sys.modules, "torch", half_made)
    assert REAL_CUDA_PRESENT() in (True, False)  # the driver files' answer, no AttributeError
