"""Every page through Streamlit's AppTest, on a small synthetic collection with a real model.

AppTest runs ``dashboard/router.py`` exactly as a server does (no patched
Streamlit internals): the router's ``st.navigation`` owns every page.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.app_fixtures import ARTISTS, app_environment, jpeg_bytes

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "router.py")
TIMEOUT = 120  # the first run loads the model and embeds; later runs hit the caches


def page(name: str) -> str:
    """A page script's path as ``AppTest.switch_page`` wants it (relative to the router)."""
    return f"../pages/{name}.py"


@pytest.fixture(scope="module")
def app_env(tmp_path_factory):
    return app_environment(tmp_path_factory.mktemp("app"))


@pytest.fixture()
def app(app_env, monkeypatch):
    for key, value in app_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ARTSIM_WEIGHTS", raising=False)
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def settle(app: AppTest, first_run: bool = True) -> AppTest:
    """Run until the background embedding has finished (its progress bar is gone)."""
    if first_run:
        app.run()
    deadline = time.monotonic() + 600  # a loaded 2-core machine can take minutes to load a model
    while app.get("progress") and time.monotonic() < deadline:
        time.sleep(0.5)
        app.run()
    assert not app.exception, app.exception
    assert not app.get("progress"), "the background embedding did not finish"
    return app


def open_in(env: dict[str, str], monkeypatch, name: str, *, paintings: int = 9, **params: str) -> AppTest:
    """A new session in the app environment ``env``, opened at ``params``, on page ``name``
    once all ``paintings`` are embedded (a fresh store embeds in the background)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ARTSIM_WEIGHTS", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    settle(at)
    for _ in range(240):
        ctx = at.session_state["artsim_context"]
        if len(ctx.frame) == paintings and not ctx.embedding:
            break
        time.sleep(0.5)
        settle(at)
    at.switch_page(page(name)).run()
    assert not at.exception, at.exception
    return at


def open_page(app: AppTest, name: str) -> AppTest:
    """Run the router once (it registers the pages, embeds and builds the context), then the page."""
    settle(app)
    return app.switch_page(page(name)).run()


def plotly_specs(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def array(value) -> np.ndarray:
    """A Plotly JSON array, plain or binary-encoded ({dtype, bdata, shape})."""
    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return out.reshape([int(x) for x in str(shape).split(",")]) if shape else out
    return np.asarray(value)


def test_gallery_page_embeds_then_shows_every_painting(app):
    settle(app)
    assert app.title[0].value == "Gallery"
    assert [s.value for s in app.header] == [f"{a} (3)" for a in ARTISTS]
    assert len(app.image) == 9
    assert "9 paintings by 3 artists" in app.caption[1].value or any(
        "9 paintings by 3 artists" in c.value for c in app.caption
    )
    assert app.selectbox(key="model_widget").value == "efficientnet-lite0"


def test_with_resnet50_weights_the_first_view_says_resnet50(app_env, monkeypatch, resnet50_state_file):
    """Where ResNet-50's ImageNet weights can be had, the dashboard's default is ResNet-50 (issue 21)."""
    for key, value in app_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ARTSIM_MODEL")
    monkeypatch.setenv("ARTSIM_WEIGHTS", str(resnet50_state_file))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="model_widget").value == "resnet50"
    assert any("Default model" in c.value and "ResNet-50" in c.value for c in at.caption)


def test_without_resnet50_weights_no_view_fetches_them(app_env, monkeypatch, tmp_path):
    """npm could fetch them, but a page never does (a visitor would wait for 95 MB): ResNet-50 is
    not offered until the file is there, and the sidebar says how to get it (regression)."""
    for key, value in app_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ARTSIM_MODEL")
    monkeypatch.setenv("ARTSIM_HOME", str(tmp_path / "home"))  # no converted weights
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="model_widget").value == "efficientnet-lite0"
    assert "resnet50" not in at.selectbox(key="model_widget").options
    assert any("artsim weights fetch" in t.value for t in at.text)
    assert not (tmp_path / "home" / "weights").exists()  # nothing fetched


def test_a_warm_start_imports_no_model(app):
    """Every vector in the store: the first view needs no torch, timm, onnxruntime or umap."""
    settle(app)  # the store now holds every painting's vector
    code = textwrap.dedent(f"""
        import sys
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({APP!r}, default_timeout=90).run()
        assert not at.exception, at.exception
        assert not at.get("progress"), "nothing should need embedding"
        assert len(at.image) == 9
        print(sorted(m for m in ("torch", "timm", "onnxruntime", "umap", "numba") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def test_empty_gallery_tells_the_user_what_to_do(app, tmp_path, monkeypatch):
    monkeypatch.setenv("ARTSIM_GALLERY", str(tmp_path / "nothing-here"))
    app.run()
    assert not app.exception
    assert "No paintings yet" in app.info[0].value and "artsim gallery fetch" in app.info[0].value


def test_similarity_page_heatmap_in_leaf_order_and_artist_level(app):
    open_page(app, "similarity")
    assert not app.exception, app.exception
    heat = plotly_specs(app)[0]["data"][0]
    assert heat["type"] == "heatmap" and array(heat["z"]).shape == (9, 9)
    app.radio(key="level_widget").set_value("artists").run()
    heat = plotly_specs(app)[0]["data"][0]
    assert array(heat["z"]).shape == (3, 3) and sorted(heat["x"]) == sorted(ARTISTS)
    assert app.query_params["level"] == "artists"
    # Drill-down to one artist pair: their paintings' cosines, equal to the matrix's block.
    ctx = app.session_state["artsim_context"]
    names = sorted(set(ctx.frame["artist"]))
    app.selectbox(key="artist_b_widget").set_value(2).run()
    assert app.query_params["artist_b"] == names[2]
    drill = plotly_specs(app)[1]["data"][0]
    rows = np.flatnonzero(ctx.frame["artist"].isin([names[0], names[2]]))
    X = ctx.vectors.astype(np.float64)
    if app.toggle(key="center_widget").value:  # centred on the whole selection's mean, as the heatmap above
        X = X - X.mean(axis=0)
    X = X[rows] / np.linalg.norm(X[rows], axis=1, keepdims=True)
    got = array(drill["z"])
    assert got.shape == (6, 6)
    assert np.allclose(np.sort(got, axis=None), np.sort(X @ X.T, axis=None), atol=1e-6)


def test_clustering_page_follows_linkage_and_k(app):
    open_page(app, "clustering")
    assert not app.exception, app.exception
    app.selectbox(key="linkage_widget").set_value("ward").run()
    app.slider(key="k_widget").set_value(3).run()
    assert not app.exception
    assert app.query_params["linkage"] == "ward" and app.query_params["k"] == "3"
    assert len(app.expander) >= 3
    # Three well-separated synthetic artists: ward at k=3 recovers them exactly.
    titles = [e.label for e in app.expander if e.label.startswith("Cluster")]
    assert len(titles) == 3 and all("(3)" in t and t.count("(") == 1 for t in titles), titles


@pytest.mark.usefixtures("umap_compiled")
def test_projection_page_pca_then_umap(app):
    open_page(app, "projection")
    assert not app.exception, app.exception
    assert app.metric[0].label == "Variance captured by the 3 axes"
    # The 3-D map component gets only the figure; thumbnails are files it fetches once.
    spec = json.loads(json.loads(app.get("component_instance")[0].proto.json_args)["spec"])
    assert {t["type"] for t in spec["data"]} == {"scatter3d"}
    assert all(any(f"Study {i}" in s for t in spec["data"] for s in t["text"]) for i in (1, 2, 3))
    thumbs = [c[1] for t in spec["data"] for c in t["customdata"]]
    assert len(thumbs) == 9 and all(u.startswith("thumbs/") and u.endswith(".jpg") for u in thumbs)
    app.radio(key="projection_widget").set_value("umap").run()
    assert not app.exception, app.exception
    assert app.query_params["projection"] == "umap"


def test_share_link_reopens_the_same_view(app):
    app.query_params.update({"linkage": "complete", "k": "2", "level": "artists",
                             "artists": "Ada Blue,Bo Red"})
    settle(app)
    assert app.multiselect[0].value == ["Ada Blue", "Bo Red"]
    assert [s.value for s in app.header] == ["Ada Blue (3)", "Bo Red (3)"]
    app.switch_page(page("clustering")).run()
    assert not app.exception, app.exception
    assert app.multiselect[0].value == ["Ada Blue", "Bo Red"]  # the router ran too
    assert app.selectbox(key="linkage_widget").value == "complete"
    assert app.slider(key="k_widget").value == 2
    assert sum("Cluster" in e.label for e in app.expander) == 2
    sizes = [int(e.label.split(": ")[1].split()[0]) for e in app.expander if e.label.startswith("Cluster")]
    assert sum(sizes) == 6
    app.switch_page(page("similarity")).run()
    assert app.radio(key="level_widget").value == "artists"
    assert array(plotly_specs(app)[0]["data"][0]["z"]).shape == (2, 2)


def test_bad_share_link_falls_back_with_a_note(app):
    app.query_params.update({"linkage": "median", "k": "lots", "model": "vgg16"})
    settle(app)
    notes = " ".join(t.value for t in app.text if t.value.startswith("ⓘ Share link"))
    assert "linkage" in notes and "k=" in notes and "vgg16" in notes
    app.switch_page(page("clustering")).run()
    assert app.selectbox(key="linkage_widget").value == "average"


def test_compare_page_reports_each_offline_model(app):
    open_page(app, "compare")
    assert not app.exception, app.exception
    bars = plotly_specs(app)[0]["data"]
    models = list(array(bars[0]["x"]))
    assert "efficientnet-lite0" in models and "style" in models
    accuracy = dict(zip(models, array(bars[0]["y"]), strict=True))
    chance = array(bars[1]["y"])
    # 3 artists x 3 paintings: chance of a same-artist random neighbour is exactly 2/8.
    np.testing.assert_allclose(chance, 0.25)
    assert accuracy["efficientnet-lite0"] > 0.25
    assert len(plotly_specs(app)) == 4  # accuracy, within/between, agreement, what each depth captures




def test_upload_adds_good_files_rejects_the_broken_one_and_shares_read_only(app_env, monkeypatch, tmp_path):
    for key, value in app_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ARTSIM_DB", str(tmp_path / "db"))  # a fresh store: no other test's collections
    monkeypatch.setenv("ARTSIM_HOME", str(tmp_path / "home"))
    owner = AppTest.from_file(APP, default_timeout=TIMEOUT)
    open_page(owner, "upload")
    assert not owner.exception, owner.exception
    owner.text_input[0].input("Dee Yellow")
    good = jpeg_bytes((230, 200, 40)), jpeg_bytes((240, 210, 30), (90, 70))
    owner.file_uploader[0].set_value([
        ("me1.jpg", good[0], "image/jpeg"), ("me2.jpg", good[1], "image/jpeg"),
        ("broken.jpg", good[0][:200], "image/jpeg"),
    ])
    owner.button[0].click().run()
    assert not owner.exception, owner.exception
    assert not owner.error, [e.value for e in owner.error]
    results = owner.dataframe[0].value
    assert results["result"].tolist() == ["added", "added", "rejected"]
    assert "truncated" in results["reason"].iloc[2] or "corrupt" in results["reason"].iloc[2]
    collection_id = owner.query_params["collection"]
    assert collection_id and "edit" not in owner.query_params
    # The new artist joins the views; the uploads sit in the 3-D map as highlighted points.
    settle(owner.switch_page(page("gallery")))  # the new store embeds the gallery in the background
    assert "Dee Yellow (2)" in [s.value for s in owner.header]
    owner.switch_page(page("projection")).run()
    spec = owner.get("component_instance")[0].proto.json_args  # the 3-D map component's figure
    assert "Dee Yellow" in spec and "diamond" in spec

    student = AppTest.from_file(APP, default_timeout=TIMEOUT)
    student.query_params["collection"] = collection_id
    open_page(student, "upload")
    assert not student.exception, student.exception
    assert "read-only" in student.warning[0].value
    assert not any("Edit link" in e.label for e in student.expander)
    student.switch_page(page("gallery")).run()
    assert "Dee Yellow (2)" in [s.value for s in student.header]


def test_similarity_pair_picked_by_name_offers_its_explanation(app):
    """Issue 24.2: "Pair to explain" (a searchable select, the keyboard's way) has a cell click's effect;
    the heatmap has an alt and its table lists each painting's nearest three."""
    open_page(app, "similarity")
    assert not app.exception, app.exception
    ctx = app.session_state["artsim_context"]
    n = len(ctx.frame)
    pick = next(s for s in app.selectbox if s.label == "Pair to explain")
    assert pick.value is None and len(pick.options) == 1 + n * (n - 1) // 2
    pick.set_value(1 * n + 7).run()
    assert not app.exception, app.exception
    links = [p for p in app.main.get("page_link") if p.proto.label == "Why are these two similar?"]
    assert len(links) == 1
    shas = ctx.frame["sha256"].tolist()
    assert f"a={shas[1][:12]}" in links[0].proto.query_string and f"b={shas[7][:12]}" in links[0].proto.query_string
    table = next(e for e in app.main.expander if e.label.startswith("The heatmap as a table")).dataframe[0].value
    assert len(table) == n and list(table.columns)[:3] == ["name", "nearest 1", "cosine 1"]
    assert app.main.get("plotly_chart")[0].proto.alt.startswith(f"Heatmap of cosine similarity between {n} paintings")
