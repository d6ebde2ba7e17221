"""Export round trips: what is written reads back exactly."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from artsim.figures.export import (
    METADATA_COLUMNS,
    citation,
    figure_html,
    read_csv_bytes,
    read_parquet_bytes,
    selection_table,
    to_csv_bytes,
    to_parquet_bytes,
)


@pytest.fixture
def table():
    frame = pd.DataFrame({
        "sha256": ["a" * 64, "b" * 64],
        "path": ["/srv/secret/x.jpg", "/srv/secret/y.jpg"],
        "artist": ["Vincent van Gogh", '[Login](https://evil.example) "quoted", comma'],
        "title": ["Self-Portrait", "line\nbreak"],
        "year": ["1889", ""],
        "license": ["Public domain", ""],
    })
    vectors = np.random.default_rng(0).normal(size=(2, 5)).astype(np.float32)
    return selection_table(frame, vectors, model="efficientnet-lite0", fingerprint="fp123"), vectors


def test_table_has_credits_vectors_and_no_server_paths(table):
    t, vectors = table
    assert list(t.columns) == [*METADATA_COLUMNS, "model", "fingerprint", "vector"]
    assert "path" not in t.columns
    assert (t["fingerprint"] == "fp123").all()
    np.testing.assert_array_equal(np.stack(t["vector"]), vectors)


@pytest.mark.parametrize("write,read", [(to_parquet_bytes, read_parquet_bytes), (to_csv_bytes, read_csv_bytes)])
def test_round_trip(table, write, read):
    t, vectors = table
    back = read(write(t))
    pd.testing.assert_frame_equal(back.drop(columns="vector"), t.drop(columns="vector").astype(str))
    np.testing.assert_array_equal(np.stack(back["vector"]), vectors)


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError):
        selection_table(pd.DataFrame({"sha256": ["a"]}), np.zeros((2, 3)), model="m", fingerprint="f")


def test_figure_html_is_standalone():
    html = figure_html(go.Figure(go.Scatter(x=[1], y=[2]))).decode()
    assert "<html>" in html and len(html) > 1_000_000  # plotly.js inlined, not a CDN script tag
    assert "<script src=" not in html


def test_citation():
    line = citation("http://host/?model=x", model="resnet50", n=3, on=date(2026, 11, 30))
    assert line == "artsim view of 3 paintings, model resnet50. http://host/?model=x (accessed 2026-11-30)."


# ----------------------------------------------------------------------------- CSV injection (issue 25.3)
FORMULAS = (
    '=HYPERLINK("https://evil.example","Click for the source")', "=2+5", "+1+1", "-2+3", "@SUM(A1:A2)",
    "\t=1+1", "\r=1+1", " =1+1", "\n=1+1", "\uff1dSUM(1)", "'already quoted", "-300",
)


def csv_cells(data: bytes) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_csv_cells_never_start_a_formula_and_read_back_exactly():
    n = len(FORMULAS)
    frame = pd.DataFrame({
        "sha256": [f"{i:064x}" for i in range(n)], "artist": list(FORMULAS), "title": list(reversed(FORMULAS)),
        "year": ["-300"] * n, "source": [f"=2+{i}.jpg" for i in range(n)], "license": ["Public domain"] * n,
    })
    vectors = -np.abs(np.random.default_rng(1).normal(size=(n, 4))).astype(np.float32)  # every vector starts with "-"
    t = selection_table(frame, vectors, model="+model", fingerprint="fp")
    data = to_csv_bytes(t)
    rows = csv_cells(data)
    starts = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
    for row in rows[1:]:
        for cell in row:  # what a spreadsheet sees: text, never a formula
            assert not cell.lstrip(" \n").startswith(starts), (cell, row)
    # readable: the neutralised cell is the value behind one quote
    artist_col = rows[0].index("artist")
    assert [r[artist_col] for r in rows[1:]] == ["'" + v if v.lstrip(" \n")[:1] in "=+-@\t\r\uff1d'" else v
                                                 for v in FORMULAS]
    assert rows[1][rows[0].index("title")] == "'-300" and rows[1][rows[0].index("model")] == "'+model"
    back = read_csv_bytes(data)
    pd.testing.assert_frame_equal(back.drop(columns="vector"), t.drop(columns="vector").astype(str))
    np.testing.assert_array_equal(np.stack(back["vector"]), vectors)
    # Parquet is typed data, not a spreadsheet: values as they are
    assert read_parquet_bytes(to_parquet_bytes(t))["artist"].tolist() == list(FORMULAS)


def test_html_export_of_a_page_figure_keeps_outside_text_as_text():
    from artsim.figures.compare import accuracy_bar_figure

    evil = '</script><script>alert(1)</script><a href="javascript:alert(2)">x</a>'
    html = figure_html(accuracy_bar_figure({evil: (0.5, 0.1)})).decode()
    assert "<script>alert(1)" not in html and '<a href="javascript' not in html
    # escaped as the pages escape it (entities, which Plotly shows as the characters), inside escaped JSON
    assert "&lt;a href=\\\"javascript:alert(2)\\\"&gt;x&lt;\\u002fa&gt;" in html
