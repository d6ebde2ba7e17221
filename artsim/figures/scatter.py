"""The 3-D map: a projection of the paintings, one legend entry per artist or cluster.

Thumbnails ride along in ``customdata`` (data URIs) only up to
``MAX_THUMBNAILS`` points; the front end (``artsim.figures.maps.hover``) shows them beside
the pointer. Uploaded paintings keep their artist's colour and are drawn as
diamonds with a dark outline, in a trace of their own per artist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from artsim.figures.colors import category_colors, cluster_symbol
from artsim.figures.text import plain

#: Most points that carry a thumbnail data-URI in ``customdata``.
MAX_THUMBNAILS = 600
#: Suffix of the legend entry of an artist's uploaded paintings.
HIGHLIGHT_NAME = "uploaded"
UPLOAD_SYMBOL = "diamond"

_CAPTION = {
    "pca": "PCA: the axes are the directions of greatest variance; their signs and meaning are arbitrary. "
    "Only which paintings sit near each other counts.",
    "umap": "UMAP: axes, orientation and the distances between far-apart groups are arbitrary. "
    "Only which paintings sit near each other counts.",
}


def projection_caption(method: str) -> str:
    """What the axes of a ``method`` map mean (and do not mean), for a caption under it."""
    return _CAPTION.get(method, _CAPTION["umap"])


def _axis_titles(method: str, ratio: Sequence[float] | None) -> list[str]:
    if method == "pca":
        if ratio is None:
            return ["PC1", "PC2", "PC3"]
        return [f"PC{i + 1} ({r:.0%})" for i, r in enumerate(ratio)]
    return [f"{method.upper()} {i + 1}" for i in range(3)]


def _year(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a year column read with NaNs becomes float
    return str(value)


def hover_text(row: Mapping[str, Any]) -> str:
    """"<b>Title</b><br>Artist, year" with the names escaped (the markup is ours)."""
    title = str(row.get("title", "") or "")
    artist = str(row.get("artist", "") or "")
    year = _year(row.get("year", ""))
    second = plain(artist + (f", {year}" if year else ""))
    return f"<b>{plain(title)}</b><br>{second}" if title else second


def _mask(highlight: Any, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    if highlight is None:
        return mask
    h = np.asarray(highlight)
    if h.dtype == bool:
        if h.shape != (n,):
            raise ValueError(f"highlight mask has shape {h.shape}, expected ({n},)")
        return h.copy()
    if h.size:
        mask[h.astype(np.intp)] = True
    return mask


def scatter3d(
    coords: Any,
    frame: pd.DataFrame,
    color_by: str = "artist",
    highlight: Sequence[bool] | Sequence[int] | np.ndarray | None = None,
    *,
    method: str | None = None,
    explained_variance_ratio: Sequence[float] | None = None,
    colors: Mapping[str, str] | None = None,
    legend_title: str | None = None,
    title: str | None = None,
    max_thumbnails: int = MAX_THUMBNAILS,
    point_size: float = 4,
    height: int = 640,
) -> go.Figure:
    """3-D scatter of a projection, one trace (legend entry) per category.

    Parameters
    ----------
    coords : (n, 3) array, or a ``Projection`` (then ``method`` and the
        explained variance come from it).
    frame : n rows, with columns ``artist``, ``title``, ``year`` and optionally
        ``thumbnail_uri`` (data URIs) and the ``color_by`` column.
    color_by : "artist", or "cluster" (0-based ints, shown as "Cluster 1"..., each with its
        colour and its marker symbol, ``colors.cluster_symbol``),
        or any other categorical column.
    highlight : bool mask (n,) or row indices of uploaded paintings: drawn in
        their category's colour as diamonds with a dark outline, one
        "<category> (uploaded)" trace per category, grouped with it in the legend.
    colors : category -> colour; pass ``artist_colors`` of the whole collection
        so that an artist has the same colour on every page and selection.
    legend_title : shown above the legend entries (e.g. which linkage and k made the
        clusters); default "Cluster" or the column name.

    Every point carries ``customdata = [row index, thumbnail data URI or ""]``
    and hover text with title, artist and year (escaped). Thumbnails are left
    out (``""``) when more than ``max_thumbnails`` points would carry them,
    except highlighted ones; then ``layout.meta["thumbnails"]`` is False.
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
    mask = _mask(highlight, n)
    uris = frame["thumbnail_uri"].fillna("").astype(str).to_numpy() if "thumbnail_uri" in frame else np.full(n, "")
    with_thumbs = n <= max_thumbnails
    if not with_thumbs:
        uris = np.where(mask, uris, "")
    hover = np.array([hover_text(r) for r in frame.to_dict("records")], dtype=object)
    values = frame[color_by].tolist()
    is_cluster = color_by == "cluster" and all(isinstance(v, (int, np.integer)) for v in values)
    palette = category_colors(values, None if is_cluster else colors)
    vals = np.array(values, dtype=object)
    fig = go.Figure()
    for v, color in sorted(palette.items(), key=lambda kv: (str(type(kv[0])), kv[0])):
        name = f"Cluster {int(v) + 1}" if is_cluster else plain(v)
        for up in (False, True):
            sel = np.flatnonzero((vals == v) & (mask == up))
            if sel.size == 0:
                continue
            marker: dict[str, Any] = {"size": point_size, "color": color, "opacity": 0.85}
            if is_cluster:  # a second cue beside colour: each cluster its marker symbol
                marker["symbol"] = cluster_symbol(int(v))
            if up:
                marker = {"size": point_size * 2.2, "symbol": UPLOAD_SYMBOL, "color": color,
                          "line": {"color": "#111111", "width": 3}}
            fig.add_trace(go.Scatter3d(
                x=xyz[sel, 0], y=xyz[sel, 1], z=xyz[sel, 2], mode="markers",
                name=f"{name} ({HIGHLIGHT_NAME})" if up else name, legendgroup=plain(v), marker=marker,
                text=hover[sel], customdata=np.column_stack([sel.astype(object), uris[sel].astype(object)]),
                hovertemplate="%{text}<extra></extra>",
            ))
    t = _axis_titles(method, explained_variance_ratio)
    axis: dict[str, Any] = {}
    fig.update_layout(
        title={"text": plain(title)} if title else None,
        scene={
            "xaxis": {**axis, "title": {"text": t[0]}},
            "yaxis": {**axis, "title": {"text": t[1]}},
            "zaxis": {**axis, "title": {"text": t[2]}},
            "aspectmode": "cube",
            "domain": {"x": [0.0, 1.0], "y": [0.0, 1.0]},
            "camera": {"eye": {"x": 1.6, "y": 1.6, "z": 1.2}},
        },
        # Below the cube, across the width, wrapping as needed: never over the scene at 1,024 px
        # and clear of the toolbar at the top right.
        legend={"itemsizing": "constant", "title": {"text": plain(legend_title or ("Cluster" if is_cluster else color_by))},
                "orientation": "h", "x": 0.0, "xanchor": "left", "y": 0.0, "yanchor": "top"},
        margin={"l": 10, "r": 10, "t": 40 if title else 30, "b": 10},
        height=height,
        uirevision="scatter3d",  # keep the camera when the app reruns
        meta={"thumbnails": bool(with_thumbs), "method": method, "caption": projection_caption(method)},
    )
    return fig
