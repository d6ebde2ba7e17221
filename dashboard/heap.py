"""Keep Streamlit's garbage collection after each script run cheap (issue 23.1).

Streamlit calls ``gc.collect()`` after every script run (``runner.postScriptGC``),
so every new session pays one full collection. A full collection walks every
object the collector tracks: once pandas, LanceDB, pyarrow, scipy and torch are
imported that is millions of objects, about 0.2-0.7 s of CPU under the GIL here,
2-7x what the rest of a first view costs (``benchmarks/session_cost.py``).

``gc.freeze()`` moves every object alive now into a permanent generation that
collections skip. The objects that make the heap big (modules, their functions
and classes, the shared ``st.cache_resource`` handles) live as long as the
process, so freezing them loses nothing; later objects (each session's state,
cached results) are collected as before. :func:`settle` freezes after a full
collection, and only when it is worth it: when the set of imported modules has
grown, or when a full collection took more than :data:`SLOW_S` of CPU (measured by a
``gc.callbacks`` hook), at most :data:`MAX_FREEZES` times per process. What it
freezes and later becomes cyclic garbage is not reclaimed (a session open at that
moment), bounded by that count; plain reference counting still frees the rest.

Standard library only.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from typing import Any

#: A full collection slower than this (seconds) asks for a freeze.
SLOW_S = 0.02
#: Freezes per process at most (each keeps what was alive then out of the collector's reach).
MAX_FREEZES = 16

_lock = threading.Lock()
_state: dict[str, Any] = {"modules": 0, "slow": False, "freezes": 0, "installed": False}
_started = threading.local()  # when this thread's full collection began (its CPU clock)


def _watch(phase: str, info: dict[str, int]) -> None:
    """``gc.callbacks`` hook: note a full collection that took more than :data:`SLOW_S` of CPU.

    The collecting thread's CPU time, not the wall clock: a loaded machine does not trigger freezes.
    """
    if info.get("generation") != 2:
        return
    if phase == "start":
        _started.t = time.thread_time()
    elif (began := getattr(_started, "t", None)) is not None:
        _started.t = None
        if time.thread_time() - began > SLOW_S:
            _state["slow"] = True


def install() -> None:
    """Watch full collections (once per process)."""
    with _lock:
        if not _state["installed"]:
            gc.callbacks.append(_watch)
            _state["installed"] = True


def settle() -> bool:
    """Collect and freeze the heap when modules were imported or collections got slow; True if it did.

    Cheap otherwise (a length and a flag). Call it where a pause is acceptable: after the server's
    start-up imports, and at the end of a script run.
    """
    install()
    if len(sys.modules) == _state["modules"] and not _state["slow"]:
        return False
    with _lock:
        if _state["freezes"] >= MAX_FREEZES or (len(sys.modules) == _state["modules"] and not _state["slow"]):
            return False  # the cap, or another thread has just settled
        gc.collect()  # garbage first: a frozen cycle is never reclaimed
        gc.freeze()
        _state.update(modules=len(sys.modules), slow=False, freezes=_state["freezes"] + 1)
    return True


def frozen() -> int:
    """Objects in the permanent generation (``gc.get_freeze_count``)."""
    return gc.get_freeze_count()
