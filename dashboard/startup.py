"""Work a server does once, off the request path: imports ahead of the first visitor, numba's disk cache
and the UMAP warm-up.

**Imports ahead.** At server start a thread imports what the router and the
Gallery need (LanceDB, pandas, the cached layer) and opens the store's vector
and thumbnail tables with their key indexes (:func:`open_store`): about 1-2 s
on 2 cores, spent while the first browser is still loading Streamlit's front
end. A script run that needs one of those modules meanwhile waits for that
import (Python's import lock), so nothing is imported twice.

**UMAP warm-up.** UMAP's first fit in a process compiles numba kernels (27-60 s
on 2 cores). A background thread launches ``python -m dashboard.startup`` at the
lowest CPU priority: a child process that fits a tiny UMAP and fills numba's
on-disk cache under ``ARTSIM_HOME/numba`` (so a restart does not compile again).
Every kernel goes to that cache, including those umap-learn leaves uncached
(:mod:`artsim.analysis.umap_kernels`). Then the thread loads the kernels into the server
process with one more tiny fit (0.1 s after the 2 s import). A child, not the
thread itself, does the compiling because compiling holds the GIL for tens of
seconds and would slow every page of the first visitors. The child starts once
a first view has been served and no script has run for :data:`QUIET_S` (or
:data:`WARMUP_LATEST_S` after start at the latest); the in-process steps, which
hold the GIL, wait for such a quiet moment up to :data:`IN_PROCESS_LATEST_S`, so
that they never hold up a visitor's page.

**Models.** After the warm-up, at quiet moments, the server imports the model
libraries and measures the runtimes of models not yet measured on this machine;
at start it fetches ResNet-50's weights if they are missing
(:mod:`dashboard.model_prep`).

At module level this imports only the standard library and ``artsim.config``
(itself standard library only): the server imports it before it serves
anything. What the work needs is declared below and imported when used.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from artsim import config, lazy
from dashboard import heap  # standard library only

np = lazy.load("numpy")
projection = lazy.load("artsim.analysis.projection")  # the warm-up fit: scikit-learn, umap, numba
store_vectors = lazy.load("artsim.store.vectors")  # its table names
handles = lazy.load("dashboard.handles")  # the store handle the pages share (Streamlit)
model_prep = lazy.load("dashboard.model_prep")  # ResNet-50's weights, runtime measurement

#: Niceness of the compiling child (0 = normal, 19 = lowest priority): it takes only idle CPU.
WARMUP_NICE = 19
#: The warm-up starts once no script has run for this long after a first view (seconds).
QUIET_S = 2.0
#: ... or this long after the server started, whether or not anyone came (seconds).
WARMUP_LATEST_S = 20.0
#: The in-process steps (loading the cached kernels, importing torch) hold the GIL for seconds:
#: they wait for a quiet server up to this long (seconds). A UMAP asked for meanwhile imports
#: what it needs itself (about 2 s once the kernels are in numba's disk cache).
IN_PROCESS_LATEST_S = 600.0
#: What the server imports ahead of its first visitor (see the module notes).
PRELOAD = ("lancedb", "pandas", "artsim.store.vectors", "artsim.inputs.collection", "dashboard.cache", "dashboard.embedding")
#: What a cold UMAP compilation costs here, for the wait message (seconds, 2 cores).
COLD_COMPILE_S = (30, 60)

_lock = threading.Lock()
_state: dict[str, Any] = {"status": "idle", "since": None}
_activity: dict[str, Any] = {"last": 0.0, "served": threading.Event()}
_preload: dict[str, Any] = {"started": False, "imported": threading.Event()}


def numba_cache_dir() -> Path:
    """Where numba keeps compiled kernels: ``ARTSIM_HOME/numba``."""
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
    """'idle' (not started), 'warming' (the child compiles), 'compiled' (the kernels are in numba's
    disk cache, not yet loaded here), 'ready' or 'failed'."""
    return _state["status"]


def wait_message() -> str:
    """What a UMAP request waits for now, in words, with a rough duration."""
    if status() == "ready":
        return "Projecting to 3-D with UMAP…"
    if status() == "compiled":
        return "Projecting to 3-D with UMAP (loading its compiled kernels: a few seconds the first time)…"
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


def warm_fit() -> None:
    """One small UMAP fit and transform through artsim's own code path (compiles or loads kernels).

    The compiling child runs it; so does the test run's one compile (tests/conftest.py)."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 32)).astype(np.float32)
    fitted = projection.fit_projection(vectors, "umap", seed=0, n_neighbors=10, min_dist=0.1, center=True)
    fitted.transform(vectors[:3])


def script_started() -> None:
    """The router calls this as a script run begins (the warm-up waits for quiet)."""
    _activity["last"] = time.monotonic()


def script_finished() -> None:
    """The router calls this when a script run ends: a view has been served."""
    _activity["last"] = time.monotonic()
    _activity["served"].set()
    heap.settle()  # new imports out of the per-run collection's way (cheap when nothing changed)


def wait_for_quiet(latest_s: float, quiet_s: float = QUIET_S, poll_s: float = 0.25) -> bool:
    """Block until a view has been served and no script has started or ended for ``quiet_s``
    (True), or ``latest_s`` has passed (False)."""
    deadline = time.monotonic() + latest_s
    while time.monotonic() < deadline:
        if _activity["served"].wait(min(poll_s, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() - _activity["last"] >= quiet_s:
                return True
            time.sleep(poll_s)
    return False


def preload(modules: tuple[str, ...] = PRELOAD) -> list[str]:
    """Import ``modules`` (the ones that fail are returned: the script that needs one will say why)."""
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - only a head start; the page reports a real failure
            failed.append(name)
    return failed


def open_store() -> None:
    """Open the app's store handle (the one ``dashboard.cache.store`` shares) and its vector and
    thumbnail tables with their key indexes, so the first view reads rows at once (best effort)."""
    try:
        db = handles.store(config.db_uri()).db
        if not db.uri.startswith(("s3://", "gs://", "az://")) and not os.path.isdir(db.uri):
            return  # nothing stored yet: do not create the database here
        for name in db.table_names():
            if name.startswith(store_vectors.EMBEDDINGS_PREFIX) or name == store_vectors.THUMBNAILS_TABLE:
                table = db.open(name)
                if table is not None:
                    with db.lock:
                        db.key_index(name, table)
    except Exception:  # noqa: BLE001 - only a head start; the page reports a real failure
        pass


def _run_preload() -> None:
    try:
        preload()
    finally:
        _preload["imported"].set()
    open_store()
    heap.settle()


def start_preload() -> None:
    """Import ahead and open the store in a background thread (once per process)."""
    with _lock:
        if _preload["started"]:
            return
        _preload["started"] = True
    threading.Thread(target=_run_preload, name="artsim-preload", daemon=True).start()


def wait_preloaded(timeout_s: float = 60.0) -> None:
    """Wait for the imports started by :func:`start_preload`, if any (the router calls this before
    its own imports: two threads importing the same modules at once could meet a circular
    import half-initialised)."""
    if _preload["started"]:
        _preload["imported"].wait(timeout_s)


def _warm(delay_s: float = 0.0) -> None:
    if delay_s:
        wait_for_quiet(delay_s)
    env = dict(os.environ)
    env.setdefault("NUMBA_CACHE_DIR", str(numba_cache_dir()))
    try:
        child = subprocess.run(
            [sys.executable, "-m", "dashboard.startup"],
            env=env, check=False, timeout=600,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # no preexec_fn: LanceDB is loaded by now, so no fork() (vfork/posix_spawn); the child renices itself
        if child.returncode == 0:
            _state["status"] = "compiled"
        wait_for_quiet(IN_PROCESS_LATEST_S)  # the in-process import holds the GIL: not during a view
        warm_fit()  # loads the cached kernels into this process (0.1 s once imported)
    except Exception:  # noqa: BLE001 - a failed warm-up only means the first map compiles
        _state["status"] = "failed"
        return
    _state["status"] = "ready"
    wait_for_quiet(IN_PROCESS_LATEST_S)
    preload(model_prep.MODEL_RUNTIME)  # the first explanation or upload then costs 0.1 s, not 3 s
    heap.settle()
    wait_for_quiet(IN_PROCESS_LATEST_S)
    model_prep.measure_runtimes()


def start_warmup(delay_s: float = 0.0) -> bool:
    """Start the UMAP warm-up once per process; False when it was already started.

    With ``delay_s``, the warm-up first waits for a served view and a quiet
    server, or ``delay_s`` at most (:func:`wait_for_quiet`).
    """
    with _lock:
        if _state["status"] != "idle":
            return False
        _state.update(status="warming", since=time.monotonic())
    configure_numba()
    threading.Thread(target=_warm, args=(delay_s,), name="artsim-umap-warmup", daemon=True).start()
    return True


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """``st.App`` lifespan: set numba's cache folder, import ahead, queue the warm-up, then serve."""
    configure_numba()
    start_preload()
    if os.environ.get("ARTSIM_FETCH_WEIGHTS", "1") != "0":
        model_prep.start_weights_fetch()
    if os.environ.get("ARTSIM_UMAP_WARMUP", "1") != "0":
        start_warmup(delay_s=WARMUP_LATEST_S)  # measures the runtimes after the warm-up
    elif os.environ.get("ARTSIM_MEASURE", "1") != "0":
        threading.Thread(target=_measure_later, name="artsim-runtime-measurement", daemon=True).start()
    yield


def _measure_later() -> None:
    wait_for_quiet(WARMUP_LATEST_S)
    model_prep.measure_runtimes()


if __name__ == "__main__":  # the compiling child (see the module notes)
    os.nice(WARMUP_NICE)
    configure_numba()
    warm_fit()
