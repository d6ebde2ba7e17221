"""Plotly figures for the analysis (graph_objects only; no Streamlit here).

Figures stay light enough to send to a browser on every rerun: numeric arrays
go out as binary (plotly encodes numpy arrays), the painting heatmap refuses
more than ``MAX_HEATMAP_N`` paintings (use the artist-level matrix or a
selection), and thumbnails ride along in ``customdata`` only up to
``MAX_THUMBNAILS`` points (no images in the layout).

Colours: :func:`category_colors` gives the same colour to the same category
in every figure, and cluster ``c`` (0-based, shown to users as "Cluster c+1")
has ``CLUSTER_PALETTE[c % len]`` both in the dendrogram and in the 3-D map.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from artsim.clustering import cut, cut_height, leaf_order, node_clusters

#: Most paintings a painting-by-painting heatmap is drawn for (n^2 cells: 1,000 is
#: about 5 MB of base64 float32; beyond that nobody can read the cells anyway).
MAX_HEATMAP_N = 1000
#: Most points that carry a thumbnail data-URI in ``customdata``.
MAX_THUMBNAILS = 600
#: Colours for categories (artists, clusters), 10 distinct then 24 more.
CLUSTER_PALETTE: tuple[str, ...] = tuple(qualitative.Plotly) + tuple(qualitative.Dark24)
ABOVE_CUT_COLOR = "#9a9a9a"
HIGHLIGHT_NAME = "Uploaded"


def category_colors(values: Sequence[Any]) -> dict[Any, str]:
    """Category -> colour. Integers (cluster labels) map to ``CLUSTER_PALETTE[v]``;
    other values get colours in sorted order, so the mapping does not depend on
    row order."""
    uniq = sorted(set(values), key=lambda v: (str(type(v)), v))
    if all(isinstance(v, (int, np.integer)) for v in uniq):
        return {v: CLUSTER_PALETTE[int(v) % len(CLUSTER_PALETTE)] for v in uniq}
    return {v: CLUSTER_PALETTE[i % len(CLUSTER_PALETTE)] for i, v in enumerate(uniq)}


def unique_labels(labels: Sequence[str]) -> list[str]:
    """Make repeated labels distinct ("X", "X (2)", ...) so categorical axes keep
    one row per painting (two copies of "The Starry Night" are two rows)."""
    seen: dict[str, int] = {}
    out = []
    for lab in map(str, labels):
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab} ({seen[lab]})")
    # a generated "X (2)" could collide with a real label: repeat until unique
    return out if len(set(out)) == len(out) else unique_labels(out)


def _color_range(z: np.ndarray) -> dict[str, Any]:
    """Colour scale for cosine values: diverging around 0 when there are
    negative values (centred features), else sequential over the observed range.
    The diagonal is ignored when it is all 1 (self-similarity would squash the scale)."""
    vals = z
    if z.shape[0] == z.shape[1] and z.shape[0] > 1 and np.allclose(np.diag(z), 1.0):
        vals = z[~np.eye(z.shape[0], dtype=bool)]
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return {"colorscale": "Viridis", "zmin": -1.0, "zmax": 1.0}
    lo, hi = float(vals.min()), float(vals.max())
    if lo < 0:
        m = max(abs(lo), abs(hi))
        return {"colorscale": "RdBu_r", "zmin": -m, "zmax": m, "zmid": 0.0}
    if hi - lo < 1e-9:
        lo, hi = lo - 0.05, hi + 0.05
    return {"colorscale": "Viridis", "zmin": lo, "zmax": hi}


def similarity_heatmap(
    S: np.ndarray | pd.DataFrame,
    labels: Sequence[str] | None = None,
    order: Sequence[int] | None = None,
    *,
    title: str | None = None,
) -> go.Figure:
    """Heatmap of a similarity matrix, square cells, row 0 at the top.

    Parameters
    ----------
    S : (n, n) array or DataFrame (e.g. from ``artist_similarity``; its index
        gives the labels when ``labels`` is None).
    labels : n names ("Artist – Title" or artist names); repeats are made unique.
    order : permutation of range(n) (e.g. ``leaf_order(Z)``) for rows and columns.

    Hover shows the row name, the column name and the value.
    Raises ValueError above ``MAX_HEATMAP_N`` rows (use artist level or a selection).
    """
    if isinstance(S, pd.DataFrame):
        if labels is None:
            labels = [str(v) for v in S.index]
        z = S.to_numpy(dtype=np.float64)
    else:
        z = np.asarray(S, dtype=np.float64)
    n = z.shape[0]
    if z.ndim != 2 or z.shape[1] != n:
        raise ValueError(f"expected a square matrix, got shape {z.shape}")
    if n > MAX_HEATMAP_N:
        raise ValueError(
            f"{n} paintings are too many for a painting-by-painting heatmap (max {MAX_HEATMAP_N}); "
            "show the artist-level matrix or select fewer paintings"
        )
    labels = [str(i) for i in range(n)] if labels is None else list(labels)
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for a {n} x {n} matrix")
    idx = np.arange(n) if order is None else np.asarray(order, dtype=np.intp)
    if sorted(idx.tolist()) != list(range(n)):
        raise ValueError("order must be a permutation of range(n)")
    names = unique_labels([labels[i] for i in idx])
    zz = z[np.ix_(idx, idx)].astype(np.float32)
    fig = go.Figure(
        go.Heatmap(
            z=zz,
            x=names,
            y=names,
            hovertemplate="%{y}<br>%{x}<br>cosine similarity %{z:.3f}<extra></extra>",
            colorbar={"title": {"text": "cosine"}},
            **_color_range(z),
        )
    )
    show_ticks = n <= 60
    fig.update_layout(
        title={"text": title} if title else None,
        xaxis={"showticklabels": show_ticks, "tickangle": -45, "constrain": "domain", "type": "category"},
        yaxis={
            "showticklabels": show_ticks,
            "autorange": "reversed",
            "scaleanchor": "x",
            "scaleratio": 1,
            "constrain": "domain",
            "type": "category",
        },
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        height=max(420, min(900, 260 + 14 * n)) if show_ticks else 700,
        plot_bgcolor="white",
    )
    return fig


def _segments(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dendrogram coordinates as scipy lays them out: leaf at rank r sits at
    5 + 10 r, a merge at the midpoint of its children. Returns icoord (n-1, 4),
    dcoord (n-1, 4) in merge order, and leaf positions (n,) indexed by painting."""
    Z = np.asarray(Z, dtype=np.float64)
    n = Z.shape[0] + 1
    pos = np.empty(2 * n - 1)
    height = np.zeros(2 * n - 1)
    pos[leaf_order(Z)] = 5.0 + 10.0 * np.arange(n)
    ic = np.empty((n - 1, 4))
    dc = np.empty((n - 1, 4))
    for i, (a, b, h, _) in enumerate(Z):
        a, b = int(a), int(b)
        ic[i] = (pos[a], pos[a], pos[b], pos[b])
        dc[i] = (height[a], h, h, height[b])
        pos[n + i] = (pos[a] + pos[b]) / 2
        height[n + i] = h
    return ic, dc, pos[:n]


def dendrogram_figure(
    Z: np.ndarray,
    labels: Sequence[str],
    k: int | None = None,
    *,
    orientation: str = "left",
    title: str | None = None,
) -> go.Figure:
    """Dendrogram of a linkage matrix, branches coloured by the k-cluster cut.

    Parameters
    ----------
    Z : (n-1, 4) linkage; labels : n leaf names ("Artist – Title").
    k : clusters to colour (``cut(Z, k)``); a dashed line marks the cut height.
        None: one colour, no line.
    orientation : where the leaf labels go: "left" (labels down the left side,
        distance to the right: readable for long titles; the cut line is then
        vertical) or "bottom" (classic, cut line horizontal).

    Built directly from Z (same coordinates as ``scipy.cluster.hierarchy.dendrogram``,
    without ``figure_factory``, which re-runs the clustering). One trace per
    cluster plus one for branches above the cut, then a marker trace on the
    leaves whose hover gives the name and cluster.
    """
    Z = np.asarray(Z, dtype=np.float64)
    n = Z.shape[0] + 1
    labels = [str(s) for s in labels]
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for a tree of {n} paintings")
    if orientation not in ("left", "bottom"):
        raise ValueError("orientation must be 'left' or 'bottom'")
    ic, dc, leaf_pos = _segments(Z)
    if k is not None:
        cl = cut(Z, k)
        node_cl = node_clusters(Z, cl)
    else:
        cl = np.zeros(n, dtype=np.intp)
        node_cl = np.zeros(n - 1, dtype=np.intp)
    horizontal = orientation == "left"
    fig = go.Figure()
    for c in sorted(set(node_cl.tolist())):
        sel = np.flatnonzero(node_cl == c)
        xs = np.column_stack([ic[sel], np.full(sel.size, np.nan)]).ravel()
        ys = np.column_stack([dc[sel], np.full(sel.size, np.nan)]).ravel()
        if horizontal:
            xs, ys = ys, xs
        name = "above cut" if c < 0 else (f"Cluster {c + 1}" if k is not None else "tree")
        color = ABOVE_CUT_COLOR if c < 0 or k is None else CLUSTER_PALETTE[c % len(CLUSTER_PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", name=name, line={"color": color, "width": 1.5},
                hoverinfo="skip", showlegend=False,
            )
        )
    order = leaf_order(Z)
    leaf_text = [f"{labels[i]}" + (f"<br>Cluster {cl[i] + 1}" if k is not None else "") for i in order]
    ticks = leaf_pos[order]
    zeros = np.zeros(n)
    fig.add_trace(
        go.Scatter(
            x=zeros if horizontal else ticks,
            y=ticks if horizontal else zeros,
            mode="markers",
            name="paintings",
            marker={
                "size": 6,
                "color": [CLUSTER_PALETTE[c % len(CLUSTER_PALETTE)] if k is not None else ABOVE_CUT_COLOR
                          for c in cl[order]],
            },
            text=leaf_text,
            customdata=order,
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        )
    )
    show_ticks = n <= 150
    leaf_axis = {
        "tickmode": "array",
        "tickvals": ticks,
        "ticktext": [labels[i] for i in order],
        "showticklabels": show_ticks,
        "showgrid": False,
        "zeroline": False,
        "range": [0, 10 * n],
    }
    dist_axis = {"title": {"text": "distance"}, "rangemode": "tozero", "zeroline": False}
    if k is not None and 1 < n:
        h = cut_height(Z, cl)
        line = {"line": {"color": "#444", "dash": "dash", "width": 1}}
        if horizontal:
            fig.add_vline(x=h, **line)
        else:
            fig.add_hline(y=h, **line)
    if horizontal:
        leaf_axis["autorange"] = "reversed"
        leaf_axis.pop("range")
        fig.update_layout(xaxis=dist_axis, yaxis=leaf_axis, height=max(400, min(16 * n + 120, 4000)))
    else:
        leaf_axis["tickangle"] = -60
        fig.update_layout(xaxis=leaf_axis, yaxis=dist_axis, height=600)
    fig.update_layout(
        title={"text": title} if title else None,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        plot_bgcolor="white",
        hovermode="closest",
    )
    return fig


def _axis_titles(method: str, ratio: Sequence[float] | None) -> list[str]:
    if method == "pca":
        if ratio is None:
            return ["PC1", "PC2", "PC3"]
        return [f"PC{i + 1} ({r:.0%})" for i, r in enumerate(ratio)]
    return [f"{method.upper()} {i + 1}" for i in range(3)]


_SUBTITLE = {
    "pca": "PCA: the axes are the directions of greatest variance; their signs and meaning are arbitrary. "
    "Only which paintings sit near each other counts.",
    "umap": "UMAP: axes, orientation and the distances between far-apart groups are arbitrary. "
    "Only which paintings sit near each other counts.",
}


def _hover_text(row: Mapping[str, Any]) -> str:
    title = str(row.get("title", "") or "")
    artist = str(row.get("artist", "") or "")
    year = row.get("year", "")
    if year is None or (isinstance(year, float) and np.isnan(year)):
        year = ""
    elif isinstance(year, float) and year.is_integer():
        year = str(int(year))  # a year column read with NaNs becomes float
    year = str(year)
    # Titles and names may come from uploads: escape them, the markup is ours.
    title, second = html.escape(title), html.escape(artist + (f", {year}" if year else ""))
    return f"<b>{title}</b><br>{second}" if title else second


def scatter3d(
    coords: Any,
    frame: pd.DataFrame,
    color_by: str = "artist",
    highlight: Sequence[bool] | Sequence[int] | np.ndarray | None = None,
    *,
    method: str | None = None,
    explained_variance_ratio: Sequence[float] | None = None,
    title: str | None = None,
    max_thumbnails: int = MAX_THUMBNAILS,
    point_size: float = 4,
) -> go.Figure:
    """3-D scatter of a projection, one trace (legend entry) per category.

    Parameters
    ----------
    coords : (n, 3) array, or a ``Projection`` (then ``method`` and the
        explained variance come from it).
    frame : n rows, with columns ``artist``, ``title``, ``year`` and optionally
        ``thumbnail_uri`` (data-URIs) and the ``color_by`` column.
    color_by : a column of ``frame``: "artist", or "cluster" (0-based ints from
        ``cut``, shown as "Cluster 1"...), or any other categorical column.
    highlight : bool mask (n,) or row indices of uploaded paintings: drawn as a
        separate "Uploaded" trace with diamond markers and a dark outline.

    Every point carries ``customdata = [row index, thumbnail data-URI or ""]``
    (the front end shows the thumbnail on hover) and hover text with title,
    artist and year. Thumbnails are left out (``""``) when more than
    ``max_thumbnails`` points would carry them, except highlighted ones; then
    ``layout.meta["thumbnails"]`` is False.
    """
    if hasattr(coords, "coords"):
        method = method or coords.method
        if explained_variance_ratio is None:
            explained_variance_ratio = getattr(coords, "explained_variance_ratio", None)
        coords = coords.coords
    method = method or "pca"
    xyz = np.asarray(coords, dtype=np.float64)
    n = len(frame)
    if xyz.shape != (n, 3):
        raise ValueError(f"coords shape {xyz.shape} does not match {n} rows of the frame (need (n, 3))")
    if color_by not in frame.columns:
        raise ValueError(f"frame has no column {color_by!r} to colour by")
    mask = np.zeros(n, dtype=bool)
    if highlight is not None:
        h = np.asarray(highlight)
        if h.dtype == bool:
            if h.shape != (n,):
                raise ValueError(f"highlight mask has shape {h.shape}, expected ({n},)")
            mask = h.copy()
        elif h.size:
            mask[h.astype(np.intp)] = True
    uris = frame["thumbnail_uri"].fillna("").astype(str).to_numpy() if "thumbnail_uri" in frame else np.full(n, "")
    with_thumbs = n <= max_thumbnails
    if not with_thumbs:
        uris = np.where(mask, uris, "")
    hover = np.array([_hover_text(r) for r in frame.to_dict("records")], dtype=object)
    values = frame[color_by].tolist()
    is_cluster = all(isinstance(v, (int, np.integer)) for v in values)
    colors = category_colors(values)
    vals = np.array(values, dtype=object)

    fig = go.Figure()

    def add(sel: np.ndarray, name: str, marker: dict[str, Any], group: str) -> None:
        fig.add_trace(
            go.Scatter3d(
                x=xyz[sel, 0], y=xyz[sel, 1], z=xyz[sel, 2],
                mode="markers", name=name, legendgroup=group,
                marker=marker,
                text=hover[sel],
                customdata=np.column_stack([sel.astype(object), uris[sel].astype(object)]),
                hovertemplate="%{text}<extra></extra>",
            )
        )

    for v in colors:
        sel = np.flatnonzero((vals == v) & ~mask)
        if sel.size == 0:
            continue
        name = f"Cluster {int(v) + 1}" if is_cluster and color_by == "cluster" else str(v)
        add(sel, name, {"size": point_size, "color": colors[v], "opacity": 0.85}, str(v))
    if mask.any():
        sel = np.flatnonzero(mask)
        add(
            sel,
            HIGHLIGHT_NAME,
            {
                "size": point_size * 2.2,
                "symbol": "diamond",
                "color": [colors[v] for v in vals[sel]],
                "line": {"color": "#111111", "width": 3},
            },
            HIGHLIGHT_NAME,
        )
    t = _axis_titles(method, explained_variance_ratio)
    fig.update_layout(
        title={"text": title or "", "subtitle": {"text": _SUBTITLE.get(method, _SUBTITLE["umap"])}},
        scene={
            "xaxis": {"title": {"text": t[0]}},
            "yaxis": {"title": {"text": t[1]}},
            "zaxis": {"title": {"text": t[2]}},
            "aspectmode": "cube",
        },
        legend={"itemsizing": "constant", "title": {"text": "Cluster" if color_by == "cluster" else color_by}},
        margin={"l": 0, "r": 0, "t": 70, "b": 0},
        height=650,
        uirevision="scatter3d",  # keep the camera when the app reruns
        meta={"thumbnails": bool(with_thumbs), "method": method},
    )
    return fig


# ---------------------------------------------------------------- compare page


def _long_by_model(data: Mapping[str, pd.DataFrame] | pd.DataFrame) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        if "model" not in data.columns:
            raise ValueError("a single frame needs a 'model' column")
        return data
    parts = [df.assign(model=name) for name, df in data.items()]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["model", "similarity", "kind"])


def within_between_figure(data: Mapping[str, pd.DataFrame] | pd.DataFrame) -> go.Figure:
    """Box plots of pair similarity per model: same artist ("within") vs
    different artists ("between").

    ``data``: model name -> ``evaluation.within_between`` frame, or one long
    frame with a ``model`` column. The further apart the two boxes of a model,
    the more its features separate artists (compare within a model: models'
    similarity scales differ).
    """
    df = _long_by_model(data)
    fig = go.Figure()
    for kind, name, color in (("within", "same artist", "#1f77b4"), ("between", "different artists", "#ff7f0e")):
        d = df[df["kind"] == kind]
        fig.add_trace(
            go.Box(
                x=d["model"].astype(str).to_numpy(), y=d["similarity"].to_numpy(dtype=np.float64),
                name=name, marker_color=color, boxpoints=False, boxmean=True,
            )
        )
    fig.update_layout(
        boxmode="group",
        yaxis={"title": {"text": "cosine similarity of a pair"}},
        xaxis={"title": {"text": "model"}},
        legend={"title": {"text": "pairs by"}},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return fig


def accuracy_bar_figure(results: Mapping[str, tuple[float, float]] | pd.DataFrame) -> go.Figure:
    """Leave-one-out nearest-neighbour artist accuracy per model, next to chance.

    ``results``: model -> (accuracy, chance) from ``loo_nn_accuracy``, or a
    frame with columns ``model``, ``accuracy``, ``chance``.
    """
    if isinstance(results, pd.DataFrame):
        df = results[["model", "accuracy", "chance"]]
    else:
        df = pd.DataFrame(
            [(m, float(a), float(c)) for m, (a, c) in results.items()], columns=["model", "accuracy", "chance"]
        )
    models = df["model"].astype(str).tolist()
    fig = go.Figure()
    for col, name, color in (("accuracy", "nearest neighbour", "#2a9d8f"), ("chance", "random neighbour (chance)", "#b0b0b0")):
        v = df[col].to_numpy(dtype=np.float64)
        fig.add_trace(
            go.Bar(
                x=models, y=v, name=name, marker_color=color,
                text=[f"{x:.0%}" if np.isfinite(x) else "n/a" for x in v], textposition="outside",
                hovertemplate="%{x}: %{y:.1%}<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        yaxis={"title": {"text": "same artist as nearest painting"}, "range": [0, 1.08], "tickformat": ".0%"},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return fig


def agreement_heatmap(ari: pd.DataFrame) -> go.Figure:
    """Heatmap of ``evaluation.clustering_agreement`` (adjusted Rand index), values written in the cells."""
    z = ari.to_numpy(dtype=np.float64)
    names = [str(v) for v in ari.index]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=[str(c) for c in ari.columns], y=names,
            zmin=min(0.0, float(np.nanmin(z))) if z.size else 0.0, zmax=1.0, colorscale="Viridis",
            text=np.vectorize(lambda v: f"{v:.2f}")(z) if z.size else None, texttemplate="%{text}",
            hovertemplate="%{y} vs %{x}<br>adjusted Rand index %{z:.3f}<extra></extra>",
            colorbar={"title": {"text": "ARI"}},
        )
    )
    fig.update_layout(
        yaxis={"autorange": "reversed", "scaleanchor": "x", "type": "category"},
        xaxis={"type": "category"},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=max(300, 120 + 70 * len(names)),
    )
    return fig
