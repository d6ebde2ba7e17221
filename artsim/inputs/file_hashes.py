"""File digests kept on disk, so the next process does not re-hash an unchanged folder.

A scan hashes every image (SHA-256 is a painting's identity). For a folder that
has not changed since the last run that is wasted work: 1,000 paintings of
100 KB-2 MB take 0.3-2 s to hash. :func:`load_hashes` returns the digests known
from earlier runs keyed by what a change of the file changes: path, size,
``st_mtime_ns``, ``st_ctime_ns`` (set by the kernel on every write, even when
the mtime is put back) and the inode (a file replaced by a rename). A changed
file misses the cache and is read again.

Racy entries are never kept: a file modified less than :data:`RACY_NS` before
it was hashed could change again within the same timestamp tick without
changing its key, so its digest is not saved (the next run hashes it again).
Writes are atomic (:func:`artsim.files.atomic_write`); two processes saving at
once lose nothing but some entries, which only costs a re-hash. A damaged file
reads as empty.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import MutableMapping
from pathlib import Path

from artsim import config
from artsim.files import atomic_write

__all__ = ["MAX_ENTRIES", "RACY_NS", "HashKey", "file_key", "hashes_path", "load_hashes", "save_hashes"]

HashKey = tuple[str, int, int, int, int]
"""(path, size, mtime_ns, ctime_ns, inode) of a file."""
#: Entries kept on disk at most (about 150 bytes each); the latest hashed win.
MAX_ENTRIES = 200_000
#: A file changed this recently (ns) before the save is not saved (see the module notes).
RACY_NS = 2_000_000_000
_VERSION = 1


def hashes_path() -> Path:
    """Where the digests are kept: ``ARTSIM_HOME/file-hashes.json``."""
    return config.home() / "file-hashes.json"


def file_key(path: str | os.PathLike[str], st: os.stat_result) -> HashKey:
    """The cache key of ``path`` with its ``os.stat`` result ``st``."""
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def load_hashes(path: str | os.PathLike[str] | None = None) -> dict[HashKey, str]:
    """Digests saved by earlier runs (empty when there is no file or it cannot be read)."""
    target = Path(path) if path is not None else hashes_path()
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
        if data.get("version") != _VERSION:
            return {}
        out: dict[HashKey, str] = {}
        for name, size, mtime, ctime, ino, digest in data["entries"]:
            if isinstance(name, str) and isinstance(digest, str) and len(digest) == 64:
                out[(name, int(size), int(mtime), int(ctime), int(ino))] = digest
        return out
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def save_hashes(
    hashes: MutableMapping[HashKey, str], path: str | os.PathLike[str] | None = None, *, now_ns: int | None = None
) -> int:
    """Write ``hashes`` (the last :data:`MAX_ENTRIES`, racy entries left out); returns entries written.

    A failure to write (read-only home) is silent: the cache only saves time.
    """
    now = time.time_ns() if now_ns is None else now_ns
    entries = [
        [*key, digest] for key, digest in list(hashes.items())[-MAX_ENTRIES:]
        if max(key[2], key[3]) < now - RACY_NS
    ]
    try:
        atomic_write(Path(path) if path is not None else hashes_path(),
                     json.dumps({"version": _VERSION, "entries": entries}, separators=(",", ":")).encode())
    except OSError:
        return 0
    return len(entries)
