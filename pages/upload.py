"""Add paintings: upload images or .zip archives; they join every view of your own collection."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from artsim.analysis import matching
from artsim.explain import explainable
from artsim.figures.access import painting_alt
from artsim.figures.markup import md
from artsim.store.collections import CollectionError
from artsim.uploads import flow as upload_flow
from artsim.uploads.batch import UploadLimits, clean_artist, read_uploads
from dashboard import cache
from dashboard.widgets import why

ctx = cache.context()
view = ctx.view
st.title("Add paintings", anchor=False)
st.caption(
    "Upload self-portraits (yours, or by a painter the gallery lacks) as images or .zip archives. "
    "They join the heatmap, the dendrogram and the 3-D map. Only add works you have the right to use."
)

owned = ctx.collection is not None and cache.edit_token(ctx.collection.id) is not None
if ctx.collection is None:
    st.caption("Your uploads go into a new private collection based on this gallery; the gallery itself never changes.")
elif owned:
    st.caption(f"Adding to your collection **{md(ctx.collection.name)}**.")
else:
    st.warning(
        f"**{md(ctx.collection.name)}** is a shared, read-only collection. Uploading makes your own copy of it; "
        "the shared one stays as it is.", icon=":material/lock:",
    )

limits = UploadLimits()
with st.form("upload_form", clear_on_submit=True):
    artist = st.text_input("Artist", placeholder="e.g. Frida Kahlo", help="Applies to every file in this batch.")
    title = st.text_input("Title (optional)", help="Used when you upload a single file; otherwise the file name.")
    new_name = "" if owned else st.text_input(
        "Name of your new collection (optional)", max_chars=upload_flow.MAX_COLLECTION_NAME_CHARS,
        placeholder=upload_flow.new_collection_name("", ctx.collection),
    )
    files = st.file_uploader(
        "Images or .zip archives", accept_multiple_files=True,
        type=None,  # every file reaches the library, which names what it refuses (issue #10.5)
    )
    submitted = st.form_submit_button("Add to collection", type="primary")

if submitted:
    try:
        artist_name = clean_artist(artist)
    except ValueError as error:
        st.error(f"Please give the artist's name ({md(error)}).")
        st.stop()
    if not files:
        st.error("Choose at least one file.")
        st.stop()
    pairs = [(f.name, f.getvalue()) for f in files]
    titles = {files[0].name: title.strip()} if title.strip() and len(files) == 1 else None
    known = {p.sha256: f"{p.artist} – {p.title}" for p in ctx.paintings}
    with st.spinner("Checking files…"):
        outcomes = read_uploads(pairs, artist=artist_name, titles=titles, known_shas=known, limits=limits,
                                store_dir=cache.collections().uploads_dir)
    try:
        done = upload_flow.add_uploads(
            cache.collections(), outcomes, current=ctx.collection,
            token=cache.edit_token(ctx.collection.id) if ctx.collection else None,
            name=new_name, created_so_far=st.session_state.get("collections_created", 0),
        )
    except CollectionError as error:
        st.error(md(error, max_chars=None))
        st.stop()
    if done is not None:
        if done.created:
            cache.remember_edit_token(done.collection.id, done.token)
            st.session_state["collections_created"] = st.session_state.get("collections_created", 0) + 1
        cache.collection_paintings.clear()
        view = replace(st.session_state["view"], collection=done.collection.id, artists=None)
        st.session_state["view"] = view
        cache.sync_query_params(view)
    st.session_state["upload_results"] = upload_flow.result_rows(outcomes)
    st.rerun()

results = st.session_state.get("upload_results")
if results:
    st.header("Last upload", anchor=False)
    st.text(upload_flow.summary(results))
    st.dataframe(pd.DataFrame(results)[["file", "result", "reason"]], hide_index=True, width="stretch")

    new = [r["sha256"] for r in results if r["result"] == "added"]
    frame = ctx.frame
    matches = matching.match_uploads(
        ctx.vectors, frame["artist"].tolist(), frame["sha256"].isin(new).to_numpy(),
        ~frame["source"].eq("upload").to_numpy(), k_artists=3, k_paintings=4, center=view.center,
    )
    if matches:
        st.header("Whose paintings do they look like?", anchor=False)
        st.caption(
            "Artists are ranked by their single closest painting (best match), so an artist with many varied "
            "works is not outvoted by one with a single similar work; beside the ranking, the nearest paintings. "
            "Visual similarity to the network, not attribution."
        )
        thumbs = cache.thumbnail_uris(tuple(frame["sha256"]))
        for m in matches:
            row = frame.iloc[m.row]
            st.markdown(f"**{md(row['title'])}** ({md(row['artist'])})")
            left, mid, right = st.columns([1, 2, 4])
            if thumbs[m.row]:
                left.image(thumbs[m.row], alt=painting_alt(row))
            mid.dataframe(
                m.artists[["artist", "similarity"]].rename(columns={"similarity": "best match"}).round(3),
                hide_index=True,
            )
            cols = right.columns(max(len(m.paintings), 1))
            for col, (_, near) in zip(cols, m.paintings.iterrows(), strict=False):
                j = int(near["j"])
                if thumbs[j]:
                    col.image(thumbs[j], alt=painting_alt(frame.iloc[j]))
                col.caption(f"{md(frame['artist'].iloc[j])} – {md(frame['title'].iloc[j])}  \n"
                            f"similarity {near['similarity']:.3f}")
                if explainable(ctx.model):
                    with col:
                        why.link(frame["sha256"].iloc[m.row], frame["sha256"].iloc[j], label="why?")

if ctx.collection is not None and cache.edit_token(ctx.collection.id):
    if upload_flow.can_rename(cache.collections()):
        with st.expander("Rename this collection", icon=":material/edit:"), st.form("rename_form"):
            wanted = st.text_input("New name", value=ctx.collection.name,
                                   max_chars=upload_flow.MAX_COLLECTION_NAME_CHARS)
            if st.form_submit_button("Rename"):
                try:
                    upload_flow.rename_collection(
                        cache.collections(), ctx.collection, cache.edit_token(ctx.collection.id), wanted
                    )
                except CollectionError as error:
                    st.error(md(error, max_chars=None))
                else:
                    cache.collection_info.clear()
                    st.rerun()
    with st.expander("Edit link (keep it private)", icon=":material/key:"):
        st.code(cache.share_url(edit=cache.edit_token(ctx.collection.id)), language=None, wrap_lines=True)
        st.caption("Anyone with this link can add paintings to this collection. The sidebar's share link is "
                   "read-only.")
