"""Embedding orchestration: what the store lacks goes through the model, and the vectors go back in.

:func:`embed_with_cache` is the one entry point of the CLI, the app and the
benchmarks: it reads the vectors the store has, embeds the rest with
:mod:`artsim.embed_stream` (decode threads, batched model, a failure stays
with its file) and writes them to :class:`artsim.store.EmbeddingStore`.

Several writers on one store (two ``artsim embed`` runs, app sessions): the
missing paintings are taken in chunks of :data:`CHUNK` in an order of the
writer's own (random), and the store is asked again before each chunk, so
writers mostly split the work instead of repeating it. Each chunk is one
append per table, and every run that wrote ends with a compaction (duplicate
rows from a lost race deleted, small files merged, old versions pruned), so a
table keeps a handful of versions however many writers there were.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from artsim.embed_stream import DEFAULT_BATCH_SIZE, embed_paintings
from artsim.errors import StoreError

if TYPE_CHECKING:
    from artsim.collection import Painting
    from artsim.embedding.base import Embedder
    from artsim.store import EmbeddingStore

__all__ = ["CHUNK", "DEFAULT_BATCH_SIZE", "EmbedResult", "embed_with_cache"]

CHUNK = 64
"""Paintings embedded between two looks at the store and written in one append (a crash loses at most these)."""


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


def _chunks(missing: list[Painting], size: int) -> list[list[Painting]]:
    """``missing`` cut into chunks of ``size``, in a random order of this writer's own."""
    chunks = [missing[i : i + size] for i in range(0, len(missing), size)]
    random.shuffle(chunks)  # two writers starting together rarely pick the same chunk
    return chunks


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
    total = len(paintings)
    fp = embedder.fingerprint
    vectors = store.get_vectors([p.sha256 for p in paintings], fp)
    from_store = set(vectors)
    missing = list({p.sha256: p for p in reversed(paintings) if p.sha256 not in vectors}.values())[::-1]
    done = total - len(missing)  # counts every copy of a cached painting
    if progress is not None:
        progress(done, total)
    new, skipped, wrote = 0, [], 0
    for part in _chunks(missing, max(1, int(chunk))):
        meanwhile = store.get_vectors([p.sha256 for p in part], fp)  # another writer may have done them
        vectors.update(meanwhile)
        from_store.update(meanwhile)
        todo = [p for p in part if p.sha256 not in meanwhile]
        base = done + len(part) - len(todo)
        report = (lambda d, _t, base=base: progress(base + d, total)) if progress is not None else None
        got: tuple[list[Painting], list[np.ndarray], list[bytes]] = ([], [], [])
        stream = embed_paintings(todo, embedder, batch_size=batch_size, progress=report)
        try:
            for batch, vecs, thumbs in stream:
                got[0].extend(batch)
                got[1].extend(vecs)
                got[2].extend(thumbs)
        except BaseException:
            stream.close()
            try:  # keep what was embedded before the interruption
                if got[0]:
                    store.add(got[0], np.stack(got[1]), embedder, got[2])
            except Exception:  # noqa: BLE001 - the original error matters more
                pass
            raise
        stream.close()
        if got[0]:
            wrote += store.add(got[0], np.stack(got[1]), embedder, got[2])
        for p, v in zip(got[0], got[1], strict=True):
            vectors[p.sha256] = v
        new += len(got[0])
        skipped += stream.skipped
        done += len(part)
    if wrote:
        try:
            store.compact(fp)
        except StoreError:  # a concurrent writer's commit won the race; the last one to finish compacts
            pass
    ok = [p for p in paintings if p.sha256 in vectors]
    if progress is not None:
        progress(total, total)
    return EmbedResult(
        vectors=np.stack([vectors[p.sha256] for p in ok]).astype(np.float32, copy=False)
        if ok
        else np.zeros((0, embedder.dim), np.float32),
        paintings=ok,
        new=new,
        cached=sum(1 for p in paintings if p.sha256 in from_store),
        skipped=skipped,
    )
