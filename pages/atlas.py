"""Map of paintings: the projection's first two axes with every painting drawn as its thumbnail.

Same method, seed and parameters as the Projection page (so the share link
reproduces it). Box or lasso selection picks paintings: they are listed with a
larger image and can be exported.
"""

from __future__ import annotations

import streamlit as st

from artsim import export, figures
from artsim.thumbmap import MAX_THUMBNAILS, thumbnail_map
from dashboard import cache, notices

ctx = cache.context()
view = ctx.view
st.title("Map of paintings")

n = len(ctx.frame)
notices.stop_if_no_paintings("map")
if n < 3:
    st.info("Select at least three paintings (sidebar) to map them.", icon=":material/arrow_back:")
    st.stop()

proj = cache.fitted_projection(  # same key as the Projection page: one fit for both
    cache.digest([ctx.key, *ctx.frame["sha256"]]), view.projection, int(view.seed), int(view.neighbors), float(view.min_dist), view.center, ctx.vectors,
)
frame = ctx.frame
labels = [f"{a} – {t}" for a, t in zip(frame["artist"], frame["title"], strict=True)]
credits = [str(c) for c in (frame["license"] if "license" in frame else [""] * n)]
hover = [f"{label}\n{credit}" if credit else label for label, credit in zip(labels, credits, strict=True)]
thumbs = cache.thumbnail_uris(tuple(frame["sha256"]))
palette = figures.artist_colors(p.artist for p in ctx.paintings)
colors = [palette.get(a, "#888888") for a in frame["artist"]]
fig = thumbnail_map(proj.coords[:, :2], hover, thumbs, colors,
                    axis_titles=proj.axis_titles()[:2])
st.caption(
    f"The first two axes of the {view.projection.upper()} map (seed {view.seed}; change the method and its settings "
    "on the Projection page). Drag to pan, scroll to zoom; the box and lasso tools in the chart's toolbar select "
    "paintings." + ("" if n <= MAX_THUMBNAILS else f" Thumbnails are drawn for up to {MAX_THUMBNAILS} paintings.")
)
event = st.plotly_chart(fig, key="atlas", on_select="rerun", selection_mode=("points", "box", "lasso"))
picked = ((event or {}).get("selection") or {}).get("point_indices") or []  # from the browser: checked
chosen = sorted({int(i) for i in picked if isinstance(i, int) and 0 <= i < n})
if not chosen:
    st.caption("Nothing selected: click a painting, or draw a box or lasso around some.")
    st.stop()

st.subheader(f"{len(chosen)} selected")
if len(chosen) == 1:
    i = chosen[0]
    if thumbs[i]:
        st.image(thumbs[i], width=320)
    st.text(hover[i])
else:
    per_row = 8
    shown = chosen[:48]
    for start in range(0, len(shown), per_row):
        cols = st.columns(per_row)
        for col, i in zip(cols, shown[start:start + per_row], strict=False):
            with col:
                if thumbs[i]:
                    st.image(thumbs[i], width="stretch")
                st.text(labels[i])
    if len(chosen) > len(shown):
        st.caption(f"…and {len(chosen) - len(shown)} more (all in the export).")
table = export.selection_table(
    frame.iloc[chosen], ctx.vectors[chosen], model=ctx.model, fingerprint=cache.embedder(ctx.model).fingerprint,
)
left, right = st.columns(2)
left.download_button(f"Selected as CSV ({len(chosen)})", lambda: export.to_csv_bytes(table),
                     file_name=f"artsim-map-selection-{len(chosen)}.csv", mime="text/csv", on_click="ignore",
                     key="atlas_csv", icon=":material/table:")
right.download_button("Selected as Parquet", lambda: export.to_parquet_bytes(table),
                      file_name=f"artsim-map-selection-{len(chosen)}.parquet", on_click="ignore",
                      key="atlas_parquet", icon=":material/database:")
