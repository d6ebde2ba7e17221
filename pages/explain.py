"""Why are these two similar? A pair's cosine split over the positions of both paintings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from artsim.analysis import similarity
from artsim.errors import ArtsimError, hide_paths
from artsim.explain import explain_pair, explainable, painting_map
from artsim.explain.figures import overlay_figure
from artsim.figures.markup import md
from dashboard import cache
from dashboard.widgets import access as a11y

ctx = cache.context()
view = ctx.view
st.title("Why are these two similar?", anchor=False)

n = len(ctx.frame)
if n < 2:
    st.info("Select at least two paintings (sidebar) to explain a pair.", icon=":material/arrow_back:")
    st.stop()
if not explainable(ctx.model):
    st.info(
        f"{md(ctx.model)} gives no map of where it looks; pick resnet50, efficientnet-lite0 or one of "
        "their views in the sidebar.", icon=":material/info:",
    )
    st.stop()

shas = ctx.frame["sha256"].tolist()
labels = [f"{a} – {t}" for a, t in zip(ctx.frame["artist"], ctx.frame["title"], strict=True)]


def _from_link(param: str, default: int) -> int:
    """Row of the painting named by a link parameter: a sha256 prefix (>= 6 hex digits) or a row number."""
    value = str(st.query_params.get(param) or view.extra.get(param) or "")[:64].strip().lower()
    if value.isdigit() and len(value) < 6:
        return int(value) if int(value) < n else default
    if len(value) >= 6 and all(c in "0123456789abcdef" for c in value):
        for i, sha in enumerate(shas):
            if sha.startswith(value):
                return i
    return default


left, right = st.columns(2)
ia = left.selectbox("Painting A", range(n), index=_from_link("a", 0), format_func=labels.__getitem__, key="explain_a")
ib = right.selectbox(
    "Painting B", range(n), index=_from_link("b", 1), format_func=labels.__getitem__, key="explain_b"
)
center = st.toggle(
    "Mean-centre vectors", value=view.center, key="center_widget",
    on_change=cache.set_view_from, args=("center", "center_widget"),
)
st.query_params["a"], st.query_params["b"] = shas[ia][:12], shas[ib][:12]  # the address bar is the share link

by_sha = {p.sha256: p for p in ctx.paintings}
handle = cache.embedder(ctx.model)
try:
    with st.spinner("Looking at both paintings…"):
        map_a = painting_map(handle, shas[ia], by_sha[shas[ia]].path)
        map_b = painting_map(handle, shas[ib], by_sha[shas[ib]].path)
except ArtsimError as error:
    st.error(hide_paths(error))  # the message may name a server file
    st.stop()

mean = ctx.vectors.mean(axis=0, dtype=np.float64) if center else None  # as the Similarity page centres
shown = similarity.normalize_rows(ctx.vectors[[ia, ib]], center=center, mean=mean, dtype=np.float64)
explanation = explain_pair(map_a.features, map_b.features, mean=mean, k=5)

stored = float(shown[0] @ shown[1])
st.metric("Cosine similarity", f"{explanation.cosine:.3f}")
st.caption(
    f"Each square is one position of the network's feature map ({explanation.map_a.shape[0]} × "
    f"{explanation.map_a.shape[1]}); its share is how much that part of the painting adds to the "
    "similarity (red) or takes away (blue), and the shares of each painting add up exactly to the number above. "
    + ("With mean-centring a position counts for how it differs from the collection's average painting. " if center else "")
    + f"The maps are recomputed in full precision for these two paintings; the stored vectors the other pages use give {stored:.3f}."
)
zmax = float(max(np.abs(explanation.map_a).max(), np.abs(explanation.map_b).max()))
pairs = explanation.pairs
fig_left, fig_right = st.columns(2)
fig_left.plotly_chart(
    a11y.touch_safe(overlay_figure(map_a.image, explanation.map_a, title=labels[ia], zmax=zmax,
                                   points=pairs[:, 0:2], point_grid=explanation.pair_grid_a)),
    key="explain_map_a", config={"scrollZoom": False, "displaylogo": False},
    alt=f"{labels[ia]}, overlaid with a grid of each part's share of the similarity (red adds, blue takes away).",
)
fig_right.plotly_chart(
    a11y.touch_safe(overlay_figure(map_b.image, explanation.map_b, title=labels[ib], zmax=zmax,
                                   points=pairs[:, 2:4], point_grid=explanation.pair_grid_b)),
    key="explain_map_b", config={"scrollZoom": False, "displaylogo": False},
    alt=f"{labels[ib]}, overlaid with a grid of each part's share of the similarity (red adds, blue takes away).",
)

st.header("Parts that match most", anchor=False)
total = explanation.cosine
st.dataframe(
    pd.DataFrame(
        {
            "match": np.arange(1, len(pairs) + 1),
            "in A (row, column)": [f"{int(r) + 1}, {int(c) + 1}" for r, c in pairs[:, 0:2]],
            "in B (row, column)": [f"{int(r) + 1}, {int(c) + 1}" for r, c in pairs[:, 2:4]],
            "share": pairs[:, 4].round(4),
            "of the total": [f"{s / total:.1%}" if total else "—" for s in pairs[:, 4]],
        }
    ),
    hide_index=True,
)
grid_a, grid_b = explanation.pair_grid_a, explanation.pair_grid_b
st.caption(
    f"Every part of A is compared with every part of B (grids {grid_a[0]} × {grid_a[1]} and "
    f"{grid_b[0]} × {grid_b[1]}); all these pair shares add up to the similarity too. The numbered "
    "circles on the paintings mark the pairs listed here (Stylianou et al., WACV 2019)."
)
st.caption("Similarity is what the network sees, not attribution or influence.")
