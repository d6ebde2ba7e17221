"""Server start-up work: numba's cache folder and the UMAP wait message (no compiling here)."""

from __future__ import annotations

import os
import subprocess
import sys

from dashboard import startup


def test_numba_cache_goes_under_artsim_home_before_numba_is_imported(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["ARTSIM_HOME"] = str(tmp_path)
    code = (
        "import os, sys; from dashboard import startup; startup.configure_numba(); "
        "import numba; print(os.environ['NUMBA_CACHE_DIR'], numba.config.CACHE_DIR)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(tmp_path / "numba")] * 2
    assert (tmp_path / "numba").is_dir()


def test_an_explicit_numba_cache_dir_wins(tmp_path):
    env = {**os.environ, "ARTSIM_HOME": str(tmp_path / "home"), "NUMBA_CACHE_DIR": str(tmp_path / "mine")}
    code = "import os; from dashboard import startup; startup.configure_numba(); print(os.environ['NUMBA_CACHE_DIR'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(tmp_path / "mine")


def test_the_wait_message_says_what_and_how_long(monkeypatch):
    monkeypatch.setitem(startup._state, "status", "idle")
    assert "compiling" in startup.wait_message() and "30-60 s" in startup.wait_message()
    monkeypatch.setitem(startup._state, "status", "warming")
    monkeypatch.setitem(startup._state, "since", 0.0)
    assert "started" in startup.wait_message() and "s ago" in startup.wait_message()
    monkeypatch.setitem(startup._state, "status", "compiled")  # in the disk cache, not loaded here yet
    assert "compiling" not in startup.wait_message() and "a few seconds" in startup.wait_message()
    monkeypatch.setitem(startup._state, "status", "ready")
    assert startup.wait_message() == "Projecting to 3-D with UMAP…"


def test_preload_imports_what_it_can_and_names_the_rest():
    assert startup.preload(("json", "artsim_no_such_module")) == ["artsim_no_such_module"]
    assert "json" in sys.modules


def test_the_warm_up_waits_for_a_served_view_then_for_quiet(monkeypatch):
    served = startup.threading.Event()
    monkeypatch.setitem(startup._activity, "served", served)
    monkeypatch.setitem(startup._activity, "last", 0.0)
    assert not startup.wait_for_quiet(latest_s=0.05, quiet_s=0.0, poll_s=0.01)  # nobody came: gives up
    startup.script_started()
    startup.script_finished()
    assert served.is_set() and startup._activity["last"] > 0
    assert startup.wait_for_quiet(latest_s=30, quiet_s=0.0, poll_s=0.01)  # served and quiet
    startup.script_started()
    assert not startup.wait_for_quiet(latest_s=0.05, quiet_s=30, poll_s=0.01)  # a run just started: not quiet

