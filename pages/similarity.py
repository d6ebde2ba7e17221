"""Similarity: cosine heatmap of paintings or artists, most similar pairs, nearest paintings."""

from __future__ import annotations

import zlib

import numpy as np
import streamlit as st

from artsim import figures
from artsim.analysis import clustering, similarity
from artsim.explain import explainable
from artsim.figures import MAX_HEATMAP_N, access
from artsim.figures.markup import md
from artsim.inputs import selection
from dashboard import cache
from dashboard.panels import export_panel
from dashboard.widgets import access as a11y
from dashboard.widgets import intervals, notices, why

ctx = cache.context()
view = ctx.view
st.title("Similarity", anchor=False)

n = len(ctx.frame)
notices.stop_unless_selected(2, "compare")

left, right = st.columns([1, 1])
# On a phone a painting-by-painting matrix has cells a few pixels wide: artists first there
# (unless the link asks for paintings).
default_level = "artists" if a11y.on_phone() and "level" not in st.query_params else view.level
level = left.radio(
    "Level", ["paintings", "artists"], index=["paintings", "artists"].index(default_level),
    horizontal=True, key="level_widget", on_change=cache.set_view_from, args=("level", "level_widget"),
)
center = right.toggle(
    "Mean-centre vectors", value=view.center, key="center_widget",
    on_change=cache.set_view_from, args=("center", "center_widget"),
)
if bool((ctx.vectors >= 0).all()):
    st.caption(
        f"Cosine similarity: 1 = same direction. Raw {md(ctx.model)} features are all non-negative, so raw "
        "cosines bunch near 1; mean-centring subtracts the collection's average vector and spreads them out."
    )
else:
    st.caption(
        f"Cosine similarity: 1 = same direction, 0 = unrelated, −1 = opposite ({md(ctx.model)} features). "
        "Mean-centring subtracts the collection's average vector: what every painting shares stops counting."
    )

artists = ctx.frame["artist"].tolist()
labels = [f"{a} – {t}" for a, t in zip(artists, ctx.frame["title"], strict=True)]
works = ctx.frame["work"].tolist() if ctx.frame["work"].astype(bool).any() else None
shas = ctx.frame["sha256"].tolist()


def thumbs_of(rows) -> dict[int, str]:
    """Data URIs of the thumbnails of ``rows`` only (a large collection's would be hundreds of MB)."""
    rows = [int(r) for r in rows]
    return dict(zip(rows, cache.thumbnail_uris(tuple(shas[r] for r in rows)), strict=True))


small = n <= similarity.PAINTING_LEVEL_MAX_N  # the n x n matrix is built (pairs, nearest, leaf order)

if level == "paintings" and n > MAX_HEATMAP_N:
    st.info(
        f"{n} paintings are too many for a painting-by-painting heatmap (at most {MAX_HEATMAP_N}); "
        "showing artists. Select fewer artists to see paintings.", icon=":material/info:",
    )
    level = "artists"
if small:
    S = cache.similarity_matrix(ctx.key, center, ctx.vectors)
if level == "paintings":
    order = clustering.leaf_order(cache.clusters(ctx.key, view.linkage, view.k, center, ctx.vectors).Z)
    colors = figures.artist_colors(p.artist for p in ctx.paintings)  # the collection's, not the selection's
    fig = figures.similarity_heatmap(S, labels, order=order, artists=artists, colors=colors)
    pick = n <= figures.PICK_MAX_N and explainable(ctx.model)
    if pick:  # a click on a cell picks its pair (issue 13.4); keyed by paintings and order: no stale pair
        figures.add_pair_picker(fig)
        key = f"heatmap_{zlib.crc32(repr((shas, [int(i) for i in order])).encode()):08x}"
        event = export_panel.chart(fig, key=key, name="similarity-paintings", on_select="rerun",
                                   selection_mode="points", alt=access.heatmap_alt(n, "paintings", S, labels))
    else:
        export_panel.chart(fig, key="heatmap", name="similarity-paintings",
                           alt=access.heatmap_alt(n, "paintings", S, labels))
    a11y.table(access.nearest_table(S, labels), "The heatmap as a table: each painting's nearest three")
    st.caption(f"Rows ordered by the leaves of the {view.linkage}-linkage dendrogram."
               + (" Click a cell, or choose a pair below, to ask why those two paintings are similar."
                  if pick else ""))
    if pick:  # the keyboard's way to the same pair as a click on a cell
        picked = st.selectbox("Pair to explain", [None, *(i * n + j for i in range(n) for j in range(i + 1, n))],
                              key=f"pair_{key}",
                              format_func=lambda c: "Choose two paintings…" if c is None
                              else f"{labels[c // n]} and {labels[c % n]}",
                              placeholder="Choose two paintings…")
    pair = figures.picked_pair(event.selection.points, order) if pick else None
    if pick and pair is None and picked is not None:
        pair = (picked // n, picked % n)
    if pair:
        i, j = pair
        if i == j:
            st.caption(f"{md(labels[i])}: a painting compared with itself.")
        else:
            st.markdown(f"**{md(labels[i])}** and **{md(labels[j])}**: similarity {S[i, j]:.3f}")
            why.link(shas[i], shas[j], label="Why are these two similar?")
else:
    by_artist = (
        similarity.artist_similarity(S, artists) if small
        else similarity.artist_similarity_from_vectors(ctx.vectors, artists, center=center)
    )
    export_panel.chart(figures.similarity_heatmap(by_artist), key="heatmap", name="similarity-artists",
                       alt=access.heatmap_alt(len(by_artist), "artists", by_artist.to_numpy(), list(by_artist.index)))
    a11y.table(access.nearest_table(by_artist.to_numpy(), list(by_artist.index)),
               "The heatmap as a table: each artist's nearest three")
    st.caption("Off-diagonal: mean similarity between two artists' paintings. "
               "Diagonal: mean similarity among one artist's paintings (blank with a single painting).")
    intervals.show(center)

    st.header("Drill down: two artists, painting by painting", anchor=False)
    names = list(by_artist.index)

    def _artist_from_url(param: str, default: int) -> int:
        value = str(st.query_params.get(param, ""))[:200]
        return names.index(value) if value in names else default

    def _artist_to_url(param: str, widget_key: str) -> None:
        st.query_params[param] = names[st.session_state[widget_key]]

    left, right = st.columns(2)
    ia = left.selectbox("Artist", range(len(names)), index=_artist_from_url("artist_a", 0),
                        format_func=names.__getitem__, key="artist_a_widget",
                        on_change=_artist_to_url, args=("artist_a", "artist_a_widget"))
    ib = right.selectbox("and artist", range(len(names)), index=_artist_from_url("artist_b", min(1, len(names) - 1)),
                         format_func=names.__getitem__, key="artist_b_widget",
                         on_change=_artist_to_url, args=("artist_b", "artist_b_widget"))
    rows = selection.artist_pair_rows(artists, names[ia], names[ib], MAX_HEATMAP_N)
    block = similarity.cosine_similarity_matrix(
        ctx.vectors[rows], center=center, mean=ctx.vectors.mean(axis=0, dtype=np.float64) if center else None,
    )
    sub_artists = [artists[i] for i in rows]
    export_panel.chart(
        figures.similarity_heatmap(block, [labels[i] for i in rows], artists=sub_artists,
                                   colors=figures.artist_colors(p.artist for p in ctx.paintings)),
        key="heatmap_drill", name="similarity-artist-pair",
        alt=access.heatmap_alt(len(rows), "paintings", block, [labels[i] for i in rows]),
    )
    total = sum(a in (names[ia], names[ib]) for a in artists)
    st.caption(
        f"{len(rows)} paintings" + (f" of {total} (evenly spaced in each artist's list)" if total > len(rows) else "")
        + (", centred on the whole collection's mean vector, as above." if center else ".")
    )

st.header("Most similar pairs across artists", anchor=False)
if not small:
    st.caption(f"Shown for selections of up to {similarity.PAINTING_LEVEL_MAX_N} paintings.")
else:
    pairs = similarity.top_pairs(S, artists, k=10, works=works)
    if pairs.empty:
        st.caption("Only one artist selected: no cross-artist pairs.")
    else:
        # Text only (a thumbnail's data URI would be read out), similarity first: fits a phone.
        links = ([why.url(shas[i], shas[j]) for i, j in zip(pairs["i"], pairs["j"], strict=True)]
                 if explainable(ctx.model) else None)
        st.dataframe(
            access.top_pairs_table(pairs, labels, links),
            column_config={
                "similarity": st.column_config.NumberColumn("similarity", format="%.3f", width="small"),
                "why": st.column_config.LinkColumn("why?", display_text="why similar?", width="small"),
            },
            hide_index=True, width="stretch",
        )

st.header("Nearest paintings to…", anchor=False)
choice = st.selectbox("Painting", range(n), format_func=labels.__getitem__, key="nearest_widget")
k_near = min(5, n - 1)
near = (
    similarity.nearest(S, choice, k=k_near, works=works) if small
    else similarity.nearest_from_vectors(ctx.vectors, choice, k=k_near, works=works, center=center)
)
thumbs = thumbs_of([choice, *near["j"]])
cols = st.columns(1 + len(near))
with cols[0]:
    if thumbs[choice]:
        st.image(thumbs[choice], alt=access.painting_alt(ctx.frame.iloc[choice]))
    st.caption(f"**{md(labels[choice])}**")
for col, (_, row) in zip(cols[1:], near.iterrows(), strict=True):
    with col:
        j = int(row["j"])
        if thumbs[j]:
            st.image(thumbs[j], alt=access.painting_alt(ctx.frame.iloc[j]))
        st.caption(f"{md(labels[j])}  \nsimilarity {row['similarity']:.3f}")
        if explainable(ctx.model):
            why.link(shas[choice], shas[j], label="why?")
st.caption("Similarity is what the network sees, not attribution or influence.")
