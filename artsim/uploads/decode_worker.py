"""Decode untrusted uploads in worker processes with OS limits: a parser bug costs a worker, not the server.

The caps of :mod:`artsim.inputs.images` and :mod:`artsim.inputs.prescan` bound
what we foresaw. Defence in depth for what we did not: :func:`check_image`
decodes the file in a warm worker process (``python -m
artsim.uploads.decode_worker``, started by ``posix_spawn``, never ``fork``: the
server has LanceDB open) that caps its own address space (``RLIMIT_AS``) before
importing anything heavy, and its CPU seconds (``RLIMIT_CPU``, raised per
file). A file that makes the worker exceed them, crash or run past a wall-clock
deadline gets the reason :data:`TOO_COSTLY`; the worker is replaced and the
batch goes on. The bytes travel through a temporary file, so neither side holds
an extra copy.

Costs (benchmarks/README.md): starting a worker about 0.3 s of one core, once
per server process; a file then adds the temporary file and two pipe messages
(about 1 ms plus 0.1 s per 100 MB written). Up to :data:`MAX_IDLE` warm workers
are kept (each about 60 MB resident).

The protocol on the worker's stdin/stdout: a 4-byte big-endian length, then a
pickle; requests are ``(path, name, max_side)``, replies the refusal reason or
``None``. Only the server writes requests, so unpickling them is safe.
"""

from __future__ import annotations

import atexit
import os
import pickle
import resource
import selectors
import struct
import subprocess
import sys
import tempfile
import threading
import time

__all__ = ["ADDRESS_SPACE_BYTES", "CPU_SECONDS", "MAX_IDLE", "TOO_COSTLY", "WALL_SECONDS", "check_image",
           "shutdown"]

ADDRESS_SPACE_BYTES: int = 1024 * 1024 * 1024
"""``RLIMIT_AS`` of a worker: the interpreter and Pillow map about 120 MB of address space before any
file, the pre-scan maps the file (up to 250 MB, then unmaps it), a decode may use about 300 MB
(image_limits); the rest is headroom. A decode that asks for more fails in the worker."""
CPU_SECONDS: int = 12
"""CPU seconds one file may use in a worker (``RLIMIT_CPU``, soft: the kernel sends SIGXCPU)."""
WALL_SECONDS: float = 60.0
"""Wall-clock seconds before a worker is killed: a backstop for hung decoders (cost is capped in CPU
seconds above; a busy server may stretch 4 CPU seconds to 20 s of wall time)."""
MAX_IDLE: int = 2
"""Warm workers kept between files (concurrent uploads start more, then they exit)."""
TOO_COSTLY = ("too costly to decode: it needed more memory or time than one file may use "
              "(save it again as an ordinary JPEG or PNG)")

_LEN = struct.Struct(">I")
_THREAD_ENV = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


# ----------------------------------------------------------------------------- server side


class _Worker:
    """One worker process and its pipes."""

    def __init__(self) -> None:
        env = dict(os.environ, **_THREAD_ENV)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(  # no preexec_fn: posix_spawn/vfork, never fork after LanceDB
            [sys.executable, "-m", "artsim.uploads.decode_worker", str(ADDRESS_SPACE_BYTES), str(CPU_SECONDS)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True,
        )

    def ask(self, request: tuple[str, str, int], deadline: float) -> str | None:
        """Send one request; returns the reply, or raises ``_Lost`` (worker dead, killed or late)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        payload = pickle.dumps(request)
        try:
            self.proc.stdin.write(_LEN.pack(len(payload)) + payload)
            self.proc.stdin.flush()
        except OSError:
            raise _Lost from None
        size = _LEN.unpack(self._read(_LEN.size, deadline))[0]
        reply = pickle.loads(self._read(size, deadline))
        if reply is not None and not isinstance(reply, str):
            raise _Lost
        return reply

    def _read(self, n: int, deadline: float) -> bytes:
        out = bytearray()
        fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while len(out) < n:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise _Lost
                chunk = os.read(fd, n - len(out))
                if not chunk:
                    raise _Lost
                out += chunk
        return bytes(out)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass


class _Lost(Exception):
    """The worker died, was killed by its limits, or missed the deadline."""


_idle: list[_Worker] = []
_lock = threading.Lock()
_started = 0  # workers started in this process (for tests and benchmarks)


def _take() -> _Worker:
    global _started
    with _lock:
        while _idle:
            worker = _idle.pop()
            if worker.proc.poll() is None:
                return worker
            worker.kill()
        _started += 1
    return _Worker()


def _give(worker: _Worker) -> None:
    with _lock:
        if len(_idle) < MAX_IDLE:
            _idle.append(worker)
            return
    worker.kill()


def shutdown() -> None:
    """Stop the warm workers (at exit; tests)."""
    with _lock:
        workers = list(_idle)
        _idle.clear()
    for worker in workers:
        worker.kill()


atexit.register(shutdown)


def workers_started() -> int:
    """How many workers this process has started so far."""
    return _started


def check_image(data: bytes, name: str, max_side: int = 64) -> str | None:
    """Decode ``data`` with :func:`artsim.inputs.images.load_image` in a sandboxed worker.

    Parameters
    ----------
    data : bytes
        The untrusted file.
    name : str
        Its display name (for reasons).
    max_side : int
        Passed to ``load_image``.

    Returns
    -------
    str or None
        The plain-words reason it is refused (``load_image``'s, or :data:`TOO_COSTLY` when the
        worker hit its limits), or None when it decodes.
    """
    fd, path = tempfile.mkstemp(prefix="artsim-upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        worker = _take()
        try:
            reply = worker.ask((path, name, max_side), time.monotonic() + WALL_SECONDS)
        except _Lost:
            worker.kill()
            return TOO_COSTLY
        _give(worker)
        return reply
    finally:
        os.unlink(path)


# ----------------------------------------------------------------------------- worker side


def _serve(address_space: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    # the decoders load here, in the worker process, under its address-space limit
    from artsim.errors import ImageError
    from artsim.inputs.images import load_image

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, not into the protocol
    inp = sys.stdin.buffer
    while True:
        head = inp.read(_LEN.size)
        if len(head) < _LEN.size:
            return  # the server closed the pipe (or exited)
        path, name, max_side = pickle.loads(inp.read(_LEN.unpack(head)[0]))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        used = int(usage.ru_utime + usage.ru_stime) + 1
        hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        soft = used + cpu_seconds if hard == resource.RLIM_INFINITY else min(used + cpu_seconds, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
        try:
            load_image(path, name, max_side=max_side)
            reply: str | None = None
        except ImageError as exc:
            reply = exc.reason
        except MemoryError:
            reply = TOO_COSTLY
        payload = pickle.dumps(reply)
        out.write(_LEN.pack(len(payload)) + payload)
        out.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), int(sys.argv[2]))
