"""Gallery: the selected paintings as thumbnails, grouped by artist."""

from __future__ import annotations

import streamlit as st

from pages import common

ctx = common.context()
st.title("Gallery")

if ctx.frame.empty:
    if not ctx.all_artists:
        st.info(
            "**No paintings yet.** To get started:\n\n"
            "- fetch the default self-portrait gallery: `artsim gallery fetch` (needs the internet), or\n"
            "- point artsim at a folder laid out as `<Artist Name>/<image>`: "
            "`ARTSIM_GALLERY=/path/to/folder make run`.",
            icon=":material/photo_library:",
        )
        st.caption(f"Looked in `{ctx.collection_label}`.")
    else:
        st.info("No artist selected: pick some in the sidebar.", icon=":material/arrow_back:")
    st.stop()

counts = ctx.frame["artist"].value_counts()
st.caption(
    f"{len(ctx.frame)} paintings by {len(counts)} artists, embedded with **{ctx.model}**. "
    "Thumbnails come from the embedding store."
)
thumbs = common.thumbnail_uris(tuple(ctx.frame["sha256"]))
columns_per_row = 6
for artist, group in ctx.frame.groupby("artist", sort=True):
    st.subheader(f"{artist} ({len(group)})")
    cols = st.columns(columns_per_row)
    for slot, (index, row) in enumerate(group.iterrows()):
        with cols[slot % columns_per_row]:
            if thumbs[index]:
                st.image(thumbs[index], width="stretch")
            credit = ", ".join(x for x in (row.get("year", ""), row.get("museum", "")) if x)
            st.caption(f"**{row['title']}**" + (f" ({credit})" if credit else ""))
