"""The sprite atlases of the map of paintings, served once and cached by the browser (issue 14.1).

``dashboard.cache.sprite_atlas`` writes each atlas under ``ARTSIM_HOME/sprites``
with a content-addressed name (:func:`artsim.figures.maps.sprites.atlas_name`): the same
paintings give the same URL, so the response may be cached for good
(``Cache-Control: immutable``). ``streamlit_app.py`` mounts :data:`ROUTES`
through ``st.App(routes=...)``; the second route answers below a
``server.baseUrlPath`` too.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from artsim import config

#: URL path segment of the atlases (below the app's base path).
PREFIX = "sprites"
#: An atlas file name as :func:`artsim.figures.maps.sprites.atlas_name` makes it (nothing else is served).
NAME = re.compile(r"[0-9a-f]{24}\.jpg")
#: A year: the name changes whenever the content does.
CACHE = "public, max-age=31536000, immutable"


def folder():
    """Where the atlases are written and read."""
    return config.home() / PREFIX


async def sprite(request: Request) -> Response:
    """One atlas JPEG, or 404."""
    name = request.path_params["name"]
    path = folder() / name
    if not NAME.fullmatch(name) or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": CACHE})


ROUTES = [
    Route(f"/{PREFIX}/{{name}}", sprite, methods=["GET", "HEAD"]),
    Route(f"/{{base:path}}/{PREFIX}/{{name}}", sprite, methods=["GET", "HEAD"]),
]
