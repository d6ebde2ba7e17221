"""Weights-file digests remembered by (path, size, mtime), so a start does not rehash 100 MB.

A fingerprint needs the sha256 of the weights file; hashing ResNet-50's 98 MB
takes about 0.3 s, on every start of the CLI or the app. The digest is kept in
``$ARTSIM_HOME/weights-digests.json`` keyed by the file's resolved path, size
and ``mtime_ns``: a replaced or touched file is hashed again. A missing,
unreadable or corrupt record only means hashing again (never an error).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from artsim import config
from artsim.files import atomic_write, sha256_file

RECORD_NAME = "weights-digests.json"
_MAX_ENTRIES = 64  # a handful of weights files per machine; bound the record anyway
_LOCK = threading.Lock()


def record_path() -> Path:
    """Where the digests are remembered (under ``ARTSIM_HOME``)."""
    return config.home() / RECORD_NAME


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data, dict) else {}


def weights_digest(path: str | os.PathLike) -> str:
    """Hex sha256 of the file ``path``, hashed only when its (path, size, mtime) is new.

    Raises ``OSError`` if the file cannot be read.
    """
    real = os.path.realpath(path)
    st = os.stat(real)
    key = f"{real}\0{st.st_size}\0{st.st_mtime_ns}"
    record = record_path()
    with _LOCK:
        known = _read(record)
        if key in known:
            return known[key]
    digest = sha256_file(real)
    with _LOCK:
        known = _read(record)
        known[key] = digest
        while len(known) > _MAX_ENTRIES:
            known.pop(next(iter(known)))
        try:
            atomic_write(record, json.dumps(known, indent=0).encode())
        except OSError:  # a read-only home: the digest is still right, only not remembered
            pass
    return digest
