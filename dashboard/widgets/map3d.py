"""The 3-D map as a Streamlit component: plotly.js and thumbnails are files the
browser fetches once; a rerun sends only the figure.

The component's folder (page, plotly.js, ``thumbs/<sha256>.jpg``) lives under
``$ARTSIM_HOME/web`` and is written by :mod:`artsim.figures.maps.hover`.
"""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
import streamlit.components.v1 as components

from artsim import config
from artsim.figures.maps import hover
from dashboard import cache


def _folder() -> Path:
    return config.home() / "web" / f"map3d-{hover.ASSET_VERSION}"


@st.cache_resource(show_spinner=False)
def _component(folder: str):
    hover.prepare_assets(folder)
    return components.declare_component("map3d", path=folder)


@st.cache_data(show_spinner=False, max_entries=16)
def thumbnail_urls(shas: tuple[str, ...]) -> list[str]:
    """URLs (relative to the map page) of the thumbnails of ``shas``, in order ('' when missing)."""
    folder = _folder()
    hover.prepare_assets(folder)
    urls = hover.write_thumbnails(folder, cache.store(config.db_uri()).thumbnails(list(shas)))
    return [urls.get(s, "") for s in shas]


def map3d(fig: go.Figure, *, height: int = 640, key: str = "map3d", title: str = "3-D map of the paintings") -> None:
    """Show ``fig`` (from ``figures.scatter3d``, thumbnails from :func:`thumbnail_urls`)
    with the thumbnail of the hovered painting beside the pointer. ``title`` names the
    component's frame for a screen reader (its ``title`` attribute, set by the frame's page)."""
    _component(str(_folder()))(spec=hover.figure_json(fig), height=int(height), title=str(title), key=key,
                               default=None)
