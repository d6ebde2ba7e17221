"""artsim.figures.maps.hover: the 3-D map's static folder (page, plotly.js, thumbnails) and the figure it is sent."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly

from artsim.figures import scatter3d
from artsim.figures.maps import hover


def test_prepare_assets_writes_page_and_plotly_once(tmp_path):
    folder = hover.prepare_assets(tmp_path / "map")
    src = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert (folder / "plotly.min.js").read_bytes() == src.read_bytes()
    page = (folder / "index.html").read_text()
    assert page == hover.INDEX_HTML and '<script src="plotly.min.js">' in page
    assert "streamlit:componentReady" in page and "plotly_hover" in page
    assert "textContent" in page and "innerHTML" not in page  # captions shown as text
    mtime = (folder / "plotly.min.js").stat().st_mtime_ns
    hover.prepare_assets(folder)
    assert (folder / "plotly.min.js").stat().st_mtime_ns == mtime


def test_write_thumbnails_only_sha_names(tmp_path):
    good = "ab" * 32
    urls = hover.write_thumbnails(tmp_path, {good: b"\xff\xd8jpeg", "../../evil": b"x", "AB" * 32: b"y", "cd" * 32: b""})
    assert urls == {good: f"thumbs/{good}.jpg"}
    assert sorted(p.name for p in (tmp_path / "thumbs").iterdir()) == [f"{good}.jpg"]
    assert (tmp_path / "thumbs" / f"{good}.jpg").read_bytes() == b"\xff\xd8jpeg"
    hover.write_thumbnails(tmp_path, {good: b"other"})  # written once: a sha names its bytes
    assert (tmp_path / "thumbs" / f"{good}.jpg").read_bytes() == b"\xff\xd8jpeg"


def test_figure_json_is_the_figure():
    frame = pd.DataFrame({"artist": ["A <b>", "B"], "title": ["t1", "t2"], "year": [1900, 1901],
                          "thumbnail_uri": ["thumbs/x.jpg", ""]})
    fig = scatter3d(np.arange(6, dtype=float).reshape(2, 3), frame)
    spec = json.loads(hover.figure_json(fig))
    assert [t["name"] for t in spec["data"]] == ["A &lt;b&gt;", "B"]
    assert spec["data"][0]["customdata"] == [[0, "thumbs/x.jpg"]]
    assert spec["layout"]["legend"]["orientation"] == "h" and spec["layout"]["legend"]["yanchor"] == "top"
