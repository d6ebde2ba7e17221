"""Add paintings: upload images or .zip archives; they join every view of your own collection."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from artsim import similarity
from artsim.images import IMAGE_SUFFIXES
from artsim.uploads import UploadLimits, clean_artist, read_uploads
from dashboard import cache

ctx = cache.context()
view = ctx.view
st.title("Add paintings")
st.caption(
    "Upload self-portraits (yours, or by a painter the gallery lacks) as images or .zip archives. "
    "They join the heatmap, the dendrogram and the 3-D map. Only add works you have the right to use."
)

owned = ctx.collection is not None and cache.edit_token(ctx.collection.id) is not None
if ctx.collection is None:
    st.caption("Your uploads go into a new private collection based on this gallery; the gallery itself never changes.")
elif owned:
    st.caption(f"Adding to your collection **{ctx.collection.name}**.")
else:
    st.warning(
        f"**{ctx.collection.name}** is a shared, read-only collection. Uploading makes your own copy of it; "
        "the shared one stays as it is.", icon=":material/lock:",
    )

limits = UploadLimits()
with st.form("upload_form", clear_on_submit=True):
    artist = st.text_input("Artist", placeholder="e.g. Frida Kahlo", help="Applies to every file in this batch.")
    title = st.text_input("Title (optional)", help="Used when you upload a single file; otherwise the file name.")
    files = st.file_uploader(
        "Images or .zip archives", accept_multiple_files=True,
        type=sorted({s.lstrip(".") for s in IMAGE_SUFFIXES} | {"zip"}),
    )
    submitted = st.form_submit_button("Add to collection", type="primary")

if submitted:
    try:
        artist_name = clean_artist(artist)
    except ValueError as error:
        st.error(f"Please give the artist's name ({error}).")
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
    added = [(o.painting, o.data) for o in outcomes if o.status == "added"]
    if added:
        coll = cache.collections()
        if owned:
            target, token = ctx.collection, cache.edit_token(ctx.collection.id)
        else:
            name = f"{ctx.collection.name} + uploads" if ctx.collection else "My collection"
            target, token = coll.create(name, parent=ctx.collection.id if ctx.collection else "")
            cache.remember_edit_token(target.id, token)
        coll.add(target.id, token, added)
        cache.collection_paintings.clear()
        view = replace(st.session_state["view"], collection=target.id, artists=None)
        st.session_state["view"] = view
        cache.sync_query_params(view)
    st.session_state["upload_results"] = [
        {"file": o.display_name if not o.archive else f"{o.archive} › {o.display_name}",
         "result": o.status, "reason": o.reason, "sha256": o.sha256 or ""}
        for o in outcomes
    ]
    st.rerun()

results = st.session_state.get("upload_results")
if results:
    counts = pd.Series([r["result"] for r in results]).value_counts()
    st.subheader("Last upload")
    st.write(", ".join(f"{counts.get(k, 0)} {k}" for k in ("added", "duplicate", "rejected")))
    st.dataframe(pd.DataFrame(results)[["file", "result", "reason"]], hide_index=True, width="stretch")

    new = [r["sha256"] for r in results if r["result"] == "added"]
    frame = ctx.frame
    is_new = frame["sha256"].isin(new).to_numpy()
    base = ~frame["source"].eq("upload").to_numpy()
    if is_new.any() and base.sum() >= 2:
        st.subheader("Nearest artists")
        st.caption("Which painters' works these look most like to the network: visual similarity, not attribution.")
        ranked = similarity.nearest_artists(
            ctx.vectors[base], frame["artist"][base].tolist(), ctx.vectors[is_new], k=3, center=view.center
        )
        thumbs = cache.thumbnail_uris(tuple(frame["sha256"][is_new]))
        for (_, row), near, thumb in zip(frame[is_new].iterrows(), ranked, thumbs, strict=True):
            left, right = st.columns([1, 4])
            if thumb:
                left.image(thumb)
            right.markdown(f"**{row['title']}** ({row['artist']})")
            right.dataframe(near.round(3), hide_index=True)

if ctx.collection is not None and cache.edit_token(ctx.collection.id):
    with st.expander("Edit link (keep it private)", icon=":material/key:"):
        st.code(cache.share_url(edit=cache.edit_token(ctx.collection.id)), language=None, wrap_lines=True)
        st.caption("Anyone with this link can add paintings to this collection. The sidebar's share link is "
                   "read-only.")
