"""Plotly figures for the analysis (graph_objects only; no Streamlit here), by family.

* :mod:`~artsim.figures.heatmaps`: painting and artist similarity heatmaps.
* :mod:`~artsim.figures.dendrogram`: the clustering tree, coloured by the page's cut.
* :mod:`~artsim.figures.scatter`: the 3-D map (PCA/UMAP) with thumbnails in ``customdata``.
* :mod:`~artsim.figures.compare`: the Compare page's model comparison charts.
* :mod:`~artsim.figures.colors`: one colour per artist (:func:`artist_colors`) and per cluster.
* :mod:`~artsim.figures.text`: every outside string is escaped (:func:`plain`) before
  Plotly sees it, so names and titles show as text, never as markup.

Figures stay light enough to send on every rerun: numeric arrays go out as
binary, the painting heatmap refuses more than ``MAX_HEATMAP_N`` paintings,
and thumbnails ride along only up to ``MAX_THUMBNAILS`` points.
"""

from artsim.figures.colors import (
    ABOVE_CUT_COLOR,
    ARTIST_PALETTE,
    CLUSTER_PALETTE,
    CLUSTER_SYMBOLS,
    artist_colors,
    category_colors,
    cluster_color,
    cluster_symbol,
    contrast_ratio,
)
from artsim.figures.compare import accuracy_bar_figure, agreement_heatmap, within_between_figure
from artsim.figures.dendrogram import dendrogram_figure, distance_name
from artsim.figures.heatmaps import (
    LABEL_MAX_N,
    MAX_HEATMAP_N,
    PICK_MAX_N,
    PICKER_NAME,
    add_pair_picker,
    picked_pair,
    similarity_heatmap,
)
from artsim.figures.scatter import (
    HIGHLIGHT_NAME,
    MAX_THUMBNAILS,
    UPLOAD_SYMBOL,
    hover_text,
    projection_caption,
    scatter3d,
)
from artsim.figures.text import plain, unique_labels

__all__ = [
    "ABOVE_CUT_COLOR", "ARTIST_PALETTE", "CLUSTER_PALETTE", "CLUSTER_SYMBOLS", "HIGHLIGHT_NAME", "LABEL_MAX_N", "MAX_HEATMAP_N",
    "MAX_THUMBNAILS", "PICKER_NAME", "PICK_MAX_N", "UPLOAD_SYMBOL", "accuracy_bar_figure", "add_pair_picker",
    "agreement_heatmap", "artist_colors",
    "category_colors", "cluster_color", "cluster_symbol", "contrast_ratio", "dendrogram_figure", "distance_name", "hover_text", "picked_pair", "plain",
    "projection_caption",
    "scatter3d", "similarity_heatmap", "unique_labels", "within_between_figure",
]
