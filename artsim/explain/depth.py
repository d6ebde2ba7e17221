"""What each depth captures: artist accuracy and same/different-artist similarity per model view.

Early stages respond to colour, brushwork and texture, late ones to objects
and layout; Gram features keep which textures occur together and drop where.
:func:`depth_table` puts the numbers of every view of every model side by side
(leave-one-out nearest-neighbour artist accuracy, copies of a work excluded,
and the mean similarity of same-artist and different-artist pairs), and
:func:`depth_figure` draws them. No Streamlit here: the Compare page lays it out.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from artsim.analysis import evaluation, similarity
from artsim.embedding.views import VIEWS

#: Column order of :func:`depth_table`.
COLUMNS = ["model", "view", "kind", "dim", "accuracy", "chance", "within", "between", "gap"]
#: Most paintings whose pairwise matrix is built for the within/between means (a seeded sample beyond).
PAIRS_MAX_N = 2000


def split_view(name: str) -> tuple[str, str]:
    """``"resnet50:gram1"`` -> ``("resnet50", "gram1")``; a plain model is its ``"final"`` view."""
    base, _, view = name.partition(":")
    return base, view or "final"


def view_rank(view: str) -> tuple[int, int]:
    """Sort key: stages by depth, then the model's own (final) vector, then Gram views."""
    if view == "final":
        return (1, 0)
    digits = "".join(c for c in view if c.isdigit())
    return (2 if view.startswith("gram") else 0, int(digits or 0))


def _kind(base: str, view: str) -> str:
    if view == "final":
        return "pooled (last)"
    return "Gram (style)" if VIEWS.get(base, {}).get(view, ("", 0, "stage"))[2] == "gram" else "pooled"


def depth_table(
    vectors: Mapping[str, np.ndarray],
    artists: Sequence[str],
    works: Sequence[str] | None = None,
    *,
    center: bool = False,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per model view with its artist accuracy and pair similarities.

    Parameters
    ----------
    vectors : name -> (n, d) vectors of the same n paintings (``"resnet50"``, ``"resnet50:stage2"``, ...).
    artists : n artist names; works : optional n work names (copies never count as neighbours or pairs).
    center : mean-centre each view's vectors first (as the app's toggle).
    seed : picks the sample of paintings for the pair means when n > :data:`PAIRS_MAX_N`.

    Returns
    -------
    DataFrame with :data:`COLUMNS`, sorted by model then depth: ``accuracy`` and ``chance`` from
    :func:`artsim.analysis.evaluation.loo_nn_accuracy`, ``within`` / ``between`` the mean cosine of
    same-artist / different-artist pairs and ``gap`` their difference (NaN when a kind has no pair).
    """
    n = len(artists)
    sample = np.arange(n)
    if n > PAIRS_MAX_N:
        sample = np.sort(np.random.default_rng(seed).choice(n, PAIRS_MAX_N, replace=False))
    sub_artists = [artists[i] for i in sample]
    sub_works = [works[i] for i in sample] if works is not None else None
    rows = []
    for name, X in vectors.items():
        X = np.asarray(X)
        if X.shape[0] != n:
            raise ValueError(f"{name}: {X.shape[0]} vectors for {n} paintings")
        base, view = split_view(name)
        accuracy, chance = evaluation.loo_nn_accuracy(X, artists, works, center=center)
        S = similarity.cosine_similarity_matrix(X[sample], center=center)
        pairs = evaluation.within_between(S, sub_artists, works=sub_works, max_pairs_per_kind=None)
        means = pairs.groupby("kind")["similarity"].mean()
        within, between = float(means.get("within", np.nan)), float(means.get("between", np.nan))
        rows.append((base, view, _kind(base, view), X.shape[1], accuracy, chance, within, between, within - between))
    table = pd.DataFrame(rows, columns=COLUMNS)
    order = sorted(range(len(table)), key=lambda i: (table["model"][i], view_rank(table["view"][i])))
    return table.iloc[order].reset_index(drop=True)


def depth_figure(table: pd.DataFrame) -> go.Figure:
    """Grouped bars: artist accuracy per view (x, shallow to deep, then Gram), one colour per model,
    with each model's chance level as a dashed line."""
    fig = go.Figure()
    views = sorted(dict.fromkeys(table["view"]), key=view_rank)
    for model, part in table.groupby("model", sort=True):
        part = part.set_index("view").reindex(views)
        label = html.escape(str(model))
        fig.add_trace(
            go.Bar(
                x=views, y=part["accuracy"], name=label,
                customdata=np.column_stack([part["dim"], part["gap"]]),
                hovertemplate=f"{label} %{{x}}<br>accuracy %{{y:.0%}}<br>%{{customdata[0]}}-d, "
                "same minus different artist %{customdata[1]:.3f}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=views, y=part["chance"], mode="lines", name=f"{label} chance",
                line={"dash": "dash", "width": 1}, hoverinfo="skip",
            )
        )
    fig.update_layout(
        barmode="group", yaxis={"title": {"text": "nearest-neighbour artist accuracy"}, "tickformat": ".0%"},
        xaxis={"title": {"text": "view (shallow → deep, then Gram style features)"}},
        # the legend above the bars: below them it overlapped the axis title
        margin={"t": 40}, height=400, legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    )
    return fig
