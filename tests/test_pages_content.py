"""What the pages say: outside names shown as text, the upload answer, and the wording fixes.

Runs the router through AppTest like tests/test_app.py, on a tiny synthetic
gallery whose artist names and titles are hostile markup, embedded with the
``style`` model (loads in well under a second). Every markdown-bearing element
is rendered with a CommonMark renderer (markdown-it, GFM-like, with bare-URL
linkify) and must produce no link, image, span or heading.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from PIL import Image
from streamlit.testing.v1 import AppTest

from artsim.store.collections import Collections
from dashboard.cache import CONTEXT_KEY
from tests.app_fixtures import make_collection
from tests.test_app import APP, TIMEOUT, page, settle

HOSTILE_ARTISTS = {
    "Ada Blue": "[Login](https:evil.example)",
    "Bo Red": "![pixel](https://evil.example/track.png)",
    "Cy Green": '<span style="font-size:90px">Big</span> :red[x]',
}
HOSTILE_TITLE = "<a href=https://evil.example>CLICK</a> **{i}**"
LICENCE = "public domain (artist died over 70 years ago)"
_RENDER = MarkdownIt("gfm-like")


@pytest.fixture(scope="module")
def hostile_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("pages")
    gallery = make_collection(root / "gallery", per_artist=2)
    with (gallery / "metadata.csv").open("r", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with (gallery / "metadata.csv").open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["file", "artist", "title", "year", "license"])
        for i, row in enumerate(rows):
            folder = row["file"].split("/")[0]
            out.writerow([row["file"], HOSTILE_ARTISTS[folder], HOSTILE_TITLE.format(i=i), row["year"], LICENCE])
    return {
        "ARTSIM_HOME": str(root / "home"),
        "ARTSIM_DB": str(root / "db"),
        "ARTSIM_GALLERY": str(gallery),
        "ARTSIM_MODEL": "style",
    }


@pytest.fixture()
def app(hostile_env, monkeypatch, tmp_path):
    for key, value in hostile_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ARTSIM_DB", str(tmp_path / "db"))  # uploads of one test never reach another
    monkeypatch.delenv("ARTSIM_WEIGHTS", raising=False)
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def ready(at: AppTest, first_run: bool = True) -> AppTest:
    """``settle``, then wait (bounded) until the router's context holds the embedded paintings."""
    settle(at, first_run=first_run)
    for _ in range(120):
        ctx = at.session_state[CONTEXT_KEY] if CONTEXT_KEY in at.session_state else None
        if ctx is not None and not ctx.embedding and (len(ctx.frame) or not ctx.all_artists):
            break
        time.sleep(0.5)
        at.run()
    assert not at.exception, at.exception
    return at


def markdown_texts(at: AppTest) -> list[str]:
    """Every string Streamlit renders as markdown on this run (labels included)."""
    texts = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success"):
        texts += [str(el.value) for el in at.get(kind)]
    texts += [str(el.label) for el in at.get("expander")]
    return texts


def assert_plain(at: AppTest) -> list[str]:
    """No markdown-bearing element renders a link, image, span or heading; returns the texts."""
    texts = markdown_texts(at)
    for text in texts:
        html = _RENDER.render(text)
        for tag in ("<a ", "<img", "<span", "<h1", "<h2", "<script", "<s>"):
            assert tag not in html, (text, html)
    return texts


def shown(texts: list[str]) -> str:
    """The texts as a reader sees them (markdown rendered, tags dropped, entities decoded)."""
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", "\n".join(_RENDER.render(t) for t in texts)))


def test_hostile_names_render_as_text_on_every_page(app):
    ready(app)
    texts = assert_plain(app)
    seen = shown(texts)
    assert all(f"{name} (2)" in seen for name in HOSTILE_ARTISTS.values()), seen  # gallery subheaders
    assert "Uploaded paintings are marked" not in seen  # no uploads yet
    assert seen.count(LICENCE) == 1  # one licence sentence, not one per thumbnail
    for name in ("similarity", "clustering", "projection"):
        app.switch_page(page(name)).run()
        assert not app.exception, (name, app.exception)
        texts = assert_plain(app)
        if name == "similarity":
            seen = shown(texts)
            assert "style features" in seen and "ResNet" not in seen
            assert "CLICK" in seen  # the nearest-paintings captions show the title as text
        if name == "clustering":
            assert any("[Login](https:evil.example) (" in shown([e.label]) for e in app.expander)


def test_wording_follows_the_linkage_and_the_cluster_colours(app):
    ready(app)
    app.switch_page(page("clustering")).run()
    app.selectbox(key="linkage_widget").set_value("ward").run()
    seen = shown(markdown_texts(app))
    assert "Ward's distance" in seen and "Heights are cosine distances" not in seen
    app.selectbox(key="linkage_widget").set_value("average").run()
    assert "Heights are cosine distances" in shown(markdown_texts(app))
    app.switch_page(page("projection")).run()
    app.radio(key="color_widget").set_value("cluster").run()
    assert not app.exception, app.exception
    assert "average-linkage clustering" in shown(markdown_texts(app))


def test_empty_collection_says_there_is_nothing_to_show(app, tmp_path, monkeypatch):
    monkeypatch.setenv("ARTSIM_GALLERY", str(tmp_path / "nothing-here"))
    app.run()
    for name, word in (("projection", "project"), ("clustering", "cluster"), ("similarity", "compare"),
                       ("compare", "compare")):
        app.switch_page(page(name)).run()
        assert not app.exception, app.exception
        info = " ".join(i.value for i in app.info)
        assert f"Nothing to {word} yet" in info and "Add paintings" in info and "Select at least" not in info


def _crop_of_first_painting(gallery: Path, quality: int = 70) -> bytes:
    source = sorted((gallery / "Ada Blue").glob("*.jpg"))[0]
    with Image.open(source) as im:
        w, h = im.size
        crop = im.convert("RGB").crop((w // 10, h // 10, w - w // 10, h - h // 10))
    buf = io.BytesIO()
    crop.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def test_upload_answer_ranks_the_source_artist_first_and_shows_names_as_text(app, hostile_env, monkeypatch):
    ready(app)
    app.switch_page(page("upload")).run()
    app.text_input[0].input("[Me](https:evil.example)")
    app.text_input[1].input("<b>Mine</b>")
    app.text_input[2].input("[Class](https:evil.example)")
    crop = _crop_of_first_painting(Path(hostile_env["ARTSIM_GALLERY"]))
    app.file_uploader[0].set_value([("crop.jpg", crop, "image/jpeg")])
    app.button[0].click()
    ready(app)  # the new painting is embedded in the background
    assert not app.error, [e.value for e in app.error]
    texts = assert_plain(app)
    assert "Whose paintings do they look like?" in [s.value for s in app.header]
    ranking = app.dataframe[1].value
    assert ranking["artist"].iloc[0] == HOSTILE_ARTISTS["Ada Blue"]
    assert list(ranking.columns) == ["artist", "best match"]
    seen = shown(texts)
    assert "<b>Mine</b> ([Me](https:evil.example))" in seen and "similarity" in seen
    assert "[Class](https:evil.example)" in seen  # the new collection's own name, as text
    if callable(getattr(Collections, "rename", None)):  # H1's Collections.rename
        rename = next(t for t in app.text_input if t.label == "New name")
        rename.input("[Renamed](https:evil.example)")
        next(b for b in app.button if b.label == "Rename").click().run()
        assert not app.exception, app.exception
        assert "Adding to your collection [Renamed](https:evil.example)." in shown(assert_plain(app))
    app.switch_page(page("gallery")).run()
    assert "Uploaded paintings are marked ⬆" in shown(markdown_texts(app))
    app.switch_page(page("projection")).run()
    app.toggle(key="refit_widget").set_value(True).run()
    assert not app.exception, app.exception
    assert app.query_params.get("refit") in ("1", "true"), app.query_params  # re-fit is in the share link

    # A second new collection from the same session is over a cap of 1, with a clear message.
    monkeypatch.setenv("ARTSIM_MAX_SESSION_COLLECTIONS", "1")
    app.query_params.clear()
    app.query_params["artists"] = HOSTILE_ARTISTS["Bo Red"]
    app.run()
    app.switch_page(page("upload")).run()
    if app.query_params.get("collection"):
        pytest.skip("the router kept the collection in the URL; cap checked in test_upload_flow")
    app.text_input[0].input("Someone")
    again = _crop_of_first_painting(Path(hostile_env["ARTSIM_GALLERY"]), quality=50)
    app.file_uploader[0].set_value([("again.jpg", again, "image/jpeg")])
    app.button[0].click().run()
    assert any("limit is 1" in e.value for e in app.error), [e.value for e in app.error]
