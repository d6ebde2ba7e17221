"""artsim.figures: the traces carry the expected values, order and labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.cluster.hierarchy import dendrogram, leaves_list

from artsim.clustering import cut, cut_height, linkage_matrix
from artsim.evaluation import clustering_agreement, within_between
from artsim.figures import (
    CLUSTER_PALETTE,
    HIGHLIGHT_NAME,
    MAX_HEATMAP_N,
    accuracy_bar_figure,
    agreement_heatmap,
    category_colors,
    dendrogram_figure,
    scatter3d,
    similarity_heatmap,
    unique_labels,
    within_between_figure,
)
from artsim.projection import fit_projection
from artsim.similarity import artist_similarity, cosine_similarity_matrix


@pytest.fixture
def coll():
    rng = np.random.default_rng(1)
    centers = np.abs(rng.normal(size=(3, 8))) * 2
    lab = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
    X = np.abs(centers[lab] + rng.normal(size=(10, 8)) * 0.5)
    frame = pd.DataFrame(
        {
            "artist": [["Monet", "Munch", "Klimt"][v] for v in lab],
            "title": [f"Painting {i}" for i in range(10)],
            "year": [1880 + i if i != 4 else np.nan for i in range(10)],
        }
    )
    frame.loc[9, "title"] = frame.loc[8, "title"]  # two copies with one title
    frame.loc[9, "artist"] = frame.loc[8, "artist"]
    frame["thumbnail_uri"] = [f"data:image/jpeg;base64,T{i}" for i in range(10)]
    return X, frame


def test_unique_labels():
    assert unique_labels(["a", "b", "a", "a"]) == ["a", "b", "a (2)", "a (3)"]
    out = unique_labels(["a", "a", "a (2)"])
    assert len(set(out)) == 3 and out[:2] == ["a", "a (2)"]


def test_similarity_heatmap_orders_rows_and_columns(coll):
    X, frame = coll
    S = cosine_similarity_matrix(X, center=True)
    labels = (frame.artist + " – " + frame.title).tolist()
    order = [3, 1, 0, 2, 9, 8, 4, 5, 6, 7]
    fig = similarity_heatmap(S, labels, order=order)
    hm = fig.data[0]
    np.testing.assert_allclose(np.asarray(hm.z), S[np.ix_(order, order)].astype(np.float32))
    assert list(hm.x) == list(hm.y)
    assert list(hm.x)[:4] == [labels[3], labels[1], labels[0], labels[2]]
    assert list(hm.x)[4:6] == [labels[9], labels[9] + " (2)"]  # copies stay two rows
    assert "%{x}" in hm.hovertemplate and "%{y}" in hm.hovertemplate and "%{z" in hm.hovertemplate
    # centred cosines have negative values: diverging scale centred on 0
    assert hm.zmid == 0 and hm.zmin == -hm.zmax
    off = S[~np.eye(10, dtype=bool)]
    assert hm.zmax == pytest.approx(max(abs(off.min()), off.max()))
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.autorange == "reversed"


def test_similarity_heatmap_raw_cosines_sequential_scale_and_artist_frame(coll):
    X, frame = coll
    S = cosine_similarity_matrix(X)
    A = artist_similarity(S, frame.artist)
    fig = similarity_heatmap(A)
    hm = fig.data[0]
    assert list(hm.x) == ["Klimt", "Monet", "Munch"]
    np.testing.assert_allclose(np.asarray(hm.z), A.to_numpy().astype(np.float32))
    assert hm.zmid is None and hm.zmin == pytest.approx(np.nanmin(A.to_numpy()))
    with pytest.raises(ValueError, match="too many"):
        similarity_heatmap(np.eye(MAX_HEATMAP_N + 1))
    with pytest.raises(ValueError, match="permutation"):
        similarity_heatmap(S, order=[0] * 10)


@pytest.mark.parametrize("orientation", ["left", "bottom"])
def test_dendrogram_matches_scipy_layout_and_cut(coll, orientation):
    X, frame = coll
    Z = linkage_matrix(X, "average")
    labels = (frame.artist + " – " + frame.title).tolist()
    fig = dendrogram_figure(Z, labels, k=3, orientation=orientation)
    ref = dendrogram(Z, no_plot=True)
    horizontal = orientation == "left"
    line_traces = [t for t in fig.data if t.mode == "lines"]
    segs = set()
    for t in line_traces:
        xs, ys = np.asarray(t.x, dtype=float), np.asarray(t.y, dtype=float)
        ic, dc = (ys, xs) if horizontal else (xs, ys)
        for s in range(0, len(ic), 5):
            segs.add((tuple(np.round(ic[s:s + 4], 9)), tuple(np.round(dc[s:s + 4], 9))))
    ref_segs = {(tuple(np.round(i, 9)), tuple(np.round(d, 9))) for i, d in zip(ref["icoord"], ref["dcoord"], strict=True)}
    assert segs == ref_segs
    # colours: one trace per cluster plus the k - 1 merges above the cut
    labels_cut = cut(Z, 3)
    names = sorted(t.name for t in line_traces)
    assert names == ["Cluster 1", "Cluster 2", "Cluster 3", "above cut"]
    above = next(t for t in line_traces if t.name == "above cut")
    assert len(above.x) == 5 * 2
    for t in line_traces:
        if t.name.startswith("Cluster"):
            c = int(t.name.split()[1]) - 1
            assert t.line.color == CLUSTER_PALETTE[c]
            leaf_pos = np.asarray(t.y if horizontal else t.x, dtype=float)
            members = 5 + 10 * np.flatnonzero(np.isin(leaves_list(Z), np.flatnonzero(labels_cut == c)))
            assert np.nanmin(leaf_pos) >= members.min() and np.nanmax(leaf_pos) <= members.max()
    # leaves in scipy order with "Artist – Title" labels
    axis = fig.layout.yaxis if horizontal else fig.layout.xaxis
    assert list(axis.ticktext) == [labels[i] for i in ref["leaves"]]
    assert list(axis.tickvals) == [5 + 10 * r for r in range(10)]
    leaves = next(t for t in fig.data if t.mode == "markers")
    assert list(leaves.customdata) == ref["leaves"]
    # the cut line at the cut height
    shape = fig.layout.shapes[0]
    h = cut_height(Z, labels_cut)
    assert (shape.x0 if horizontal else shape.y0) == pytest.approx(h)


def test_dendrogram_without_k_and_bad_labels(coll):
    X, frame = coll
    Z = linkage_matrix(X, "ward")
    fig = dendrogram_figure(Z, frame.title.tolist())
    assert len([t for t in fig.data if t.mode == "lines"]) == 1 and not fig.layout.shapes
    with pytest.raises(ValueError, match="labels"):
        dendrogram_figure(Z, ["x"] * 3)


def test_scatter3d_traces_hover_and_customdata(coll):
    X, frame = coll
    proj = fit_projection(X, "pca")
    highlight = np.zeros(10, dtype=bool)
    highlight[[2, 7]] = True
    fig = scatter3d(proj, frame, color_by="artist", highlight=highlight)
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"Klimt", "Monet", "Munch", HIGHLIGHT_NAME}
    colors = category_colors(frame.artist.tolist())
    seen = []
    for name, t in by_name.items():
        idx = [int(c[0]) for c in t.customdata]
        seen += idx
        np.testing.assert_allclose(np.column_stack([t.x, t.y, t.z]), proj.coords[idx])
        assert [c[1] for c in t.customdata] == [frame.thumbnail_uri[i] for i in idx]
        if name != HIGHLIGHT_NAME:
            assert set(frame.artist[idx]) == {name} and t.marker.color == colors[name]
            assert not set(idx) & {2, 7}
    assert sorted(seen) == list(range(10))
    up = by_name[HIGHLIGHT_NAME]
    assert sorted(int(c[0]) for c in up.customdata) == [2, 7]
    assert up.marker.symbol == "diamond" and up.marker.line.width > 0
    monet = by_name["Monet"]
    i0 = int(monet.customdata[0][0])
    assert monet.text[0] == f"<b>{frame.title[i0]}</b><br>Monet, {1880 + i0}"
    munch = by_name["Munch"]
    i4 = [int(c[0]) for c in munch.customdata].index(4)
    assert munch.text[i4] == "<b>Painting 4</b><br>Munch"  # missing year left out
    r = proj.explained_variance_ratio
    assert fig.layout.scene.xaxis.title.text == f"PC1 ({r[0]:.0%})"
    assert fig.layout.scene.zaxis.title.text == f"PC3 ({r[2]:.0%})"
    assert "arbitrary" in fig.layout.title.subtitle.text
    assert fig.layout.meta["thumbnails"] is True


def test_scatter3d_clusters_umap_titles_and_thumbnail_cap(coll):
    X, frame = coll
    frame = frame.assign(cluster=cut(linkage_matrix(X, "average"), 3))
    coords = np.arange(30, dtype=float).reshape(10, 3)
    fig = scatter3d(coords, frame, color_by="cluster", highlight=[9], method="umap", max_thumbnails=5)
    names = [t.name for t in fig.data]
    assert names[:3] == ["Cluster 1", "Cluster 2", "Cluster 3"] and names[-1] == HIGHLIGHT_NAME
    c1 = fig.data[0]
    assert c1.marker.color == CLUSTER_PALETTE[0]
    assert all(frame.cluster[int(c[0])] == 0 for c in c1.customdata)
    assert fig.layout.scene.yaxis.title.text == "UMAP 2"
    assert "UMAP" in fig.layout.title.subtitle.text
    uris = {int(c[0]): c[1] for t in fig.data for c in t.customdata}
    assert uris[9] == frame.thumbnail_uri[9] and all(uris[i] == "" for i in range(9))
    assert fig.layout.meta["thumbnails"] is False
    with pytest.raises(ValueError, match="shape"):
        scatter3d(coords[:5], frame)
    with pytest.raises(ValueError, match="no column"):
        scatter3d(coords, frame, color_by="museum")


def test_compare_figures(coll):
    X, frame = coll
    models = {"resnet50": X, "style": X ** 2}
    wb = {m: within_between(cosine_similarity_matrix(v), frame.artist) for m, v in models.items()}
    fig = within_between_figure(wb)
    within = next(t for t in fig.data if t.name == "same artist")
    between = next(t for t in fig.data if t.name == "different artists")
    exp = pd.concat([d.assign(model=m) for m, d in wb.items()])
    np.testing.assert_allclose(within.y, exp[exp.kind == "within"].similarity)
    assert list(within.x) == exp[exp.kind == "within"].model.tolist()
    assert len(between.y) == (exp.kind == "between").sum()
    assert fig.layout.boxmode == "group"

    acc = accuracy_bar_figure({"resnet50": (0.69, 0.16), "style": (0.44, 0.16)})
    bars = {t.name: t for t in acc.data}
    assert list(bars["nearest neighbour"].x) == ["resnet50", "style"]
    np.testing.assert_allclose(bars["nearest neighbour"].y, [0.69, 0.44])
    np.testing.assert_allclose(bars["random neighbour (chance)"].y, [0.16, 0.16])
    assert list(bars["nearest neighbour"].text) == ["69%", "44%"]

    ari = clustering_agreement({"a": [0, 0, 1, 1], "b": [0, 1, 0, 1], "c": [1, 1, 0, 0]})
    hm = agreement_heatmap(ari).data[0]
    np.testing.assert_allclose(np.asarray(hm.z), ari.to_numpy())
    assert list(hm.x) == ["a", "b", "c"] and hm.zmax == 1.0
    assert hm.text[0][1] == f"{ari.loc['a', 'b']:.2f}"
