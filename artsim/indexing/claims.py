"""Advisory claims on chunks of work, and a work lock per database, so writers on one machine
split a job instead of repeating it or fighting over the cores.

A claim is a file created with ``O_CREAT | O_EXCL`` (atomic on a local file
system) in a folder of the system's temp directory named after the database
URI; it holds the owner's pid. A claim whose owner has exited, or that is
older than :data:`STALE_AFTER`, counts as free. Claims are only an
optimisation: the store stays correct without them (writers skip stored keys
and compaction deletes duplicates), so writers on other machines, or a temp
folder that cannot be written, merely do some work twice.

:func:`work_lock` lets one chunk at a time be embedded into a database from
this machine. The model already uses every core (OpenMP), so two processes
embedding at once gain nothing and lose much: their thread teams oversubscribe
the cores and spin at each other's barriers. With the lock, two writers take
turns chunk by chunk and only their start-up (imports, model load) runs side
by side. It is per database, so unrelated jobs (tests on their own temporary
stores) never wait for each other.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["STALE_AFTER", "WAIT_AT_MOST", "Claim", "claim_dir", "work_lock"]

STALE_AFTER = 600.0
"""Seconds after which a claim is ignored even if its owner still runs (a hung writer)."""
WAIT_AT_MOST = 120.0
"""Seconds a writer waits for the work lock before it goes on without it (one chunk takes far less)."""


def claim_dir(uri: str) -> Path:
    """The claims folder of the database at ``uri`` (shared by every process on this machine)."""
    return Path(tempfile.gettempdir()) / f"artsim-claims-{hashlib.sha256(uri.encode()).hexdigest()[:16]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


class Claim:
    """A claim on the chunk made of ``keys`` (its name is their digest)."""

    def __init__(self, folder: Path, keys: Iterable[str]) -> None:
        self.path = folder / hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]
        self.held = False

    def acquire(self) -> bool:
        """Take the claim unless a live owner holds it; True when this process now holds it."""
        for _ in range(2):
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                if self.busy():
                    return False
                self.path.unlink(missing_ok=True)  # stale: its owner died or hung
                continue
            except OSError:
                return True  # no claims folder here: work without coordination
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            self.held = True
            return True
        return False

    def busy(self) -> bool:
        """Whether another live process holds the claim."""
        try:
            pid = int(self.path.read_text() or 0)
            age = time.time() - self.path.stat().st_mtime
        except (OSError, ValueError):
            return False
        if not pid:  # created, pid not written yet
            return age < 5
        return pid != os.getpid() and age < STALE_AFTER and _alive(pid)

    def wait(self, poll: float = 0.1) -> None:
        """Block until no live process holds the claim."""
        while self.busy():
            time.sleep(poll)

    def release(self) -> None:
        """Give the claim up (after the chunk's vectors are stored)."""
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False


@contextmanager
def work_lock(folder: Path, timeout: float = WAIT_AT_MOST, poll: float = 0.05) -> Iterator[bool]:
    """Hold the work lock of a claims ``folder`` (:func:`claim_dir`; ``flock`` on a file) for the block.

    Yields whether the lock is held: after ``timeout`` seconds of waiting (a hung
    holder), or where ``flock`` is unavailable, the block runs without it. The
    kernel drops the lock of a process that dies.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / "work.lock", os.O_CREAT | os.O_RDWR, 0o600)
    except (ImportError, OSError):
        yield False
        return
    held = False
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    break
                time.sleep(poll)
        yield held
    finally:
        if held:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
