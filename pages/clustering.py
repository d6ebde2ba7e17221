"""Clustering: hierarchical clustering with a chosen linkage, a dendrogram and a k-cluster cut."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from artsim import figures
from artsim.analysis import clustering
from artsim.figures.access import dendrogram_alt
from artsim.figures.markup import md
from artsim.figures.treetop import branch_labels, tree_top_figure
from artsim.viewstate import K_RANGE
from dashboard import cache
from dashboard.panels import export_panel
from dashboard.widgets import notices

ctx = cache.context()
view = ctx.view
st.title("Clustering", anchor=False)

n = len(ctx.frame)
notices.stop_unless_selected(3, "cluster")

left, mid, right = st.columns([1, 1, 1])
method = left.selectbox(
    "Linkage", clustering.LINKAGES, index=clustering.LINKAGES.index(view.linkage),
    key="linkage_widget", on_change=cache.set_view_from, args=("linkage", "linkage_widget"),
    help="How the distance between two groups is measured when merging them.",
)
k_max = min(n, K_RANGE[1])
k = mid.slider(
    "Clusters (k)", 2, k_max, min(max(view.k, 2), k_max), key="k_widget",
    on_change=cache.set_view_from, args=("k", "k_widget"),
)
center = right.toggle(
    "Mean-centre vectors", value=view.center, key="center_widget",
    on_change=cache.set_view_from, args=("center", "center_widget"),
)

result = cache.clusters(ctx.key, method, k, center, ctx.vectors)
names = [f"{a} – {t}" for a, t in zip(ctx.frame["artist"], ctx.frame["title"], strict=True)]
if method == "ward":
    st.caption(
        "Ward linkage runs on unit-length vectors with Euclidean distance, √(2 − 2 × cosine similarity), "
        "which orders pairs as cosine distance does. A merge's height is Ward's distance between the two "
        "groups (it grows with their size, so it can pass 2): compare heights within this tree, not with cosines."
    )
else:
    st.caption(
        f"Heights are cosine distances (1 − cosine similarity): a merge's height is the {method}-linkage "
        "distance between the two groups it joins."
    )
st.metric(
    "Cophenetic correlation", f"{result.cophenetic:.3f}",
    help="How faithfully the tree keeps the original distances (1 = perfectly).",
)
if result.exact:
    export_panel.chart(
        figures.dendrogram_figure(
            result.Z, [names[i] for i in result.sample], result.labels[result.sample], method=method
        ),
        key="dendrogram", name="dendrogram",
        alt=dendrogram_alt(method, n, k, np.bincount(result.labels, minlength=k)),
    )
else:
    s = len(result.sample)
    top = clustering.top_levels(result.Z, max(clustering.TOP_LEVELS_P, k), np.full(s, n / s))
    st.info(
        f"{n:,} paintings: the tree is built on a random sample of {s:,}; every other painting joins the "
        f"cluster whose average direction it is closest to. The tree shows its top {len(top.members)} "
        f"branches; each is labelled with its cluster and the paintings it stands for (≈: its share of the "
        "sample times the collection size).", icon=":material/info:",
    )
    sample_labels = result.labels[result.sample]
    export_panel.chart(
        tree_top_figure(
            top, ctx.frame["artist"].to_numpy()[result.sample], sample_labels,
            cut=clustering.cut_height(result.Z, sample_labels), method=method,
        ),
        key="dendrogram", name="dendrogram",
        alt=dendrogram_alt(method, n, k, np.bincount(result.labels, minlength=k)),
    )
    branches = branch_labels(top, sample_labels)
    pick = st.selectbox(
        "Open a branch", range(len(branches)), format_func=lambda b: f"Branch {b + 1}: {branches[b]}",
        key="branch_widget", help="The sampled paintings under one branch of the tree, top to bottom as drawn.",
    )
    rows = result.sample[top.members[pick]]
    st.caption(f"{rows.size:,} sampled paintings under this branch (it stands for ≈{round(top.sizes[pick]):,}).")
    st.dataframe(ctx.frame.iloc[rows][["artist", "title"]], hide_index=True, width="stretch")

st.header(f"{k} clusters", anchor=False)
table = pd.DataFrame(
    {"cluster": result.labels + 1, "artist": ctx.frame["artist"], "title": ctx.frame["title"]}
)
for cluster, group in table.groupby("cluster"):
    counts = group["artist"].value_counts()
    summary = ", ".join(f"{md(a)} ({c})" for a, c in counts.items())
    with st.expander(f"Cluster {cluster}: {len(group)} paintings — {summary}"):
        st.dataframe(group[["artist", "title"]], hide_index=True, width="stretch")
