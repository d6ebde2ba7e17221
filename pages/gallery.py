"""Gallery: the selected paintings as thumbnails, grouped by artist, with credits."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import cache

PER_ROW = 6
FIRST = 12  # thumbnails shown per artist before "show all"

ctx = cache.context()
st.title("Gallery")

if ctx.frame.empty:
    if not ctx.all_artists:
        st.info(
            "**No paintings yet.** To get started:\n\n"
            "- fetch the default self-portrait gallery: `artsim gallery fetch` (needs the internet), or\n"
            "- point artsim at a folder laid out as `<Artist Name>/<image>`: "
            "`ARTSIM_GALLERY=/path/to/folder make run`, or\n"
            "- add your own on the **Add paintings** page.",
            icon=":material/photo_library:",
        )
        st.caption(f"Looked in `{ctx.collection_label}`.")
    else:
        st.info("No artist selected: pick some in the sidebar.", icon=":material/arrow_back:")
    st.stop()

counts = ctx.frame["artist"].value_counts()
st.caption(
    f"{len(ctx.frame)} paintings by {len(counts)} artists, embedded with **{ctx.model}**. "
    "Uploaded paintings are marked ⬆."
)
thumbs = cache.thumbnail_uris(tuple(ctx.frame["sha256"]))


def credit(row: pd.Series) -> str:
    """Title, year, museum, licence and a source link, as markdown (text escaped)."""
    def esc(text: object) -> str:
        return str(text or "").replace("[", "\\[").replace("]", "\\]").replace("*", "\\*").replace("_", "\\_")

    parts = [f"**{esc(row['title'])}**" + (" ⬆" if row.get("source") == "upload" else "")]
    details = [esc(row.get(k, "")) for k in ("year", "museum", "license") if row.get(k, "")]
    if details:
        parts.append(", ".join(details))
    source = str(row.get("source", "") or "")
    if source.startswith(("https://", "http://")):
        parts.append(f"[source]({source.replace(')', '%29').replace(' ', '%20')})")
    return " · ".join(parts)


def grid(group: pd.DataFrame) -> None:
    cols = st.columns(PER_ROW)
    for slot, (index, row) in enumerate(group.iterrows()):
        with cols[slot % PER_ROW]:
            if thumbs[index]:
                st.image(thumbs[index], width="stretch")
            st.caption(credit(row))


for artist, group in ctx.frame.groupby("artist", sort=True):
    st.subheader(f"{artist} ({len(group)})")
    show_all = len(group) > FIRST and st.toggle(f"Show all {len(group)}", key=f"all_{artist}")
    grid(group if show_all else group.iloc[:FIRST])
