"""Vectors for the app's paintings: from the store at once, or embedded in the background.

A view needs a vector per painting. When the store has them all (a warm
start) they are read and no model is built. When some are missing, one
background job per (model, paintings) embeds them, shared by every session
that asks; meanwhile the page works on the paintings that already have a
vector and a progress bar says how far the job is. When the job ends the page
reruns with everything.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import streamlit as st
from cachetools import LRUCache

from artsim import config, lazy
from artsim.errors import hide_paths
from artsim.inputs.collection import Painting, to_frame
from dashboard import handles

pipeline = lazy.load("artsim.indexing.pipeline")  # embedding and its model packages: only when something is missing

LOG = logging.getLogger("artsim.dashboard")

#: Finished results kept per process (one per model and set of paintings).
MEMO_SIZE = 8


@dataclass
class EmbedJob:
    """A background embedding run: how far it is, and its result once finished."""

    model: str
    total: int
    done: int = 0
    result: object | None = None  # artsim.indexing.pipeline.EmbedResult once finished
    error: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)


@st.cache_resource
def _state() -> tuple[LRUCache, dict, threading.Lock]:
    """Per process: finished results (LRU), running jobs, and the lock guarding both."""
    return LRUCache(maxsize=MEMO_SIZE), {}, threading.Lock()


def _key(paintings: list[Painting], model: str) -> tuple[str, str, str]:
    """A result's identity: the store, the model and every painting with its metadata.

    (Regression: keyed by sha256 alone, two collections holding the same images under
    other artist names or titles, or a gallery whose metadata.csv changed, were
    answered with the other paintings' names.)
    """
    return config.db_uri(), handles.embedder(model).fingerprint, handles.digest([repr(p) for p in paintings])


def _from_store(paintings: list[Painting], model: str):
    """The stored part: an EmbedResult over the paintings the store has vectors for."""
    found = handles.store(config.db_uri()).get_vectors([p.sha256 for p in paintings], handles.embedder(model).fingerprint)
    have = [p for p in paintings if p.sha256 in found]
    vectors = np.stack([found[p.sha256] for p in have]).astype(np.float32) if have else np.zeros((0, 1), np.float32)
    return pipeline.EmbedResult(vectors=vectors, paintings=have, cached=len(have))


def _run(job: EmbedJob, paintings: list[Painting], key: tuple[str, str]) -> None:
    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total

    try:
        job.result = pipeline.embed_with_cache(handles.store(config.db_uri()), paintings, handles.embedder(job.model),
                                      progress=progress)
    except Exception as error:  # noqa: BLE001 - any failure is shown to the user, never raised in a page
        LOG.warning("embedding with %s failed", job.model, exc_info=error)
        job.error = hide_paths(str(error) or type(error).__name__)  # shown to visitors: no server paths
        # What the store has, and every other painting skipped with the reason: a
        # failed run is remembered like a finished one, so it is not restarted on every rerun.
        try:
            job.result = _from_store(paintings, job.model)
        except Exception:  # noqa: BLE001 - the store itself failed: nothing to show
                    job.result = pipeline.EmbedResult(vectors=np.zeros((0, 1), np.float32), paintings=[])
        have = {p.sha256 for p in job.result.paintings}
        job.result.skipped = [(p.path, f"not embedded: {job.error}") for p in paintings if p.sha256 not in have]
    memo, jobs, lock = _state()
    with lock:
        memo[key] = job.result
        jobs.pop(key, None)
    job.finished.set()


def embedding_now(paintings: list[Painting], model: str):
    """``(result, job)``: every vector when the store has them all, else the stored part and a running job.

    ``job`` is None when nothing needs embedding. The job is shared by every
    session asking for the same model and paintings; it never blocks the caller.
    """
    if not paintings:
        return None, None
    key = _key(paintings, model)
    memo, jobs, lock = _state()
    with lock:
        if key in memo:
            return memo[key], None
        job = jobs.get(key)
    if job is None:
        partial = _from_store(paintings, model)
        if len(partial.paintings) == len(paintings):
            with lock:
                memo[key] = partial
            return partial, None
        with lock:
            job = jobs.get(key)
            if job is None:
                job = jobs[key] = EmbedJob(model=model, total=len(paintings))
                threading.Thread(target=_run, args=(job, list(paintings), key), daemon=True,
                                 name=f"artsim-embed-{model}").start()
        return partial, job
    return _from_store(paintings, model), job


def embed_collection(paintings: list[Painting], model: str):
    """Vectors for ``paintings`` under ``model``, waiting for the embedding with a progress bar."""
    result, job = embedding_now(paintings, model)
    if job is None:
        return result
    bar = st.progress(0.0, text=f"Embedding paintings with {model}…")
    while not job.finished.wait(0.5):
        bar.progress(job.done / max(job.total, 1), text=f"Embedding paintings with {model}: {job.done} of {job.total}")
    bar.empty()
    if job.error:
        st.error(f"Embedding with {model} failed: {job.error}")
        return _from_store(paintings, model)
    return job.result


def show_embedding_progress(job: EmbedJob) -> None:
    """A progress bar that follows ``job`` and reruns the app when it is done."""

    @st.fragment(run_every=1.0)
    def _bar() -> None:
        if job.finished.is_set():
            st.rerun(scope="app")
        text = (f"Embedding {job.total} paintings with {job.model}: {job.done} of {job.total} "
                "(the model loads first). The pages show the paintings already embedded meanwhile.")
        st.progress(job.done / max(job.total, 1), text=text)

    _bar()


def select(result, artists: list[str], skipped_in_scan: list[tuple[str, str]]):
    """``(frame, vectors, skipped)`` for the paintings of ``artists`` that have a vector.

    ``frame`` has one row per painting (Painting fields), ``vectors`` is
    ``(n, d)`` float32 in the same order, ``skipped`` lists every file that has no vector
    and why (scan problems first, then embedding failures).
    """
    if result is None:
        return to_frame([]), np.zeros((0, 1), dtype="float32"), list(skipped_in_scan)
    embedded: pd.DataFrame = to_frame(result.paintings)
    keep = embedded["artist"].isin(artists).to_numpy()
    return embedded[keep].reset_index(drop=True), result.vectors[keep], list(skipped_in_scan) + list(result.skipped)
