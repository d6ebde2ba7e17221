"""Where artsim keeps things and what it lets strangers store, read from the environment at call time.

Places: ``ARTSIM_HOME`` (default ``~/.cache/artsim``), ``ARTSIM_DB`` (a LanceDB
URI, default ``$ARTSIM_HOME/db``), ``ARTSIM_GALLERY`` (a folder shown instead of
the default gallery), ``ARTSIM_WEIGHTS`` (a ResNet-50 state-dict file),
``ARTSIM_EXPORTS`` (the models' ONNX exports, default ``$ARTSIM_HOME/onnx``) and
``ARTSIM_MODEL`` (the default model name).

Limits on collections (a hosted instance is open to anyone):
``ARTSIM_MAX_COLLECTIONS_PER_HOUR`` (new collections per hour, whole server),
``ARTSIM_MAX_SESSION_COLLECTIONS`` (new collections per browser session),
``ARTSIM_MAX_COLLECTION_PAINTINGS``, ``ARTSIM_MAX_COLLECTION_MB`` (per collection)
and ``ARTSIM_STORE_QUOTA_MB`` (all uploaded images together). Tours alike:
``ARTSIM_MAX_TOURS_PER_HOUR`` (whole server) and ``ARTSIM_MAX_SESSION_TOURS``
(per browser session). ``0`` means no limit.

``ARTSIM_KEEP_VERSIONS_S``: table versions younger than this many seconds survive
a compaction (another process may still be reading them).

``ARTSIM_LARGE_N``: one threshold for every large-collection view (tests, demos; see
:func:`large_n`).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

#: Defaults of the integer settings below (``0`` = no limit).
DEFAULTS = {
    "ARTSIM_MAX_COLLECTIONS_PER_HOUR": 120,
    "ARTSIM_MAX_SESSION_COLLECTIONS": 5,
    "ARTSIM_MAX_COLLECTION_PAINTINGS": 500,
    "ARTSIM_MAX_COLLECTION_MB": 200,
    "ARTSIM_STORE_QUOTA_MB": 5000,
    "ARTSIM_MAX_TOURS_PER_HOUR": 120,
    "ARTSIM_MAX_SESSION_TOURS": 10,
    "ARTSIM_KEEP_VERSIONS_S": 60,
}


def home() -> Path:
    """artsim's cache and data folder."""
    return Path(os.environ.get("ARTSIM_HOME") or Path.home() / ".cache" / "artsim").expanduser()


def db_uri() -> str:
    """LanceDB URI of the embedding store (a folder path or an object-store URI)."""
    return os.environ.get("ARTSIM_DB") or str(home() / "db")


def exports_dir() -> Path:
    """``ARTSIM_EXPORTS``, else ``$ARTSIM_HOME/onnx``: the models' ONNX exports.

    Derived from the weights and rebuilt when missing (seconds of CPU each), so
    homes that differ in everything else (replicas, containers, test servers) can
    share one folder; each file is keyed by the model, its weights and the export
    version, and written atomically.
    """
    env = os.environ.get("ARTSIM_EXPORTS")
    return Path(env).expanduser() if env else home() / "onnx"


def gallery_dir() -> Path:
    """``ARTSIM_GALLERY``, else where the self-portrait gallery is fetched to (``$ARTSIM_HOME/gallery``).

    Which gallery is shown (that one, or the bundled demo gallery when nothing was
    fetched) is decided by :func:`artsim.sources.gallery.choose_gallery`.
    """
    env = os.environ.get("ARTSIM_GALLERY")
    return Path(env).expanduser() if env else home() / "gallery"


def weights_file() -> Path | None:
    """A ResNet-50 state-dict file named by ``ARTSIM_WEIGHTS``, if any."""
    env = os.environ.get("ARTSIM_WEIGHTS")
    return Path(env).expanduser() if env else None


def model_override() -> str | None:
    """The default model named by ``ARTSIM_MODEL``, if any."""
    return os.environ.get("ARTSIM_MODEL") or None


def setting(name: str) -> int:
    """Integer setting ``name`` (a key of :data:`DEFAULTS`) from the environment; bad values give the default."""
    default = DEFAULTS[name]
    try:
        return max(0, int(os.environ.get(name, default)))
    except ValueError:
        return default


def keep_versions() -> timedelta:
    """How long superseded table versions are kept by a compaction (``ARTSIM_KEEP_VERSIONS_S``)."""
    return timedelta(seconds=setting("ARTSIM_KEEP_VERSIONS_S"))


def large_n(default: int) -> int:
    """A large-collection threshold: ``default``, or ``ARTSIM_LARGE_N`` when that is a positive integer.

    ``ARTSIM_LARGE_N`` moves every large-collection switch of the app at once
    (the sampled clustering tree shown by its top levels, the k-NN graph from the
    ANN index, the index built by ``artsim index``), so tests and demos show the
    large views on a few hundred paintings. Unset (or bad): each decision's own
    constant (``clustering.LINKAGE_MAX_N``, ``ann.ANN_MIN_ROWS``).
    """
    try:
        value = int(os.environ.get("ARTSIM_LARGE_N", "0"))
    except ValueError:
        return default
    return value if value > 0 else default
