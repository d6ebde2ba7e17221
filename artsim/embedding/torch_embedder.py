"""A torch model behind the embedder interface, run by the fastest faithful runtime of the machine.

The runtime is chosen when the embedder is made, without importing torch
(:func:`artsim.embedding.runtime.choose`; ``runtime`` and ``runtime_reason``
say which and why), and built on the first embed (or :meth:`TorchEmbedder.load`):
an embedder whose vectors are all cached costs only its fingerprint.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np

from artsim.embedding import runtime as rt
from artsim.embedding.base import PRECISIONS, BaseEmbedder


class TorchEmbedder(BaseEmbedder):
    """Subclasses set ``name``, ``dim``, ``fingerprint``, ``weights_digest``, ``freeze_input_size``
    and implement ``_build_model`` (and ``_features`` for another head).

    Parameters
    ----------
    precision : {"auto", "fp32", "bf16"}
        ``auto``: bf16 where the hardware computes it natively (CPU) or on a GPU, else fp32.
    runtime : str, optional
        One of :data:`artsim.embedding.runtime.TORCH_RUNTIMES` instead of the automatic
        choice (benchmarks and tests compare them).
    """

    #: Input side of the model (tracing the bf16 graph, exporting to ONNX).
    freeze_input_size: int = 224
    #: Rows per call of the frozen graph: :meth:`_forward` runs it on chunks of exactly this
    #: many (the last one zero-padded), so it only ever sees the shape it was optimised for.
    freeze_batch_size: int = 8
    weights_digest: str = ""

    def __init__(self, precision: str = "auto", runtime: str | None = None) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if runtime is not None and runtime not in rt.TORCH_RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(rt.TORCH_RUNTIMES)}, got {runtime!r}")
        super().__init__()
        self.requested_precision = precision
        self.runtime, self.runtime_reason = (runtime, "chosen by the caller") if runtime else rt.choose(precision)
        self.device = "cuda" if self.runtime == rt.CUDA else "cpu"
        #: "fp32" or "bf16" ("fp16" on a GPU without bf16, known once loaded).
        gpu_bf16 = self.runtime == rt.CUDA and precision != "fp32"
        self.precision = "bf16" if self.runtime == rt.BF16_GRAPH or gpu_bf16 else "fp32"
        self._model = None
        self._graph = None
        self._session = None
        self._ready = False
        self._build_lock = threading.RLock()

    def _build_model(self):  # pragma: no cover - abstract
        """Return the torch module (weights loaded, fp32, CPU); called once."""
        raise NotImplementedError

    def _features(self, model, x):
        """The pooled feature vector of ``x`` under ``model`` (override for other heads)."""
        return model(x)

    @property
    def loaded(self) -> bool:
        """Whether the runtime has been built (tests check that cached runs never build it)."""
        return self._ready

    @property
    def model(self):
        """The eager torch module (fp32 weights, on ``device``), built on first access.

        Views and explanations use it; embedding goes through the runtime.
        """
        with self._build_lock:
            if self._model is None:
                import torch

                model = self._build_model().eval().to(self.device)
                if self.runtime in (rt.CUDA, rt.TORCH_FP32, rt.BF16_GRAPH):
                    model = model.to(memory_format=torch.channels_last)
                self._model = model
            return self._model

    def load(self) -> TorchEmbedder:
        """Build the runtime now (validating the weights); returns ``self``."""
        with self._build_lock:
            if self._ready:
                return self
            if self.runtime == rt.CUDA and not self._confirm_cuda():
                self.runtime, self.device = rt.ONNX_FP32, "cpu"
                self.runtime_reason = "the GPU is not usable by torch, so ONNX Runtime fp32 on the CPU"
                self.precision = "fp32"
            if self.runtime == rt.ONNX_FP32:
                self._session = self._onnx_session()
            elif self.runtime == rt.BF16_GRAPH:
                self._graph = self._freeze(self.model)
            else:
                self.model  # noqa: B018 - builds the eager module (torch-fp32, cuda)
            self._ready = True
        return self

    def _confirm_cuda(self) -> bool:
        import torch

        if not torch.cuda.is_available():
            return False
        if self.precision == "bf16" and not torch.cuda.is_bf16_supported():
            self.precision = "fp16"
        return True

    # ------------------------------------------------------------------ ONNX Runtime

    def _wrapped(self, model):
        """``model`` as a module computing :meth:`_features` (what is traced, frozen or exported)."""
        import torch

        embedder = self

        class Features(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, x):
                return embedder._features(self.inner, x)

        return Features(model).eval()

    def _onnx_session(self):
        """ONNX Runtime session of the export cached for these weights (exporting it the first time).

        If the export fails (an exporter or onnx version problem), falls back to torch
        eager fp32 and says why in ``runtime_reason``.
        """
        path = rt.onnx_path(self.name, self.weights_digest, int(self.freeze_input_size))
        if not path.is_file():
            import copy

            import torch

            module = copy.deepcopy(self._build_model()).eval()  # raises WeightsUnavailable for bad files
            try:
                rt.export_onnx(self._wrapped(module), int(self.freeze_input_size), path)
            except Exception as exc:  # noqa: BLE001 - any exporter failure: eager fp32 still works
                self.runtime = rt.TORCH_FP32
                self.runtime_reason = f"ONNX export failed ({type(exc).__name__}: {exc}), so torch eager fp32"
                self._model = module.to(memory_format=torch.channels_last)
                return None
        return rt.ort_session(path)

    # ------------------------------------------------------------------ frozen bf16 graph

    def _freeze(self, model):
        """A frozen TorchScript graph of ``_features`` with bf16 weights (CPU bf16 path).

        oneDNN fuses convolution, batch norm and activation in a frozen graph.
        Where torch has oneDNN Graph (LLGA) fusion, it is switched on while the
        graph is traced and run for its first (profiling) calls, then restored: the
        optimised plan is kept by the graph. ResNet-50 at batch 8 then runs at about
        180 img/s instead of 100 on 2 cores (vectors at cosine 0.99999 to eager fp32).
        The switch is private (``torch._C._jit_set_llga_enabled``): torch offers no
        public route to the same fusion without a C++ compiler at run time
        (``torch.compile``), so it is guarded, and any failure falls back to the plain
        frozen graph.
        """
        import torch

        graph = None
        set_llga = getattr(torch._C, "_jit_set_llga_enabled", None)
        get_llga = getattr(torch._C, "_jit_llga_enabled", None)
        if set_llga is not None and get_llga is not None:
            before = bool(get_llga())
            try:
                set_llga(True)
                graph = self._trace_frozen(model)
            except Exception:  # noqa: BLE001 - private API: any failure means "plain graph"
                graph = None
            finally:
                set_llga(before)
        if graph is None:
            graph = self._trace_frozen(model)
        return graph

    def _trace_frozen(self, model):
        """Trace and freeze ``_features`` in bf16, then run it a few times at ``freeze_batch_size``."""
        import copy

        import torch

        side = int(self.freeze_input_size)
        inner = copy.deepcopy(model).to(torch.bfloat16).to(memory_format=torch.channels_last)
        example = torch.zeros(self.freeze_batch_size, 3, side, side, dtype=torch.bfloat16).contiguous(
            memory_format=torch.channels_last
        )
        with torch.inference_mode(), warnings.catch_warnings():
            # torch 2.14 marks TorchScript deprecated in favour of torch.compile, which needs a
            # C++ compiler at run time (not on hosted instances); TorchScript still works here.
            warnings.simplefilter("ignore", FutureWarning)
            graph = torch.jit.freeze(torch.jit.trace(self._wrapped(inner), example))
            for _ in range(3):  # the profiling executor optimises the graph over its first calls
                graph(example)
        return graph

    # ------------------------------------------------------------------ running

    def _run(self, fn, batch: np.ndarray):
        """``fn(tensor)`` on ``batch`` (n, C, H, W) with the eager model's device and precision."""
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
            if self.device == "cuda":
                x = x.pin_memory().to(self.device, non_blocking=True)
            x = x.contiguous(memory_format=torch.channels_last)
            if self.device == "cuda" and self.precision in ("bf16", "fp16"):
                dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
                with torch.autocast("cuda", dtype=dtype):
                    out = fn(x)
            else:
                out = fn(x)
            return out.float().cpu().numpy()

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        self.load()
        if self._session is not None:
            return self._session.run(None, {"x": batch})[0]
        if self._graph is not None:
            return self._forward_graph(batch)
        model = self.model
        return self._run(lambda x: self._features(model, x), batch)

    def _forward_graph(self, batch: np.ndarray) -> np.ndarray:
        import torch

        n, size = len(batch), self.freeze_batch_size
        out = np.empty((n, self.dim), dtype=np.float32)
        with torch.inference_mode():
            x = torch.from_numpy(batch).to(torch.bfloat16)
            for start in range(0, n, size):
                chunk = x[start : start + size]
                rows = len(chunk)
                if rows < size:  # pad to the one shape the graph was optimised for
                    chunk = torch.cat([chunk, chunk.new_zeros((size - rows, *chunk.shape[1:]))])
                y = self._graph(chunk.contiguous(memory_format=torch.channels_last))
                out[start : start + rows] = y[:rows].float().reshape(rows, self.dim).numpy()
        return out
