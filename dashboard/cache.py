"""The app's thin cached layer: the pages' one entry point to shared handles and cached analysis.

Pages import ``from dashboard import cache`` and only lay out. The shared
handles (store, collections, models) live in :mod:`dashboard.handles` and are
re-exported here for the pages; derived arrays are ``st.cache_data`` keyed by
content (model fingerprint + a digest of the selected paintings' sha256s +
parameters), never by file names or objects.

The analysis modules (scipy, scikit-learn, umap: seconds to import) are
declared below and imported when a page first asks for their result, so a
first view of the Gallery imports none of them.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import streamlit as st

from artsim import config, lazy
from artsim.embedding import available_models, default_model, resnet50_weights_status
from artsim.errors import ImageError
from artsim.indexing.embed_stream import THUMBNAIL_QUALITY, THUMBNAIL_SIZE
from artsim.inputs.collection import Painting, scan_folder
from artsim.inputs.file_hashes import load_hashes, save_hashes
from artsim.inputs.images import load_image, thumbnail_jpeg
from artsim.inputs.listing import folder_signature
from artsim.store.collections import CollectionInfo
from artsim.viewstate import PAGE_PARAMS, ViewState
from dashboard import embedding, model_prep, startup
from dashboard.handles import (  # noqa: F401  (re-exported: the pages' one entry point)
    collection_info,
    collection_paintings,
    collections,
    digest,
    edit_token,
    embedder,
    remember_edit_token,
    store,
)

similarity = lazy.load("artsim.analysis.similarity")
clustering = lazy.load("artsim.analysis.clustering")
projection = lazy.load("artsim.analysis.projection")
separation = lazy.load("artsim.analysis.separation")
artist_bootstrap = lazy.load("artsim.analysis.artist_bootstrap")
ann = lazy.load("artsim.store.ann")
sprites = lazy.load("artsim.figures.maps.sprites")
sprite_route = lazy.load("dashboard.sprite_route")

CONTEXT_KEY = "artsim_context"


@dataclass(frozen=True)
class Context:
    """What every page works on: the current view and the selected paintings' vectors.

    ``frame`` has one row per selected painting (Painting fields); ``vectors`` is
    ``(n, d)`` float32 in the same order; ``key`` digests model + selected sha256s.
    """

    view: ViewState
    frame: pd.DataFrame
    vectors: np.ndarray
    model: str
    key: str
    all_artists: tuple[str, ...]
    collection_label: str
    paintings: tuple[Painting, ...] = ()
    collection: CollectionInfo | None = None
    #: True while a background job embeds paintings not in the store yet (``frame`` shows the rest).
    embedding: bool = False


# ----------------------------------------------------------------------------- models
def model_choices() -> tuple[dict[str, str | None], str, str]:
    """(model -> problem or None, default model, why), cached per model and weights setting."""
    settings = tuple(os.environ.get(name, "") for name in ("ARTSIM_MODEL", "ARTSIM_WEIGHTS", "ARTSIM_HOME"))
    return _model_choices((*settings, model_prep.weights_status()))


@st.cache_resource(show_spinner=False, ttl=60)
def _model_choices(settings: tuple[str, ...]) -> tuple[dict[str, str | None], str, str]:
    # ``settings`` only keys the cache: a changed ARTSIM_MODEL or weights place is read at once
    # (regression: one cached answer for every setting picked the previous default model)
    choices = available_models(with_views=True)
    fetch = settings[-1]
    if choices["resnet50"] is None and not resnet50_weights_status().present:
        # Never fetched on a view (a visitor would wait for 95 MB): the server fetches at start
        # (dashboard.model_prep); until the file is there ResNet-50 is not offered.
        why = ("its ImageNet weights are being fetched (95 MB, once); it appears here when they are in"
               if fetch == "fetching" else "its ImageNet weights are not here yet: run `artsim weights fetch` "
               "(or `make run`), then reload")
        choices = {m: why if m.split(":", 1)[0] == "resnet50" else problem for m, problem in choices.items()}
    name, reason = default_model(fetch=False)
    if choices.get(name) is not None:  # resnet50 without its file yet
        return choices, "efficientnet-lite0", f"ResNet-50: {choices[name]}; until then EfficientNet-Lite0"
    return choices, name, reason


# ----------------------------------------------------------------------------- links
def share_url(**extra: str) -> str:
    """The current page's URL with the view's parameters (plus ``extra``, e.g. an edit token)."""
    base = str(st.context.url or "").split("?")[0]
    params = {**st.query_params.to_dict(), **extra}
    return f"{base}?{urlencode(params)}" if params else base


# ----------------------------------------------------------------------------- collection
@st.cache_data(show_spinner=False, ttl=10, max_entries=8)
def _folder_signature(root: str) -> str:
    """The folder's listing digest, re-read at most every 10 s (a 20,000-file walk takes a while)."""
    return folder_signature(root)


@st.cache_resource(show_spinner=False)
def _hash_cache(root: str) -> dict:
    """Digests of the folder's files, so a changed folder re-reads only what changed.

    Starts from the digests saved by earlier runs (:mod:`artsim.inputs.file_hashes`): a
    restarted server does not re-hash an unchanged folder.
    """
    return load_hashes()


@st.cache_data(show_spinner="Reading the collection…", max_entries=8)
def _scan(root: str, signature: str) -> tuple[list[Painting], list[tuple[str, str]]]:
    hashes = _hash_cache(root)
    known = len(hashes)
    result = scan_folder(root, hash_cache=hashes)
    if len(hashes) != known:
        save_hashes(hashes)
    return result.paintings, result.skipped


def scan_collection(root: Path) -> tuple[list[Painting], list[tuple[str, str]]]:
    """Paintings under ``root`` (re-hashed only when the folder listing changes)."""
    if not root.is_dir():
        return [], []
    return _scan(str(root), _folder_signature(str(root)))


# ----------------------------------------------------------------------------- embeddings
def content_key(model: str, shas: list[str]) -> str:
    """Cache key of analysis over ``shas`` embedded by ``model``: its fingerprint plus the paintings."""
    return digest([embedder(model).fingerprint, *shas]) if shas else ""


# ----------------------------------------------------------------------------- analysis
@st.cache_data(show_spinner=False, max_entries=32)
def similarity_matrix(key: str, center: bool, _vectors: np.ndarray) -> np.ndarray:
    """Cosine similarities of the selection, keyed by content ``key``."""
    return similarity.cosine_similarity_matrix(_vectors, center=center)


def clusters(key: str, method: str, k: int, center: bool, _vectors: np.ndarray) -> clustering.ClusterResult:
    """Hierarchical clustering of the selection (exact tree up to ``clustering.linkage_max_n()`` paintings)."""
    return _clusters(key, method, k, center, clustering.linkage_max_n(), _vectors)


@st.cache_data(show_spinner="Clustering…", max_entries=32)
def _clusters(key: str, method: str, k: int, center: bool, max_n: int, _vectors: np.ndarray) -> clustering.ClusterResult:
    return clustering.cluster_collection(_vectors, method, k, center=center, max_n=max_n, with_cophenetic=True)


@st.cache_resource(show_spinner="Linking each painting to its nearest…", max_entries=8)
def neighbour_graph(key: str, k: int, center: bool, _vectors: np.ndarray, works: tuple[str, ...] | None):
    """k-nearest-neighbour graph of the selection for walks between paintings (a sparse matrix)."""
    return separation.knn_graph(_vectors, k, center=center, works=works)


def graph_from_index(model: str, n: int) -> bool:
    """Whether the Walk graph of ``n`` paintings comes from the ANN index (:func:`artsim.store.ann.index_serves`)."""
    return ann.index_serves(store(config.db_uri()), embedder(model).fingerprint, n)


@st.cache_resource(show_spinner="Linking each painting to its nearest through the ANN index…", max_entries=4)
def index_neighbour_graph(
    key: str, k: int, model: str, _shas: tuple[str, ...], _vectors: np.ndarray, works: tuple[str, ...] | None
):
    """:func:`neighbour_graph` of a large selection from the store's ANN index (raw vectors; ``key`` covers ``_shas``)."""
    return ann.store_knn_graph(
        store(config.db_uri()), embedder(model).fingerprint, _shas, k, works=works, vectors=_vectors, min_rows=0
    )


@st.cache_data(show_spinner="Resampling each artist's paintings…", max_entries=16)
def artist_intervals(
    key: str, center: bool, seed: int, replicates: int, artists: tuple[str, ...], _vectors: np.ndarray
) -> pd.DataFrame:
    """Bootstrap intervals of every artist pair (:func:`artsim.analysis.artist_bootstrap.artist_intervals`), by content key."""
    return artist_bootstrap.artist_intervals(_vectors, artists, replicates=replicates, seed=seed, center=center)


@st.cache_resource(show_spinner=False, max_entries=16)
def _fitted_projection(
    key: str, method: str, seed: int, neighbors: int, min_dist: float, center: bool, _vectors: np.ndarray
) -> projection.Projection:
    # identical to fit_projection up to PROJECTION_FIT_MAX_N paintings; above, fits a sample
    return projection.fit_projection_sampled(
        _vectors, method, seed=seed, n_neighbors=neighbors, min_dist=min_dist, center=center
    )


def fitted_projection(
    key: str, method: str, seed: int, neighbors: int, min_dist: float, center: bool, _vectors: np.ndarray
) -> projection.Projection:
    """A fitted PCA/UMAP (kept as a resource: it holds a model with ``transform``).

    While it is computed a spinner says what happens and, for a UMAP before
    the server's warm-up has finished, roughly how long it takes.
    """
    message = startup.wait_message() if method == "umap" else "Projecting to 3-D…"
    with st.spinner(message, show_time=True):
        return _fitted_projection(key, method, seed, neighbors, min_dist, center, _vectors)


def vectors_for(model: str, shas: list[str]) -> np.ndarray | None:
    """Vectors of the paintings ``shas`` (in that order) under ``model``, embedding what is missing.

    Returns None when some painting could not be embedded by this model.
    """
    ctx: Context = st.session_state[CONTEXT_KEY]
    result = embedding.embed_collection(list(ctx.paintings), model)
    row = {p.sha256: i for i, p in enumerate(result.paintings)}
    if any(s not in row for s in shas):
        return None
    return result.vectors[[row[s] for s in shas]]


@st.cache_data(show_spinner=False, max_entries=16)
def thumbnail_uris(shas: tuple[str, ...]) -> list[str]:
    """JPEG data URIs for hover and tables, in the order of ``shas`` ('' when missing)."""
    thumbs = store(config.db_uri()).thumbnails(list(shas))
    return [
        "data:image/jpeg;base64," + base64.b64encode(thumbs[s]).decode() if s in thumbs else ""
        for s in shas
    ]


@st.cache_data(show_spinner=False, max_entries=1024)
def file_thumbnail_uri(path: str, sha256: str) -> str:
    """A JPEG data URI made from the file itself, as the store's would be ('' when it cannot be read).

    For the Gallery while the paintings are still being embedded (the store holds
    their thumbnails only afterwards); ``sha256`` keys the cache by content.
    """
    try:
        image = load_image(path, max_side=THUMBNAIL_SIZE)
    except ImageError:
        return ""
    jpeg = thumbnail_jpeg(image, THUMBNAIL_SIZE, quality=THUMBNAIL_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


@st.cache_data(show_spinner="Packing the thumbnails into one image…", max_entries=8)
def sprite_atlas(shas: tuple[str, ...]) -> tuple[str, np.ndarray]:
    """The map's sprite atlas of ``shas`` (file name under ``dashboard.sprite_route``, (n, 4) boxes)."""
    return sprites.atlas_for(sprite_route.folder(), shas, store(config.db_uri()).thumbnails)


# ----------------------------------------------------------------------------- view state
def sync_query_params(view: ViewState) -> None:
    """Write the view into the URL so the address bar is always a share link."""
    wanted = view.to_query_params()
    current = st.query_params.to_dict()
    wanted.update({k: v for k, v in current.items() if k in PAGE_PARAMS})
    if current != wanted:
        st.query_params.from_dict(wanted)
    st.session_state["written_params"] = view_params(wanted)


def view_params(params: dict[str, str]) -> dict[str, str]:
    """``params`` without the page-owned ones: what decides whether a URL is a new link."""
    return {k: v for k, v in params.items() if k not in PAGE_PARAMS}


def set_view_from(field: str, widget_key: str) -> None:
    """Widget callback: copy a widget's value into the view and the URL."""
    view = replace(st.session_state["view"], **{field: st.session_state[widget_key]})
    st.session_state["view"] = view
    sync_query_params(view)


def context() -> Context:
    """The current Context, built by the router before it runs the page."""
    return st.session_state[CONTEXT_KEY]
