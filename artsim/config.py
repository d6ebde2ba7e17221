"""Where artsim keeps things, read from the environment at call time.

``ARTSIM_HOME`` (default ``~/.cache/artsim``), ``ARTSIM_DB`` (a LanceDB URI,
default ``$ARTSIM_HOME/db``), ``ARTSIM_GALLERY`` (a folder shown instead of the
default gallery), ``ARTSIM_WEIGHTS`` (a ResNet-50 state-dict file) and
``ARTSIM_MODEL`` (the default model name).
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """artsim's cache and data folder."""
    return Path(os.environ.get("ARTSIM_HOME") or Path.home() / ".cache" / "artsim").expanduser()


def db_uri() -> str:
    """LanceDB URI of the embedding store (a folder path or an object-store URI)."""
    return os.environ.get("ARTSIM_DB") or str(home() / "db")


def gallery_dir() -> Path:
    """The folder of paintings to show: ``ARTSIM_GALLERY`` or the fetched default gallery."""
    env = os.environ.get("ARTSIM_GALLERY")
    return Path(env).expanduser() if env else home() / "gallery"


def weights_file() -> Path | None:
    """A ResNet-50 state-dict file named by ``ARTSIM_WEIGHTS``, if any."""
    env = os.environ.get("ARTSIM_WEIGHTS")
    return Path(env).expanduser() if env else None


def model_override() -> str | None:
    """The default model named by ``ARTSIM_MODEL``, if any."""
    return os.environ.get("ARTSIM_MODEL") or None
