"""The top of a large collection's clustering tree: each leaf a branch with its size.

Above ``clustering.LINKAGE_MAX_N`` paintings the tree is built on a sample, and a
dendrogram of its thousands of leaves is unreadable. This figure draws the last
merges only (:func:`artsim.analysis.clustering.top_levels`, scipy's ``truncate_mode="lastp"``
layout): each leaf is a branch, its marker sized by the paintings it stands for,
coloured by the page's cut, with its most frequent artists on hover.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from artsim.analysis.clustering import TreeTop
from artsim.figures.colors import ABOVE_CUT_COLOR, cluster_color
from artsim.figures.dendrogram import distance_name
from artsim.figures.text import plain

#: Artists named in a branch's hover (most frequent first).
HOVER_ARTISTS = 3


def branch_labels(top: TreeTop, clusters: Sequence[int] | np.ndarray) -> list[str]:
    """Tick label of each branch, left to right: ``"Cluster 3 · ≈1,250"`` (sizes rounded).

    ``clusters`` : (s,) 0-based cluster of each tree leaf (the sample's labels).
    """
    cl = np.asarray(clusters, dtype=np.intp)
    return [f"Cluster {cl[m[0]] + 1} · ≈{round(float(size)):,}" for m, size in zip(top.members, top.sizes, strict=True)]


def tree_top_figure(
    top: TreeTop,
    artists: Sequence[str],
    clusters: Sequence[int] | np.ndarray,
    *,
    cut: float | None = None,
    method: str | None = None,
) -> go.Figure:
    """The top levels of a tree, one leaf per branch with its size.

    Parameters
    ----------
    top : the tree's top (``clustering.top_levels(Z, p, weights)``); with p at
        least the page's k, each branch lies inside one cluster.
    artists : (s,) artist of each tree leaf (the tree's observations, e.g. the sample).
    clusters : (s,) 0-based cluster of each tree leaf, as the page cut it.
    cut : height of the page's cut (a dashed line), or None.
    method : the linkage that built the tree (names the distance axis).
    """
    cl = np.asarray(clusters, dtype=np.intp)
    names = np.asarray([str(a) for a in artists], dtype=object)
    if cl.shape != names.shape:
        raise ValueError(f"{names.size} artists for {cl.size} cluster labels")
    p = len(top.members)
    ticks = 5.0 + 10.0 * np.arange(p)
    xs = np.column_stack([top.dcoord, np.full(len(top.dcoord), np.nan)]).ravel()
    ys = np.column_stack([top.icoord, np.full(len(top.icoord), np.nan)]).ravel()
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", line={"color": ABOVE_CUT_COLOR, "width": 1.5},
                               hoverinfo="skip", showlegend=False))
    leaf_cl = np.array([cl[m[0]] for m in top.members], dtype=np.intp)
    hover = []
    for m, size, count, c in zip(top.members, top.sizes, top.counts, leaf_cl, strict=True):
        common = Counter(names[m].tolist()).most_common(HOVER_ARTISTS)
        who = "<br>".join(f"{plain(a)}: {k / count:.0%}" for a, k in common)
        hover.append(f"Cluster {c + 1}<br>≈{round(float(size)):,} paintings ({count:,} in the tree's sample)<br>{who}")
    area = top.sizes / max(float(top.sizes.max()), 1.0)
    fig.add_trace(go.Scatter(
        x=np.zeros(p), y=ticks, mode="markers", name="branches",
        marker={"size": 6 + 18 * np.sqrt(area), "color": [cluster_color(int(c)) for c in leaf_cl]},
        text=hover, customdata=np.arange(p), hovertemplate="%{text}<extra></extra>", showlegend=False,
    ))
    if cut is not None:
        fig.add_vline(x=cut, line={"color": "#444", "dash": "dash", "width": 1})
    fig.update_layout(
        xaxis={"title": {"text": distance_name(method)}, "rangemode": "tozero", "zeroline": False},
        yaxis={"tickmode": "array", "tickvals": ticks, "ticktext": branch_labels(top, cl), "autorange": "reversed",
               "showgrid": False, "zeroline": False, "automargin": True},
        height=max(400, 22 * p + 120), margin={"l": 10, "r": 10, "t": 10, "b": 10},
        plot_bgcolor="white", hovermode="closest",
    )
    return fig
