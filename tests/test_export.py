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
