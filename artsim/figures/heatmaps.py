"""Similarity heatmaps: painting by painting or artist by artist.

Readable at any size: up to ``LABEL_MAX_N`` rows every row is labelled (the
figure grows with the rows; the matrix fills the width it is given), above
that a coloured artist band runs along both axes, with the artist's name on
hover. All names are escaped (:mod:`artsim.figures.text`). Up to ``PICK_MAX_N``
rows :func:`add_pair_picker` makes each cell clickable (Plotly selects no heatmap
cell), and :func:`picked_pair` reads the clicked pair back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from artsim.figures.colors import category_colors
from artsim.figures.text import plain, plain_all, shorten, unique_labels

#: Most paintings a painting-by-painting heatmap is drawn for (n^2 cells: 1,000 is
#: about 5 MB of base64 float32; beyond that nobody can read the cells anyway).
MAX_HEATMAP_N = 1000
#: Up to this many rows, every row carries its label.
LABEL_MAX_N = 80
#: Up to this many columns, every column carries its label too (hover names them all).
X_LABEL_MAX_N = 30
#: Up to this many rows a click on a cell can pick its pair (:func:`add_pair_picker`): one
#: invisible marker per cell, named for hover, so the figure grows by twice the label length plus
#: about 30 bytes per cell (250 kB at 45 paintings with 45-character labels, 440 kB at 60);
#: above it the heatmap keeps its own hover and no cell is clickable.
PICK_MAX_N = 60
#: The name of the picker's trace (the page reads a click's pair from its ``customdata``).
PICKER_NAME = "pairs"


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


def _labelled_layout(raw: list[str], names: list[str]) -> dict[str, Any]:
    """Axes with every row labelled; height grows with the rows."""
    n = len(names)
    row_px = 20 if n <= 30 else 16 if n <= 60 else 13
    font = {"size": 12 if n <= 30 else 10}
    y_text = plain_all(shorten(s, 34) for s in raw)
    x_text = plain_all(shorten(s, 28) for s in raw)
    return {
        # columns are the rows' paintings in the same order; below the matrix only while they fit
        "xaxis": {"tickmode": "array", "tickvals": names, "ticktext": x_text, "tickangle": -90 if n > 8 else -30,
                  "tickfont": font, "type": "category", "automargin": True, "showticklabels": n <= X_LABEL_MAX_N},
        "yaxis": {"tickmode": "array", "tickvals": names, "ticktext": y_text, "tickfont": font,
                  "autorange": "reversed", "type": "category", "automargin": True},
        # a few rows still get a matrix a reader can point at (about 300 px tall)
        "height": int(max(380, (190 if n <= X_LABEL_MAX_N else 60) + max(row_px * n, 300))),
    }


def _band(codes: np.ndarray, artist_names: list[str], palette: list[str], names: list[str], *,
          vertical: bool) -> go.Heatmap:
    m = len(palette)
    scale = []
    for i, c in enumerate(palette):
        scale += [[i / m, c], [(i + 1) / m, c]]
    who = np.array([artist_names[c] for c in codes], dtype=object)
    z = codes[:, None] if vertical else codes[None, :]
    custom = who[:, None] if vertical else who[None, :]
    return go.Heatmap(
        z=z, x=["artist"] if vertical else names, y=names if vertical else ["artist"],
        xaxis="x2" if vertical else "x", yaxis="y" if vertical else "y2",
        colorscale=scale, zmin=-0.5, zmax=m - 0.5, showscale=False, customdata=custom,
        hovertemplate="%{customdata}<extra></extra>", name="artists",
    )


def add_pair_picker(fig: go.Figure) -> go.Figure:
    """Make each cell of a :func:`similarity_heatmap` (painting level) clickable: one pair per cell.

    Plotly reports no selection on a heatmap, so an invisible scatter trace puts
    one marker at each cell centre (an open square shows on the selected one),
    row by row in the figure's order: :func:`picked_pair` turns a selected
    point's index back into the pair. It takes over the hover (same text, the
    value in ``customdata``), and ``hoverdistance=-1`` sends a pointer anywhere
    in a cell to that cell's marker (the nearest centre of a grid is the cell's own).

    Parameters
    ----------
    fig : a figure from :func:`similarity_heatmap` with at most ``PICK_MAX_N`` rows.

    Returns ``fig`` (changed in place). Raises ValueError above ``PICK_MAX_N`` rows.
    """
    heat = fig.data[0]
    names = list(heat.y)
    n = len(names)
    if n > PICK_MAX_N:
        raise ValueError(f"{n} rows: a pair picker is drawn for at most {PICK_MAX_N}")
    rows, cols = np.divmod(np.arange(n * n), n)
    fig.add_trace(
        go.Scatter(
            x=[names[c] for c in cols], y=[names[r] for r in rows], mode="markers", name=PICKER_NAME,
            customdata=np.asarray(heat.z, dtype=np.float32).reshape(-1),
            marker={"symbol": "square-open", "size": 14, "color": "#111", "opacity": 0, "line": {"width": 2}},
            selected={"marker": {"opacity": 1}}, unselected={"marker": {"opacity": 0}},
            hovertemplate="%{y}<br>%{x}<br>cosine similarity %{customdata:.3f}"
                          "<br>click for: why are these two similar?<extra></extra>",
            showlegend=False,
        )
    )
    fig.update_layout(hoverdistance=-1, clickmode="event+select")
    return fig


def picked_pair(points: Sequence[Mapping[str, Any]], order: Sequence[int]) -> tuple[int, int] | None:
    """The pair ``(i, j)`` (rows of the matrix as given) of the first picked cell, or None.

    Parameters
    ----------
    points : a selection's points (Streamlit's ``event.selection.points``), each
        with its ``point_index``; points of other traces have no valid index here
        (a heatmap reports none) and are skipped.
    order : the ``order`` the figure was drawn with (n rows).
    """
    n = len(order)
    for point in points:
        index = point.get("point_index")
        if isinstance(index, int) and 0 <= index < n * n:
            row, col = divmod(index, n)
            return int(order[row]), int(order[col])
    return None


def similarity_heatmap(
    S: np.ndarray | pd.DataFrame,
    labels: Sequence[str] | None = None,
    order: Sequence[int] | None = None,
    *,
    title: str | None = None,
    artists: Sequence[str] | None = None,
    colors: Mapping[str, str] | None = None,
    label_max: int = LABEL_MAX_N,
) -> go.Figure:
    """Heatmap of a similarity matrix, row 0 at the top.

    Parameters
    ----------
    S : (n, n) array or DataFrame (e.g. from ``artist_similarity``; its index
        gives the labels when ``labels`` is None).
    labels : n names ("Artist – Title" or artist names); repeats are made unique.
    order : permutation of range(n) (e.g. ``leaf_order(Z)``) for rows and columns.
    artists : n artist names, for the artist bands drawn above ``label_max`` rows.
    colors : artist -> colour (``artist_colors`` of the collection) for the bands.
    label_max : up to this many rows every row is labelled.

    Hover shows the row name, the column name and the value. Show it with the
    container's width (``st.plotly_chart(..., width="stretch")``): no fixed
    aspect, the height grows with the rows.
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
    labels = [str(i) for i in range(n)] if labels is None else [str(s) for s in labels]
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for a {n} x {n} matrix")
    if artists is not None and len(artists) != n:
        raise ValueError(f"{len(artists)} artists for a {n} x {n} matrix")
    idx = np.arange(n) if order is None else np.asarray(order, dtype=np.intp)
    if sorted(idx.tolist()) != list(range(n)):
        raise ValueError("order must be a permutation of range(n)")
    raw = unique_labels([labels[i] for i in idx])
    names = plain_all(raw)
    zz = z[np.ix_(idx, idx)].astype(np.float32)
    fig = go.Figure(
        go.Heatmap(
            z=zz, x=names, y=names, name="similarity",
            hovertemplate="%{y}<br>%{x}<br>cosine similarity %{z:.3f}<extra></extra>",
            # a horizontal bar above the matrix leaves the width to the cells
            colorbar={"title": {"text": "cosine", "side": "top"}, "orientation": "h", "thickness": 12,
                      "len": 0.5, "x": 1.0, "xanchor": "right", "y": 1.0, "yanchor": "bottom"},
            **_color_range(z),
        )
    )
    if n <= label_max:
        layout = _labelled_layout(raw, names)
    else:
        hidden = {"showticklabels": False, "type": "category", "showgrid": False}
        layout = {
            "xaxis": {**hidden, "domain": [0.035, 1.0]},
            "yaxis": {**hidden, "autorange": "reversed", "domain": [0.0, 0.965]},
            "height": 760,
        }
        if artists is not None:
            who = [str(artists[i]) for i in idx]
            uniq = list(dict.fromkeys(who))
            palette = category_colors(uniq, colors)
            code = {a: i for i, a in enumerate(uniq)}
            codes = np.array([code[a] for a in who], dtype=np.int32)
            shown = plain_all(uniq)
            pal = [palette[a] for a in uniq]
            fig.add_trace(_band(codes, shown, pal, names, vertical=True))
            fig.add_trace(_band(codes, shown, pal, names, vertical=False))
            layout["xaxis2"] = {"domain": [0.0, 0.025], "showticklabels": False, "showgrid": False}
            layout["yaxis2"] = {"domain": [0.975, 1.0], "showticklabels": False, "showgrid": False}
    fig.update_layout(
        title={"text": plain(title)} if title else None,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        plot_bgcolor="white",
        **layout,
    )
    return fig
