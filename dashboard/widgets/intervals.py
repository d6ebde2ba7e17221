"""Artist similarity with bootstrap intervals on the Similarity page's artist level (issue 14.4).

A toggle (``ci=1`` in the share link) shows, for one artist at a time, every other
artist's similarity with the interval where 90% of bootstrap resamples fall. The
resamples are seeded with the view's seed, so a share link reproduces them. Pairs
whose rank is not stable and artists with a single painting are marked in words.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from dashboard import cache
from dashboard.panels import export_panel

#: Resamples per artist pair (0.2 s at 45 paintings, about 1 s at 500 on 2 cores).
REPLICATES = 200
#: Above this many paintings the intervals are not offered (a few seconds per 1,000 paintings).
MAX_N = 2000
PARAM = "ci"


def _write_url() -> None:
    if st.session_state["intervals_widget"]:
        st.query_params[PARAM] = "1"
    else:
        st.query_params.pop(PARAM, None)


def figure(rows, artist: str) -> go.Figure:
    """Error-bar chart of ``artist``'s pairs: point estimate and bootstrap interval, most similar first."""
    mine = rows[rows["artist"] == artist]
    labels = [
        f"{o}{' (1 painting)' if n == 1 else ''}{'' if s else ' ?'}"
        for o, n, s in zip(mine["other"], mine["n_other"], mine["stable"], strict=True)
    ]
    fig = go.Figure(go.Scatter(
        x=mine["similarity"], y=labels, mode="markers",
        error_x={"type": "data", "symmetric": False,
                 "array": mine["high"] - mine["similarity"], "arrayminus": mine["similarity"] - mine["low"]},
        marker={"color": ["#1f77b4" if s else "#d62728" for s in mine["stable"]], "size": 9},
        hovertemplate="%{y}: %{x:.3f}<extra></extra>",
    ))
    fig.update_layout(
        height=120 + 28 * len(mine), margin={"l": 10, "r": 10, "t": 30, "b": 40},
        xaxis_title="similarity (dot) and 90% bootstrap interval (bar)",
        yaxis={"autorange": "reversed"}, title=f"{artist} compared with each other artist",
    )
    return fig


def show(center: bool) -> None:
    """The toggle, then (when on) a chart for one artist and the table of every pair."""
    ctx = cache.context()
    on = st.toggle(
        "Show bootstrap intervals", value=st.query_params.get(PARAM) == "1", key="intervals_widget",
        on_change=_write_url, help="How much would each figure move with other paintings by the same artists?",
    )
    if not on:
        return
    n = len(ctx.frame)
    if n > MAX_N:
        st.info(f"Intervals are computed for up to {MAX_N:,} paintings; select fewer artists.", icon=":material/info:")
        return
    artists = tuple(str(a) for a in ctx.frame["artist"])
    if len(set(artists)) < 2:
        st.caption("Only one artist selected: no pairs to compare.")
        return
    rows = cache.artist_intervals(ctx.key, center, ctx.view.seed, REPLICATES, artists, ctx.vectors)
    names = sorted(set(artists))
    who = st.selectbox("Artist", names, key="intervals_artist_widget")
    export_panel.chart(figure(rows, who), key="intervals_chart", name=f"intervals-{who}")
    singles = sorted({a for a, k in zip(rows["artist"], rows["n_artist"], strict=True) if k == 1})
    st.caption(
        f"How to read this: the dot is the mean similarity between the two artists' paintings; the bar is where "
        f"90% of {REPLICATES} resamples fall (each artist's paintings drawn again with replacement, seed "
        f"{ctx.view.seed}: the share link reproduces them). A long bar means the figure depends on which paintings "
        "were picked. A red dot and a '?' mark a pair that does not stay ahead of the next artist in 90% of "
        "resamples: do not read its rank. An artist with one painting cannot be resampled: its figure rests on "
        "that single image."
    )
    if singles:
        st.text("One painting only (treat these figures with care): " + ", ".join(singles))
    table = rows.assign(
        order=["stable" if s else "unsure" for s in rows["stable"]],
        note=["one painting" if s else "" for s in rows["single"]],
    )[["artist", "other", "similarity", "low", "high", "rank", "order", "n_artist", "n_other", "note"]]
    st.dataframe(table.round(3), hide_index=True, width="stretch", key="intervals_table")
