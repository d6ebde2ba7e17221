"""A torch model behind the embedder interface, run by the fastest faithful runtime measured on the machine.

The runtime is chosen without importing torch (:func:`artsim.embedding.runtimes.choice.choose`:
``runtime`` and ``runtime_reason`` say which and why) and built on the first embed
(or :meth:`TorchEmbedder.load`): an embedder whose vectors are all cached costs only
its fingerprint. With ``precision="auto"`` and no measurement of this machine yet,
the first :meth:`~TorchEmbedder.load` measures it (:mod:`artsim.embedding.runtimes.calibrate`,
a few seconds once per machine) and adopts the runtime it chose, already built;
with ``measure_on_load`` False (the app, ``ARTSIM_MEASURE=0``) it runs the default
(ONNX Runtime fp32) until a measurement made elsewhere appears.
"""

from __future__ import annotations

import copy
import threading

import numpy as np

from artsim import lazy
from artsim.embedding.base import PRECISIONS, BaseEmbedder
from artsim.embedding.runtimes import backends as rt
from artsim.embedding.runtimes import bf16_graph, choice
from artsim.errors import ArtsimError

torch = lazy.load("torch")
calibrate = lazy.load("artsim.embedding.runtimes.calibrate")  # only when a first load measures the machine

_FROZEN = (rt.BF16_GRAPH, rt.TORCH_FP32_FROZEN)


class TorchEmbedder(BaseEmbedder):
    """Subclasses set ``name``, ``dim``, ``fingerprint``, ``weights_digest``, ``freeze_input_size``
    and implement ``_build_model`` (and ``_features`` for another head).

    Parameters
    ----------
    precision : {"auto", "fp32", "bf16"}
        ``auto``: the runtime measured fastest and faithful on this machine; ``fp32`` /
        ``bf16`` force that precision (see :func:`artsim.embedding.runtimes.choice.choose`).
    runtime : str, optional
        One of :data:`artsim.embedding.runtimes.backends.TORCH_RUNTIMES` instead of the automatic
        choice (benchmarks, tests and the measurement compare them).
    """

    #: Input side of the model (tracing the frozen graphs, exporting to ONNX).
    freeze_input_size: int = 224
    #: Rows per call of the frozen graphs (:mod:`artsim.embedding.runtimes.bf16_graph`): chunks of exactly
    #: this many (the last one zero-padded), the one shape they were optimised for; also the
    #: batch the measurement times.
    freeze_batch_size: int = 8
    weights_digest: str = ""

    def __init__(self, precision: str = "auto", runtime: str | None = None) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if runtime is not None and runtime not in rt.TORCH_RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(rt.TORCH_RUNTIMES)}, got {runtime!r}")
        super().__init__()
        self.requested_precision = precision
        #: Whether the first load measures the machine when nothing is measured yet.
        self.measure_on_load = rt.measure_on_first_use()
        #: Runtimes built by a measurement (runtime -> sibling embedder), until ``load`` adopts one.
        self.built: dict[str, TorchEmbedder] = {}
        self._reset(runtime)

    def _reset(self, runtime: str | None) -> None:
        self._choice = choice.Choice(runtime, "chosen by the caller") if runtime else None
        self._precision: str | None = None  # "fp16": a GPU without bf16 (known once loaded)
        self._model = None
        self._graph = None
        self._session = None
        self._ready = False
        self._build_lock = threading.RLock()

    def sibling(self, runtime: str) -> TorchEmbedder:
        """This model with the same weights on ``runtime`` (sharing the eager fp32 module on a CPU)."""
        other = copy.copy(self)
        other._reset(runtime)
        other.built = {}
        if runtime != rt.CUDA and self._model is not None and self.device == "cpu":
            other._model = self._model
        return other

    # ------------------------------------------------------------------ which runtime

    def _resolve(self) -> choice.Choice:
        """The choice, read again while it is pending and nothing is built (a measurement may have appeared)."""
        current = self._choice
        if current is None or (current.pending and not self._ready):
            current = choice.choose(self.requested_precision, self.name, self.weights_digest)
            self._choice = current
        return current

    @property
    def runtime(self) -> str:
        """What runs the model (:data:`artsim.embedding.runtimes.backends.TORCH_RUNTIMES`)."""
        return self._resolve().runtime

    @runtime.setter
    def runtime(self, value: str) -> None:
        self._choice = choice.Choice(value, self._choice.reason if self._choice else "")

    @property
    def runtime_reason(self) -> str:
        """Why this runtime: the measured rates (chosen and runner-up), or what forced it."""
        return self._resolve().reason

    @runtime_reason.setter
    def runtime_reason(self, value: str) -> None:
        self._choice = choice.Choice(self.runtime, value)

    @property
    def device(self) -> str:
        """``cuda`` for the GPU runtime, else ``cpu``."""
        return "cuda" if self.runtime == rt.CUDA else "cpu"

    @property
    def precision(self) -> str:
        """``fp32`` or ``bf16`` (``fp16`` on a GPU without bf16, known once loaded)."""
        if self._precision:
            return self._precision
        gpu_half = self.runtime == rt.CUDA and self.requested_precision != "fp32"
        return "bf16" if self.runtime == rt.BF16_GRAPH or gpu_half else "fp32"

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
                model = self._build_model().eval().to(self.device)
                if self.runtime != rt.ONNX_FP32:
                    model = model.to(memory_format=torch.channels_last)
                self._model = model
            return self._model

    def load(self) -> TorchEmbedder:
        """Build the runtime now (validating the weights; measuring the machine first if it is
        the automatic choice, nothing is measured yet and ``measure_on_load``); returns ``self``."""
        with self._build_lock:
            if self._ready:
                return self
            if self._resolve().pending and self.measure_on_load:
                self._measure()
            adopted = self.built.pop(self.runtime, None)
            self.built.clear()
            if adopted is not None and adopted._ready:  # built by the measurement: take it over
                self._model, self._graph, self._session = adopted._model, adopted._graph, adopted._session
                self._precision, self._ready = adopted._precision, True
                return self
            if self.runtime == rt.CUDA and not self._confirm_cuda():
                self._choice = choice.Choice(rt.ONNX_FP32, "the GPU is not usable by torch, so ONNX Runtime fp32 on the CPU")
            if self.runtime == rt.ONNX_FP32:
                self._session = self._onnx_session()
            elif self.runtime in _FROZEN:
                self._graph = bf16_graph.freeze(self._wrapped(self.model), int(self.freeze_input_size),
                                                self.freeze_batch_size, self._graph_dtype())
            else:
                self.model  # noqa: B018 - builds the eager module (torch-fp32, cuda)
            self._ready = True
        return self

    def _measure(self) -> None:
        """Measure this machine (:func:`artsim.embedding.runtimes.calibrate.ensure`) and take its choice."""

        try:
            calibrate.ensure(self)
        except ArtsimError:  # a bad weights file is reported as before
            raise
        except Exception as exc:  # noqa: BLE001 - a failed measurement leaves the default
            self._choice = choice.Choice(self.runtime, f"{self.runtime_reason} (measuring failed: {exc})")
            return
        self._choice = None

    def _graph_dtype(self):
        return torch.bfloat16 if self.runtime == rt.BF16_GRAPH else torch.float32

    def _confirm_cuda(self) -> bool:
        if not torch.cuda.is_available():
            return False
        if self.precision == "bf16" and not torch.cuda.is_bf16_supported():
            self._precision = "fp16"
        return True

    # ------------------------------------------------------------------ ONNX Runtime

    def _wrapped(self, model):
        """``model`` as a module computing :meth:`_features` (what is traced, frozen or exported)."""

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
            module = copy.deepcopy(self._build_model()).eval()  # raises WeightsUnavailable for bad files
            try:
                rt.export_onnx(self._wrapped(module), int(self.freeze_input_size), path)
            except Exception as exc:  # noqa: BLE001 - any exporter failure: eager fp32 still works
                why = f"ONNX export failed ({type(exc).__name__}: {exc}), so torch eager fp32"
                self._choice = choice.Choice(rt.TORCH_FP32, why)
                self._model = module.to(memory_format=torch.channels_last)
                return None
        return rt.ort_session(path)

    # ------------------------------------------------------------------ running

    def _run(self, fn, batch: np.ndarray):
        """``fn(tensor)`` on ``batch`` (n, C, H, W) with the eager model's device and precision."""

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
            return bf16_graph.run(self._graph, batch, self.dim, self.freeze_batch_size, self._graph_dtype())
        model = self.model
        return self._run(lambda x: self._features(model, x), batch)
