"""Writing files so that a crash or a concurrent reader never sees half of one; hashing files."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def atomic_write(target: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``target``, fsync it, then rename it over ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:40]}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, streamed by :func:`hashlib.file_digest` (the one file hash of artsim)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
