"""Map of paintings: the projection's first two axes with every painting drawn as its thumbnail.

Same method, seed and parameters as the Projection page (so the share link
reproduces it). The map is WebGL (deck.gl through ``st.pydeck_chart``): all
thumbnails come from one sprite atlas image that the browser fetches once and
caches. Each click adds a painting to the selection or takes it out; a second
mode draws the same map as dots for box and lasso selection (deck.gl has
neither). The selection is listed (one painting: a larger image) with export
buttons, kept in the session under :data:`SELECTION_KEY` (sha256 list) and,
up to ``viewstate.SELECTION_MAX`` paintings, in the share link as ``sel``,
where the sidebar's Export panel takes it instead of the whole collection.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from artsim import figures, viewstate
from artsim.figures import access, export
from artsim.figures.maps.thumbmap import LAYER_ID, deck_map, thumbnail_map
from artsim.inputs.images import load_image
from dashboard import cache
from dashboard.server import base_url_path
from dashboard.sprite_route import PREFIX
from dashboard.widgets import access as a11y
from dashboard.widgets import notices

#: Session key of the map's selection: the selected paintings' sha256, in map order.
SELECTION_KEY = "map_selection"
#: Session key of the ``sel`` value this page last wrote (a different one came with a link).
LINK_KEY = "map_selection_link"
MODES = {"thumbnails": "Thumbnails (click)", "dots": "Dots (box, lasso)"}

ctx = cache.context()
view = ctx.view
st.title("Map of paintings", anchor=False)

n = len(ctx.frame)
notices.stop_unless_selected(3, "map")

proj = cache.fitted_projection(  # same key as the Projection page: one fit for both
    cache.digest([ctx.key, *ctx.frame["sha256"]]), view.projection, int(view.seed), int(view.neighbors), float(view.min_dist), view.center, ctx.vectors,
)
frame = ctx.frame
shas = [str(s) for s in frame["sha256"]]
labels = [f"{a} – {t}" for a, t in zip(frame["artist"], frame["title"], strict=True)]
credits = [str(c) for c in (frame["license"] if "license" in frame else [""] * n)]
hover = [f"{label}\n{credit}" if credit else label for label, credit in zip(labels, credits, strict=True)]
coords = proj.coords[:, :2]
# Chart keys follow the paintings shown: a selection (row numbers) never outlives its map.
map_key = cache.digest(shas)[:10]

# deck.gl keeps every touch that starts on it (Streamlit passes no touchAction through): on a phone
# the map opens as dots, whose chart leaves a swipe to the page.
phone = a11y.on_phone()
mode = st.segmented_control("Select by", list(MODES), format_func=MODES.get,
                            default="dots" if phone else "thumbnails",
                            key="atlas_mode") or ("dots" if phone else "thumbnails")
st.caption(
    f"The first two axes of the {view.projection.upper()} map (seed {view.seed}; change the method and its settings "
    "on the Projection page). Drag to pan, scroll to zoom, hover for the credit. "
    + ("Click paintings to select them (a second click deselects one)." if mode == "thumbnails"
       else "The box and lasso tools in the chart's toolbar select paintings.")
)
height = 420 if a11y.on_phone() else 640  # a phone keeps room to scroll past the map
alt = access.projection_alt(view.projection, n, "artist", dims=2).replace(
    "one point each", "each drawn as its thumbnail" if mode == "thumbnails" else "one dot each")
if mode == "thumbnails":
    atlas, boxes = cache.sprite_atlas(tuple(shas))
    deck = deck_map(coords, hover, f"{base_url_path()}/{PREFIX}/{atlas}", boxes, height=height, touch=a11y.on_phone())
    event = st.pydeck_chart(deck, key=f"atlas_deck_{map_key}", on_select="rerun", selection_mode="multi-object",
                            height=height, alt=alt)
    drawn = np.flatnonzero(boxes[:, 2] > 0)  # the layer's rows: paintings with a thumbnail
    rows = ((event or {}).get("selection") or {}).get("indices", {}).get(LAYER_ID) or []  # from the browser: checked
    picked = [int(drawn[r]) for r in rows if isinstance(r, int) and 0 <= r < drawn.size]
    if drawn.size < n:
        st.caption(f"{n - drawn.size} painting(s) have no thumbnail yet and are not drawn.")
else:
    palette = figures.artist_colors(p.artist for p in ctx.paintings)
    fig = thumbnail_map(coords, hover, [""] * n, [palette.get(a, "#888888") for a in frame["artist"]],
                        axis_titles=proj.axis_titles()[:2])
    if a11y.on_phone():
        fig.update_layout(height=height, dragmode=False)  # a swipe scrolls; the toolbar picks box or lasso
    if phone:  # Streamlit gives a selecting chart a drag mode, which would take the swipe: pick by name
        st.plotly_chart(fig, key=f"atlas_dots_{map_key}", alt=alt, config=a11y.PLOTLY_CONFIG)
        rows = []
    else:
        event = st.plotly_chart(fig, key=f"atlas_dots_{map_key}", on_select="rerun", alt=alt,
                                selection_mode=("points", "box", "lasso"), config=a11y.PLOTLY_CONFIG)
        rows = ((event or {}).get("selection") or {}).get("point_indices") or []  # from the browser: checked
    picked = [int(i) for i in rows if isinstance(i, int) and 0 <= i < n]
# The keyboard's way (and a search by name): the same selection as clicks on the map.
typed = st.multiselect("Select paintings by name", range(n), format_func=labels.__getitem__,
                       key=f"atlas_keys_{map_key}", placeholder="Type a title or an artist…",
                       help="Adds paintings to the selection, as a click on the map does.")
picked = [*picked, *(int(i) for i in typed)]
if n <= access.TABLE_MAX_N:
    a11y.table(access.projection_table(coords, frame), "The map as a table: coordinates and nearest neighbours")

# The selection goes into the share link (``sel``), where the sidebar's export reads it. A link
# opened with ``sel`` shows that selection until the user selects on the map.
current = st.query_params.get("sel")
from_link = not picked and current is not None and current != st.session_state.get(LINK_KEY)
chosen = viewstate.selected_rows(current, shas) if from_link else sorted(set(picked))
wanted = current if from_link else viewstate.selection_param([shas[i] for i in chosen])
st.session_state[SELECTION_KEY] = [shas[i] for i in chosen]
if wanted != current:
    if wanted is None:
        del st.query_params["sel"]
    else:
        st.query_params["sel"] = wanted
    st.session_state[LINK_KEY] = wanted
    st.rerun()  # the sidebar (drawn before this page) then exports the new selection
if not chosen:
    st.caption("Nothing selected: click a painting" + (", or draw a box or lasso around some." if mode == "dots" else "."))
    st.stop()

st.header(f"{len(chosen)} selected" + (" (from the link)" if from_link else ""), anchor=False)
if len(chosen) > viewstate.SELECTION_MAX:
    st.caption(f"More than {viewstate.SELECTION_MAX} paintings: the share link and the sidebar's export leave "
               "this selection out; the buttons below export it.")
else:
    st.caption("The sidebar's Export and the share link now hold this selection.")
shown = chosen[:48]
thumbs = cache.thumbnail_uris(tuple(shas[i] for i in shown))
if len(chosen) == 1:
    i = chosen[0]
    try:  # the larger image: the painting itself, bounded; its thumbnail when the file is gone or bad
        st.image(load_image(ctx.paintings[i].path, max_side=640), width=480, alt=access.painting_alt(frame.iloc[i]))
    except Exception:  # noqa: BLE001 - any decode failure shows the thumbnail instead
        if thumbs[0]:
            st.image(thumbs[0], width=320, alt=access.painting_alt(frame.iloc[i]))
    st.text(hover[i])
else:
    per_row = 8
    for start in range(0, len(shown), per_row):
        cols = st.columns(per_row)
        for col, i, uri in zip(cols, shown[start:start + per_row], thumbs[start:start + per_row], strict=False):
            with col:
                if uri:
                    st.image(uri, width="stretch", alt=access.painting_alt(frame.iloc[i]))
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
