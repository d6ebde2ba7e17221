"""The two maps' front ends: the 2-D map drawn with the thumbnails themselves, and the 3-D map.

:mod:`~artsim.figures.maps.thumbmap` builds the deck.gl spec (and the Plotly dots
for box and lasso); :mod:`~artsim.figures.maps.sprites` packs its thumbnails into one
content-addressed atlas image; :mod:`~artsim.figures.maps.hover` writes the 3-D map's
static front end (Plotly with thumbnails on hover). No Streamlit here:
``dashboard/widgets/map3d.py`` declares the component.

Submodules are attached lazily (SPEC 1).
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submodules=["hover", "sprites", "thumbmap"])
