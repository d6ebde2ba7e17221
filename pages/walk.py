"""Walk between paintings: the smoothest chain of nearest-neighbour steps from one painting to another."""

from __future__ import annotations

import streamlit as st

from artsim.analysis import separation
from artsim.explain import explainable
from artsim.figures.access import painting_alt
from dashboard import cache
from dashboard.widgets import why

ctx = cache.context()
view = ctx.view
st.title("Walk between paintings", anchor=False)

n = len(ctx.frame)
if n < 2:
    st.info(
        "There is nothing to walk between yet: select at least two paintings in the sidebar, "
        "or add some on the Add paintings page.", icon=":material/arrow_back:",
    )
    st.stop()

shas = ctx.frame["sha256"].tolist()
labels = [f"{a} – {t}" for a, t in zip(ctx.frame["artist"], ctx.frame["title"], strict=True)]


def _from_url(param: str, default: int) -> int:
    """Row of the painting whose sha256 starts with the URL value (first 64 characters only)."""
    value = str(st.query_params.get(param, ""))[:64].lower()
    if value:
        for i, sha in enumerate(shas):
            if sha.startswith(value):
                return i
    return default


def _write_url(param: str, widget_key: str) -> None:
    st.query_params[param] = shas[st.session_state[widget_key]][:12]


left, mid = st.columns(2)
a = left.selectbox(
    "From", range(n), index=_from_url("walk_from", 0), format_func=labels.__getitem__,
    key="walk_from_widget", on_change=_write_url, args=("walk_from", "walk_from_widget"),
)
b = mid.selectbox(
    "To", range(n), index=_from_url("walk_to", n - 1), format_func=labels.__getitem__,
    key="walk_to_widget", on_change=_write_url, args=("walk_to", "walk_to_widget"),
)
left, mid = st.columns(2)
try:
    k_url = int(str(st.query_params.get("walk_k", separation.DEFAULT_K))[:3])
except ValueError:
    k_url = separation.DEFAULT_K
k_max = max(1, min(30, n - 1))
k = left.slider(
    "Neighbours per painting (k)", 1, k_max, min(max(k_url, 1), k_max), key="walk_k_widget",
    help="Each painting is joined to its k most similar paintings; a walk may only step along these links.",
)
if k != separation.DEFAULT_K or "walk_k" in st.query_params:
    st.query_params["walk_k"] = str(k)
hops = mid.toggle(
    "Fewest steps", value=False, key="walk_hops_widget",
    help="Off: the smoothest walk (least total change). On: the walk with the fewest steps.",
)
works = ctx.frame["work"].tolist() if ctx.frame["work"].astype(bool).any() else None
from_index = cache.graph_from_index(ctx.model, n)  # large and indexed: neighbours from the ANN index
if from_index:
    graph = cache.index_neighbour_graph(ctx.key, k, ctx.model, tuple(shas), ctx.vectors, tuple(works) if works else None)
else:
    graph = cache.neighbour_graph(ctx.key, k, view.center, ctx.vectors, tuple(works) if works else None)
path = separation.shortest_chain(graph, a, b, hops=hops)

if path is None:
    st.warning(
        f"No walk exists at k = {k}: these two paintings lie in groups that no chain of {k}-nearest-"
        "neighbour steps joins. Raise k to connect more paintings.", icon=":material/link_off:",
    )
    st.stop()
if path.degrees == 0:
    st.info("Pick two different paintings.", icon=":material/info:")
    st.stop()

if from_index:
    vectors_note = (
        f"raw vectors: {n:,} paintings are linked through the store's approximate nearest-neighbour index "
        "(IVF-PQ, candidates re-ranked on the full vectors), which holds the vectors uncentred"
    )
else:
    vectors_note = f"{'mean-centred' if view.center else 'raw'} vectors"
st.caption(
    f"{path.degrees} step{'s' if path.degrees != 1 else ''} over a {k}-nearest-neighbour graph "
    f"({'fewest steps' if hops else 'smoothest walk'}; cosine similarity of each step, "
    f"{vectors_note}, model {ctx.model})."
)
thumbs = cache.thumbnail_uris(tuple(shas[i] for i in path.steps))
per_row = 6
can_explain = why.PAGE.is_file() and explainable(ctx.model)
for start in range(0, len(path.steps), per_row):
    cols = st.columns(per_row)
    for slot, step in enumerate(path.steps[start:start + per_row]):
        t = start + slot
        with cols[slot]:
            if thumbs[t]:
                st.image(thumbs[t], width="stretch", alt=painting_alt(ctx.frame.iloc[step]))
            st.text(labels[step])
            if t < len(path.similarities):
                st.caption(f"→ next: {path.similarities[t]:.2f}")
                if can_explain:
                    why.link(shas[step], shas[path.steps[t + 1]], label="why?")
