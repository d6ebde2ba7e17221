"""Gallery: the selected paintings as thumbnails, grouped by artist, with credits."""

from __future__ import annotations

from urllib.parse import quote

import pandas as pd
import streamlit as st

from artsim.figures.access import painting_alt
from artsim.figures.markup import md
from artsim.inputs.collection import to_frame
from dashboard import cache, styles

CARD_PX = 160  # a thumbnail's width: rows wrap, so a 390 px phone gets two per row and a laptop six
FIRST = 12  # thumbnails shown per artist before "show all"
SHOW_ALL_MAX = 240  # "show all" stops here: more is a page the browser cannot carry
ARTISTS_PER_PAGE = 30  # artists drawn at once in a large collection
SAFE_URL_CHARS = ":/?#@!$&'*+,;=%~-._"  # no ( ) [ ] < > space or backslash: they could end the link

ctx = cache.context()
st.title("Gallery", anchor=False)
frame = ctx.frame
if ctx.embedding:  # a first start: every painting at once, thumbnails made from the files meanwhile
    frame = to_frame(ctx.paintings)
    wanted = ctx.all_artists if ctx.view.artists is None else ctx.view.artists
    frame = frame[frame["artist"].isin(wanted)].reset_index(drop=True)

if frame.empty:
    if not ctx.all_artists:
        st.info(
            "**No paintings yet.** To get started:\n\n"
            "- fetch the default self-portrait gallery: `artsim gallery fetch` (needs the internet), or\n"
            "- point artsim at a folder laid out as `<Artist Name>/<image>`: "
            "`ARTSIM_GALLERY=/path/to/folder make run`, or\n"
            "- add your own on the **Add paintings** page.",
            icon=":material/photo_library:",
        )
        st.caption(md(ctx.collection_label))
    else:
        st.info("No artist selected: pick some in the sidebar.", icon=":material/arrow_back:")
    st.stop()

counts = frame["artist"].value_counts()
uploads = frame["source"].eq("upload")
st.caption(
    f"{len(frame)} paintings by {len(counts)} artists, "
    + (f"being embedded with **{md(ctx.model)}** (progress above)." if ctx.embedding
       else f"embedded with **{md(ctx.model)}**.")
    + (" Uploaded paintings are marked ⬆." if uploads.any() else "")
)
licences = frame["license"].fillna("").astype(str)
shared_licence = licences.mode().iloc[0] if licences.ne("").any() else ""
if shared_licence:
    others = int(licences.ne(shared_licence).sum())
    st.caption(
        f"Licence: {md(shared_licence)}"
        + (f" (except {others} painting{'s' * (others != 1)}, whose licence is given below)" if others else "")
        + "."
    )


def credit(row: pd.Series) -> str:
    """Title, year, museum, a licence other than the shared one, and a source link, as markdown.

    Every value is escaped (``md``); the only link is ours, to an http(s) source
    address with characters that could end the link percent-encoded.
    """
    parts = [f"**{md(row['title'])}**" + (" ⬆" if row.get("source") == "upload" else "")]
    details = [md(row.get(k, "")) for k in ("year", "museum") if row.get(k, "")]
    licence = str(row.get("license", "") or "")
    if licence and licence != shared_licence:
        details.append(md(licence))
    if details:
        parts.append(", ".join(details))
    source = str(row.get("source", "") or "")
    if source.startswith(("https://", "http://")):
        parts.append(f"[source]({quote(source, safe=SAFE_URL_CHARS)})")
    return " · ".join(parts)


def grid(group: pd.DataFrame) -> None:
    # Fixed-width cards in a wrapping row (columns would stack one per row on a phone).
    with st.container(horizontal=True, wrap=True, gap="small"):
        for index, row in group.iterrows():
            # keyed: dashboard/styles/gallery.css hides the Fullscreen button (a Tab stop) but under the pointer
            with st.container(width=CARD_PX, key=f"{styles.GALLERY_CARD_KEY}{index}"):
                if thumbs[index]:
                    st.image(thumbs[index], width="stretch", alt=painting_alt(row))
                st.caption(credit(row))


groups = list(frame.groupby("artist", sort=True))
if len(groups) > ARTISTS_PER_PAGE:  # a large collection: a page of artists at a time
    pages = -(-len(groups) // ARTISTS_PER_PAGE)
    page_no = int(st.number_input(f"Artists, page (of {pages}; {ARTISTS_PER_PAGE} artists a page)",
                                  min_value=1, max_value=pages, value=1, key="gallery_artist_page"))
    groups = groups[(page_no - 1) * ARTISTS_PER_PAGE: page_no * ARTISTS_PER_PAGE]
sections = []
for artist, group in groups:
    box = st.container()
    box.header(f"{md(artist)} ({len(group)})", anchor=False)
    show_all = len(group) > FIRST and box.toggle(f"Show {min(len(group), SHOW_ALL_MAX)} of {len(group)}"
                                                 if len(group) > SHOW_ALL_MAX else f"Show all {len(group)}",
                                                 key=f"all_{artist}")
    sections.append((box, group.iloc[:SHOW_ALL_MAX] if show_all else group.iloc[:FIRST]))
# Thumbnails of the shown paintings only (a whole large collection's would be hundreds of MB).
shown = [index for _, rows in sections for index in rows.index]
# The store has a thumbnail per embedded painting; while the rest are embedded, theirs come from the files.
embedded = set(ctx.frame["sha256"])
stored = tuple(sha for sha in frame.loc[shown, "sha256"] if sha in embedded)
from_store = dict(zip(stored, cache.thumbnail_uris(stored), strict=True))
thumbs = {index: from_store[sha] if sha in embedded else cache.file_thumbnail_uri(path, sha)
          for index, sha, path in zip(shown, frame.loc[shown, "sha256"], frame.loc[shown, "path"], strict=True)}
for box, rows in sections:
    with box:
        grid(rows)
