"""Plotly figures of an explanation: a painting with its share map over it, and the matching positions."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

#: Opacity of the share map over the painting.
OVERLAY_OPACITY = 0.55


def overlay_figure(
    image: np.ndarray,
    shares: np.ndarray,
    *,
    title: str = "",
    zmax: float | None = None,
    points: np.ndarray | None = None,
    point_grid: tuple[int, int] | None = None,
) -> go.Figure:
    """A painting with each position's share of the similarity laid over it.

    Parameters
    ----------
    image : (H, W, 3) uint8
        The model's input view of the painting.
    shares : (h, w) float
        Each position's share (:attr:`artsim.explain.PairExplanation.map_a`); red pushes the
        pair together, blue apart, white is neutral.
    title : str
        Shown above the figure (escaped: Plotly would render tags in it).
    zmax : float, optional
        Colour scale limit (symmetric about 0); use the same for both paintings of a pair.
    points : (k, 2) array of (row, col), optional
        Positions to mark with their rank (1 = strongest), on a grid of ``point_grid`` cells.
    point_grid : (rows, cols), optional
        Grid ``points`` refer to (default: the grid of ``shares``).

    Returns
    -------
    plotly.graph_objects.Figure
    """
    image = np.asarray(image)
    shares = np.asarray(shares, dtype=np.float64)
    H, W = image.shape[:2]
    h, w = shares.shape
    limit = float(zmax if zmax is not None else np.abs(shares).max()) or 1.0
    fig = go.Figure(go.Image(z=image, hoverinfo="skip"))
    fig.add_trace(
        go.Heatmap(
            z=shares, x0=W / w / 2, dx=W / w, y0=H / h / 2, dy=H / h,
            colorscale="RdBu_r", zmid=0, zmin=-limit, zmax=limit, opacity=OVERLAY_OPACITY,
            colorbar={"title": {"text": "share"}, "thickness": 12},
            hovertemplate="share %{z:.4f}<extra></extra>",
        )
    )
    if points is not None and len(points):
        rows, cols = point_grid or (h, w)
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        fig.add_trace(
            go.Scatter(
                x=(pts[:, 1] + 0.5) * W / cols, y=(pts[:, 0] + 0.5) * H / rows,
                mode="markers+text", text=[str(r + 1) for r in range(len(pts))],
                textfont={"color": "white", "size": 12}, hoverinfo="skip", showlegend=False,
                marker={"size": 22, "color": "rgba(0,0,0,0.6)", "line": {"color": "white", "width": 1.5}},
            )
        )
    fig.update_xaxes(visible=False, range=[0, W])
    fig.update_yaxes(visible=False, range=[H, 0], scaleanchor="x")
    fig.update_layout(
        title={"text": html.escape(title)}, margin={"l": 0, "r": 0, "t": 40 if title else 0, "b": 0}, height=420,
    )
    return fig
