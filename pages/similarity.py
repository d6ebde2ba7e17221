"""Similarity: cosine heatmap of paintings or artists, most similar pairs, nearest paintings."""

from __future__ import annotations

import streamlit as st

from artsim import clustering, figures, similarity
from pages import common

ctx = common.context()
view = ctx.view
st.title("Similarity")

if len(ctx.frame) < 2:
    st.info("Select at least two paintings (sidebar) to compare them.", icon="👈")
    st.stop()

left, right = st.columns([1, 1])
level = left.radio(
    "Level", ["paintings", "artists"], index=["paintings", "artists"].index(view.level),
    horizontal=True, key="level_widget", on_change=common.set_view_from, args=("level", "level_widget"),
)
center = right.toggle(
    "Mean-centre vectors", value=view.center, key="center_widget",
    on_change=common.set_view_from, args=("center", "center_widget"),
)
st.caption(
    "Cosine similarity: 1 = same direction. Raw ResNet features are all non-negative, so raw cosines "
    "bunch near 1; mean-centring subtracts the collection's average vector and spreads them out."
)

S = common.similarity_matrix(ctx.key, center, ctx.vectors)
Z = common.linkage(ctx.key, view.linkage, center, ctx.vectors)
order = clustering.leaf_order(Z)
labels = [f"{a} – {t}" for a, t in zip(ctx.frame["artist"], ctx.frame["title"], strict=True)]
if level == "paintings":
    st.plotly_chart(figures.similarity_heatmap(S, labels, order=order), key="heatmap")
    st.caption(f"Rows ordered by the {view.linkage}-linkage dendrogram's leaves.")
else:
    by_artist = similarity.artist_similarity(S, ctx.frame["artist"].tolist())
    first_seen = list(dict.fromkeys(ctx.frame["artist"].iloc[order]))
    st.plotly_chart(
        figures.similarity_heatmap(by_artist, list(by_artist.index),
                                   order=[list(by_artist.index).index(a) for a in first_seen]),
        key="heatmap",
    )
    st.caption("Off-diagonal: mean similarity between two artists' paintings. "
               "Diagonal: mean similarity among one artist's paintings (blank with a single painting).")

works = ctx.frame["work"].tolist() if "work" in ctx.frame and ctx.frame["work"].astype(bool).any() else None
st.subheader("Most similar pairs across artists")
pairs = similarity.top_pairs(S, ctx.frame["artist"].tolist(), k=10, works=works)
thumbs = common.thumbnail_uris(tuple(ctx.frame["sha256"]))
if pairs.empty:
    st.caption("Only one artist selected: no cross-artist pairs.")
else:
    table = {
        "A": [thumbs[i] for i in pairs["i"]],
        "painting A": [labels[i] for i in pairs["i"]],
        "B": [thumbs[j] for j in pairs["j"]],
        "painting B": [labels[j] for j in pairs["j"]],
        "similarity": pairs["similarity"].round(3),
    }
    st.dataframe(
        table,
        column_config={"A": st.column_config.ImageColumn("A"), "B": st.column_config.ImageColumn("B")},
        hide_index=True, width="stretch",
    )

st.subheader("Nearest paintings to…")
choice = st.selectbox("Painting", range(len(labels)), format_func=labels.__getitem__, key="nearest_widget")
near = similarity.nearest(S, choice, k=min(5, len(labels) - 1), works=works)
cols = st.columns(1 + len(near))
with cols[0]:
    if thumbs[choice]:
        st.image(thumbs[choice])
    st.caption(f"**{labels[choice]}**")
for col, (_, row) in zip(cols[1:], near.iterrows(), strict=True):
    with col:
        j = int(row["j"])
        if thumbs[j]:
            st.image(thumbs[j])
        st.caption(f"{labels[j]}  \nsimilarity {row['similarity']:.3f}")
st.caption("Similarity here is what the network sees, not attribution or influence.")
