"""Work a server does once, off the request path: numba's disk cache and the UMAP warm-up.

UMAP's first fit in a process compiles numba kernels (27-60 s on 2 cores).
At server start a background thread launches ``python -m dashboard.startup``
at low CPU priority: a child process that fits a tiny UMAP and fills numba's
on-disk cache under ``ARTSIM_HOME/numba`` (so a restart does not compile
again). Then the thread loads those kernels into the server process with one
more tiny fit. A child, not the thread itself, does the compiling because
compiling holds the GIL for tens of seconds and would slow every page of
the first visitors.

Everything here imports only the standard library at module level: the
server imports this before it serves anything.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

#: Niceness of the compiling child (0 = normal, 19 = lowest priority).
WARMUP_NICE = 10
#: What a cold UMAP compilation costs here, for the wait message (seconds, 2 cores).
COLD_COMPILE_S = (30, 60)

_lock = threading.Lock()
_state: dict[str, Any] = {"status": "idle", "since": None}


def numba_cache_dir() -> Path:
    """Where numba keeps compiled kernels: ``ARTSIM_HOME/numba``."""
    from artsim import config

    return config.home() / "numba"


def configure_numba() -> None:
    """Point numba's on-disk cache at ``ARTSIM_HOME/numba`` (before numba is first imported).

    An explicit ``NUMBA_CACHE_DIR`` in the environment wins. Too late once
    numba is imported (numba reads it at import), so the server calls this
    at start and the router before its first analysis.
    """
    if "numba" in sys.modules:
        return
    path = numba_cache_dir()
    with contextlib.suppress(OSError):
        path.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("NUMBA_CACHE_DIR", str(path))


def status() -> str:
    """'idle' (not started), 'warming', 'ready' or 'failed'."""
    return _state["status"]


def wait_message() -> str:
    """What a UMAP request waits for now, in words, with a rough duration."""
    if status() == "ready":
        return "Projecting to 3-D with UMAP…"
    if status() == "warming" and _state["since"] is not None:
        elapsed = int(time.monotonic() - _state["since"])
        return (
            f"Preparing UMAP on this server (compiling its numba kernels, started {elapsed} s ago; "
            f"a first start takes about {COLD_COMPILE_S[0]}-{COLD_COMPILE_S[1]} s, "
            "later maps take a second or two)…"
        )
    return (
        "Preparing UMAP for its first map on this server (compiling its numba kernels: "
        f"about {COLD_COMPILE_S[0]}-{COLD_COMPILE_S[1]} s the first time, a few seconds once cached)…"
    )


def _tiny_fit() -> None:
    """One small UMAP fit and transform through artsim's own code path (compiles or loads kernels)."""
    import numpy as np

    from artsim.projection import fit_projection

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 32)).astype(np.float32)
    fitted = fit_projection(vectors, "umap", seed=0, n_neighbors=10, min_dist=0.1, center=True)
    fitted.transform(vectors[:3])


def _warm() -> None:
    env = dict(os.environ)
    env.setdefault("NUMBA_CACHE_DIR", str(numba_cache_dir()))
    try:
        subprocess.run(
            [sys.executable, "-m", "dashboard.startup"],
            env=env, check=False, timeout=600,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=lambda: os.nice(WARMUP_NICE),  # noqa: PLW1509 - no threads in the child yet
        )
        _tiny_fit()  # loads the cached kernels into this process
    except Exception:  # noqa: BLE001 - a failed warm-up only means the first map compiles
        _state["status"] = "failed"
        return
    _state["status"] = "ready"


def start_warmup() -> bool:
    """Start the UMAP warm-up once per process; False when it was already started."""
    with _lock:
        if _state["status"] != "idle":
            return False
        _state.update(status="warming", since=time.monotonic())
    configure_numba()
    threading.Thread(target=_warm, name="artsim-umap-warmup", daemon=True).start()
    return True


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """``st.App`` lifespan: set numba's cache folder and start the warm-up, then serve."""
    configure_numba()
    if os.environ.get("ARTSIM_UMAP_WARMUP", "1") != "0":
        start_warmup()
    yield


if __name__ == "__main__":  # the compiling child (see the module notes)
    configure_numba()
    _tiny_fit()
