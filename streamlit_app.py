"""artsim dashboard: the router. Sidebar controls shared by every page, then the page."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

from artsim import config
from artsim.collection import to_frame
from artsim.errors import ArtsimError
from artsim.viewstate import ViewState
from dashboard import cache

st.set_page_config(page_title="artsim: how a network sees paintings", page_icon=":material/palette:", layout="wide")

PAGES = [
    st.Page("pages/gallery.py", title="Gallery", icon=":material/photo_library:", default=True),
    st.Page("pages/similarity.py", title="Similarity", icon=":material/grid_on:", url_path="similarity"),
    st.Page("pages/clustering.py", title="Clustering", icon=":material/account_tree:", url_path="clustering"),
    st.Page("pages/projection.py", title="Projection", icon=":material/3d_rotation:", url_path="projection"),
    st.Page("pages/compare.py", title="Compare models", icon=":material/balance:", url_path="compare"),
    st.Page("pages/upload.py", title="Add paintings", icon=":material/upload:", url_path="upload"),
]
nav = st.navigation(PAGES)

models, default_name, default_why = cache.model_choices()
usable = [m for m, problem in models.items() if problem is None]

# View state: the URL is read once per session (or when a new link is pasted);
# page switches may clear the URL, so the session keeps the view and rewrites it.
params = st.query_params.to_dict()
if "view" not in st.session_state or (params and params != st.session_state.get("written_params")):
    view, notes = ViewState.from_query_params(params, models=usable)
    st.session_state["view"] = view
    st.session_state["view_notes"] = notes
    st.session_state["artists_epoch"] = st.session_state.get("artists_epoch", 0) + 1  # new link: new widget
view: ViewState = st.session_state["view"]
if not view.model:
    view = replace(view, model=default_name)
notes: list[str] = st.session_state["view_notes"]

# ----------------------------------------------------------------------------- collection
folder = config.gallery_dir()
paintings, scan_skipped = cache.scan_collection(folder)
collection = None
if view.collection:
    collection = cache.collection_info(view.collection)
    if collection is None:
        notes.append(f"collection {view.collection!r} was not found; showing the gallery")
        view = replace(view, collection="")
edit_token = view.extra.get("edit")
if collection is not None and edit_token and cache.collections().can_edit(collection.id, edit_token):
    cache.remember_edit_token(collection.id, edit_token)  # moved out of the URL below
view = replace(view, extra={k: v for k, v in view.extra.items() if k != "edit"})
if collection is not None:
    known = {p.sha256 for p in paintings}
    paintings = paintings + [p for p in cache.collection_paintings(collection.id) if p.sha256 not in known]

with st.sidebar:
    if collection is None:
        st.caption(f"Collection: `{folder}`")
    else:
        mode = "yours, editable" if cache.edit_token(collection.id) else "shared, read-only"
        st.caption(f"Collection: **{collection.name}** ({mode}) on `{folder.name}`")
    model = st.selectbox(
        "Model", usable, index=usable.index(view.model) if view.model in usable else 0,
        key="model_widget", on_change=cache.set_view_from, args=("model", "model_widget"),
        help="Which network turns each painting into a vector.",
    )
    view = replace(view, model=model)
    missing = {name: problem for name, problem in models.items() if problem is not None}
    if "resnet50" in missing:
        st.caption("ResNet-50 is off: no weights file. Set `ARTSIM_WEIGHTS` or see `artsim weights status`.")
    if missing:
        with st.expander(f"Not available here: {', '.join(missing)}", icon=":material/info:"):
            for name, problem in missing.items():
                st.caption(f"**{name}**: {problem}")
    if model == default_name:
        st.caption(f"Default model: {default_why}")

    all_artists = tuple(sorted({p.artist for p in paintings}))
    if view.artists is not None:
        unknown = [a for a in view.artists if a not in all_artists]
        if unknown:
            notes.append(f"not in this collection: {', '.join(unknown)}")
            view = replace(view, artists=tuple(a for a in view.artists if a in all_artists) or None)
    # A keyed widget keeps its value when its options change, so the key follows the
    # options (new artists from uploads start fully selected) and each newly opened link.
    artists_key = f"artists_{st.session_state['artists_epoch']}_{cache.digest(all_artists)[:8]}"
    selected = st.multiselect(
        "Artists", all_artists,
        default=list(view.artists) if view.artists is not None else list(all_artists),
        key=artists_key, placeholder="Pick artists",
    )
    view = replace(view, artists=None if set(selected) == set(all_artists) else tuple(selected))
    st.session_state["view"] = view

for note in notes:
    st.info(f"Share link: {note}", icon=":material/info:")
st.session_state["view_notes"] = []
cache.sync_query_params(view)

with st.sidebar:
    with st.expander("Share this view", icon=":material/link:"):
        st.code(cache.share_url(), language=None, wrap_lines=True)
        st.caption("Copy the link (icon at the right): it reopens exactly this view, read-only.")

# ----------------------------------------------------------------------------- data
result = None
if paintings:
    try:
        result = cache.embed_collection(paintings, model)
    except ArtsimError as error:
        st.error(str(error))
if result is not None:
    embedded = to_frame(result.paintings)
    keep = embedded["artist"].isin(selected).to_numpy()
    sel_frame = embedded[keep].reset_index(drop=True)
    vectors = result.vectors[keep]
    skipped = scan_skipped + list(result.skipped)
else:
    sel_frame = to_frame([])
    vectors = np.zeros((0, 1), dtype="float32")
    skipped = scan_skipped
if skipped:
    with st.sidebar.expander(f"{len(skipped)} file(s) skipped", icon=":material/warning:"):
        for path, reason in skipped:
            st.caption(f"**{path}**: {reason}")

st.session_state[cache.CONTEXT_KEY] = cache.Context(
    view=view,
    frame=sel_frame,
    vectors=vectors,
    model=model,
    key=cache.content_key(model, sel_frame["sha256"].tolist()),
    all_artists=all_artists,
    collection_label=str(folder),
    paintings=tuple(paintings),
    collection=collection,
)
st.session_state[cache.ROUTER_RAN_KEY] = True
nav.run()
