"""Plotly figures for the analysis (graph_objects only; no Streamlit here), by family.

* :mod:`~artsim.figures.heatmaps`: painting and artist similarity heatmaps.
* :mod:`~artsim.figures.dendrogram`: the clustering tree, coloured by the page's cut.
* :mod:`~artsim.figures.scatter`: the 3-D map (PCA/UMAP) with thumbnails in ``customdata``.
* :mod:`~artsim.figures.compare`: the Compare page's model comparison charts.
* :mod:`~artsim.figures.colors`: one colour per artist (:func:`artist_colors`) and per cluster.
* :mod:`~artsim.figures.text`: every outside string is escaped (:func:`plain`) before
  Plotly sees it, so names and titles show as text, never as markup.

The names below are attached lazily (SPEC 1, ``lazy_loader.attach``): a
module is imported the first time one of its names is used, so a page that
draws a heatmap never imports the dendrogram's scipy.

Figures stay light enough to send on every rerun: numeric arrays go out as
binary, the painting heatmap refuses more than ``MAX_HEATMAP_N`` paintings,
and thumbnails ride along only up to ``MAX_THUMBNAILS`` points.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=["access", "colors", "compare", "dendrogram", "export", "heatmaps", "maps", "markup", "scatter", "text", "treetop"],
    submod_attrs={
        "colors": [
            "ABOVE_CUT_COLOR", "ARTIST_PALETTE", "CLUSTER_PALETTE", "CLUSTER_SYMBOLS", "artist_colors",
            "category_colors", "cluster_color", "cluster_symbol", "contrast_ratio",
        ],
        "compare": ["accuracy_bar_figure", "agreement_heatmap", "within_between_figure"],
        "dendrogram": ["dendrogram_figure", "distance_name"],
        "heatmaps": ["LABEL_MAX_N", "MAX_HEATMAP_N", "PICKER_NAME", "PICK_MAX_N", "add_pair_picker", "picked_pair", "similarity_heatmap"],
        "scatter": ["HIGHLIGHT_NAME", "MAX_THUMBNAILS", "UPLOAD_SYMBOL", "hover_text", "projection_caption", "scatter3d"],
        "text": ["plain", "unique_labels"],
    },
)
