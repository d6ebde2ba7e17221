"""The thumbnail map figure: one image per painting at its position, hover text escaped, dots past the cap."""

from __future__ import annotations

import numpy as np

from artsim.thumbmap import MAX_THUMBNAILS, thumbnail_map


def test_images_at_the_positions_and_hover_is_text():
    coords = np.array([[0.0, 0.0], [1.0, 2.0], [-1.0, 0.5]])
    fig = thumbnail_map(coords, ["<b>A</b>\nline 2", "B & C", "D"], ["data:a", "", "data:c"])
    images = fig.layout.images
    assert [(im.x, im.y, im.source) for im in images] == [(0.0, 0.0, "data:a"), (-1.0, 0.5, "data:c")]
    assert images[0].sizex == images[0].sizey == 2.0 * 0.06  # the larger extent (y: 2) times the share
    assert list(fig.data[0].hovertext) == ["&lt;b&gt;A&lt;/b&gt;<br>line 2", "B &amp; C", "D"]
    np.testing.assert_array_equal(fig.data[0].customdata, [0, 1, 2])


def test_dots_past_the_cap():
    n = MAX_THUMBNAILS + 1
    fig = thumbnail_map(np.random.default_rng(0).normal(size=(n, 2)), ["x"] * n, ["data:x"] * n)
    assert len(fig.layout.images) == 0 and len(fig.data[0].x) == n
