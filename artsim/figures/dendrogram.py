"""Dendrogram of a linkage matrix, branches coloured by a cut the caller made.

The layout is scipy's (``scipy.cluster.hierarchy.dendrogram(no_plot=True)``:
leaf at rank r sits at 5 + 10 r, a merge at the midpoint of its children).
The figure never cuts the tree itself: it takes the cluster labels the page
already computed, so the picture and the page's cluster list always agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from scipy.cluster.hierarchy import dendrogram

from artsim.analysis.clustering import cut_height, node_clusters
from artsim.figures.colors import ABOVE_CUT_COLOR, cluster_color
from artsim.figures.text import plain, plain_all, shorten

#: Up to this many leaves every leaf is labelled.
LEAF_LABEL_MAX_N = 150


def distance_name(method: str | None) -> str:
    """Title of the distance axis for a tree built with ``method`` (see ``clustering.linkage_distances``)."""
    if method == "ward":
        return "Ward merge distance (Euclidean, unit vectors)"
    return "cosine distance" if method else "distance"


def _layout(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scipy's dendrogram coordinates: icoord (n-1, 4), dcoord (n-1, 4), the merge
    index (n-1,) each segment draws, and the leaf order (n,)."""
    n = Z.shape[0] + 1
    d = dendrogram(Z, no_plot=True, link_color_func=str)  # the "colour" is the node id
    merge = np.array([int(c) for c in d["color_list"]], dtype=np.intp) - n
    return np.asarray(d["icoord"]), np.asarray(d["dcoord"]), merge, np.asarray(d["leaves"], dtype=np.intp)


def dendrogram_figure(
    Z: np.ndarray,
    labels: Sequence[str],
    clusters: Sequence[int] | np.ndarray | None = None,
    *,
    orientation: str = "left",
    title: str | None = None,
    method: str | None = None,
) -> go.Figure:
    """Dendrogram of ``Z``, branches coloured by ``clusters``.

    Parameters
    ----------
    Z : (n-1, 4) linkage matrix.
    labels : n leaf names ("Artist – Title"), in the order of Z's observations.
    clusters : (n,) 0-based cluster of each leaf, as the page cut it (e.g.
        ``ClusterResult.labels[ClusterResult.sample]``); a dashed line marks
        the cut height. None: one colour, no line.
    orientation : "left" (labels down the left side, distance to the right:
        readable for long titles) or "bottom" (classic).
    method : the linkage that built ``Z``: names the distance axis (:func:`distance_name`).

    One line trace per cluster plus one for branches above the cut, then a
    marker trace on the leaves whose hover gives the name and cluster.
    """
    Z = np.asarray(Z, dtype=np.float64)
    n = Z.shape[0] + 1
    labels = [str(s) for s in labels]
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for a tree of {n} paintings")
    if orientation not in ("left", "bottom"):
        raise ValueError("orientation must be 'left' or 'bottom'")
    if clusters is not None:
        cl = np.asarray(clusters, dtype=np.intp)
        if cl.shape != (n,):
            raise ValueError(f"clusters has shape {cl.shape}, expected ({n},)")
        node_cl = node_clusters(Z, cl)
    else:
        cl = np.zeros(n, dtype=np.intp)
        node_cl = np.zeros(n - 1, dtype=np.intp)
    ic, dc, merge, order = _layout(Z)
    seg_cl = node_cl[merge]
    horizontal = orientation == "left"
    fig = go.Figure()
    for c in sorted(set(seg_cl.tolist())):
        sel = np.flatnonzero(seg_cl == c)
        xs = np.column_stack([ic[sel], np.full(sel.size, np.nan)]).ravel()
        ys = np.column_stack([dc[sel], np.full(sel.size, np.nan)]).ravel()
        if horizontal:
            xs, ys = ys, xs
        name = "above cut" if c < 0 else (f"Cluster {c + 1}" if clusters is not None else "tree")
        color = ABOVE_CUT_COLOR if c < 0 or clusters is None else cluster_color(c)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, line={"color": color, "width": 1.5},
                                 hoverinfo="skip", showlegend=False))
    shown = plain_all(labels)
    leaf_text = [shown[i] + (f"<br>Cluster {cl[i] + 1}" if clusters is not None else "") for i in order]
    ticks = 5.0 + 10.0 * np.arange(n)
    zeros = np.zeros(n)
    fig.add_trace(
        go.Scatter(
            x=zeros if horizontal else ticks, y=ticks if horizontal else zeros,
            mode="markers", name="paintings",
            marker={"size": 6, "color": [cluster_color(c) if clusters is not None else ABOVE_CUT_COLOR
                                         for c in cl[order]]},
            text=leaf_text, customdata=order, hovertemplate="%{text}<extra></extra>", showlegend=False,
        )
    )
    leaf_axis = {
        "tickmode": "array", "tickvals": ticks, "ticktext": [plain(shorten(labels[i])) for i in order],
        "showticklabels": n <= LEAF_LABEL_MAX_N, "showgrid": False, "zeroline": False, "automargin": True,
    }
    dist_axis = {"title": {"text": distance_name(method)}, "rangemode": "tozero", "zeroline": False}
    if clusters is not None:
        line = {"line": {"color": "#444", "dash": "dash", "width": 1}}
        h = cut_height(Z, cl)
        fig.add_vline(x=h, **line) if horizontal else fig.add_hline(y=h, **line)
    if horizontal:
        leaf_axis["autorange"] = "reversed"
        fig.update_layout(xaxis=dist_axis, yaxis=leaf_axis, height=max(400, min(16 * n + 120, 4000)))
    else:
        leaf_axis.update(tickangle=-60, range=[0, 10 * n])
        fig.update_layout(xaxis=leaf_axis, yaxis=dist_axis, height=600)
    fig.update_layout(
        title={"text": plain(title)} if title else None,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        plot_bgcolor="white", hovermode="closest",
    )
    return fig
