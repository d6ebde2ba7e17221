"""A 2-D map of paintings drawn as their thumbnails (issue 14.1).

Two drawings of the same map:

- :func:`deck_map`, the map itself: a deck.gl ``IconLayer`` over an
  ``OrthographicView`` (WebGL, through ``st.pydeck_chart``). Every painting is
  its thumbnail, cut from ONE sprite atlas image (:mod:`artsim.figures.maps.sprites`) by an
  icon mapping, so 5,000 thumbnails cost one image request; hover shows the
  credit as plain text, a click selects.
- :func:`thumbnail_map`, a Plotly figure: WebGL dots for box and lasso
  selection (deck.gl has neither), and up to :data:`MAX_THUMBNAILS` paintings
  drawn as layout images (the first version of the map, kept as the benchmark's
  baseline: thousands of ``<image>`` elements make every pan slow).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

#: Most paintings drawn as thumbnails; more are drawn as dots.
MAX_THUMBNAILS = 600
#: A thumbnail's width as a share of the map's larger extent (Plotly figure; the deck map: at most).
THUMB_SHARE = 0.06
#: The deck map's smallest thumbnail, as a share of the larger extent (thousands of paintings).
THUMB_SHARE_MIN = 0.012
#: id of the deck map's icon layer (its key in a selection event's ``indices``).
LAYER_ID = "paintings"


def thumbnail_map(
    coords: np.ndarray,
    hover: Sequence[str],
    thumbnails: Sequence[str],
    colors: Sequence[str] | None = None,
    *,
    axis_titles: Sequence[str] = ("1", "2"),
    height: int = 680,
) -> go.Figure:
    """The map figure.

    Parameters
    ----------
    coords : (n, 2) positions.
    hover : n plain-text hover texts, lines split by newlines (escaped here: Plotly renders a subset of HTML).
    thumbnails : n image URIs ('' = none; that painting is a dot).
    colors : n marker colours (e.g. by artist).
    axis_titles : the two axes' titles.
    """
    coords = np.asarray(coords, dtype=np.float64)
    n = coords.shape[0]
    span = float(np.ptp(coords, axis=0).max()) if n > 1 else 1.0
    size = (span or 1.0) * THUMB_SHARE
    show_thumbs = n <= MAX_THUMBNAILS
    esc = [str(h).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>") for h in hover]
    fig = go.Figure(go.Scattergl(
        x=coords[:, 0], y=coords[:, 1], mode="markers", customdata=np.arange(n),
        hovertext=esc, hoverinfo="text",
        marker={"size": 26 if show_thumbs else 7, "opacity": 0.15 if show_thumbs else 0.8,
                "color": list(colors) if colors is not None else "#1f77b4", "line": {"width": 0}},
    ))
    if show_thumbs:
        fig.update_layout(images=[
            {"source": uri, "xref": "x", "yref": "y", "x": float(x), "y": float(y), "sizex": size, "sizey": size,
             "xanchor": "center", "yanchor": "middle", "sizing": "contain", "layer": "above"}
            for (x, y), uri in zip(coords, thumbnails, strict=True) if uri
        ])
    fig.update_layout(
        height=height, dragmode="pan", margin={"l": 10, "r": 10, "t": 10, "b": 10}, showlegend=False,
        xaxis={"title": axis_titles[0], "zeroline": False},
        yaxis={"title": axis_titles[1], "zeroline": False, "scaleanchor": "x"},
    )
    return fig


class CompactDeck(pdk.Deck):
    """A ``pydeck.Deck`` whose JSON has no indentation: pydeck indents by two spaces, a third
    of a 5,000-icon spec that Streamlit sends on every rerun."""

    def to_json(self) -> str:
        """The spec as compact JSON (same content as ``pydeck.Deck.to_json``)."""
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


def thumb_share(n: int) -> float:
    """A thumbnail's size as a share of the map's extent: smaller as paintings crowd in (~0.5/sqrt(n))."""
    return float(min(THUMB_SHARE, max(THUMB_SHARE_MIN, 0.5 / math.sqrt(max(n, 1)))))


def deck_map(
    coords: np.ndarray,
    hover: Sequence[str],
    atlas_url: str,
    boxes: np.ndarray,
    *,
    height: int = 640,
    touch: bool = False,
) -> pdk.Deck:
    """The WebGL map: one icon per painting at its position, cut from the atlas at ``atlas_url``.

    Parameters
    ----------
    coords : (n, 2) positions (the projection's first two axes; y points up).
    hover : n plain-text hover texts (credit lines split by newlines); deck.gl shows them as text.
    atlas_url : the sprite atlas image's URL (one request for every thumbnail).
    boxes : (n, 4) int ``x, y, width, height`` of each thumbnail in the atlas; a painting
        with a zero-width box has no thumbnail and is left out of the layer.
    height : the chart's height in pixels (the first view fits the map into it).
    touch : a phone or tablet: one finger scrolls the page (no drag-pan, no touch zoom or
        rotation); double tap and the keyboard's arrows and +/- still move the map.

    Returns
    -------
    CompactDeck (a pydeck.Deck) with one pickable ``IconLayer`` (id :data:`LAYER_ID`); a row of its data is
    ``{"p": [x, y], "t": hover text, "c": icon name}``, the icon name being the painting's
    index in ``coords`` (as text).
    """
    coords = np.asarray(coords, dtype=np.float64)
    boxes = np.asarray(boxes, dtype=np.int64)
    n = coords.shape[0]
    if len(hover) != n or boxes.shape != (n, 4):
        raise ValueError(f"{n} positions need {n} hover texts and (n, 4) boxes; got {len(hover)} and {boxes.shape}")
    lo, hi = (coords.min(axis=0), coords.max(axis=0)) if n else (np.zeros(2), np.ones(2))
    span = float((hi - lo).max()) or 1.0
    size = span * thumb_share(n)
    drawn = np.flatnonzero(boxes[:, 2] > 0)
    # Short keys and positions rounded to 1e-6 of the extent: the spec travels on every rerun.
    xy = np.round(coords, max(0, 6 - math.floor(math.log10(span)))).tolist()
    data = [{"p": xy[i], "t": str(hover[i]), "c": str(i)} for i in drawn]
    mapping = {str(i): {"x": int(boxes[i, 0]), "y": int(boxes[i, 1]), "width": int(boxes[i, 2]),
                        "height": int(boxes[i, 3])} for i in drawn}
    # A quoted string stays a string in pydeck (a bare ".jpg" path would be read from disk and inlined).
    layer = pdk.Layer(
        "IconLayer", data, id=LAYER_ID, pickable=True, icon_atlas=f"'{atlas_url}'", icon_mapping=mapping,
        get_icon="c", get_position="p", get_size=size, size_units="'common'", size_min_pixels=3,
        auto_highlight=True, highlight_color=[255, 200, 0, 160],
    )
    # Fit the larger extent (plus a thumbnail) into the chart's height: 1 common unit = 2**zoom pixels.
    zoom = math.log2(0.9 * height / (span + size))
    controller: bool | dict = True
    if touch:
        controller = {"dragPan": False, "scrollZoom": False, "touchZoom": False, "touchRotate": False,
                      "doubleClickZoom": True, "keyboard": True}
    view_state = pdk.ViewState(target=[float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2), 0.0],
                               zoom=zoom, min_zoom=zoom - 2, max_zoom=zoom + 8)
    return CompactDeck(
        layers=[layer], views=[pdk.View(type="OrthographicView", controller=controller, flipY=False)],
        initial_view_state=view_state, map_style=None, tooltip={"text": "{t}"}, height=height,
    )
