"""Teaching tools through AppTest: artist intervals on the Similarity page, export, tours."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from artsim.artist_bootstrap import artist_intervals
from tests.app_fixtures import make_collection
from tests.test_app import APP, page, settle


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("teaching")
    return {
        "ARTSIM_HOME": str(root / "home"), "ARTSIM_DB": str(root / "db"),
        "ARTSIM_GALLERY": str(make_collection(root / "gallery")), "ARTSIM_MODEL": "efficientnet-lite0",
        "TORCH_HOME": str(root / "torch"),
    }


def _open(env, monkeypatch, name: str, **params) -> AppTest:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ARTSIM_WEIGHTS", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    settle(at)
    for _ in range(240):  # a fresh store: wait until every painting is embedded
        ctx = at.session_state["artsim_context"]
        if len(ctx.frame) == 9 and not ctx.embedding:
            break
        time.sleep(0.5)
        settle(at)
    at.switch_page(page(name)).run()
    assert not at.exception, at.exception
    return at


def test_artist_intervals_follow_the_share_link(env, monkeypatch):
    at = _open(env, monkeypatch, "similarity", level="artists", ci="1", seed="7")
    assert at.toggle(key="intervals_widget").value
    ctx = at.session_state["artsim_context"]
    table = next(d.value for d in at.dataframe if "order" in d.value.columns)
    want = artist_intervals(ctx.vectors, ctx.frame["artist"].tolist(), replicates=200, seed=7, center=True)
    assert len(table) == len(want) == 6
    np.testing.assert_allclose(table["low"], want["low"].round(3))
    np.testing.assert_allclose(table["high"], want["high"].round(3))
    assert set(table["order"]) <= {"stable", "unsure"}
    assert any(c.value.startswith("How to read this") and "seed 7" in c.value for c in at.caption)
    # switched off: no intervals, and the link forgets them
    at.toggle(key="intervals_widget").set_value(False).run()
    assert "ci" not in at.query_params
    assert not any(c.value.startswith("How to read this") for c in at.caption)


def test_export_panel_offers_the_selection_and_a_citation(env, monkeypatch):
    at = _open(env, monkeypatch, "similarity", level="artists")
    buttons = at.sidebar.get("download_button")
    labels = [b.proto.label for b in buttons]
    assert labels == ["Selection as CSV (9 paintings)", "Selection as Parquet (vectors as float32)"]
    line = next(c.value for c in at.sidebar.code if c.value.startswith("artsim view of 9 paintings"))
    assert "model efficientnet-lite0." in line and "level=artists" in line
    assert line.endswith(f"(accessed {date.today().isoformat()}).")
    # every figure on the page has its HTML button
    assert [b.proto.label for b in at.main.get("download_button")] == ["Figure as HTML"]
