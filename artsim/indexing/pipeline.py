"""Embedding orchestration: what the store lacks goes through the model, and the vectors go back in.

:func:`embed_with_cache` is the one entry point of the CLI, the app and the
benchmarks: it reads the vectors the store has, embeds the rest with
:mod:`artsim.indexing.embed_stream` (decode threads, batched model, a failure stays
with its file) and writes them to :class:`artsim.store.vectors.EmbeddingStore`.

Several writers on one store (two ``artsim embed`` runs, app sessions): the
paintings are cut into chunks of :data:`CHUNK` (in input order, so two runs on
one folder cut the same chunks), taken in an order of the writer's own
(random), each under an advisory claim (:mod:`artsim.indexing.claims`): a chunk another
live writer on this machine holds is left for the end, then waited for, and
the store is asked again before each chunk, so writers split the work instead
of repeating it. A lock per database lets one chunk at a time be embedded from
this machine: the model already uses every core, and two at once oversubscribe them. Each chunk is one
append per table, made while the next chunk's first images decode (its claim is
freed once it is stored), and every run that wrote
ends with a compaction (duplicate rows from a lost race deleted, small files
merged, old versions pruned), so a table keeps a handful of versions however
many writers there were.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from artsim.errors import StoreError
from artsim.indexing.claims import Claim, claim_dir, work_lock
from artsim.indexing.embed_stream import DEFAULT_BATCH_SIZE, embed_paintings
from artsim.store.vectors import table_name

if TYPE_CHECKING:
    from artsim.embedding.base import Embedder
    from artsim.inputs.collection import Painting
    from artsim.store.vectors import EmbeddingStore

__all__ = ["CHUNK", "DEFAULT_BATCH_SIZE", "EmbedResult", "all_stored", "embed_with_cache"]

CHUNK = 32
"""Paintings embedded between two looks at the store and written in one append (a crash loses at most
two chunks: each is written while the next one decodes)."""

_Rows = tuple[list["Painting"], list[np.ndarray], list[bytes]]
"""Embedded and not yet stored: paintings, their vectors, their thumbnails."""


class _Run:
    """Bookkeeping of one :func:`embed_with_cache` call: progress, counts, one chunk's work, its write."""

    def __init__(self, store, embedder, batch_size, progress, total: int, done: int) -> None:
        self.store, self.embedder, self.batch_size = store, embedder, batch_size
        self.progress, self.total, self.done = progress, total, done
        self.new, self.wrote = 0, 0
        self.skipped: list[tuple[str, str]] = []
        self.unwritten: list[tuple[_Rows, Claim | None]] = []  # embedded, not yet stored: at most one chunk

    def report(self, extra: int) -> None:
        if self.progress is not None:
            self.progress(self.done + extra, self.total)

    def flush(self) -> None:
        """Store what was embedded and not yet written, then free its chunk's claim.

        If a write fails, every claim still held is freed before the error propagates:
        another writer then embeds those chunks instead of waiting for this one.
        """
        try:
            while self.unwritten:
                (paintings, vecs, thumbs), claim = self.unwritten[0]
                if paintings:
                    self.wrote += self.store.add(paintings, np.stack(vecs), self.embedder, thumbs)
                self.unwritten.pop(0)
                if claim is not None:
                    claim.release()
        except BaseException:
            for _, claim in self.unwritten:
                if claim is not None:
                    claim.release()
            self.unwritten.clear()
            raise

    def chunk(self, part: list[Painting], vectors: dict, from_store: set[str], claim: Claim | None) -> None:
        """Embed the paintings of ``part`` that nobody has stored yet; they are written by the next
        chunk while its first images decode (or by :meth:`flush`), and ``claim`` is freed then."""
        got: _Rows = ([], [], [])
        stream = None
        try:
            left = [p for p in part if p.sha256 not in vectors]
            meanwhile = self.store.get_vectors([p.sha256 for p in left], self.embedder.fingerprint)
            vectors.update(meanwhile)
            from_store.update(meanwhile)
            todo = [p for p in left if p.sha256 not in meanwhile]
            self.done += len(left) - len(todo)
            stream = embed_paintings(
                todo, self.embedder, batch_size=self.batch_size, progress=lambda d, _t: self.report(d)
            ).start()
            self.flush()  # the previous chunk's write, while this one decodes
            for batch, vecs, thumbs in stream:
                got[0].extend(batch)
                got[1].extend(vecs)
                got[2].extend(thumbs)
        except BaseException:
            if stream is not None:
                stream.close()
            self.unwritten.append((got, claim))
            try:  # keep what was embedded before the interruption
                self.flush()
            except Exception:  # noqa: BLE001 - the original error matters more
                pass
            raise
        stream.close()
        self.unwritten.append((got, claim))
        vectors.update(zip([p.sha256 for p in got[0]], got[1], strict=True))
        self.new += len(got[0])
        self.skipped += stream.skipped
        self.done += len(todo)


@dataclass
class EmbedResult:
    """Vectors for the paintings that could be embedded, in the order they were given.

    Attributes
    ----------
    vectors : np.ndarray
        ``(n_ok, d)`` float32, row ``i`` belongs to ``paintings[i]``.
    paintings : list of Painting
        The input paintings that have a vector (input order, failures left out).
    new : int
        Paintings embedded by this call.
    cached : int
        Paintings whose vector came from the store (including ones another writer stored meanwhile).
    skipped : list of (path, reason)
        Files that could not be decoded or embedded, with a reason in plain words.
    """

    vectors: np.ndarray
    paintings: list[Painting]
    new: int = 0
    cached: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def all_stored(store: EmbeddingStore, paintings: Sequence[Painting], fingerprint: str) -> bool:
    """Whether every painting has a vector under ``fingerprint``, known without importing LanceDB.

    Reads the key list kept beside a local table (:meth:`artsim.store.database.Database.stored_keys`,
    valid only while the table has not changed since it was written). False means
    "not known this way": ask the store (:func:`embed_with_cache`).
    """
    keys = store.db.stored_keys(table_name(fingerprint))
    return keys is not None and all(p.sha256 in keys for p in paintings)


def _save_keys(store: EmbeddingStore, fingerprint: str) -> None:
    """Leave the key list beside the table, so the next all-cached run needs no LanceDB (best effort)."""
    try:
        store.db.save_keys(table_name(fingerprint))
    except Exception:  # noqa: BLE001 - only a speed-up for the next run
        pass


def embed_with_cache(
    store: EmbeddingStore,
    paintings: Sequence[Painting],
    embedder: Embedder,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = CHUNK,
) -> EmbedResult:
    """Vectors of ``paintings``: from ``store`` where present, else embedded now and stored.

    Parameters
    ----------
    store : EmbeddingStore
        Where vectors are read from and written to.
    paintings : sequence of Painting
        What to embed, identified by ``sha256`` (duplicates are embedded once).
    embedder : Embedder
        The model; only paintings not stored under its fingerprint go through it,
        so a run with every vector cached never loads it.
    batch_size : int
        Images per forward pass.
    progress : callable(done, total), optional
        Called as work proceeds; ``done`` counts cached, new and skipped paintings.
    chunk : int
        Paintings per look at the store and per write (see the module notes).

    Returns
    -------
    EmbedResult
        Vectors in the order of ``paintings`` (failures left out, listed in ``skipped``).
        Work finished before an interruption (``KeyboardInterrupt``, a setup error) is stored.
    """
    paintings = list(paintings)
    total, fp = len(paintings), embedder.fingerprint
    vectors = store.get_vectors([p.sha256 for p in paintings], fp)
    from_store = set(vectors)
    unique: dict[str, Painting] = {}
    for p in paintings:
        unique.setdefault(p.sha256, p)
    step, order = max(1, int(chunk)), list(unique.values())
    chunks = [order[i : i + step] for i in range(0, len(order), step)]
    random.shuffle(chunks)  # writers start on different chunks
    state = _Run(store, embedder, batch_size, progress, total, total - sum(k not in vectors for k in unique))
    state.report(0)
    folder = claim_dir(store.uri)
    deferred: list[tuple[list[Painting], Claim]] = []
    for part in chunks:
        if all(p.sha256 in vectors for p in part):
            continue
        claim = Claim(folder, [fp, *(p.sha256 for p in part)])
        if not claim.acquire():  # another writer on this machine is on it: come back at the end
            deferred.append((part, claim))
            continue
        try:
            with work_lock(folder):  # one chunk at a time into this database: the model uses every core
                state.chunk(part, vectors, from_store, claim)  # frees the claim once the chunk is stored
        except BaseException:
            claim.release()  # whatever failed, no claim outlives this call (releasing twice is harmless)
            raise
    state.flush()
    for part, claim in deferred:
        claim.wait()
        with work_lock(folder):
            state.chunk(part, vectors, from_store, None)
    state.flush()
    if state.wrote:
        try:
            store.compact(fp)
        except StoreError:  # a concurrent writer's commit won the race; the last one to finish compacts
            pass
    _save_keys(store, fp)
    ok = [p for p in paintings if p.sha256 in vectors]
    state.report(total - state.done)
    return EmbedResult(
        vectors=np.stack([vectors[p.sha256] for p in ok]).astype(np.float32, copy=False)
        if ok
        else np.zeros((0, embedder.dim), np.float32),
        paintings=ok,
        new=state.new,
        cached=sum(1 for p in paintings if p.sha256 in from_store),
        skipped=state.skipped,
    )
