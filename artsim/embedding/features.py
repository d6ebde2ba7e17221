"""Intermediate feature maps of a torch embedder's model, through forward hooks.

Model views (:mod:`artsim.embedding.views`) pool them and explanations
(:mod:`artsim.explain.maps`) split a cosine over their positions; both need the
eager model in fp32, not the runtime that embeds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from artsim import lazy

torch = lazy.load("torch")


#: Hooks fire on every forward pass through a module, whoever runs it: hooked passes take turns.
HOOK_LOCK = threading.Lock()


def hooked_forward(embedder: Any, modules: list[str], batch: np.ndarray) -> dict[str, np.ndarray]:
    """Run ``batch (n, 3, H, W)`` through the embedder's eager model; each module's output, float32.

    Runs in fp32 where the model lives (CPU or CUDA). bf16 autocast was no faster here in
    eager mode (measured on the 2-core machine; its first call costs a second more), and
    fp32 keeps the maps' means equal to the fp32 vectors the tests compare with.
    """
    model = eager_model(embedder)
    device = next(model.parameters()).device
    captured: dict[str, Any] = {}
    with HOOK_LOCK:
        hooks = [
            model.get_submodule(m).register_forward_hook(lambda _m, _i, out, m=m: captured.__setitem__(m, out))
            for m in modules
        ]
        try:
            with torch.inference_mode():
                x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(device)
                embedder._features(model, x)
        finally:
            for hook in hooks:
                hook.remove()
    return {m: t.float().cpu().numpy() for m, t in captured.items()}


_EAGER: OrderedDict[str, Any] = OrderedDict()
_EAGER_LOCK = threading.Lock()


def eager_model(embedder: Any) -> Any:
    """The embedder's eager torch module, without building its frozen bf16 graph.

    An embedder that has loaded already shares its module. Otherwise a module is
    built from the same weights and kept here (one per fingerprint, at most two):
    loading the embedder itself would also freeze and profile its bf16 graph
    (about a minute for ResNet-50 on 2 cores), which an explanation never uses.
    """
    if getattr(embedder, "loaded", False):
        return embedder.model
    with _EAGER_LOCK:
        model = _EAGER.get(embedder.fingerprint)
        if model is None:
            model = embedder._build_model().eval()
            _EAGER[embedder.fingerprint] = model
            while len(_EAGER) > 2:
                _EAGER.popitem(last=False)
        return model
