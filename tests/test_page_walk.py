"""The Walk between page through AppTest: a chain from one painting to another, its share link, no-path note."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app_fixtures import app_environment
from tests.test_app import open_in


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return app_environment(tmp_path_factory.mktemp("walk"))


def _open(env, monkeypatch, **params) -> AppTest:
    return open_in(env, monkeypatch, "walk", **params)


def test_walk_from_first_to_last_painting(env, monkeypatch):
    at = _open(env, monkeypatch)
    assert at.title[0].value == "Walk between paintings"
    texts = [t.value for t in at.main.text if " – " in t.value]
    # 9 synthetic paintings, first "Ada Blue – Study 1" to last "Cy Green – Study 3"
    assert texts[0] == "Ada Blue – Study 1" and texts[-1] == "Cy Green – Study 3"
    assert any("step" in c.value and "nearest-neighbour graph" in c.value for c in at.caption)
    steps = [c.value for c in at.caption if c.value.startswith("→ next:")]
    assert len(steps) == len(texts) - 1
    # a "why?" link per step opens the Explain page on that step's two paintings
    shas = at.session_state["artsim_context"].frame["sha256"].tolist()
    links = [link.proto for link in at.main.get("page_link")]
    assert len(links) == len(steps) and all(link.page == "explain" for link in links)
    assert f"a={shas[0][:12]}" in links[0].query_string and f"b={shas[-1][:12]}" in links[-1].query_string


def test_no_walk_at_small_k_is_said_plainly(env, monkeypatch):
    at = _open(env, monkeypatch, walk_k="1")
    assert at.slider(key="walk_k_widget").value == 1
    # three well-separated synthetic artists: with one neighbour each, blue never reaches green
    assert at.warning and "No walk exists at k = 1" in at.warning[0].value


def test_share_link_values_pick_the_paintings(env, monkeypatch):
    at = _open(env, monkeypatch)
    shas = at.session_state["artsim_context"].frame["sha256"].tolist()
    at = _open(env, monkeypatch, walk_from=shas[4][:12], walk_to=shas[5][:12])
    assert at.selectbox(key="walk_from_widget").value == 4
    assert at.selectbox(key="walk_to_widget").value == 5
