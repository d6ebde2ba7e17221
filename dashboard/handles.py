"""Handles every session shares: the store, the collections, the models, and content keys.

``st.cache_resource`` keeps one of each per process. Nothing here starts work
in the background or imports a model package; :mod:`dashboard.embedding`,
:mod:`dashboard.startup` and :mod:`dashboard.cache` build on these handles, so
the three point one way (``cache`` -> ``embedding`` -> ``handles``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from artsim import config
from artsim.embedding import get_embedder
from artsim.inputs.collection import Painting
from artsim.store.collections import CollectionInfo, Collections
from artsim.store.vectors import EmbeddingStore


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


@st.cache_resource(show_spinner=False)
def embedder(name: str):
    """One model instance per process, shared by every session.

    Lazy: it knows its fingerprint (to look vectors up) but builds the network
    only when something must be embedded. It never measures the machine itself (a
    visitor would wait): :mod:`dashboard.startup` measures in the background.
    """
    handle = get_embedder(name, lazy=True)
    if hasattr(handle, "measure_on_load"):
        handle.measure_on_load = False
    return handle


def digest(shas: tuple[str, ...] | list[str]) -> str:
    """Content key of a set of paintings (order-sensitive)."""
    return hashlib.sha256("\n".join(shas).encode()).hexdigest()[:16]


