"""A 2-D map of paintings drawn as their thumbnails (issue 14.1), as a Plotly figure.

Each painting is a layout image placed at its map position, plus an almost
transparent WebGL marker under it that carries the hover text (title, artist,
credit) and makes box and lasso selection work. Thumbnails are shown up to
:data:`MAX_THUMBNAILS` paintings; past that the map shows dots (thousands of
``<image>`` elements would make every pan and zoom slow in the browser).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

#: Most paintings drawn as thumbnails; more are drawn as dots.
MAX_THUMBNAILS = 600
#: A thumbnail's width as a share of the map's larger extent.
THUMB_SHARE = 0.06


def thumbnail_map(
    coords: np.ndarray,
    hover: Sequence[str],
    thumbnails: Sequence[str],
    colors: Sequence[str] | None = None,
    *,
    axis_titles: Sequence[str] = ("1", "2"),
    height: int = 680,
) -> go.Figure:
    """The map figure.

    Parameters
    ----------
    coords : (n, 2) positions.
    hover : n plain-text hover texts, lines split by newlines (escaped here: Plotly renders a subset of HTML).
    thumbnails : n image URIs ('' = none; that painting is a dot).
    colors : n marker colours (e.g. by artist).
    axis_titles : the two axes' titles.
    """
    coords = np.asarray(coords, dtype=np.float64)
    n = coords.shape[0]
    span = float(np.ptp(coords, axis=0).max()) if n > 1 else 1.0
    size = (span or 1.0) * THUMB_SHARE
    show_thumbs = n <= MAX_THUMBNAILS
    esc = [str(h).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>") for h in hover]
    fig = go.Figure(go.Scattergl(
        x=coords[:, 0], y=coords[:, 1], mode="markers", customdata=np.arange(n),
        hovertext=esc, hoverinfo="text",
        marker={"size": 26 if show_thumbs else 7, "opacity": 0.15 if show_thumbs else 0.8,
                "color": list(colors) if colors is not None else "#1f77b4", "line": {"width": 0}},
    ))
    if show_thumbs:
        fig.update_layout(images=[
            {"source": uri, "xref": "x", "yref": "y", "x": float(x), "y": float(y), "sizex": size, "sizey": size,
             "xanchor": "center", "yanchor": "middle", "sizing": "contain", "layer": "above"}
            for (x, y), uri in zip(coords, thumbnails, strict=True) if uri
        ])
    fig.update_layout(
        height=height, dragmode="pan", margin={"l": 10, "r": 10, "t": 10, "b": 10}, showlegend=False,
        xaxis={"title": axis_titles[0], "zeroline": False},
        yaxis={"title": axis_titles[1], "zeroline": False, "scaleanchor": "x"},
    )
    return fig
