"""The runtime chosen for a model on this machine: the cached measurement, its key, and the choice.

A measurement (:mod:`artsim.embedding.runtimes.calibrate`) is a small JSON file under
``$ARTSIM_HOME/runtime``, one per model, weights and machine. The machine is the
CPU model and flags, the threads this process may use (a container quota or
``OMP_NUM_THREADS``), the GPU, and the versions of the libraries that run the
model: any of them changing gives another file name, so that machine is measured
again; an unchanged one reads its choice back at no cost (no torch import).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

from artsim import config
from artsim.embedding.runtimes import backends as rt
from artsim.files import atomic_write

#: Bump when the measurement changes (what is timed, how faithfulness is judged): every machine measures again.
CALIBRATION_VERSION = "calibrate-1: synthetic images at the model's batch, median batch time, cosine >= 0.995"
#: A runtime is faithful when every calibration vector is within this cosine of torch eager fp32's.
FAITHFUL_COSINE = 0.995
#: Libraries whose versions key the measurement (an upgrade measures again).
LIBRARIES = ("torch", "torchvision", "timm", "onnxruntime", "onnx", "numpy")


class Choice(NamedTuple):
    """A runtime for a model: ``runtime``, ``reason`` (in words, with the measured rates where there
    are some) and ``pending`` (True: automatic, but nothing is measured yet on this machine)."""

    runtime: str
    reason: str
    pending: bool = False


# ------------------------------------------------------------------ the machine


def _cpuinfo_field(*names: str) -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in names and value.strip():
                    return value.strip()
    except OSError:
        pass
    return ""


@functools.cache
def _static_key() -> dict:
    """The parts of the machine key that cannot change while a process runs."""
    cpu = _cpuinfo_field("model name", "Hardware", "CPU part") or platform.processor() or platform.machine()
    gpus = []
    for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
        try:
            gpus += [ln.split(":", 1)[1].strip() for ln in info.read_text().splitlines() if ln.startswith("Model:")]
        except OSError:
            pass
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu,
        "machine": platform.machine(),
        "flags": sorted(rt.cpu_flags()),
        "gpus": gpus,
        "libraries": versions,
        "artsim": [CALIBRATION_VERSION, rt.EXPORT_VERSION],
    }


def machine_key() -> dict:
    """What a measurement holds for: CPU model and flags, threads, GPU, library versions (JSON-able)."""
    return {**_static_key(), "threads": rt.cpu_threads(), "cuda": rt.cuda_present()}


def record_path(model: str, weights_digest: str, key: dict | None = None) -> Path:
    """The file of ``model``'s measurement (with these weights) on this machine."""
    text = json.dumps([model, weights_digest, key or machine_key()], sort_keys=True)
    return config.home() / "runtime" / f"{model}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"


# ------------------------------------------------------------------ the measurement


@dataclass
class Measurement:
    """Every runtime timed on one machine: model-only img/s at the model's batch, and faithfulness.

    ``rates``: runtime -> img/s; ``cosines``: runtime -> the lowest cosine of its
    vectors to torch eager fp32 on the calibration images; ``dropped``: runtime ->
    why it is not a candidate (unfaithful, or failed to build); ``chosen`` and
    ``runner_up``: the fastest faithful runtimes; ``setup``: runtime -> seconds to build it
    and run the first batch; ``seconds``: what the whole measurement cost.
    """

    model: str
    weights_digest: str
    rates: dict[str, float]
    cosines: dict[str, float]
    dropped: dict[str, str] = field(default_factory=dict)
    chosen: str | None = None
    runner_up: str | None = None
    setup: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    batch_size: int = 0
    images: int = 0
    key: dict = field(default_factory=dict)

    def fastest(self, keep: Callable[[str], bool] = lambda name: True) -> str | None:
        """The fastest faithful runtime among those ``keep`` accepts (None if there is none)."""
        names = [n for n in self.rates if n not in self.dropped and keep(n)]
        return max(names, key=self.rates.__getitem__, default=None)

    def describe(self, runtime: str | None = None) -> str:
        """``measured here at 41.0 img/s; runner-up <runtime> 34.8 img/s`` (``runtime``: default the chosen one)."""
        runtime = runtime or self.chosen
        if runtime not in self.rates:
            return "measured here: no faithful runtime"
        text = f"measured here at {self.rates[runtime]:.1f} img/s"
        others = [n for n in self.rates if n not in self.dropped and n != runtime]
        if others:
            second = max(others, key=self.rates.__getitem__)
            text += f"; runner-up {second} {self.rates[second]:.1f} img/s"
        return text

    def table(self) -> list[str]:
        """One line per runtime measured, fastest first: rate, cosine, build time, and chosen / dropped."""
        lines = []
        for name in sorted(self.rates, key=self.rates.__getitem__, reverse=True):
            mark = "chosen" if name == self.chosen else ("runner-up" if name == self.runner_up else "")
            mark = f"dropped: {self.dropped[name]}" if name in self.dropped else mark
            cos, setup = self.cosines.get(name, float("nan")), self.setup.get(name, float("nan"))
            lines.append(f"{name:<20} {self.rates[name]:7.1f} img/s  min cos {cos:.5f}  setup {setup:4.1f} s  {mark}".rstrip())
        lines += [f"{name:<20} {'':>7}        {why}" for name, why in self.dropped.items() if name not in self.rates]
        return lines


def pick(rates: dict[str, float], cosines: dict[str, float], threshold: float = FAITHFUL_COSINE) -> tuple[
    str | None, str | None, dict[str, str]
]:
    """``(chosen, runner_up, dropped)``: the two fastest runtimes whose cosine reaches ``threshold``."""
    dropped = {n: f"cosine {cosines.get(n, float('nan')):.5f} < {threshold}" for n in rates
               if not cosines.get(n, 0.0) >= threshold}
    ranked = sorted((n for n in rates if n not in dropped), key=rates.__getitem__, reverse=True)
    return (ranked[0] if ranked else None), (ranked[1] if len(ranked) > 1 else None), dropped


def save(measurement: Measurement) -> Path:
    """Write ``measurement`` where :func:`load` finds it (atomically); returns the path."""

    path = record_path(measurement.model, measurement.weights_digest, measurement.key or None)
    atomic_write(path, json.dumps(asdict(measurement), indent=1, sort_keys=True).encode())
    return path


def load(model: str, weights_digest: str) -> Measurement | None:
    """``model``'s measurement on this machine, if one was made (None when absent or unreadable)."""
    key = machine_key()
    path = record_path(model, weights_digest, key)
    try:
        data = json.loads(path.read_text())
        found = Measurement(**data)
    except (OSError, ValueError, TypeError):
        return None
    return found if found.key == key and found.model == model else None


# ------------------------------------------------------------------ the choice


def _default(why: str) -> Choice:
    if rt.cuda_present():
        return Choice(rt.CUDA, f"{why}: a CUDA GPU, batched with autocast", True)
    if rt.onnx_export_available():
        return Choice(rt.ONNX_FP32, f"{why}: ONNX Runtime fp32, the safe fast default", True)
    return Choice(rt.TORCH_FP32, f"{why}; the onnx package is missing (pip install onnx), so torch eager fp32", True)


def choose(precision: str, model: str | None = None, weights_digest: str = "") -> Choice:
    """The runtime of ``model`` (with these weights) at ``precision`` (``auto``, ``fp32``, ``bf16``).

    ``auto``: ``ARTSIM_RUNTIME`` if it names a runtime, else the measured choice, else
    the default (``pending``). ``fp32``: the fastest measured fp32 runtime (a GPU in fp32
    where one is present). ``bf16``: the frozen bf16 graph (autocast on a GPU).
    """
    measured = load(model, weights_digest) if model else None
    if precision == "fp32":
        if rt.cuda_present():
            return Choice(rt.CUDA, "a CUDA GPU, fp32 as requested")
        fp32 = measured.fastest(lambda name: name not in (rt.BF16_GRAPH, rt.CUDA)) if measured else None
        if fp32 is not None:
            return Choice(fp32, f"fp32 requested; {measured.describe(fp32)}")
        if rt.onnx_export_available():
            return Choice(rt.ONNX_FP32, "fp32 requested: ONNX Runtime fp32")
        return Choice(rt.TORCH_FP32, "fp32 requested; the onnx package is missing (pip install onnx), so torch eager fp32")
    if precision == "bf16":
        if rt.cuda_present():
            return Choice(rt.CUDA, "a CUDA GPU, bf16 requested: autocast")
        native = "" if rt.cpu_has_native_bf16() else " (emulated on this CPU, slower than fp32)"
        return Choice(rt.BF16_GRAPH, f"bf16 requested: frozen bf16 graph{native}")
    forced = os.environ.get(rt.RUNTIME_ENV, "").strip()
    note = ""
    if forced in rt.TORCH_RUNTIMES:
        return Choice(forced, f"chosen by {rt.RUNTIME_ENV}")
    if forced:
        note = f"{rt.RUNTIME_ENV}={forced!r} is not one of {', '.join(rt.TORCH_RUNTIMES)}, ignored; "
    if measured is not None and measured.chosen:
        return Choice(measured.chosen, note + measured.describe())
    return _default(note + "not measured on this machine yet")
