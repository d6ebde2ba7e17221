"""artsim.figures: the traces carry the expected values, order, labels and colours."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.cluster.hierarchy import dendrogram

from artsim.analysis.clustering import cut, cut_height, linkage_matrix
from artsim.analysis.evaluation import clustering_agreement, within_between
from artsim.analysis.projection import fit_projection
from artsim.analysis.similarity import artist_similarity, cosine_similarity_matrix
from artsim.figures import (
    CLUSTER_PALETTE,
    CLUSTER_SYMBOLS,
    HIGHLIGHT_NAME,
    LABEL_MAX_N,
    MAX_HEATMAP_N,
    PICK_MAX_N,
    PICKER_NAME,
    UPLOAD_SYMBOL,
    accuracy_bar_figure,
    add_pair_picker,
    agreement_heatmap,
    artist_colors,
    dendrogram_figure,
    picked_pair,
    scatter3d,
    similarity_heatmap,
    unique_labels,
    within_between_figure,
)


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


# ----------------------------------------------------------------------------- heatmap
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
    assert fig.layout.yaxis.autorange == "reversed"


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


@pytest.mark.parametrize("n", [45, 60, LABEL_MAX_N])
def test_heatmap_labels_every_row_and_grows_with_rows(n):
    rng = np.random.default_rng(n)
    S = cosine_similarity_matrix(rng.random((n, 6)))
    labels = [f"Artist {i % 7} – A rather long painting title number {i}" for i in range(n)]
    fig = similarity_heatmap(S, labels)
    lay = fig.to_dict()["layout"]
    assert lay["yaxis"]["tickmode"] == "array" and len(lay["yaxis"]["tickvals"]) == n
    assert len(lay["yaxis"]["ticktext"]) == n and lay["yaxis"].get("showticklabels", True)
    assert lay["yaxis"]["tickvals"] == list(fig.data[0].y)
    assert lay["yaxis"]["ticktext"][3].startswith("Artist 3 – A rather long")
    assert all(len(t) <= 34 for t in lay["yaxis"]["ticktext"])  # long titles shortened; hover keeps them
    assert fig.data[0].y[3] == labels[3]
    # no fixed aspect: the matrix takes the width; the height follows the rows
    assert "scaleanchor" not in lay["yaxis"] and "width" not in lay
    small = similarity_heatmap(S[:20, :20], labels[:20]).layout
    assert small.xaxis.showticklabels and len(small.xaxis.ticktext) == 20  # few columns: labelled too
    assert lay["height"] >= 13 * n and lay["height"] > small.height - 190 + 13 * 20


def test_heatmap_above_label_limit_has_artist_bands():
    n = LABEL_MAX_N + 20
    rng = np.random.default_rng(0)
    S = cosine_similarity_matrix(rng.random((n, 6)))
    artists = [f"Painter {i % 4}" for i in range(n)]
    order = rng.permutation(n)
    colors = artist_colors(artists)
    fig = similarity_heatmap(S, [f"t{i}" for i in range(n)], order=order, artists=artists, colors=colors)
    main, left, top = fig.data
    assert not fig.layout.yaxis.showticklabels and not fig.layout.xaxis.showticklabels
    assert left.xaxis == "x2" and left.yaxis == "y" and top.xaxis == "x" and top.yaxis == "y2"
    who = [artists[i] for i in order]
    assert [r[0] for r in left.customdata] == who and list(top.customdata[0]) == who
    assert list(left.y) == list(main.y) and list(top.x) == list(main.x)
    # each band cell takes its artist's collection colour from the stepped scale
    z = np.asarray(left.z)[:, 0]
    scale = [c for _, c in left.colorscale]
    for a, code in zip(who, z, strict=True):
        frac = (code - left.zmin) / (left.zmax - left.zmin)
        assert scale[2 * int(frac * len(scale) / 2)] == colors[a]


def test_pair_picker_puts_each_cells_pair_and_value_at_its_centre(coll):
    X, frame = coll
    S = cosine_similarity_matrix(X)
    n = len(S)
    labels = (frame.artist + " – " + frame.title).tolist()
    order = np.random.default_rng(3).permutation(n)
    fig = add_pair_picker(similarity_heatmap(S, labels, order=order))
    heat, pick = fig.data
    assert pick.name == PICKER_NAME and pick.type == "scatter" and len(pick.x) == n * n
    names = list(heat.y)
    pairs = set()
    for index, (x, y, value) in enumerate(zip(pick.x, pick.y, pick.customdata, strict=True)):
        i, j = picked_pair([{"point_index": index}], order)
        # the marker sits on the cell of (row y, column x), which shows S[i, j] for rows i, j of S
        assert names[list(order).index(i)] == y and names[list(order).index(j)] == x
        assert value == pytest.approx(S[i, j], abs=1e-6)
        pairs.add((i, j))
    assert len(pairs) == n * n
    assert pick.marker.opacity == 0 and pick.selected.marker.opacity == 1 and fig.layout.hoverdistance == -1
    # points of other traces or out of range are skipped
    assert picked_pair([{"point_index": n * n}, {"x": "a"}, {"point_index": n + 2}], order) == (order[1], order[2])
    assert picked_pair([], order) is None
    with pytest.raises(ValueError, match="at most"):
        add_pair_picker(similarity_heatmap(np.eye(PICK_MAX_N + 1)))


# ----------------------------------------------------------------------------- dendrogram
@pytest.mark.parametrize("orientation", ["left", "bottom"])
def test_dendrogram_matches_scipy_layout_and_colouring(coll, orientation):
    X, frame = coll
    Z = linkage_matrix(X, "average")
    labels = (frame.artist + " – " + frame.title).tolist()
    clusters = cut(Z, 3)
    fig = dendrogram_figure(Z, labels, clusters, orientation=orientation, method="average")
    h = cut_height(Z, clusters)
    ref = dendrogram(Z, no_plot=True, color_threshold=h, above_threshold_color="above")
    horizontal = orientation == "left"
    line_traces = [t for t in fig.data if t.mode == "lines"]
    ours = {}
    for t in line_traces:
        xs, ys = np.asarray(t.x, dtype=float), np.asarray(t.y, dtype=float)
        ic, dc = (ys, xs) if horizontal else (xs, ys)
        for s in range(0, len(ic), 5):
            ours[(tuple(np.round(ic[s:s + 4], 9)), tuple(np.round(dc[s:s + 4], 9)))] = t
    theirs = {
        (tuple(np.round(i, 9)), tuple(np.round(d, 9))): c
        for i, d, c in zip(ref["icoord"], ref["dcoord"], ref["color_list"], strict=True)
    }
    assert set(ours) == set(theirs)
    # scipy's colouring at the cut height groups the segments exactly as our traces do
    pairs = {(ours[s].name, theirs[s]) for s in ours}
    assert len(pairs) == len({n for n, _ in pairs}) == len({c for _, c in pairs}) == 4
    assert ("above cut", "above") in pairs
    for t in line_traces:
        if t.name.startswith("Cluster"):
            assert t.line.color == CLUSTER_PALETTE[int(t.name.split()[1]) - 1]
    axis = fig.layout.yaxis if horizontal else fig.layout.xaxis
    assert list(axis.ticktext) == [labels[i] for i in ref["leaves"]]
    leaves = next(t for t in fig.data if t.mode == "markers")
    assert list(leaves.customdata) == ref["leaves"]
    assert (fig.layout.shapes[0].x0 if horizontal else fig.layout.shapes[0].y0) == pytest.approx(h)
    dist = fig.layout.xaxis if horizontal else fig.layout.yaxis
    assert dist.title.text == "cosine distance"


def test_dendrogram_uses_the_given_cut_not_its_own(coll):
    X, frame = coll
    Z = linkage_matrix(X, "ward")
    fig = dendrogram_figure(Z, frame.title.tolist(), method="ward")
    assert len([t for t in fig.data if t.mode == "lines"]) == 1 and not fig.layout.shapes
    assert "Euclidean" in fig.layout.xaxis.title.text
    one = dendrogram_figure(Z, frame.title.tolist(), np.zeros(10, dtype=int))
    assert {t.name for t in one.data if t.mode == "lines"} == {"Cluster 1"}
    leaves = next(t for t in one.data if t.mode == "markers")
    assert all(s.endswith("Cluster 1") for s in leaves.text)
    with pytest.raises(ValueError, match="labels"):
        dendrogram_figure(Z, ["x"] * 3)
    with pytest.raises(ValueError, match="clusters"):
        dendrogram_figure(Z, frame.title.tolist(), [0, 1])


# ----------------------------------------------------------------------------- 3-D map
def test_scatter3d_traces_hover_and_customdata(coll):
    X, frame = coll
    proj = fit_projection(X, "pca")
    highlight = np.zeros(10, dtype=bool)
    highlight[[2, 7]] = True
    colors = artist_colors(frame.artist)
    fig = scatter3d(proj, frame, color_by="artist", highlight=highlight, colors=colors)
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"Klimt", "Monet", "Munch", f"Monet ({HIGHLIGHT_NAME})", f"Klimt ({HIGHLIGHT_NAME})"}
    seen = []
    for name, t in by_name.items():
        idx = [int(c[0]) for c in t.customdata]
        seen += idx
        np.testing.assert_allclose(np.column_stack([t.x, t.y, t.z]), proj.coords[idx])
        assert [c[1] for c in t.customdata] == [frame.thumbnail_uri[i] for i in idx]
        artist = name.split(" (")[0]
        assert set(frame.artist[idx]) == {artist} and t.marker.color == colors[artist]
        assert t.legendgroup == artist
        assert (set(idx) <= {2, 7}) == name.endswith(f"({HIGHLIGHT_NAME})")
    assert sorted(seen) == list(range(10))
    up = by_name[f"Monet ({HIGHLIGHT_NAME})"]
    assert up.marker.symbol == UPLOAD_SYMBOL and up.marker.line.width > 0
    monet = by_name["Monet"]
    i0 = int(monet.customdata[0][0])
    assert monet.text[0] == f"<b>{frame.title[i0]}</b><br>Monet, {1880 + i0}"
    munch = by_name["Munch"]
    i4 = [int(c[0]) for c in munch.customdata].index(4)
    assert munch.text[i4] == "<b>Painting 4</b><br>Munch"  # missing year left out
    r = proj.explained_variance_ratio
    assert fig.layout.scene.xaxis.title.text == f"PC1 ({r[0]:.0%})"
    assert fig.layout.scene.zaxis.title.text == f"PC3 ({r[2]:.0%})"
    assert "arbitrary" in fig.layout.meta["caption"]
    assert fig.layout.meta["thumbnails"] is True


def test_scatter3d_clusters_umap_titles_and_thumbnail_cap(coll):
    X, frame = coll
    frame = frame.assign(cluster=cut(linkage_matrix(X, "average"), 3))
    coords = np.arange(30, dtype=float).reshape(10, 3)
    fig = scatter3d(coords, frame, color_by="cluster", highlight=[9], method="umap", max_thumbnails=5,
                    legend_title="Clusters (average linkage, k = 3)")
    assert fig.layout.legend.title.text == "Clusters (average linkage, k = 3)"
    names = [t.name for t in fig.data]
    assert {"Cluster 1", "Cluster 2", "Cluster 3"} <= set(names)
    assert names.count(f"Cluster {frame.cluster[9] + 1} ({HIGHLIGHT_NAME})") == 1
    for t in fig.data:
        c = int(t.name.split()[1]) - 1
        assert t.marker.color == CLUSTER_PALETTE[c]
        # issue 24: a second cue beside colour (uploads keep their diamond)
        assert t.marker.symbol == ("diamond" if HIGHLIGHT_NAME in t.name else CLUSTER_SYMBOLS[c % len(CLUSTER_SYMBOLS)])
        assert all(frame.cluster[int(cd[0])] == c for cd in t.customdata)
    assert fig.layout.scene.yaxis.title.text == "UMAP 2"
    assert "UMAP" in fig.layout.meta["caption"]
    uris = {int(c[0]): c[1] for t in fig.data for c in t.customdata}
    assert uris[9] == frame.thumbnail_uri[9] and all(uris[i] == "" for i in range(9))
    assert fig.layout.meta["thumbnails"] is False
    with pytest.raises(ValueError, match="shape"):
        scatter3d(coords[:5], frame)
    with pytest.raises(ValueError, match="no column"):
        scatter3d(coords, frame, color_by="museum")


# ----------------------------------------------------------------------------- colours
def test_artist_colours_stable_when_adding_or_deselecting():
    gallery = ["Claude Monet", "Edgar Degas", "Edvard Munch", "Egon Schiele", "Georges Seurat",
               "Gustav Klimt", "Henri de Toulouse-Lautrec", "Paul Gauguin", "Pierre-Auguste Renoir",
               "Vincent van Gogh", "Wassily Kandinsky"]
    before = artist_colors(gallery)
    assert len(set(before.values())) == len(gallery)
    after = artist_colors([*gallery, "Uploaded Painter", "Another One"])  # uploads come after the gallery
    assert {a: after[a] for a in gallery} == before
    assert len(set(after.values())) == len(after)
    # a new gallery folder sorted among the others moves only the artist whose hashed slot it takes
    # and, with 12 of the 16 colour-blind-safe slots in use, the one that artist then probes into
    wider = artist_colors(sorted([*gallery, "Berthe Morisot"]))
    moved = [a for a in gallery if wider[a] != before[a]]
    assert len(moved) <= 2
    # colours come from the whole collection: a selection or any row order does not change them
    X = np.eye(len(gallery), 3) + 0.1
    frame = pd.DataFrame({"artist": gallery[::-1], "title": "t", "year": 1900})
    fig = scatter3d(X, frame, colors=before)
    assert {t.name: t.marker.color for t in fig.data} == before
    sub = scatter3d(X[:4], frame.iloc[:4], colors=before)
    assert {t.name: t.marker.color for t in sub.data} == {a: before[a] for a in gallery[::-1][:4]}


# ----------------------------------------------------------------------------- text is text
HOSTILE = [
    '<a href="https://evil.example">CLICK</a>',
    '<span style="font-size:90px">BIG</span>',
    "Tom & Jerry <b>bold</b>",
    "<img src=x onerror=alert(1)>",
]


def _no_markup(fig) -> None:
    spec = json.dumps(fig.to_dict(), ensure_ascii=False, default=lambda o: o.tolist())
    for bad in ("<a ", "<a>", "<span", "<img", "<b>bold"):
        assert bad not in spec, bad
    assert "&lt;a href=" in spec and "&lt;span style=" in spec and "Tom &amp; Jerry" in spec


def test_hostile_names_are_text_in_every_figure(coll):
    X, _ = coll
    n = len(HOSTILE) * 2
    artists = HOSTILE * 2
    titles = HOSTILE[::-1] * 2
    labels = [f"{a} – {t}" for a, t in zip(artists, titles, strict=True)]
    Xn = X[:n]
    S = cosine_similarity_matrix(Xn)
    _no_markup(similarity_heatmap(S, labels, title=HOSTILE[0]))
    _no_markup(add_pair_picker(similarity_heatmap(S, labels)))
    _no_markup(similarity_heatmap(artist_similarity(S, artists)))
    big = np.tile(S, (11, 11))[: LABEL_MAX_N + 8, : LABEL_MAX_N + 8]
    many = (labels * 11)[: LABEL_MAX_N + 8]
    _no_markup(similarity_heatmap(big, many, artists=(artists * 11)[: LABEL_MAX_N + 8]))
    Z = linkage_matrix(Xn, "average")
    _no_markup(dendrogram_figure(Z, labels, cut(Z, 2), title=HOSTILE[1] + HOSTILE[0] + HOSTILE[2]))
    frame = pd.DataFrame({"artist": artists, "title": titles, "year": ["<i>1900</i>"] * n})
    _no_markup(scatter3d(np.asarray(Xn)[:, :3], frame, highlight=[0], title=HOSTILE[0] + HOSTILE[1] + HOSTILE[2]))
    models = {m: within_between(S, artists) for m in HOSTILE}
    _no_markup(within_between_figure(models))
    _no_markup(accuracy_bar_figure({m: (0.5, 0.1) for m in HOSTILE}))
    _no_markup(agreement_heatmap(clustering_agreement({m: [0, 1, 0, 1] for m in HOSTILE})))


# ----------------------------------------------------------------------------- compare
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
