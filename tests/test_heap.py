"""dashboard.heap: the long-lived heap leaves the per-run collection's reach, and garbage is still collected.

Each check runs in a fresh interpreter: freezing is process-wide.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import gc, json, sys, time
from dashboard import heap

out = {}
import pandas, pyarrow  # a heap like the server's after its start-up imports
out["tracked_before"] = len(gc.get_objects())
out["first"] = heap.settle()
out["tracked_after"] = len(gc.get_objects())
out["frozen"] = heap.frozen()
out["again"] = heap.settle()  # nothing new: nothing to do

class Node:
    pass

a, b = Node(), Node()
a.other, b.other = b, a  # a cycle made after the freeze is still garbage to the collector
del a, b
out["collected"] = gc.collect()

import decimal, fractions, statistics  # new modules: freeze again
out["after_import"] = heap.settle()
out["freezes"] = heap._state["freezes"]

heap._state["slow"] = True  # a slow full collection seen by the gc.callbacks hook
out["after_slow"] = heap.settle()
print(json.dumps(out))
"""


def probe() -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_settle_freezes_what_was_imported_and_still_collects_new_garbage():
    out = probe()
    assert out["first"] is True
    # pandas and pyarrow leave tens of thousands of tracked objects; after settling the collector sees almost none
    assert out["tracked_before"] > 30_000
    assert out["tracked_after"] < out["tracked_before"] // 20
    assert out["frozen"] >= out["tracked_before"] * 0.9
    assert out["again"] is False
    assert out["collected"] >= 2  # the two nodes of the cycle (and their __dict__s)
    assert out["after_import"] is True and out["freezes"] == 2
    assert out["after_slow"] is True


def test_the_hook_flags_only_slow_full_collections():
    from dashboard import heap

    heap._state["slow"] = False
    heap._watch("start", {"generation": 0})
    heap._watch("stop", {"generation": 0})
    heap._watch("start", {"generation": 2})
    time.sleep(0.1)  # wall time, no CPU: not slow
    heap._watch("stop", {"generation": 2})
    assert heap._state["slow"] is False
    heap._watch("start", {"generation": 2})
    heap._started.t -= 1.0  # a collection that took a second of this thread's CPU
    heap._watch("stop", {"generation": 2})
    assert heap._state["slow"] is True
    heap._state["slow"] = False
