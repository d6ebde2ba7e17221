"""One lock per collection or tour, held while a writer checks its limits and writes.

A check ("10 paintings at most", "40 steps at most", "120 new tours an hour")
followed by a write is a race when two sessions do it at once: both read 8, both
add 2, the collection holds 12. So every such check-and-write runs under
:func:`held` for its key, and the read it checks happens inside the lock.

Replicas of the app may share one store, so the lock must hold across processes:

- a local store (a folder, ``file://``): an OS file lock (``filelock``) on a file
  in ``<db>/.artsim-locks/``. Per-item keys are hashed onto :data:`STRIPES` lock
  files, so the folder stays small however many tours there are (two keys on one
  stripe only wait for each other); store-wide keys have a file each. A process
  that dies holding the lock releases it (the OS drops the lock with the process).
- object storage (``s3://``, ``gs://``, ``az://``...): there is no shared file to
  lock, so the lock only holds within one process (a thread lock per stripe).
  Replicas writing to the same object store can then still race on one
  collection or tour; run a single writer replica (or route a collection's
  edits to one replica) there, or put the database on a shared filesystem.

A lock that cannot be taken within :data:`TIMEOUT_S` raises :class:`StoreError`
(a stuck writer must not hang a visitor's page for ever).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import filelock

from artsim.errors import StoreError

__all__ = ["LOCKS_DIR", "STRIPES", "TIMEOUT_S", "held", "lock_path"]

LOCKS_DIR = ".artsim-locks"
#: Lock files per store: keys are hashed onto these.
STRIPES = 64
#: Longest wait for a lock, in seconds.
TIMEOUT_S = 30.0
_THREAD_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_GUARD = threading.Lock()


def _stripe(key: str) -> str:
    """``key``'s lock name: a per-item key (``kind:id``) hashed onto a stripe; a store-wide key as itself."""
    if ":" not in key:
        return key
    return f"{int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], 'big') % STRIPES:02d}"


def lock_path(uri: str, key: str) -> Path | None:
    """The lock file of ``key`` in the local store at ``uri``, or None for object storage."""
    if "://" in uri and not uri.startswith("file://"):
        return None
    return Path(uri.removeprefix("file://")) / LOCKS_DIR / f"{_stripe(key)}.lock"


@contextmanager
def held(uri: str, key: str, timeout: float = TIMEOUT_S) -> Iterator[None]:
    """Hold the lock of ``key`` in the store at ``uri`` for the ``with`` block.

    ``key`` is ``"kind:id"`` for one collection or tour (``"tour:<id>"``), or a
    store-wide name without a colon (``"tours-create"``, ``"images"``) with a lock
    file of its own. Not re-entrant. Nest at most a store-wide lock inside a
    per-item one, never the other way round (no deadlock).
    """
    with _GUARD:
        local = _THREAD_LOCKS.setdefault((uri, _stripe(key)), threading.Lock())
    if not local.acquire(timeout=timeout):
        raise StoreError(f"another edit of {key.split(':')[0]} is taking too long here: try again in a moment")
    try:
        path = lock_path(uri, key)
        if path is None:
            yield
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with filelock.FileLock(path, timeout=timeout, preserve_lock_file=True):
                yield
        except filelock.Timeout as exc:
            raise StoreError(
                f"another edit of {key.split(':')[0]} is taking too long: try again in a moment"
            ) from exc
    finally:
        local.release()
