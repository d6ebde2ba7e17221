"""The Map page through AppTest: the WebGL map of thumbnails, click and box/lasso selection, export.

The store is filled beforehand with seeded vectors and real thumbnails under
efficientnet-lite0's fingerprint (a handle: no model is loaded), so the app
starts warm and these tests take seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artsim import viewstate
from artsim.figures.maps.thumbmap import LAYER_ID
from dashboard import cache, sprite_route
from dashboard.panels import export_panel
from tests.app_fixtures import app_environment
from tests.test_app import open_in


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from artsim.embedding import get_embedder
    from artsim.inputs.collection import scan_folder
    from artsim.inputs.images import load_image, thumbnail_jpeg
    from artsim.store.vectors import EmbeddingStore

    env = app_environment(tmp_path_factory.mktemp("atlas"))
    handle = get_embedder(env["ARTSIM_MODEL"])
    paintings = scan_folder(env["ARTSIM_GALLERY"]).paintings
    vectors = np.random.default_rng(0).normal(size=(len(paintings), handle.dim)).astype(np.float32)
    thumbs = [thumbnail_jpeg(load_image(p.path)) for p in paintings]
    EmbeddingStore(env["ARTSIM_DB"]).add(paintings, vectors, handle, thumbs)
    return env


def test_map_draws_every_thumbnail_from_one_atlas_and_selects(env, monkeypatch):
    at = open_in(env, monkeypatch, "atlas")
    ctx = at.session_state["artsim_context"]
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.json)
    layer = spec["layers"][0]
    assert layer["@@type"] == "IconLayer" and len(layer["data"]) == 9
    name = layer["iconAtlas"].rsplit("/", 1)[1]
    atlas = np.asarray(Image.open(Path(env["ARTSIM_HOME"]) / sprite_route.PREFIX / name))
    assert atlas.shape == (3 * 64, 3 * 64, 3)  # 9 thumbnails in 3 x 3 cells of 64 px
    assert [d["t"].split("\n")[0] for d in layer["data"]] == [
        f"{a} – {t}" for a, t in zip(ctx.frame["artist"], ctx.frame["title"], strict=True)]
    assert not at.header  # nothing selected yet
    # what the browser sends after a click on row 4 and a shift-click on row 1 (and a bogus row)
    key = cache.digest(list(ctx.frame["sha256"]))[:10]
    at.session_state[f"atlas_deck_{key}"] = {"selection": {"indices": {LAYER_ID: [4, 1, 99]}, "objects": {}}}
    at.run()
    assert not at.exception, at.exception
    assert at.header[0].value == "2 selected"
    assert at.session_state["map_selection"] == [ctx.frame["sha256"].iloc[i] for i in (1, 4)]
    labels = [b.proto.label for b in at.main.get("download_button")]
    assert labels == ["Selected as CSV (2)", "Selected as Parquet"]
    # the share link and the sidebar's export hold the selection
    shas = [ctx.frame["sha256"].iloc[i] for i in (1, 4)]
    assert at.query_params["sel"] == viewstate.selection_param(shas)
    at.session_state[export_panel.EXPORT_OPEN] = True  # a click on the sidebar's "Export"
    at.run()
    assert at.sidebar.get("download_button")[0].proto.label == "Selection as CSV (2 paintings)"
    # a new session opened at that link shows the same selection
    other = open_in(env, monkeypatch, "atlas", sel=viewstate.selection_param(shas))
    assert other.header[0].value == "2 selected (from the link)"
    assert other.session_state["map_selection"] == shas


def test_dots_mode_selects_by_box_or_lasso(env, monkeypatch):
    at = open_in(env, monkeypatch, "atlas")
    at.segmented_control(key="atlas_mode").set_value("dots").run()
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["type"] == "scattergl" and not spec["layout"].get("images")
    # what the browser sends after a lasso around paintings 0 and 3 (and a bogus index)
    ctx = at.session_state["artsim_context"]
    at.session_state[f"atlas_dots_{cache.digest(list(ctx.frame['sha256']))[:10]}"] = {"selection": {"points": [], "point_indices": [3, 0, 99], "box": [], "lasso": []}}
    at.run()
    assert not at.exception, at.exception
    assert at.header[0].value == "2 selected"
    assert at.session_state["map_selection"] == [ctx.frame["sha256"].iloc[i] for i in (0, 3)]


def test_map_selects_by_name_as_a_click_does_and_gives_alt_and_table(env, monkeypatch):
    """Issue 24.2: the keyboard's way, a searchable select beside the map, has a click's effect."""
    at = open_in(env, monkeypatch, "atlas")
    ctx = at.session_state["artsim_context"]
    key = cache.digest(list(ctx.frame["sha256"]))[:10]
    alt = at.get("deck_gl_json_chart")[0].proto.alt
    assert alt.startswith("2-D PCA map of 9 paintings, each drawn as its thumbnail"), alt
    at.multiselect(key=f"atlas_keys_{key}").set_value([3]).run()
    assert not at.exception, at.exception
    assert at.header[0].value == "1 selected"
    assert at.session_state["map_selection"] == [ctx.frame["sha256"].iloc[3]]
    assert at.query_params["sel"] == viewstate.selection_param([ctx.frame["sha256"].iloc[3]])
    table = at.main.expander[0].dataframe[0].value
    assert list(table.columns) == ["painting", "artist", "x", "y", "nearest on the map"] and len(table) == 9
