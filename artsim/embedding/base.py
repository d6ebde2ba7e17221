"""The interface every embedder offers, so the store, pipeline and app treat models alike."""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
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


#: The fast load path drafts JPEGs to at least this many times the model's input side, so
#: that the one resample in ``preprocess`` has a margin (faithful to a full decode: tested).
DRAFT_FACTOR = 2
#: Loaded images larger than this many times the input side (big PNG/TIFF, huge JPEGs) are
#: reduced once while loading, so a decode thread holds a bounded image.
CAP_FACTOR = 8
#: ``load_max_side`` / ``load_draft_side`` of the reference path: a full decode, no reduction
#: (bounded by :mod:`artsim.inputs.images`' pixel caps).
FULL_DECODE = 1 << 16


class BaseEmbedder:
    """Shared batching and bookkeeping; subclasses set ``name``, ``dim``, ``fingerprint``,
    ``input_side`` and implement ``preprocess`` and ``_forward``.

    Loading (read by the pipeline and passed to :func:`artsim.inputs.images.load_image`):
    ``load_draft_side`` (JPEG draft keeps both sides at least this), ``load_max_side``
    (shorter side reduced to at most this) and ``load_resample`` (the filter of that
    reduction). The fast path drafts to ``DRAFT_FACTOR * input_side`` and lets
    ``preprocess`` resample once; ``reference=True`` decodes in full (see
    :meth:`configure_loading`). ``runtime`` and ``runtime_reason`` say what runs the model.
    """

    name: str
    dim: int
    fingerprint: str
    #: Shorter side the model's own preprocessing resamples to.
    input_side: int = 256
    load_resample = Image.Resampling.BILINEAR
    runtime: str = "numpy"
    runtime_reason: str = ""

    def __init__(self) -> None:
        self.images_embedded = 0
        self._count_lock = threading.Lock()
        self.configure_loading(False)

    def configure_loading(self, reference: bool) -> None:
        """Fast path (JPEG draft to 2x the input side, one resample) or the reference (full decode)."""
        self.reference = bool(reference)
        if self.reference:
            self.load_draft_side = self.load_max_side = FULL_DECODE
        else:
            self.load_draft_side = DRAFT_FACTOR * self.input_side
            self.load_max_side = CAP_FACTOR * self.input_side

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


def package_file(package: str, *parts: str) -> Path | None:
    """A data file shipped inside an installed package, found without importing the package."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.is_file() else None
