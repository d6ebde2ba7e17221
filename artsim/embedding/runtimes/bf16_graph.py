"""Frozen TorchScript graphs: ``torch-bf16-frozen`` (bf16 weights) and ``torch-fp32-frozen``.

oneDNN fuses convolution, batch norm and activation in a frozen graph. Where torch
has oneDNN Graph (LLGA) fusion, it is switched on while the graph is traced and run
for its first (profiling) calls, then restored: the optimised plan is kept by the
graph. ResNet-50 at batch 8 then runs at about 180 img/s instead of 100 on 2 cores
(vectors at cosine 0.99999 to eager fp32). The switch is private
(``torch._C._jit_set_llga_enabled``): torch offers no public route to the same
fusion without a C++ compiler at run time (``torch.compile``), so it is guarded,
and any failure falls back to the plain frozen graph.

Whether either is faster than ONNX Runtime on a machine is measured, not assumed
(:mod:`artsim.embedding.runtimes.calibrate`). The graph only ever sees batches of one shape (``batch`` rows, the last chunk
zero-padded): it was optimised for that shape.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np

from artsim import lazy

torch = lazy.load("torch")

__all__ = ["freeze", "run"]


def _trace(module: Any, side: int, batch: int, dtype: Any) -> Any:
    """Trace and freeze ``module`` in ``dtype``, then run it a few times at ``batch`` rows."""

    inner = copy.deepcopy(module).to(dtype).to(memory_format=torch.channels_last)
    example = torch.zeros(batch, 3, side, side, dtype=dtype).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), warnings.catch_warnings():
        # torch 2.14 marks TorchScript deprecated in favour of torch.compile, which needs a
        # C++ compiler at run time (not on hosted instances); TorchScript still works here.
        warnings.simplefilter("ignore", FutureWarning)
        # check_trace=False: the check traces the module a second time to compare (1.4 s of every
        # ResNet-50 load here); the graph's vectors are checked against eager fp32 in the tests.
        graph = torch.jit.freeze(torch.jit.trace(inner, example, check_trace=False))
        # the profiling executor profiles the first call(s), then optimises on the next one
        for _ in range(1 + max(1, torch._C._jit_get_num_profiled_runs())):
            graph(example)
    return graph


def freeze(module: Any, side: int, batch: int, dtype: Any = None) -> Any:
    """A frozen graph of ``module`` (an eval-mode ``torch.nn.Module``, input ``(batch, 3, side, side)``)
    in ``dtype`` (default ``torch.bfloat16``)."""

    dtype = torch.bfloat16 if dtype is None else dtype
    set_llga = getattr(torch._C, "_jit_set_llga_enabled", None)
    get_llga = getattr(torch._C, "_jit_llga_enabled", None)
    if set_llga is not None and get_llga is not None:
        before = bool(get_llga())
        try:
            set_llga(True)
            return _trace(module, side, batch, dtype)
        except Exception:  # noqa: BLE001 - private API: any failure means "plain graph"
            pass
        finally:
            set_llga(before)
    return _trace(module, side, batch, dtype)


def run(graph: Any, batch: np.ndarray, dim: int, rows_per_call: int, dtype: Any = None) -> np.ndarray:
    """``graph`` (frozen in ``dtype``, default bf16) on ``batch`` ``(n, 3, H, W)`` float32, in chunks of
    ``rows_per_call``; returns ``(n, dim)`` float32."""

    n = len(batch)
    out = np.empty((n, dim), dtype=np.float32)
    with torch.inference_mode():
        x = torch.from_numpy(batch).to(torch.bfloat16 if dtype is None else dtype)
        for start in range(0, n, rows_per_call):
            chunk = x[start : start + rows_per_call]
            rows = len(chunk)
            if rows < rows_per_call:  # pad to the one shape the graph was optimised for
                chunk = torch.cat([chunk, chunk.new_zeros((rows_per_call - rows, *chunk.shape[1:]))])
            y = graph(chunk.contiguous(memory_format=torch.channels_last))
            out[start : start + rows] = y[:rows].float().reshape(rows, dim).numpy()
    return out
