"""Where the ResNet-50 ImageNet weights come from, and loading weight files safely.

Order of resolution (first hit wins; a named file that is missing is an error,
never a silent fall-through to the next source):

1. an explicit ``weights`` argument,
2. ``ARTSIM_WEIGHTS`` (:func:`artsim.config.weights_file`),
3. torchvision's hub cache ``<torch.hub.get_dir()>/checkpoints/resnet50-11ad3fa6.pth``
   (``TORCH_HOME`` moves it),
4. a download from ``download.pytorch.org`` into that cache, unless disabled.

A dead network fails fast: a reachability probe with a hard deadline
(:data:`PROBE_TIMEOUT`, DNS included) runs before the download, and every socket
operation of the download has a timeout (:data:`DOWNLOAD_TIMEOUT`). Both, the
progress bar and the sha256 check are :mod:`artsim.sources.http`'s.
``ARTSIM_WEIGHTS_URL`` replaces the download URL (a mirror, or a local server in tests).
"""

from __future__ import annotations

import os
import re
import sys
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from artsim import config
from artsim.errors import FetchError, WeightsUnavailable

#: torchvision's ``ResNet50_Weights.IMAGENET1K_V2.url`` (kept as a literal so that
#: checking weights does not import torchvision; a test keeps the two equal).
RESNET50_URL = "https://download.pytorch.org/models/resnet50-11ad3fa6.pth"
#: Environment variable replacing :data:`RESNET50_URL`.
URL_ENV = "ARTSIM_WEIGHTS_URL"
#: Seconds the reachability probe (DNS + TCP connect) may take in total.
PROBE_TIMEOUT = 5.0
#: Seconds any single socket operation of the download may block.
DOWNLOAD_TIMEOUT = 15.0

_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")  # torch.hub's convention: name-<sha256 prefix>.pth


@dataclass(frozen=True)
class WeightsStatus:
    """Where the ResNet-50 weights would come from, found without touching the network.

    ``source`` is ``"argument"``, ``"ARTSIM_WEIGHTS"``, ``"torch-cache"`` or
    ``"download"`` (not present yet; ``path`` is where a download would go).
    ``message`` is one line for the user (how to fix it when ``present`` is False).
    """

    source: str
    path: str | None
    present: bool
    message: str


def weights_url() -> str:
    """The download URL: ``ARTSIM_WEIGHTS_URL`` or torchvision's."""
    return os.environ.get(URL_ENV) or RESNET50_URL


def weights_file_name() -> str:
    """File name torchvision expects in its cache (``resnet50-11ad3fa6.pth``)."""
    return Path(urllib.parse.urlparse(weights_url()).path).name or "resnet50.pth"


def hub_checkpoint_dir() -> Path:
    """``torch.hub.get_dir()/checkpoints``, without importing torch when it is not loaded yet.

    Mirrors ``torch.hub.get_dir``: ``$TORCH_HOME/hub``, else ``$XDG_CACHE_HOME/torch/hub``,
    else ``~/.cache/torch/hub``; ``torch.hub.set_dir`` is honoured once torch is imported.
    """
    if "torch" in sys.modules:
        return Path(sys.modules["torch"].hub.get_dir()) / "checkpoints"
    xdg = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    torch_home = os.environ.get("TORCH_HOME", os.path.join(xdg, "torch"))
    return Path(os.path.expanduser(torch_home)) / "hub" / "checkpoints"


def how_to_fix(reason: str) -> str:
    """The full message for missing ResNet-50 weights: what failed and the three ways out."""
    name = weights_file_name()
    folder = hub_checkpoint_dir()
    return (
        f"ResNet-50 ImageNet weights are not available ({reason}). To fix: on a machine with network, "
        f"download {weights_url()} and copy the file {name} into {folder}/ "
        f"(torchvision's cache; TORCH_HOME moves it), or set ARTSIM_WEIGHTS=/path/to/{name}. "
        "The efficientnet-lite0 and style models work offline."
    )


def resnet50_weights_status(weights: str | os.PathLike | None = None) -> WeightsStatus:
    """Find the ResNet-50 weights file in resolution order; never touches the network."""
    for source, given in (("argument", weights), ("ARTSIM_WEIGHTS", config.weights_file())):
        if given is None:
            continue
        path = Path(given).expanduser()
        if path.is_file():
            return WeightsStatus(source, str(path), True, f"ResNet-50 weights from {source}: {path}")
        what = "the weights argument" if source == "argument" else "ARTSIM_WEIGHTS"
        hint = "" if source == "argument" else " (unset it to use the torch cache)"
        return WeightsStatus(source, str(path), False, f"{what} names {path}, which is not a file{hint}")
    cached = hub_checkpoint_dir() / weights_file_name()
    if cached.is_file():
        return WeightsStatus(
            "torch-cache", str(cached), True, f"ResNet-50 weights from torch cache: {cached}"
        )
    return WeightsStatus(
        "download", str(cached), False, how_to_fix("not in the torch cache, not downloaded yet")
    )


def resolve_resnet50_weights(
    weights: str | os.PathLike | None = None, *, allow_download: bool = True, progress: bool = True
) -> WeightsStatus:
    """A present weights file (downloading it into the torch cache if needed and allowed).

    Raises
    ------
    WeightsUnavailable
        A named file is missing, downloads are disabled, or the download failed;
        the message says how to provide the file.
    """
    status = resnet50_weights_status(weights)
    if status.present:
        return status
    if status.source != "download":
        raise WeightsUnavailable(status.message)
    if not allow_download:
        raise WeightsUnavailable(how_to_fix("not in the torch cache and downloading is disabled"))
    from artsim.sources import http

    dest = Path(status.path)
    url = weights_url()
    match = _HASH_IN_NAME.search(dest.name)
    try:
        http.probe(url, PROBE_TIMEOUT)
        http.download_file(
            url, dest, timeout=DOWNLOAD_TIMEOUT, sha256_prefix=match and match.group(1), progress=progress
        )
    except (FetchError, OSError) as exc:
        raise WeightsUnavailable(how_to_fix(f"download from {url} failed: {exc}")) from exc
    return WeightsStatus("download", str(dest), True, f"ResNet-50 weights downloaded to {dest}")


def load_state_dict_file(path: str | os.PathLike, what: str) -> dict:
    """Load a state dict with ``torch.load(weights_only=True)``: tensors only, no code runs.

    Accepts a plain ``{name: tensor}`` dict, one wrapped as ``{"state_dict": ...}``
    or ``{"model": ...}``, and ``module.`` prefixes from DataParallel checkpoints.

    Raises
    ------
    WeightsUnavailable
        Unreadable file, a pickle with objects other than tensors, or not a state dict.
    """
    import torch

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
