"""Link previews: every share URL answers with Streamlit's page plus ``og:`` and ``twitter:`` tags naming the view.

A chat app or a learning platform unfurls a link with a plain HTTP GET and reads
the ``<meta>`` tags of the HTML; Streamlit's own page says only "Streamlit"
(Streamlit issues #16878, #6567, #6140). ``st.App`` matches its own routes before
Streamlit's, so :data:`ROUTES` answers each page's URL (``/``, ``/similarity``, ...)
with Streamlit's ``index.html``, unchanged but for the ``<title>``, the tags and
preloads of the page's element code (:mod:`dashboard.preload`); the browser boots
from it as usual. ``/preview/<key>.jpg`` answers with a 1200×630 mosaic of the view's thumbnails, rendered once per view and kept under
``ARTSIM_HOME/previews`` for :data:`IMAGE_TTL_S`.

What the tags say comes from the URL (page, artists, model) and, for a link to a
collection or a tour, its name from the store: all of it untrusted, clipped and
escaped (``html.escape``). A private collection's link shows what its read-only
view shows (name, paintings), never more: edit tokens are dropped from every URL
written here. The HTML route reads the store only for a collection or tour
link (cached :data:`NAME_TTL_S`); the image route does the heavy work, off the
event loop.
"""

from __future__ import annotations

import hashlib
import html
import io
import os
import re
import time
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from cachetools import TTLCache
from PIL import Image, ImageOps
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from artsim import config, lazy
from artsim.files import atomic_write
from artsim.ids import is_collection_id
from artsim.inputs import selection
from artsim.inputs.collection import scan_folder
from artsim.inputs.file_hashes import load_hashes
from artsim.viewstate import ViewState, clip, describe_names
from dashboard import preload

streamlit = lazy.load("streamlit")  # its index.html (already imported by the server)
vectors = lazy.load("artsim.store.vectors")  # the store: only for a collection or tour link, and images
collections_db = lazy.load("artsim.store.collections")
tours = lazy.load("artsim.store.tours")

#: URL path of each page (as ``dashboard/router.py`` names them) -> its title.
PAGES = {
    "": "Gallery", "similarity": "Similarity", "clustering": "Clustering", "projection": "Projection",
    "map": "Map", "walk": "Walk", "compare": "Compare models", "explain": "Why similar?", "tour": "Tour",
    "upload": "Add paintings",
}
#: What each page shows, for the description.
PAGE_WORDS = {
    "": "the paintings", "similarity": "how alike the paintings look to the network",
    "clustering": "the groups the network finds", "projection": "a map of the paintings in 3-D",
    "map": "a map of the paintings", "walk": "a walk from one painting to another",
    "compare": "how two models differ", "explain": "why two paintings look alike", "tour": "a guided tour",
    "upload": "adding paintings",
}
#: Parameters never echoed into a preview (edit tokens).
SECRET_PARAMS = frozenset({"edit", "tour_edit"})
#: URL path segment of the preview images.
PREFIX = "preview"
IMAGE_SIZE = (1200, 630)
#: Thumbnails in a mosaic (6 × 3 cells).
GRID = (6, 3)
#: A preview image is re-rendered after this long (uploads change a view's paintings).
IMAGE_TTL_S = 600.0
#: Collection and tour names are looked up again after this long.
NAME_TTL_S = 30.0
#: Characters of a name or title in a tag.
NAME_MAX = 80
_KEY = re.compile(r"[0-9a-f]{24}")
_names: TTLCache = TTLCache(maxsize=256, ttl=NAME_TTL_S)


@cache
def _index_html() -> str:
    return (Path(streamlit.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")


def _public_params(request: Request) -> dict[str, str]:
    """The link's parameters, first value each, edit tokens dropped."""
    return {k: v for k, v in request.query_params.items() if k not in SECRET_PARAMS}


def _store():
    return vectors.EmbeddingStore(config.db_uri())


def _lookup(kind: str, ident: str) -> str | None:
    """A collection's name or a tour's title from the store (None when unknown)."""
    if not is_collection_id(ident):
        return None
    key = (config.db_uri(), kind, ident)
    if key not in _names:
        if kind == "collection":
            info = collections_db.Collections(_store()).get(ident)
            _names[key] = info.name if info else None
        else:
            tour = tours.Tours(_store()).get(ident)
            _names[key] = tour.title if tour else None
    return _names[key]


def _model(view: ViewState) -> str:
    return view.model or config.model_override() or "the default model"


def describe(page: str, params: dict[str, str]) -> tuple[str, str]:
    """(title, description) of the view a link opens; plain text, not yet escaped. May read the store."""
    view, _ = ViewState.from_query_params(params)
    title = f"{PAGES.get(page, 'Gallery')} · artsim"
    collection = _lookup("collection", view.collection) if view.collection else None
    if collection:
        title = f"{PAGES.get(page, 'Gallery')}: {clip(collection, NAME_MAX)} · artsim"
    tour = _lookup("tour", str(params.get("tour", ""))[:64]) if page == "tour" and params.get("tour") else None
    if tour:
        title = f"Tour: {clip(tour, NAME_MAX)} · artsim"
    artists = describe_names(view.artists) if view.artists else "all artists"
    where = f"collection {clip(collection, NAME_MAX)!r}" if collection else "the gallery"
    description = (f"How a neural network sees paintings: {PAGE_WORDS.get(page, 'the paintings')}. "
                   f"Artists: {artists}. Model: {clip(_model(view), NAME_MAX)}. From {where}.")
    return title, description


def image_key(params: dict[str, str]) -> str:
    """The preview image's key: what decides its content (collection, artists, model)."""
    view, _ = ViewState.from_query_params(params)
    ident = "\n".join([view.collection, _model(view), *(view.artists or ("*",))])
    return hashlib.sha256(ident.encode()).hexdigest()[:24]


def _image_params(params: dict[str, str]) -> dict[str, str]:
    return {k: params[k] for k in ("collection", "artists", "model") if params.get(k)}


def _origin(request: Request) -> str:
    """Scheme and host the visitor used (behind a proxy: its forwarded scheme)."""
    scheme = request.headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip()
    host = request.headers.get("host") or request.url.netloc
    return f"{scheme if scheme in ('http', 'https') else 'http'}://{host}"


def page_html(request: Request, page: str, title: str, description: str) -> str:
    """Streamlit's index.html with ``title`` and the preview tags (all values escaped)."""
    params = _public_params(request)
    origin = _origin(request)
    query = urlencode(params)
    url = f"{origin}/{page}" + (f"?{query}" if query else "")
    image_query = urlencode(_image_params(params))
    image = f"{origin}/{PREFIX}/{image_key(params)}.jpg" + (f"?{image_query}" if image_query else "")
    e = html.escape
    tags = [
        ("property", "og:type", "website"), ("property", "og:site_name", "artsim"),
        ("property", "og:title", title), ("property", "og:description", description),
        ("property", "og:url", url), ("property", "og:image", image),
        ("property", "og:image:width", str(IMAGE_SIZE[0])), ("property", "og:image:height", str(IMAGE_SIZE[1])),
        ("property", "og:image:alt", f"Thumbnails of the paintings in this view. {description}"),
        ("name", "twitter:card", "summary_large_image"), ("name", "twitter:title", title),
        ("name", "twitter:description", description), ("name", "twitter:image", image),
        ("name", "description", description),
    ]
    meta = "\n    ".join(f'<meta {attr}="{e(name)}" content="{e(value)}" />' for attr, name, value in tags)
    page_doc = _index_html().replace("<title>Streamlit</title>", f"<title>{e(title)}</title>", 1)
    return page_doc.replace("</head>", f"    {preload.links(page, _index_html())}{meta}\n  </head>", 1)


async def share_page(request: Request) -> Response:
    """A page's URL: Streamlit's page with the view's preview tags."""
    page = request.url.path.rstrip("/").rsplit("/", 1)[-1] if request.url.path.strip("/") else ""
    params = _public_params(request)
    needs_store = bool(params.get("collection") or (page == "tour" and params.get("tour")))
    title, description = await run_in_threadpool(describe, page, params) if needs_store else describe(page, params)
    return HTMLResponse(page_html(request, page, title, description), headers={"Cache-Control": "no-cache"})


def _paintings(params: dict[str, str]) -> list:
    """The paintings a view shows: the gallery (plus a linked collection's), its artists only."""
    view, _ = ViewState.from_query_params(params)
    folder = config.gallery_dir()
    paintings = scan_folder(folder, hash_cache=load_hashes()).paintings if folder.is_dir() else []
    if view.collection and _lookup("collection", view.collection):
        paintings = selection.merge_paintings(paintings, collections_db.Collections(_store()).paintings(view.collection))
    if view.artists:
        paintings = [p for p in paintings if p.artist in set(view.artists)]
    return paintings


def _spread(paintings: list, n: int) -> list:
    """Up to ``n`` paintings, taken round-robin over their artists (a mosaic shows the variety)."""
    by_artist: dict[str, list] = {}
    for p in paintings:
        by_artist.setdefault(p.artist, []).append(p)
    out, queues = [], list(by_artist.values())
    while len(out) < n and any(queues):
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop(0))
    return out


def render_image(params: dict[str, str]) -> tuple[bytes, bool]:
    """The 1200×630 JPEG of a view: a mosaic of its thumbnails on a dark ground (plain ground when none).

    Also returns whether every painting chosen had its thumbnail (False while the store is still filling).
    """
    cols, rows = GRID
    chosen = _spread(_paintings(params), cols * rows)
    thumbs = _store().thumbnails([p.sha256 for p in chosen]) if chosen else {}
    canvas = Image.new("RGB", IMAGE_SIZE, (28, 28, 32))
    cell_w, cell_h = IMAGE_SIZE[0] // cols, IMAGE_SIZE[1] // rows
    shown = [thumbs[p.sha256] for p in chosen if p.sha256 in thumbs]
    for i, data in enumerate(shown):
        with Image.open(io.BytesIO(data)) as im:
            tile = ImageOps.fit(im.convert("RGB"), (cell_w - 6, cell_h - 6))
        canvas.paste(tile, ((i % cols) * cell_w + 3, (i // cols) * cell_h + 3))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=85)
    return out.getvalue(), len(shown) == len(chosen)


def _cached_image(name: str, params: dict[str, str]) -> Path | bytes:
    """The cached file of a preview, or the bytes of one not worth keeping (thumbnails still missing)."""
    folder = config.home() / "previews"
    path = folder / name
    if path.is_file() and time.time() - path.stat().st_mtime <= IMAGE_TTL_S:
        return path
    data, complete = render_image(params)
    if not complete:
        return data
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data)
    return path


async def preview_image(request: Request) -> Response:
    """``/preview/<key>.jpg``: the view's mosaic (404 when the key does not match the parameters)."""
    name = request.path_params["name"]
    params = _public_params(request)
    if not name.endswith(".jpg") or not _KEY.fullmatch(name[:-4]) or name[:-4] != image_key(params):
        return Response("not found", status_code=404, media_type="text/plain")
    found = await run_in_threadpool(_cached_image, name, _image_params(params))
    if isinstance(found, bytes):
        return Response(found, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=60"})
    return FileResponse(found, media_type="image/jpeg", headers={"Cache-Control": f"public, max-age={int(IMAGE_TTL_S)}"})


ROUTES = [Route("/" + page, share_page, methods=["GET", "HEAD"]) for page in PAGES] + [
    Route(f"/{PREFIX}/{{name}}", preview_image, methods=["GET", "HEAD"]),
]

if os.environ.get("ARTSIM_LINK_PREVIEWS", "1") == "0":  # an operator may turn them off
    ROUTES = []
