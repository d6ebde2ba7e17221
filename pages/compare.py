"""Compare models: what each network captures about artists, on the current selection."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from artsim import figures
from artsim.analysis import comparison
from artsim.analysis.similarity import PAINTING_LEVEL_MAX_N
from artsim.figures.markup import md
from dashboard import cache
from dashboard.panels import export_panel
from dashboard.widgets import compare_cache, depths, notices

ctx = cache.context()
view = ctx.view
st.title("Compare models", anchor=False)
st.caption(
    "For each model: how often a painting's closest other painting is by the same artist "
    "(leave-one-out nearest neighbour; copies of the same work never count), how similar "
    "same-artist pairs are compared with different-artist pairs, and how much the models' "
    "clusterings agree."
)

notices.stop_if_no_paintings("compare")
artists = ctx.frame["artist"].tolist()
if not comparison.comparable(artists):
    st.info("Select at least three paintings by two or more artists (sidebar) to compare models.", icon=":material/arrow_back:")
    st.stop()

models, _, _ = cache.model_choices()
usable = [m for m, problem in models.items() if problem is None and ":" not in m]  # views: own section
for name, problem in models.items():
    if problem is not None and ":" not in name:
        st.caption(f"{md(name)} left out: {md(problem)}")  # outside text: escaped

shas = ctx.frame["sha256"].tolist()
works = ctx.frame["work"].tolist() if ctx.frame["work"].astype(bool).any() else None
vectors = {}
for model in usable:
    found = cache.vectors_for(model, shas)
    if found is None:
        st.warning(f"{model}: some selected paintings could not be embedded; left out.")
    else:
        vectors[model] = found
result = compare_cache.model_comparison(
    vectors, shas, artists, works, linkage=view.linkage, k=view.k, center=view.center
)
accuracy, pairs, k = result.accuracy, result.pairs, result.k

st.header("Nearest-neighbour artist accuracy", anchor=False)
export_panel.chart(figures.accuracy_bar_figure(accuracy), key="accuracy", name="artist-accuracy",
                   alt="Bar chart of each model's nearest-neighbour artist accuracy against chance; "
                   "the same numbers are in the table below.")
table = pd.DataFrame(
    [(m, a, c) for m, (a, c) in accuracy.items()], columns=["model", "accuracy", "chance"]
)
st.dataframe(
    table, hide_index=True,
    column_config={
        "accuracy": st.column_config.NumberColumn(format="percent"),
        "chance": st.column_config.NumberColumn(format="percent"),
    },
)
st.caption("Chance: the accuracy of picking a neighbour at random among the same candidates.")

st.header("Same-artist vs different-artist similarity", anchor=False)
if not pairs:
    st.caption(f"Shown for selections of up to {PAINTING_LEVEL_MAX_N} paintings: pick fewer artists.")
export_panel.chart(figures.within_between_figure(pairs), key="within_between", name="within-between",
                   alt="Box plots per model of the cosine similarity of same-artist and of different-artist pairs.")
st.caption(
    f"Cosine similarity of every pair{' after mean-centring' if view.center else ''}. "
    "Compare the two boxes within one model: models' similarity scales differ."
)

if not result.agreement.empty:
    st.header(f"Do the models cluster alike? ({view.linkage} linkage, k = {k})", anchor=False)
    export_panel.chart(figures.agreement_heatmap(result.agreement), key="agreement", name="model-agreement",
                       alt="Heatmap of the adjusted Rand index between the models' clusterings: "
                       + "; ".join(f"{a} and {b}: {result.agreement.loc[a, b]:.2f}"
                                   for i, a in enumerate(result.agreement.index)
                                   for b in result.agreement.columns[i + 1:]) + ".")
    st.caption("Adjusted Rand index: 1 = identical clusterings, 0 = no more alike than chance.")

depths.show(models)  # every view of every model (issue 13)
