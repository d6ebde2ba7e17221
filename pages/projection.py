"""Projection: the paintings in 3-D (PCA or UMAP), coloured by artist or cluster, thumbnails on hover."""

from __future__ import annotations

import streamlit as st

from artsim import figures
from artsim.analysis import placement
from artsim.figures import access
from artsim.viewstate import MIN_DIST_RANGE, NEIGHBORS_RANGE, PROJECTIONS
from dashboard import cache
from dashboard.widgets import access as a11y
from dashboard.widgets import map3d, notices

ctx = cache.context()
view = ctx.view
st.title("Projection", anchor=False)

n = len(ctx.frame)
notices.stop_unless_selected(3, "project")

c1, c2, c3 = st.columns(3)
method = c1.radio(
    "Method", PROJECTIONS, index=PROJECTIONS.index(view.projection), format_func=str.upper,
    horizontal=True, key="projection_widget", on_change=cache.set_view_from,
    args=("projection", "projection_widget"),
)
color = c2.radio(
    "Colour by", ["artist", "cluster"], index=["artist", "cluster"].index(view.color), horizontal=True,
    key="color_widget", on_change=cache.set_view_from, args=("color", "color_widget"),
)
center = c3.toggle(
    "Mean-centre vectors", value=view.center, key="center_widget",
    on_change=cache.set_view_from, args=("center", "center_widget"),
)
neighbors, min_dist, seed = view.neighbors, view.min_dist, view.seed
if method == "umap":
    u1, u2, u3 = st.columns(3)
    neighbors = u1.slider(
        "Neighbours", NEIGHBORS_RANGE[0], max(NEIGHBORS_RANGE[0] + 1, min(NEIGHBORS_RANGE[1], n - 1)),
        min(view.neighbors, max(NEIGHBORS_RANGE[0] + 1, n - 1)), key="neighbors_widget",
        on_change=cache.set_view_from, args=("neighbors", "neighbors_widget"),
        help="Larger values keep more of the global shape; smaller ones local detail.",
    )
    min_dist = u2.slider(
        "Minimum distance", MIN_DIST_RANGE[0], MIN_DIST_RANGE[1], float(view.min_dist), step=0.01,
        key="min_dist_widget", on_change=cache.set_view_from, args=("min_dist", "min_dist_widget"),
    )
    seed = u3.number_input(
        "Seed", 0, 2**31 - 1, int(view.seed), key="seed_widget",
        on_change=cache.set_view_from, args=("seed", "seed_widget"),
        help="The same seed gives the same layout, so a shared link shows the same picture.",
    )

frame = ctx.frame.copy()
uploaded = frame["source"].eq("upload").to_numpy()
refit = False
if uploaded.any():
    refit = st.toggle(
        "Re-fit with uploads", value=view.refit, key="refit_widget",
        on_change=cache.set_view_from, args=("refit", "refit_widget"),
        help="Off: uploads are placed into the existing map without moving it. On: redraw the map with them.",
    )
fit_rows = placement.fit_rows(uploaded, refit)
fit_key = cache.digest([ctx.key, *frame["sha256"][fit_rows]])
proj = cache.fitted_projection(
    fit_key, method, int(seed), int(neighbors), float(min_dist), center, ctx.vectors[fit_rows]
)
if proj.note:
    st.caption(proj.note)
coords = placement.place(proj, ctx.vectors, fit_rows)
if (~fit_rows).any():
    st.caption("Uploads (diamonds) are placed into the existing map; the other paintings have not moved.")
if color == "cluster":
    k = min(max(view.k, 2), n)
    frame["cluster"] = cache.clusters(ctx.key, view.linkage, k, center, ctx.vectors).labels
    st.caption(
        f"Colours: {k} clusters of {view.linkage}-linkage clustering"
        f"{' on mean-centred vectors' if center else ''} (change linkage and k on the Clustering page)."
    )
frame["thumbnail_uri"] = map3d.thumbnail_urls(tuple(frame["sha256"]))
fig = figures.scatter3d(
    coords, frame, color_by=color, highlight=uploaded, method=method,
    explained_variance_ratio=proj.explained_variance_ratio,
    colors=figures.artist_colors(p.artist for p in ctx.paintings),  # the collection's, not the selection's
)
if method == "pca" and proj.explained_variance_ratio is not None:
    st.metric("Variance captured by the 3 axes", f"{proj.explained_variance_ratio.sum():.0%}")
# a phone's screen holds the whole cube, its axis titles inside the frame, with room to scroll past it
if a11y.on_phone():
    fig.update_layout(scene_camera_eye={"x": 2.1, "y": 2.1, "z": 1.6})
map3d.map3d(fig, height=420 if a11y.on_phone() else 640,
            title=access.projection_alt(method, n, color, uploads=int(uploaded.sum())))
st.caption(figures.projection_caption(method))
if n <= access.TABLE_MAX_N:
    a11y.table(access.projection_table(coords, frame), "The map as a table: coordinates and nearest neighbours")
