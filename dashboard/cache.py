"""The app's thin cached layer: shared state, cached handles and cached analysis.

Pages import from here and only lay out. Models and the store are
``st.cache_resource``; derived arrays are ``st.cache_data`` keyed by content
(model fingerprint + a digest of the selected paintings' sha256s + parameters),
never by file names or objects.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from artsim import clustering, config, projection, similarity
from artsim.collection import Painting, scan_folder
from artsim.collections_db import CollectionInfo, Collections
from artsim.embedding import available_models, default_model, get_embedder
from artsim.store import EmbeddingStore
from artsim.viewstate import ViewState

CONTEXT_KEY = "artsim_context"
ROUTER_RAN_KEY = "artsim_router_ran"  # set by the router on every run, consumed by the page


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


# ----------------------------------------------------------------------------- handles
@st.cache_resource(show_spinner=False)
def store(uri: str) -> EmbeddingStore:
    """One store handle per URI per process."""
    return EmbeddingStore(uri)


@st.cache_resource(show_spinner=False)
def _collections(uri: str, home: str) -> Collections:
    return Collections(store(uri), uploads_dir=Path(home) / "uploads")


def collections() -> Collections:
    """Collections kept in the store at ``ARTSIM_DB`` (one handle per database and home)."""
    return _collections(config.db_uri(), str(config.home()))


@st.cache_data(show_spinner=False, ttl=30, max_entries=64)
def collection_info(collection_id: str) -> CollectionInfo | None:
    """A collection's identity (cached briefly: the router asks on every rerun)."""
    return collections().get(collection_id)


@st.cache_data(show_spinner=False, ttl=30, max_entries=64)
def collection_paintings(collection_id: str) -> list[Painting]:
    """Paintings added to a collection (cached briefly; cleared when this session adds)."""
    return collections().paintings(collection_id)


def remember_edit_token(collection_id: str, token: str) -> None:
    """Keep a collection's edit token in this session only (never in the URL or a share link)."""
    st.session_state.setdefault("edit_tokens", {})[collection_id] = token


def edit_token(collection_id: str) -> str | None:
    """This session's edit token for ``collection_id``, if it owns it."""
    return st.session_state.get("edit_tokens", {}).get(collection_id)


def share_url(**extra: str) -> str:
    """The current page's URL with the view's parameters (plus ``extra``, e.g. an edit token)."""
    from urllib.parse import urlencode

    base = str(st.context.url or "").split("?")[0]
    params = {**st.query_params.to_dict(), **extra}
    return f"{base}?{urlencode(params)}" if params else base


@st.cache_resource(show_spinner="Loading the model…")
def embedder(name: str):
    """One model instance per process, shared by every session."""
    return get_embedder(name, lazy=True)


@st.cache_resource(show_spinner=False, ttl=60)
def model_choices() -> tuple[dict[str, str | None], str, str]:
    """(model -> problem or None, default model, why)."""
    return available_models(with_views=True), *default_model()


# ----------------------------------------------------------------------------- collection
@st.cache_data(show_spinner=False, ttl=10, max_entries=8)
def _folder_signature(root: Path) -> str:
    """Digest of a folder's listing (paths, sizes, mtimes) to key the scan cache.

    Walking a 20,000-file folder takes a while, so it is redone at most every 10 s.
    """
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            try:
                stat = os.stat(os.path.join(dirpath, name))
            except OSError:
                continue
            digest.update(f"{dirpath}/{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


@st.cache_resource(show_spinner=False)
def _hash_cache(root: str) -> dict:
    """Per-process digests of the folder's files, so a changed folder re-reads only what changed."""
    return {}


@st.cache_data(show_spinner="Reading the collection…", max_entries=8)
def _scan(root: str, signature: str) -> tuple[list[Painting], list[tuple[str, str]]]:
    result = scan_folder(root, hash_cache=_hash_cache(root))
    return result.paintings, result.skipped


def scan_collection(root: Path) -> tuple[list[Painting], list[tuple[str, str]]]:
    """Paintings under ``root`` (re-hashed only when the folder listing changes)."""
    if not root.is_dir():
        return [], []
    return _scan(str(root), _folder_signature(root))


# ----------------------------------------------------------------------------- embeddings
@st.cache_resource
def _embedding_memo() -> tuple[OrderedDict, threading.Lock]:
    return OrderedDict(), threading.Lock()


def digest(shas: tuple[str, ...] | list[str]) -> str:
    """Content key of a set of paintings (order-sensitive)."""
    return hashlib.sha256("\n".join(shas).encode()).hexdigest()[:16]


def content_key(model: str, shas: list[str]) -> str:
    """Cache key of analysis over ``shas`` embedded by ``model``: its fingerprint plus the paintings."""
    return digest([embedder(model).fingerprint, *shas]) if shas else ""


def embed_collection(paintings: list[Painting], model: str):
    """Vectors for ``paintings``; a progress bar only when the model has work to do.

    Results are memoised per process by (fingerprint, sha256s), so a rerun does
    no store or model work; a start with every vector cached loads no model.
    """
    handle = embedder(model)
    key = (handle.fingerprint, digest([p.sha256 for p in paintings]))
    memo, lock = _embedding_memo()
    with lock:
        if key in memo:
            memo.move_to_end(key)
            return memo[key]
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if done >= total and bar is None:
            return
        if bar is None:
            bar = st.progress(0.0, text=f"Embedding paintings with {model}…")
        bar.progress(done / max(total, 1), text=f"Embedding paintings with {model}: {done} of {total}")

    result = store(config.db_uri()).get_or_compute(paintings, handle, progress=progress)
    if bar is not None:
        bar.empty()
    with lock:
        memo[key] = result
        while len(memo) > 8:
            memo.popitem(last=False)
    return result


# ----------------------------------------------------------------------------- analysis
@st.cache_data(show_spinner=False, max_entries=32)
def similarity_matrix(key: str, center: bool, _vectors: np.ndarray) -> np.ndarray:
    """Cosine similarities of the selection, keyed by content ``key``."""
    return similarity.cosine_similarity_matrix(_vectors, center=center)


@st.cache_data(show_spinner="Clustering…", max_entries=32)
def clusters(key: str, method: str, k: int, center: bool, _vectors: np.ndarray) -> clustering.ClusterResult:
    """Hierarchical clustering of the selection (exact tree up to LINKAGE_MAX_N paintings)."""
    return clustering.cluster_collection(_vectors, method, k, center=center, with_cophenetic=True)


@st.cache_resource(show_spinner="Projecting to 3-D…", max_entries=16)
def fitted_projection(
    key: str, method: str, seed: int, neighbors: int, min_dist: float, center: bool, _vectors: np.ndarray
) -> projection.Projection:
    """A fitted PCA/UMAP (kept as a resource: it holds a model with ``transform``)."""
    return projection.fit_projection(
        _vectors, method, seed=seed, n_neighbors=neighbors, min_dist=min_dist, center=center
    )


def vectors_for(model: str, shas: list[str]) -> np.ndarray | None:
    """Vectors of the paintings ``shas`` (in that order) under ``model``, embedding what is missing.

    Returns None when some painting could not be embedded by this model.
    """
    ctx: Context = st.session_state[CONTEXT_KEY]
    result = embed_collection(list(ctx.paintings), model)
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


# ----------------------------------------------------------------------------- view state
def sync_query_params(view: ViewState) -> None:
    """Write the view into the URL so the address bar is always a share link."""
    wanted = view.to_query_params()
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
    st.session_state["written_params"] = wanted


def set_view_from(field: str, widget_key: str) -> None:
    """Widget callback: copy a widget's value into the view and the URL."""
    view = replace(st.session_state["view"], **{field: st.session_state[widget_key]})
    st.session_state["view"] = view
    sync_query_params(view)


def context() -> Context:
    """The current Context, built by the entrypoint before the page runs.

    Streamlit treats a ``pages/`` folder beside the entrypoint as an old-style
    multipage app until some session calls ``st.navigation``. So the first
    request of a fresh server that deep-links to a page (a share link) runs the
    page file alone, without the router. When that happens, switch Streamlit to
    ``st.navigation`` mode and rerun: the router then runs and shows this page.
    """
    if not st.session_state.pop(ROUTER_RAN_KEY, False):
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
        st.rerun()
    return st.session_state[CONTEXT_KEY]
