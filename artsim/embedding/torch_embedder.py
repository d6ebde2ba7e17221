"""A torch model behind the embedder interface, run by the fastest faithful runtime of the machine.

The runtime is chosen when the embedder is made, without importing torch
(:func:`artsim.embedding.runtime.choose`; ``runtime`` and ``runtime_reason``
say which and why), and built on the first embed (or :meth:`TorchEmbedder.load`):
an embedder whose vectors are all cached costs only its fingerprint.
"""

from __future__ import annotations

import threading

import numpy as np

from artsim.embedding import bf16_graph
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
    #: Rows per call of the frozen graph (:mod:`artsim.embedding.bf16_graph`): chunks of exactly
    #: this many (the last one zero-padded), the one shape it was optimised for.
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
                self._graph = bf16_graph.freeze(self._wrapped(self.model), int(self.freeze_input_size),
                                                self.freeze_batch_size)
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
            return bf16_graph.run(self._graph, batch, self.dim, self.freeze_batch_size)
        model = self.model
        return self._run(lambda x: self._features(model, x), batch)
