"""Which runtime runs a model on this machine, decided without importing torch; ONNX export and sessions.

Runtimes (``embedder.runtime``):

``cuda``
    A CUDA GPU: batched eager model, channels-last, pinned host memory,
    autocast to bf16 (fp16 where the GPU lacks bf16).
``torch-bf16-frozen``
    A frozen TorchScript graph with bf16 weights, oneDNN-fused (offered where the
    CPU has bf16 instructions: avx512_bf16 or amx_bf16).
``onnxruntime-fp32``
    The model exported once per weights digest to ONNX (cached under
    ``$ARTSIM_HOME/onnx``) and run by ONNX Runtime with graph optimisation. A
    cached export runs without importing torch at all.
``torch-fp32-frozen``
    A frozen fp32 TorchScript graph, channels-last.
``torch-fp32``
    The eager model, channels-last (also the fallback when the ``onnx`` package
    is missing or an export fails).

A CPU flag says that an instruction exists, not that it is fast (issue 22): with
``precision="auto"`` the runtime is the fastest faithful one *measured* on this
machine (:mod:`artsim.embedding.runtimes.calibrate`, cached under ``$ARTSIM_HOME/runtime``,
read back by :func:`artsim.embedding.runtimes.choice.choose`).
Until a measurement exists the choice is ONNX Runtime fp32 (a CUDA GPU where one
is present), and ``Choice.pending`` says so.

Forcing: ``precision="fp32"`` takes the fastest measured fp32 runtime (ONNX Runtime
fp32 when nothing is measured); ``precision="bf16"`` the frozen bf16 graph (emulated,
slow, on CPUs without bf16); ``ARTSIM_RUNTIME=<runtime>`` names one outright (for
``precision="auto"``); ``ARTSIM_MEASURE=0`` never measures on first use.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import sys
import warnings
from pathlib import Path

from artsim import config, lazy
from artsim.files import atomic_write

torch = lazy.load("torch")  # the ONNX export only
ort = lazy.load("onnxruntime")

CUDA = "cuda"
BF16_GRAPH = "torch-bf16-frozen"
ONNX_FP32 = "onnxruntime-fp32"
TORCH_FP32_FROZEN = "torch-fp32-frozen"
TORCH_FP32 = "torch-fp32"
#: Every runtime of a torch model, for ``get_embedder(..., runtime=...)`` and ``ARTSIM_RUNTIME``.
TORCH_RUNTIMES = (CUDA, BF16_GRAPH, ONNX_FP32, TORCH_FP32_FROZEN, TORCH_FP32)
#: Names one runtime for ``precision="auto"`` (people who know better than the measurement).
RUNTIME_ENV = "ARTSIM_RUNTIME"
#: ``0``: never measure on a model's first use (keep the default until a measurement exists).
MEASURE_ENV = "ARTSIM_MEASURE"

#: Bump when the exported graph changes for the same weights (opset, export options).
EXPORT_VERSION = "onnx-export-1: opset 17, TorchScript exporter, dynamic batch, input x (n, 3, s, s)"
OPSET = 17


def cpu_flags() -> frozenset[str]:
    """The CPU feature flags Linux reports (``/proc/cpuinfo``); empty elsewhere or when unreadable."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_native_bf16() -> bool:
    """True when the CPU has bf16 instructions (AVX512-BF16 or AMX-BF16), read from ``/proc/cpuinfo``.

    Decides only whether the bf16 graph is *measured*: having the instruction does not
    make it fast (it is the slowest runtime on some such CPUs; issue 22).
    """
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def cuda_present() -> bool:
    """Whether an NVIDIA GPU looks usable (torch's answer if torch is imported, else the driver's files).

    A cheap guess for choosing before torch is imported; :func:`confirm_cuda`
    checks with torch when the model loads.
    """
    imported = sys.modules.get("torch")
    if imported is not None and not getattr(getattr(imported, "__spec__", None), "_initializing", False):
        return bool(imported.cuda.is_available())
    # (regression: while a background thread was still importing torch, a page asking here read
    # the half-made module and failed with "partially initialized module 'torch' has no attribute 'cuda'")
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return Path("/proc/driver/nvidia/gpus").is_dir() or Path("/dev/nvidia0").exists()


def onnx_export_available() -> bool:
    """Whether the ``onnx`` package (torch's exporter needs it) and onnxruntime are installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))


def measure_on_first_use() -> bool:
    """Whether a model's first use measures the machine when no measurement is cached
    (``ARTSIM_MEASURE``, default yes; the app measures in the background instead)."""
    return os.environ.get(MEASURE_ENV, "1").strip() != "0"


def cpu_threads() -> int:
    """Cores this process may use: its affinity mask (where the OS has one), capped by
    ``OMP_NUM_THREADS`` when that is set to a positive number.

    ``OMP_NUM_THREADS`` is the usual limit for numeric libraries (torch reads it too): a
    container whose CPU quota is below the host's core count, or parallel test workers
    sharing the cores, set it so that threads are not oversubscribed.
    """
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        cores = max(1, os.cpu_count() or 1)
    limit = os.environ.get("OMP_NUM_THREADS", "").strip()
    return min(cores, int(limit)) if limit.isdigit() and int(limit) > 0 else cores


def onnx_path(name: str, weights_digest: str, side: int) -> Path:
    """Where the export of ``name`` with these weights is cached (one file per weights digest)."""
    key = hashlib.sha256("\0".join((name, weights_digest, str(side), EXPORT_VERSION)).encode()).hexdigest()
    return config.exports_dir() / f"{name}-{key[:16]}.onnx"


def export_onnx(module, side: int, path: Path) -> None:
    """Export ``module`` (eval, fp32, CPU; ``(n, 3, side, side) -> (n, d)``) to ``path`` atomically."""
    buf = io.BytesIO()
    example = torch.zeros(1, 3, side, side)
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            module, (example,), buf, dynamo=False, opset_version=OPSET, input_names=["x"],
            output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
        )
    atomic_write(path, buf.getvalue())


def ort_session(model: str | os.PathLike | bytes, *, cuda: bool = False, threads: int | None = None):
    """An ONNX Runtime session with full graph optimisation on ``threads`` intra-op threads."""

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or cpu_threads()
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    providers = ["CPUExecutionProvider"]
    if cuda and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, opts, providers=providers)
