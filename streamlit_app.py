"""Start the artsim dashboard: ``streamlit run streamlit_app.py`` (or ``uvicorn streamlit_app:app``).

The router is ``dashboard/router.py``. It is the script Streamlit runs, and it
sits in ``dashboard/`` on purpose: Streamlit treats a ``pages/`` folder *beside
the script it runs* as a legacy multipage app (its own page list, each file
routable, the router skipped on a deep link) until some session calls
``st.navigation``. With the router one folder down, ``st.navigation`` owns
every URL from a fresh server's first request, and the page scripts stay in
``pages/``.

``st.App`` is Streamlit's ASGI entry point. Its lifespan runs once at server
start: numba's disk cache goes under ``ARTSIM_HOME`` and UMAP warms up in the
background (``dashboard.startup``). Its middleware answers unknown sub-paths
such as ``/clustering/extra`` with the app's "page not found" instead of a
blank page (``dashboard.server``). Its routes serve the map's sprite
atlases (``dashboard.sprite_route``) and answer each page's URL with Streamlit's
page plus link-preview tags, and the preview images (``dashboard.previews``).
"""

import streamlit as st
from starlette.middleware import Middleware

from dashboard.previews import ROUTES as PREVIEW_ROUTES
from dashboard.server import SubPathRedirect
from dashboard.sprite_route import ROUTES as SPRITE_ROUTES
from dashboard.startup import lifespan

app = st.App("dashboard/router.py", lifespan=lifespan, middleware=[Middleware(SubPathRedirect)], routes=SPRITE_ROUTES + PREVIEW_ROUTES)
