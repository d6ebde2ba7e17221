"""Figures of the Compare page: how well each model separates artists."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from artsim.figures.text import plain, plain_all


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
                x=plain_all(d["model"]), y=d["similarity"].to_numpy(dtype=np.float64),
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
    models = plain_all(df["model"])
    fig = go.Figure()
    for col, name, color in (("accuracy", "nearest neighbour", "#2a9d8f"),
                             ("chance", "random neighbour (chance)", "#b0b0b0")):
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
    names = plain_all(ari.index)
    fig = go.Figure(
        go.Heatmap(
            z=z, x=plain_all(ari.columns), y=names,
            zmin=min(0.0, float(np.nanmin(z))) if z.size else 0.0, zmax=1.0, colorscale="Viridis",
            text=np.vectorize(lambda v: f"{v:.2f}")(z) if z.size else None, texttemplate="%{text}",
            hovertemplate="%{y} vs %{x}<br>adjusted Rand index %{z:.3f}<extra></extra>",
            colorbar={"title": {"text": plain("ARI")}},
        )
    )
    fig.update_layout(
        yaxis={"autorange": "reversed", "scaleanchor": "x", "type": "category"},
        xaxis={"type": "category"},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=max(300, 120 + 70 * len(names)),
    )
    return fig
