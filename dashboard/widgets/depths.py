"""The Compare page's "What each depth captures" section: every view of every model in one table and chart.

Kept beside the cached layer (not in ``pages/``) so the Compare page calls it in one line.
"""

from __future__ import annotations

import streamlit as st

from artsim.embedding.views import VIEWS
from artsim.explain.depth import depth_figure, depth_table, split_view
from dashboard import cache
from dashboard.widgets import access


def show(models: dict[str, str | None]) -> None:
    """Lay out the section for the current selection; ``models`` is ``name -> problem or None``
    with views included (``cache.model_choices``)."""
    ctx = cache.context()
    names = [m for m, problem in models.items() if problem is None and split_view(m)[0] in VIEWS]
    st.header("What each depth captures", anchor=False)
    if not names:
        st.caption("Views need resnet50 or efficientnet-lite0, and neither is available here.")
        return
    shas = ctx.frame["sha256"].tolist()
    artists = ctx.frame["artist"].tolist()
    works = ctx.frame["work"].tolist() if ctx.frame["work"].astype(bool).any() else None
    vectors = {}
    with st.spinner("Computing every view (one pass per model)…"):
        for name in names:
            found = cache.vectors_for(name, shas)
            if found is not None:
                vectors[name] = found
    if not vectors:
        st.caption("No view could embed the selected paintings.")
        return
    table = depth_table(vectors, artists, works, center=ctx.view.center)
    st.plotly_chart(access.touch_safe(depth_figure(table)), key="depths", config=access.PLOTLY_CONFIG,
                    alt="Chart of artist accuracy and same- versus different-artist similarity at each depth "
                    "of each model; the same numbers are in the table below.")
    st.dataframe(
        table, hide_index=True,
        column_config={
            "accuracy": st.column_config.NumberColumn(format="percent"),
            "chance": st.column_config.NumberColumn(format="percent"),
            "within": st.column_config.NumberColumn("same artist", format="%.3f"),
            "between": st.column_config.NumberColumn("different artists", format="%.3f"),
            "gap": st.column_config.NumberColumn("gap", format="%.3f"),
        },
    )
    st.caption(
        "Each model seen at several depths: stageN pools an earlier layer (colour, brushwork, texture), "
        "final is the model's own vector (objects and layout), gramN keeps which textures occur together "
        "in an early layer (style, after Gatys et al.). Accuracy: how often a painting's nearest other "
        "painting is by the same artist (copies of a work never count); gap: mean similarity of "
        f"same-artist pairs minus different-artist pairs{' after mean-centring' if ctx.view.center else ''}. "
        "Pick any view in the sidebar's model menu to see the heatmap, tree and map it gives."
    )
