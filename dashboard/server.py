"""What the ASGI server adds around Streamlit: unknown sub-paths answered by the app.

Streamlit serves its page for any path, with asset links relative to it. At
``/clustering/extra`` those resolve under ``/clustering/`` where no asset is,
so the browser shows a blank page. :class:`SubPathRedirect` sends such a
request to the app's root with ``?notfound=<path>``; the router then says
"page not found" and shows the Gallery, with a way back.

Standard library and Streamlit's config only: this runs on every request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from streamlit import config as streamlit_config

#: First path segments Streamlit itself serves (assets, websocket, media, components, static files),
#: the map's sprite atlases (``dashboard.sprite_route``) and link-preview images (``dashboard.previews``).
RESERVED = frozenset({"_stcore", "static", "media", "component", "app", "auth", "oauth2callback", "sprites", "preview"})
#: Longest unknown path echoed back in ``notfound`` (characters).
NOTFOUND_MAX = 200

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def base_url_path() -> str:
    """Streamlit's ``server.baseUrlPath`` as ``/path`` (or '' at the root)."""
    base = str(streamlit_config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def redirect_target(path: str, base: str = "") -> str | None:
    """Where to send a request for ``path``: the app root with ``notfound``, or None to serve it.

    A path is redirected when, below ``base``, it has two or more segments and
    none is one Streamlit serves (see :data:`RESERVED`): the frontend probes
    ``/<page>/_stcore/health`` to find the app's base path, and that must stay a 404.
    """
    rel = path[len(base):] if base and path.startswith(base) else path
    segments = [s for s in rel.split("/") if s]
    if len(segments) < 2 or any(s in RESERVED or s.startswith((".", "_", "~")) for s in segments):
        return None
    return f"{base}/?notfound={quote('/'.join(segments)[:NOTFOUND_MAX], safe='')}"


def _wants_page(scope: Scope) -> bool:
    """Whether the request is a browser loading a page (not a script, a probe or an image)."""
    headers = dict(scope.get("headers") or [])
    dest = headers.get(b"sec-fetch-dest", b"")
    return dest == b"document" or (not dest and b"text/html" in headers.get(b"accept", b""))


class SubPathRedirect:
    """ASGI middleware: a GET of an unknown sub-path becomes a redirect to the app (see module notes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD") and _wants_page(scope):
            target = redirect_target(scope.get("path", ""), base_url_path())
            if target is not None:
                await send({"type": "http.response.start", "status": 302,
                            "headers": [(b"location", target.encode()), (b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)
