"""The interface every embedder offers, so the store, pipeline and app treat models alike."""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image


@runtime_checkable
class Embedder(Protocol):
    """Turns RGB images into float32 vectors.

    Attributes
    ----------
    name : str
        Model name as the user picks it (``resnet50``, ``efficientnet-lite0``, ``style``).
    dim : int
        Vector length ``d``.
    fingerprint : str
        Short hex digest of model name, weights digest and preprocessing version.
        Embeddings are cached under ``(sha256, fingerprint)``; anything that changes
        the vectors must change the fingerprint.
    images_embedded : int
        How many images went through the model in this process (for tests of caching).
    """

    name: str
    dim: int
    fingerprint: str
    images_embedded: int

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """One RGB image -> one float32 array in the model's input layout (thread-safe, no model)."""
        ...

    def embed_arrays(self, batch: np.ndarray) -> np.ndarray:
        """Stacked ``preprocess`` outputs ``(n, ...)`` -> vectors ``(n, dim)`` float32."""
        ...

    def embed(self, images: Sequence[Image.Image], batch_size: int = 16) -> np.ndarray:
        """RGB images -> vectors ``(n, dim)`` float32, in batches."""
        ...


PRECISIONS = ("auto", "fp32", "bf16")


def make_fingerprint(name: str, weights_digest: str, preprocess_version: str) -> str:
    """Short hex digest of what decides the vectors: model name, weights digest, preprocessing version.

    Precision (fp32 / bf16) is deliberately left out: bf16 vectors agree with fp32
    ones to cosine >= 0.99 (tested), so both may share cached rows.
    """
    text = "\0".join((name, weights_digest, preprocess_version))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class BaseEmbedder:
    """Shared batching and bookkeeping; subclasses set ``name``, ``dim``, ``fingerprint``
    and implement ``preprocess`` and ``_forward``.
    """

    name: str
    dim: int
    fingerprint: str

    def __init__(self) -> None:
        self.images_embedded = 0
        self._count_lock = threading.Lock()

    def preprocess(self, image: Image.Image) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _forward(self, batch: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Stacked inputs ``(n, ...)`` float32 -> ``(n, dim)`` (any float dtype)."""
        raise NotImplementedError

    def embed_arrays(self, batch: np.ndarray) -> np.ndarray:
        """Stacked ``preprocess`` outputs ``(n, ...)`` -> vectors ``(n, dim)`` float32."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        n = len(batch)
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.asarray(self._forward(batch), dtype=np.float32).reshape(n, self.dim)
        with self._count_lock:
            self.images_embedded += n
        return out

    def embed(self, images: Sequence[Image.Image], batch_size: int = 16) -> np.ndarray:
        """RGB images -> vectors ``(n, dim)`` float32, ``batch_size`` at a time."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        parts = [np.zeros((0, self.dim), dtype=np.float32)]
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            parts.append(self.embed_arrays(np.stack([self.preprocess(img) for img in chunk])))
        return np.concatenate(parts)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} dim={self.dim} fingerprint={self.fingerprint}>"


def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bf16 in hardware (AVX512-BF16 or AMX), where bf16 autocast pays off.

    oneDNN also *emulates* bf16 on plain AVX-512, which is slower than fp32, so
    ``torch.ops.mkldnn._is_mkldnn_bf16_supported()`` alone is not enough.
    """
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    try:
        native = any(getattr(torch.cpu, c, lambda: False)() for c in checks)
        return bool(native and torch.backends.mkldnn.is_available())
    except Exception:  # private APIs: any failure means "do not rely on it"
        return False


def resolve_precision(precision: str, device: str) -> str:
    """Map ``"auto" | "fp32" | "bf16"`` to ``"fp32"`` or ``"bf16"`` for ``device`` (``"cpu"``/``"cuda"``)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    if device == "cuda":
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_native_bf16() else "fp32"


class TorchEmbedder(BaseEmbedder):
    """A torch module run under ``inference_mode`` in eval mode, on CUDA when available.

    ``precision="bf16"`` runs a frozen TorchScript graph with bf16 weights on the
    CPU (see :meth:`_freeze`), or ``torch.autocast(dtype=bfloat16)`` with a
    channels-last model and input on CUDA; outputs are always float32 numpy.

    The module is built by ``_build_model`` on first use (or by :meth:`load`), so
    an embedder whose vectors are all cached costs only its fingerprint: the app
    starts without loading weights. Subclasses compute ``fingerprint`` cheaply in
    ``__init__`` (a file digest) and call ``load()`` there unless asked to be lazy.
    """

    def __init__(self, precision: str = "auto") -> None:
        import torch

        super().__init__()
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.precision = resolve_precision(precision, self.device)
        self._model = None
        self._graph = None
        self._build_lock = threading.Lock()

    def _build_model(self):  # pragma: no cover - abstract
        """Return the torch module (weights loaded); called once."""
        raise NotImplementedError

    @property
    def loaded(self) -> bool:
        """Whether the module has been built (tests check that cached runs never build it)."""
        return self._model is not None

    #: Input side for tracing the frozen bf16 graph (None: never freeze).
    freeze_input_size: int | None = None

    def load(self) -> TorchEmbedder:
        """Build the module now (validating the weights); returns ``self``."""
        import torch

        with self._build_lock:
            if self._model is None:
                model = self._build_model().eval().to(self.device)
                if self.precision == "bf16":
                    model = model.to(memory_format=torch.channels_last)
                    if self.device == "cpu" and self.freeze_input_size:
                        self._graph = self._freeze(model)
                self._model = model
        return self

    def _features(self, model, x):
        """The pooled feature vector of ``x`` under ``model`` (override for other heads)."""
        return model(x)

    #: Rows per call of the frozen graph: :meth:`_forward` runs it on chunks of exactly this
    #: many (the last one zero-padded), so it only ever sees the shape it was optimised for.
    freeze_batch_size: int = 8

    def _freeze(self, model):
        """A frozen TorchScript graph of ``_features`` with bf16 weights (CPU bf16 path).

        oneDNN fuses convolution, batch norm and activation in a frozen graph: on
        a 2-core CPU this embeds about 1.5x faster than eager autocast, with
        vectors at cosine 1.0000 to autocast's (see benchmarks/README.md).

        Where torch has oneDNN Graph (LLGA) fusion, it is switched on while the
        graph is traced and run for its first (profiling) calls, then restored:
        the optimised plan is kept by the graph, and TorchScript code run later in
        the process is not affected. ResNet-50 at batch 8 then runs at about 180 img/s
        instead of 100 (vectors at cosine 0.99999 to eager fp32). Any failure
        falls back to the plain frozen graph.
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
        """Trace and freeze ``_features``, then run it a few times at ``freeze_batch_size``."""
        import copy

        import torch

        embedder = self

        class Features(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, x):
                return embedder._features(self.inner, x)

        side = int(self.freeze_input_size)
        inner = copy.deepcopy(model).to(torch.bfloat16).to(memory_format=torch.channels_last)
        example = torch.zeros(self.freeze_batch_size, 3, side, side, dtype=torch.bfloat16).contiguous(
            memory_format=torch.channels_last
        )
        with torch.inference_mode(), warnings.catch_warnings():
            # torch 2.14 marks TorchScript deprecated in favour of torch.compile, which needs a
            # C++ compiler at run time (not on hosted instances); TorchScript still works here.
            warnings.simplefilter("ignore", FutureWarning)
            graph = torch.jit.freeze(torch.jit.trace(Features(inner).eval(), example))
            for _ in range(3):  # the profiling executor optimises the graph over its first calls
                graph(example)
        return graph

    @property
    def model(self):
        """The eager torch module (fp32 weights on CPU), built on first access."""
        if self._model is None:
            self.load()
        return self._model

    def _run(self, fn, batch: np.ndarray):
        """Call ``fn(tensor)`` on ``batch`` (n, C, H, W) with this embedder's device and precision."""
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(batch).to(self.device)
            if self.precision == "bf16":
                x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast(self.device, dtype=torch.bfloat16):
                    out = fn(x)
            else:
                out = fn(x)
            return out.float().cpu().numpy()

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        model = self.model  # builds on first use
        if self._graph is not None:
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
        return self._run(lambda x: self._features(model, x), batch)
