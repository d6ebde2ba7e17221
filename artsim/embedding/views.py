"""Views of a model: pooled features of earlier stages and Gram-matrix style features.

Gatys et al. take *style* from Gram matrices of early layers and *content* from
late ones; Chu & Wu (ACM MM 2016) found Gram features good for artist
classification. A view is named ``<model>:<view>`` (``resnet50:stage2``,
``efficientnet-lite0:gram1``), behaves like any embedder (its own fingerprint,
so its vectors are cached in the store like every model's) and is picked in
the model menu like one.

- ``stageN``: global average pool of one stage's output map ``F (h*w, c)``:
  ``mean_i F[i]`` (c values). ResNet-50: ``layer1..layer3`` (256, 512, 1024;
  ``layer4`` is ``resnet50`` itself). EfficientNet-Lite0: ``blocks.1, 2, 4, 6``
  (24, 40, 112, 320 channels; the model's own vector is ``conv_head``'s 1280).
- ``gramN``: the upper triangle (diagonal included) of the Gram matrix of a
  channel-reduced early map: ``Y = F P`` with ``P`` a fixed Gaussian random
  projection ``(c, r)`` scaled by ``1/sqrt(r)`` (numpy ``default_rng(GRAM_SEED)``;
  the identity when ``c <= r``), ``G = Y^T Y / (h*w)``, vector ``G[triu(r)]``
  (``r (r + 1) / 2`` values: 528 for ``r = 32``). ``G`` is the mean over positions
  of ``y_i y_i^T``, so a Gram vector is also a mean over positions and the
  explanation's exact split applies to it (:meth:`ViewEmbedder.position_features`).

All views of one model come from **one forward pass**: a hook on every stage
used by any view; the vectors of the sibling views are kept in a small LRU
keyed by the digest of the input array, so choosing another view of the same
model (or the Compare page going through all of them) reuses the pass.
Views run the base model's eager module in fp32 (its frozen bf16 graph only
returns the final vector).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from artsim.embedding.base import BaseEmbedder, make_fingerprint
from artsim.embedding.features import hooked_forward

#: Bump when a view's definition changes (part of every view's fingerprint).
VIEW_VERSION = "views-1: stage = mean over positions; gram = triu(Y^T Y / hw), Y = F P, P ~ N(0, 1/r) seeded"
GRAM_RANK = 32
GRAM_SEED = 0

#: base model -> view -> (hooked module, channels, kind)
VIEWS: dict[str, dict[str, tuple[str, int, str]]] = {
    "resnet50": {
        "stage1": ("layer1", 256, "stage"),
        "stage2": ("layer2", 512, "stage"),
        "stage3": ("layer3", 1024, "stage"),
        "gram1": ("layer1", 256, "gram"),
        "gram2": ("layer2", 512, "gram"),
    },
    "efficientnet-lite0": {
        "stage1": ("blocks.1", 24, "stage"),
        "stage2": ("blocks.2", 40, "stage"),
        "stage3": ("blocks.4", 112, "stage"),
        "stage4": ("blocks.6", 320, "stage"),
        "gram1": ("blocks.1", 24, "gram"),
        "gram2": ("blocks.2", 40, "gram"),
    },
}
VIEW_NAMES = tuple(f"{base}:{view}" for base, views in VIEWS.items() for view in views)
#: What each view kind shows, for menus and captions.
DESCRIPTIONS = {
    "stage": "pooled features of an earlier stage (nearer to colour and texture)",
    "gram": "Gram-matrix style features (which textures occur together)",
}


def split_name(name: str) -> tuple[str, str]:
    """``"resnet50:gram1"`` -> ``("resnet50", "gram1")``; raises ValueError for an unknown view."""
    base, _, view = name.partition(":")
    if base not in VIEWS or view not in VIEWS[base]:
        raise ValueError(f"unknown view {name!r}; choose one of {', '.join(VIEW_NAMES)}")
    return base, view


def gram_projection(channels: int, rank: int = GRAM_RANK, seed: int = GRAM_SEED) -> np.ndarray:
    """The fixed channel reduction ``(channels, r)`` float32: seeded Gaussian / sqrt(r), identity if small."""
    if channels <= rank:
        return np.eye(channels, dtype=np.float32)
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((channels, rank)) / np.sqrt(rank)).astype(np.float32)


def gram_dim(channels: int, rank: int = GRAM_RANK) -> int:
    """Length of a Gram vector of a ``channels``-channel map."""
    r = min(channels, rank)
    return r * (r + 1) // 2


def gram_vectors(F: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Gram features of maps ``F (n, h*w, c)`` with projection ``P (c, r)`` -> ``(n, r (r + 1) / 2)``."""
    Y = np.asarray(F, dtype=np.float32) @ P
    G = np.einsum("npi,npj->nij", Y, Y) / Y.shape[1]
    rows, cols = np.triu_indices(P.shape[1])
    return G[:, rows, cols]


def gram_positions(F: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Per-position Gram terms ``triu(y_i y_i^T)`` of one map ``F (h*w, c)`` -> ``(h*w, r (r + 1) / 2)``.

    Their mean over positions is :func:`gram_vectors` of the map.
    """
    Y = np.asarray(F, dtype=np.float32) @ P
    rows, cols = np.triu_indices(P.shape[1])
    return Y[:, rows] * Y[:, cols]


class _Family:
    """One eager model per base fingerprint, hooked at every stage its views use, and the LRU."""

    def __init__(self, base: Any) -> None:
        self.base = base
        self.lock = threading.Lock()
        self.memo: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()
        self.max_items = 4096
        self.projections = {
            view: gram_projection(ch) for view, (_, ch, kind) in VIEWS[base.name].items() if kind == "gram"
        }
        self.passes = 0  # images through the model (for tests of the single pass)

    def stage_maps(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Every hooked stage's output for ``batch (n, 3, H, W)``: module -> ``(n, h*w, c)`` float32."""
        modules = sorted({module for module, _, _ in VIEWS[self.base.name].values()})
        maps = hooked_forward(self.base, modules, batch)
        self.passes += len(batch)
        return {m: np.ascontiguousarray(t.reshape(t.shape[0], t.shape[1], -1).transpose(0, 2, 1)) for m, t in maps.items()}

    def vectors(self, batch: np.ndarray) -> list[dict[str, np.ndarray]]:
        """Every view's vector for each row of ``batch``, from the LRU or one forward pass."""
        keys = [hashlib.sha1(np.ascontiguousarray(x, dtype=np.float32).tobytes()).hexdigest() for x in batch]
        with self.lock:
            found = [self.memo.get(k) for k in keys]
        todo = [i for i, f in enumerate(found) if f is None]
        if todo:
            maps = self.stage_maps(batch[todo])
            for row, i in enumerate(todo):
                found[i] = {
                    view: self._vector(view, maps[module][row : row + 1])[0]
                    for view, (module, _, _) in VIEWS[self.base.name].items()
                }
            with self.lock:
                for i in todo:
                    self.memo[keys[i]] = found[i]
                while len(self.memo) > self.max_items:
                    self.memo.popitem(last=False)
        return found  # type: ignore[return-value]

    def _vector(self, view: str, F: np.ndarray) -> np.ndarray:
        if VIEWS[self.base.name][view][2] == "stage":
            return F.mean(axis=1, dtype=np.float64).astype(np.float32)
        return gram_vectors(F, self.projections[view]).astype(np.float32)


_FAMILIES: dict[str, _Family] = {}
_FAMILIES_LOCK = threading.Lock()


def _family(base: Any) -> _Family:
    with _FAMILIES_LOCK:
        family = _FAMILIES.get(base.fingerprint)
        if family is None:
            family = _FAMILIES[base.fingerprint] = _Family(base)
            while len(_FAMILIES) > 4:
                _FAMILIES.pop(next(iter(_FAMILIES)))
        return family


class ViewEmbedder(BaseEmbedder):
    """One view of a torch embedder (``resnet50`` or ``efficientnet-lite0``) as an embedder.

    Parameters
    ----------
    base : TorchEmbedder
        The model (may be lazy: nothing is loaded until the first image).
    view : str
        One of ``VIEWS[base.name]``.
    """

    def __init__(self, base: Any, view: str) -> None:
        super().__init__()
        self.base = base
        self.view = view
        self.name = f"{base.name}:{view}"
        module, channels, kind = VIEWS[base.name][view]
        self.kind = kind
        self.dim = channels if kind == "stage" else gram_dim(channels)
        self.fingerprint = make_fingerprint(self.name, base.fingerprint, VIEW_VERSION)
        self.runtime = "torch-fp32-eager"
        self.runtime_reason = "a view reads inner layers through hooks, which the fused graphs do not expose"
        self.load_max_side = getattr(base, "load_max_side", 256)
        self.load_draft_side = getattr(base, "load_draft_side", self.load_max_side)
        resample = getattr(base, "load_resample", None)
        if resample is not None:
            self.load_resample = resample

    @property
    def description(self) -> str:
        """One line on what this view captures."""
        return DESCRIPTIONS[self.kind]

    def preprocess(self, image):
        """The base model's preprocessing (same input, so one pass serves every view)."""
        return self.base.preprocess(image)

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        return np.stack([v[self.view] for v in _family(self.base).vectors(batch)])

    def position_features(self, x: np.ndarray) -> np.ndarray:
        """Per-position features of one input ``(3, H, W)`` -> ``(h, w, dim)``; their mean is the vector."""
        family = _family(self.base)
        module = VIEWS[self.base.name][self.view][0]
        F = family.stage_maps(x[None])[module][0]  # (h*w, c)
        side = int(round(np.sqrt(F.shape[0])))
        if side * side != F.shape[0]:
            raise ValueError(f"{self.name}: a non-square map of {F.shape[0]} positions")
        if self.kind == "gram":
            F = gram_positions(F, family.projections[self.view])
        return F.reshape(side, side, -1)
