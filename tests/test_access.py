"""Issue 24.1: alt texts and the tables a screen reader gets instead of a chart (no Streamlit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from artsim.figures import access
from artsim.figures.maps.thumbmap import deck_map


def test_painting_alt_is_title_artist_and_year_as_plain_text():
    assert access.painting_alt({"title": "The Starry Night", "artist": "Vincent van Gogh", "year": 1889.0}) == (
        "The Starry Night by Vincent van Gogh, 1889")
    assert access.painting_alt({"title": "", "artist": "Ada", "year": float("nan")}) == "Untitled by Ada"
    assert access.painting_alt(pd.Series({"title": "*x* <b>", "artist": "", "year": "c. 1900"})) == "*x* <b>, c. 1900"


def test_nearest_table_lists_each_rows_three_most_similar_with_their_cosines():
    S = np.array([[1.0, 0.9, 0.1, 0.5],
                  [0.9, 1.0, 0.2, 0.3],
                  [0.1, 0.2, 1.0, 0.7],
                  [0.5, 0.3, 0.7, 1.0]])
    t = access.nearest_table(S, ["a", "b", "c", "d"])
    assert list(t.columns) == ["name", "nearest 1", "cosine 1", "nearest 2", "cosine 2", "nearest 3", "cosine 3"]
    assert t.loc[0, ["nearest 1", "nearest 2", "nearest 3"]].tolist() == ["b", "d", "c"]
    assert t.loc[0, ["cosine 1", "cosine 2", "cosine 3"]].tolist() == [0.9, 0.5, 0.1]
    assert t.loc[2, "nearest 1"] == "d" and t.loc[2, "cosine 1"] == 0.7  # never itself
    assert list(access.nearest_table(S[:2, :2], ["a", "b"]).columns) == ["name", "nearest 1", "cosine 1"]
    with pytest.raises(ValueError, match="shape"):
        access.nearest_table(S, ["a"])


def test_heatmap_alt_names_the_closest_pair():
    S = np.array([[1.0, 0.2, 0.8], [0.2, 1.0, 0.4], [0.8, 0.4, 1.0]])
    alt = access.heatmap_alt(3, "paintings", S, ["x", "y", "z"])
    assert "3 paintings" in alt and "x and z, 0.800" in alt


def test_projection_table_gives_coordinates_and_nearest_on_the_map_in_blocks():
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(50, 3))
    frame = pd.DataFrame({"title": [f"t{i}" for i in range(50)], "artist": ["A", "B"] * 25,
                          "cluster": np.arange(50) % 4})
    t = access.projection_table(xyz, frame)
    assert list(t.columns) == ["painting", "artist", "cluster", "x", "y", "z", "nearest on the map"]
    assert t.loc[7, "cluster"] == "Cluster 4" and t.loc[7, "x"] == round(xyz[7, 0], 3)
    d = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    for i in (0, 13, 49):  # the exact reference: a full distance matrix
        want = [f"t{j} ({'A' if j % 2 == 0 else 'B'})" for j in np.argsort(d[i])[:3]]
        assert t.loc[i, "nearest on the map"].split("; ") == want
    two = access.projection_table(xyz[:3, :2], frame.iloc[:3][["title", "artist"]])
    assert list(two.columns) == ["painting", "artist", "x", "y", "nearest on the map"]


def test_top_pairs_table_has_similarity_first_and_no_image_data():
    pairs = pd.DataFrame({"i": [0, 2], "j": [1, 3], "similarity": [0.91234, 0.8]})
    t = access.top_pairs_table(pairs, ["a", "b", "c", "d"], ["u1", "u2"])
    assert list(t.columns) == ["similarity", "painting A", "painting B", "why"]
    assert t["similarity"].tolist() == [0.912, 0.8] and t["painting B"].tolist() == ["b", "d"]
    assert not t.astype(str).apply(lambda c: c.str.startswith("data:")).any().any()


def test_dendrogram_and_projection_alts_say_what_they_show():
    assert "cut into 3 clusters" in access.dendrogram_alt("ward", 9, 3, [4, 3, 2])
    assert "cluster 2: 3" in access.dendrogram_alt("ward", 9, 3, [4, 3, 2])
    alt = access.projection_alt("umap", 12, "cluster", uploads=2)
    assert alt.startswith("3-D UMAP map of 12 paintings") and "2 uploaded ones drawn as diamonds" in alt


def test_deck_map_on_a_touch_screen_leaves_one_finger_to_the_page():
    coords, boxes = np.zeros((2, 2)) + [[0, 0], [1, 1]], np.array([[0, 0, 8, 8], [8, 0, 8, 8]])
    spec = deck_map(coords, ["a", "b"], "/atlas.jpg", boxes, touch=True).to_json()
    assert all(f in spec for f in ('"dragPan":false', '"touchZoom":false', '"keyboard":true'))
    assert '"dragPan"' not in deck_map(coords, ["a", "b"], "/atlas.jpg", boxes).to_json()
