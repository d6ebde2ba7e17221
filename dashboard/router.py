"""artsim dashboard: the router. Navigation first, then the sidebar every page shares, then the page.

``streamlit run streamlit_app.py`` runs this script (see ``streamlit_app.py``
for why it lives in ``dashboard/``). ``st.navigation`` is the first thing it
does, before any import heavier than Streamlit, so a fresh server's first
response already carries the app's own navigation.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import startup, styles  # standard library only

startup.script_started()
PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"

st.set_page_config(page_title="artsim: how a network sees paintings", page_icon=":material/palette:", layout="wide")
GALLERY = st.Page(PAGES_DIR / "gallery.py", title="Gallery", icon=":material/photo_library:", default=True)
PAGES = [
    GALLERY,
    st.Page(PAGES_DIR / "similarity.py", title="Similarity", icon=":material/grid_on:", url_path="similarity"),
    st.Page(PAGES_DIR / "clustering.py", title="Clustering", icon=":material/account_tree:", url_path="clustering"),
    st.Page(PAGES_DIR / "projection.py", title="Projection", icon=":material/3d_rotation:", url_path="projection"),
    st.Page(PAGES_DIR / "atlas.py", title="Map", icon=":material/map:", url_path="map"),
    st.Page(PAGES_DIR / "walk.py", title="Walk", icon=":material/route:", url_path="walk"),
    st.Page(PAGES_DIR / "compare.py", title="Compare models", icon=":material/balance:", url_path="compare"),
    st.Page(PAGES_DIR / "explain.py", title="Why similar?", icon=":material/help:", url_path="explain"),
    st.Page(PAGES_DIR / "tour.py", title="Tour", icon=":material/tour:", url_path="tour"),
    st.Page(PAGES_DIR / "upload.py", title="Add paintings", icon=":material/upload:", url_path="upload"),
]
nav = st.navigation(PAGES)
loading = st.empty()
if "view" not in st.session_state:  # a new visitor: say something while the library loads
    loading.caption("Loading the collection…")

# Everything below may import the library; nothing here imports a model.
startup.wait_preloaded()  # the server's start-up thread may be importing the same modules
from dataclasses import replace  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from artsim.errors import hide_paths  # noqa: E402
from artsim.inputs import selection  # noqa: E402
from artsim.sources.gallery import choose_gallery  # noqa: E402
from artsim.viewstate import ViewState, clip, describe_names  # noqa: E402
from dashboard import cache, embedding  # noqa: E402
from dashboard.panels import export_panel, tour_panel  # noqa: E402
from dashboard.widgets import notices  # noqa: E402


def unknown_path() -> str | None:
    """The path of this request when no page has it (Streamlit then runs the Gallery), else None.

    A sub-path such as ``/clustering/extra`` arrives as ``/?notfound=clustering/extra``
    (``dashboard.server`` redirects it: Streamlit would serve a blank page there).
    """
    if nav is not GALLERY:
        return None
    if lost := str(st.query_params.get("notfound", "")).strip("/"):
        return lost
    path = urlsplit(str(st.context.url or "")).path
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    path = path.strip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base):].strip("/")
    return path if path and path not in {p.url_path for p in PAGES} else None


startup.configure_numba()
if (lost := unknown_path()) and st.session_state.get("lost_path") != lost:
    st.session_state["lost_path"] = lost  # said once per session: the URL may lag behind a click
    st.text(f"ⓘ Page not found: there is no page at /{clip(lost)}. Here is the Gallery instead.")
    st.page_link(GALLERY, label="Back to the Gallery", icon=":material/arrow_back:")
models, default_name, default_why = cache.model_choices()
usable = [m for m, problem in models.items() if problem is None]

# View state: the URL is read once per session (or when a new link is pasted);
# page switches may clear the URL, so the session keeps the view and rewrites it.
params = st.query_params.to_dict()
if "view" not in st.session_state or (params and cache.view_params(params) != st.session_state.get("written_params")):
    view, notes = ViewState.from_query_params(params, models=usable)
    st.session_state["view"] = view
    st.session_state["view_notes"] = notes
    st.session_state["artists_epoch"] = st.session_state.get("artists_epoch", 0) + 1  # new link: new widget
view: ViewState = st.session_state["view"]
if not view.model:
    view = replace(view, model=default_name)
notes: list[str] = st.session_state["view_notes"]

# ----------------------------------------------------------------------------- collection
gallery = choose_gallery()
paintings, scan_skipped = cache.scan_collection(gallery.folder)
gallery_name = gallery.name(len(paintings), len({p.artist for p in paintings}))  # never a server path
collection = None
if view.collection:
    collection = cache.collection_info(view.collection)
    if collection is None:
        notes.append(f"collection {clip(view.collection)!r} was not found; showing the gallery")
        view = replace(view, collection="")
edit_token = view.extra.get("edit")
if edit_token:
    if collection is not None and cache.collections().can_edit(collection.id, edit_token):
        cache.remember_edit_token(collection.id, edit_token)  # moved out of the URL below
    else:
        notes.append("the edit link's token does not match this collection; opened read-only")
view = replace(view, extra={k: v for k, v in view.extra.items() if k != "edit"})
if collection is not None:
    paintings = selection.merge_paintings(paintings, cache.collection_paintings(collection.id))

with st.sidebar:
    if collection is None:
        st.text(gallery_name)
        if gallery.kind == "demo":
            st.caption(gallery.note())  # which gallery this is and how to get the self-portraits
    else:
        mode = "yours, editable" if cache.edit_token(collection.id) else "shared, read-only"
        st.text(f"Collection: {collection.name} ({mode}) on {gallery_name}")
    model = st.selectbox(
        "Model", usable, index=usable.index(view.model) if view.model in usable else 0,
        key="model_widget", on_change=cache.set_view_from, args=("model", "model_widget"),
        help="Which network turns each painting into a vector.",
    )
    view = replace(view, model=model)
    missing = {name: problem for name, problem in models.items() if problem is not None and ":" not in name}
    if missing:
        with st.expander(f"Not available here: {', '.join(missing)}", icon=":material/info:"):
            for name, problem in missing.items():
                st.text(f"{name}: {problem}")
    if model == default_name:
        st.caption(f"Default model: {default_why}")
    handle = cache.embedder(model)
    st.caption(
        f"Runs on {handle.runtime}: {handle.runtime_reason}" if handle.runtime_reason else f"Runs on {handle.runtime}",
        help="Which runtime computes the vectors on this machine: the fastest faithful one measured here, "
        "with its rate and the runner-up (see `artsim models`).",
    )

    all_artists = selection.artists_of(paintings)
    kept, unknown = selection.split_artists(view.artists, all_artists)
    if unknown:
        notes.append(f"not in this collection: {describe_names(unknown)}")
    view = replace(view, artists=kept)  # also an old link's pieces of a name with commas, joined back
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
    st.text(f"ⓘ Share link: {note}")  # plain text: a link's values are never markup
st.session_state["view_notes"] = []
cache.sync_query_params(view)

# ----------------------------------------------------------------------------- data
result, job = embedding.embedding_now(paintings, model)
if job is not None:
    embedding.show_embedding_progress(job)
sel_frame, vectors, skipped = embedding.select(result, selected, scan_skipped)
if skipped:
    with st.sidebar.expander(f"{len(skipped)} file(s) skipped", icon=":material/warning:"):
        st.text("\n".join(f"{gallery.shown_path(path)}: {hide_paths(reason)}" for path, reason in skipped))

st.session_state[cache.CONTEXT_KEY] = cache.Context(
    view=view,
    frame=sel_frame,
    vectors=vectors,
    model=model,
    key=cache.content_key(model, sel_frame["sha256"].tolist()),
    all_artists=all_artists,
    collection_label=gallery_name,
    paintings=tuple(paintings),
    collection=collection,
    embedding=job is not None,
)
# Issue 24: a visible focus ring; no Fullscreen Tab stop per Gallery card. Our own CSS files only.
# Before the page: a page's st.stop() drops what the `finally` below sends (the Map's did).
st.sidebar.markdown(styles.html(), unsafe_allow_html=True)  # why not st.html: dashboard/styles
loading.empty()
try:
    nav.run()
except Exception as error:  # noqa: BLE001 - st.stop() and reruns are BaseExceptions and pass through
    notices.page_failed(error)
finally:
    # The share, export and tour panels go out after the page (the first two draw their
    # content only once opened: dashboard/panels/export_panel.py).
    export_panel.share()
    export_panel.sidebar()
    tour_panel.sidebar(nav.url_path)
    startup.script_finished()  # a view has been served: the UMAP warm-up may start once it is quiet
