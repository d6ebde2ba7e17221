"""Teaching tools through AppTest: artist intervals on the Similarity page, export, tours."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from artsim.analysis.artist_bootstrap import artist_intervals
from artsim.figures import export
from artsim.figures.markup import md
from dashboard.panels import export_panel
from tests.app_fixtures import app_environment
from tests.test_app import open_in, page


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return app_environment(tmp_path_factory.mktemp("teaching"))


def _open(env, monkeypatch, name: str, **params) -> AppTest:
    return open_in(env, monkeypatch, name, **params)


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


def _open_panels(at: AppTest) -> AppTest:
    """Open the sidebar's share and export panels (a click on each sets its session key)."""
    at.session_state[export_panel.SHARE_OPEN] = True
    at.session_state[export_panel.EXPORT_OPEN] = True
    return at.run()


def test_share_and_export_panels_draw_their_content_only_once_opened(env, monkeypatch):
    """A first view carries no code block and no download button (the browser would load their
    JavaScript, the syntax highlighter's 1.5 MB among it); opened, the panels show them."""
    at = _open(env, monkeypatch, "gallery")
    labels = [e.label for e in at.sidebar.expander]
    assert "Share this view" in labels and "Export" in labels
    assert not at.sidebar.code and not at.sidebar.get("download_button")
    _open_panels(at)
    assert not at.exception, at.exception
    share, citation = (c.value for c in at.sidebar.code)
    assert share.endswith("?model=efficientnet-lite0") and citation.startswith("artsim view of 9 paintings")
    assert len(at.sidebar.get("download_button")) == 2


def test_export_panel_offers_the_selection_and_a_citation(env, monkeypatch):
    at = _open_panels(_open(env, monkeypatch, "similarity", level="artists"))
    buttons = at.sidebar.get("download_button")
    labels = [b.proto.label for b in buttons]
    assert labels == ["Selection as CSV (9 paintings)", "Selection as Parquet (vectors as float32)"]
    line = next(c.value for c in at.sidebar.code if c.value.startswith("artsim view of 9 paintings"))
    assert "model efficientnet-lite0." in line and "level=artists" in line
    assert line.endswith(f"(accessed {date.today().isoformat()}).")
    # what the buttons download, built the way Streamlit does it: later, outside the script run
    ctx = at.session_state["artsim_context"]
    table = export_panel.table_builder(ctx)()
    back = export.read_parquet_bytes(export.to_parquet_bytes(table))
    assert back["sha256"].tolist() == ctx.frame["sha256"].tolist()
    assert (back["model"] == "efficientnet-lite0").all() and back["fingerprint"].str.len().min() > 0
    np.testing.assert_array_equal(np.stack(back["vector"]), ctx.vectors)
    # every figure on the page (the artist heatmap, the artist-pair drill-down) has its HTML button
    assert [b.proto.label for b in at.main.get("download_button")] == ["Figure as HTML"] * 2


HOSTILE = "Which two look alike? <script>alert(1)</script> **not bold** [x](javascript:alert(1))"


def test_tour_built_by_its_owner_then_played_read_only(env, monkeypatch):
    at = _open(env, monkeypatch, "tour")
    at.text_input(key="tour_title_widget").input("Week 3: [who](javascript:x) looks alike")
    at.get("form_submit_button")[0].click().run()
    tour_id = at.query_params["tour"]
    assert "yours, editable" in at.caption[0].value
    links = [c.value for c in at.code if "tour_edit=" in c.value]
    assert len(links) == 1 and "tour_edit=" not in "".join(str(v) for v in at.query_params.values())
    # step 1 from the Tour page: the Gallery with a hostile caption
    at.selectbox(key="tour_page_widget").set_value("")
    at.text_area(key="tour_new_caption").input(HOSTILE)
    at.button(key="tour_add").click().run()
    # step 2 from the sidebar on the Similarity page, which keeps that page's settings
    at.switch_page(page("similarity")).run()
    at.radio(key="level_widget").set_value("artists").run()
    at.sidebar.text_area(key="tour_caption_widget").input("Now the artists.")
    at.sidebar.button(key="tour_add_here").click().run()
    assert not at.exception, at.exception

    # a student: the same link without the token
    student = _open(env, monkeypatch, "tour", tour=tour_id)
    assert "read-only" in student.caption[0].value
    assert not [b for b in student.button if b.key in ("tour_add", "tour_remove_0")]
    assert student.header[0].value == md("Week 3: [who](javascript:x) looks alike")  # escaped markdown
    assert HOSTILE in [t.value for t in student.main.text]  # plain text, never markup
    assert student.get("page_link")[0].proto.page == "" or "gallery" in student.get("page_link")[0].proto.page
    student.button(key="tour_next").click().run()
    assert student.query_params["step"] == "2"
    assert "Now the artists." in [t.value for t in student.main.text]
    link = student.get("page_link")[0].proto
    assert link.page == "similarity" and "level=artists" in link.query_string and f"tour={tour_id}" in link.query_string
    assert student.button(key="tour_next").disabled
    # following the step's link opens that view; the sidebar leads back to this step, with nothing to edit
    step_view = _open(env, monkeypatch, "similarity", **dict(parse_qsl(link.query_string)))
    assert step_view.radio(key="level_widget").value == "artists"
    back = [p.proto for p in step_view.sidebar.get("page_link") if p.proto.page == "tour"]
    assert len(back) == 1 and f"tour={tour_id}" in back[0].query_string and "step=2" in back[0].query_string
    assert not [b for b in step_view.sidebar.button if b.key == "tour_add_here"]
    student.button(key="tour_prev").click().run()
    assert HOSTILE in [t.value for t in student.main.text]
    # a wrong edit token opens it read-only, and says so
    stranger = _open(env, monkeypatch, "tour", tour=tour_id, tour_edit="not-the-token")
    assert any("does not match" in t.value for t in stranger.main.text)
    assert "read-only" in stranger.caption[0].value
    # the owner's edit link in a new session: editable, and the token leaves the URL before any share link shows
    token = links[0].split("tour_edit=")[1]
    owner = _open(env, monkeypatch, "tour", tour=tour_id, tour_edit=token)
    assert "yours, editable" in owner.caption[0].value
    assert "tour_edit" not in owner.query_params
    _open_panels(owner)
    assert len(owner.sidebar.code) == 2 and all(token not in c.value for c in owner.sidebar.code)  # share, citation
