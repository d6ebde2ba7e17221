"""Spatial feature maps of single paintings, computed on demand and cached.

An explanation needs the map *before* global pooling, which the store does not
keep (it would be 49 times the vector). So the two paintings of a pair go
through the model again, in torch eager mode with a forward hook on the layer
whose output is pooled:

- ``resnet50``: ``layer4`` (2048 channels, 7 x 7 for a 224 crop);
- ``efficientnet-lite0``: ``bn2``, the activation after timm's ``conv_head``
  (1280 channels, 7 x 7). EfficientNet-Lite0's last *block* has only 320
  channels; the pooled vector is the mean of ``bn2``'s output, so that is the map
  whose positions add up to the cosine (a test checks mean(map) = vector);
- a view of a model (:mod:`artsim.embedding.views`) supplies its own per-position
  features through ``position_features``.

The maps are fp32. The stored vectors may come from a bf16 runtime (a frozen
bf16 graph where the CPU computes bf16 natively), so they agree with the map's
mean to bf16 rounding (about 1e-2 in cosine), not bit for bit;
:attr:`PaintingMap.pooled` is the fp32 mean of the map, the vector the shares sum to.

Maps are cached per process by ``(fingerprint, sha256)`` (a small LRU), so
flipping between pairs of the same paintings costs no forward pass.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from artsim import lazy
from artsim.embedding.features import hooked_forward
from artsim.errors import ArtsimError
from artsim.inputs.images import load_image

resnet = lazy.load("artsim.embedding.resnet")  # its input normalisation, for ResNet-50 maps only

#: Shorter side an image is loaded at when the embedder names none (the pipeline's default).
LOAD_MAX_SIDE = 256

#: Module whose output is global-average-pooled into the vector, per base model.
POOLED_MODULE = {"resnet50": "layer4", "efficientnet-lite0": "bn2"}


class ExplainUnavailable(ArtsimError):
    """This model has no spatial map to explain with (e.g. the ONNX style predictor)."""


@dataclass(frozen=True)
class PaintingMap:
    """One painting as the model saw it.

    Attributes
    ----------
    features : (h, w, d) float32
        Per-position features; their mean over positions is ``pooled``.
    pooled : (d,) float32
        The fp32 mean of ``features`` (the eager model's pooled vector).
    image : (H, W, 3) uint8
        The model's input (after crop/resize), for overlaying the map.
    """

    features: np.ndarray
    pooled: np.ndarray
    image: np.ndarray


def explainable(model: str) -> bool:
    """Whether :func:`painting_map` works for ``model`` (a base model or a view of one)."""
    return model.split(":", 1)[0] in POOLED_MODULE


def load_input(embedder: Any, path: str) -> np.ndarray:
    """A file as the embedding pipeline feeds it to ``embedder``: ``(3, H, W)`` float32."""
    max_side = getattr(embedder, "load_max_side", LOAD_MAX_SIDE)
    resample = getattr(embedder, "load_resample", Image.Resampling.LANCZOS)
    draft = getattr(embedder, "load_draft_side", None)
    image = load_image(path, name=str(path), max_side=max_side, resample=resample, draft_side=draft)
    return embedder.preprocess(image)


def input_image(model: str, x: np.ndarray) -> np.ndarray:
    """Undo a model's input normalisation: ``(3, H, W)`` float32 -> ``(H, W, 3)`` uint8."""
    base = model.split(":", 1)[0]
    if base == "resnet50":
        rgb = (x * resnet.STD[:, None, None] + resnet.MEAN[:, None, None]) * 255.0
    elif base == "efficientnet-lite0":
        rgb = x * 128.0 + 127.0
    else:
        raise ExplainUnavailable(f"{model} has no spatial feature map to explain with")
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8).transpose(1, 2, 0)


def spatial_features(embedder: Any, x: np.ndarray) -> np.ndarray:
    """Per-position features of one input ``(3, H, W)`` -> ``(h, w, d)`` float32 (fp32 eager torch).

    Uses ``embedder.position_features`` when the embedder has one (views), else a
    hook on :data:`POOLED_MODULE` of its torch model.
    """
    own = getattr(embedder, "position_features", None)
    if own is not None:
        return np.asarray(own(x), dtype=np.float32)
    name = POOLED_MODULE.get(getattr(embedder, "name", ""))
    if name is None:
        raise ExplainUnavailable(f"{embedder.name} has no spatial feature map to explain with")
    fmap = hooked_forward(embedder, [name], x[None])[name][0]  # (d, h, w)
    return np.ascontiguousarray(fmap.transpose(1, 2, 0))


class MapCache:
    """A thread-safe LRU of :class:`PaintingMap` keyed by ``(fingerprint, sha256)``.

    Bounded by entries and by bytes: a 7 x 7 x 2048 map is 400 kB, but a Gram view of
    ResNet-50's ``layer1`` is 56 x 56 x 528 (6.6 MB), so ``max_bytes`` (default 128 MB)
    decides for early views. The newest map is always kept, whatever its size.
    """

    def __init__(self, maxsize: int = 32, max_bytes: int = 128 << 20) -> None:
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self.computed = 0  # forward passes done (for tests of caching)
        self._items: OrderedDict[tuple[str, str], PaintingMap] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def _size(item: PaintingMap) -> int:
        return item.features.nbytes + item.pooled.nbytes + item.image.nbytes

    def get(self, embedder: Any, sha256: str, path: str) -> PaintingMap:
        """The map of the painting ``sha256`` (read from ``path`` when not cached)."""
        key = (embedder.fingerprint, sha256)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        x = load_input(embedder, path)
        features = spatial_features(embedder, x)
        pooled = features.reshape(-1, features.shape[-1]).mean(axis=0, dtype=np.float64).astype(np.float32)
        item = PaintingMap(features=features, pooled=pooled, image=input_image(embedder.name, x))
        with self._lock:
            self.computed += 1
            if key not in self._items:
                self._items[key] = item
                self._bytes += self._size(item)
            while len(self._items) > 1 and (len(self._items) > self.maxsize or self._bytes > self.max_bytes):
                _, old = self._items.popitem(last=False)
                self._bytes -= self._size(old)
        return item


_DEFAULT = MapCache()


def painting_map(embedder: Any, sha256: str, path: str, *, cache: MapCache | None = None) -> PaintingMap:
    """The spatial map of one painting under ``embedder``, from the process-wide cache.

    Raises
    ------
    ExplainUnavailable
        The model has no spatial map (``style``).
    ImageError
        The file cannot be read any more.
    """
    return (cache or _DEFAULT).get(embedder, sha256, path)
