"""The embedding store: a LanceDB database of vectors keyed by (painting sha256, embedder fingerprint).

Layout
------
``embeddings_<fingerprint>``
    One table per embedder fingerprint, one row per painting: ``sha256``,
    ``fingerprint``, ``model``, ``vector`` (``fixed_size_list<float32>[dim]``),
    ``artist``, ``title``, ``path``, ``added`` (UTC timestamp). A table per
    fingerprint because the models have different dimensions (2048, 1280, 100)
    and Arrow/Lance vectors are fixed-size lists: a fixed-size column keeps the
    vectors contiguous (one ``reshape`` to a numpy ``(n, d)`` array, usable by
    LanceDB's vector search and indexes), while a variable-length list column
    would need per-row offsets and could not be indexed. It also makes "all
    vectors of one model" a whole-table read and a stale model a ``drop_table``.
``thumbnails``
    One row per painting: ``sha256``, ``thumbnail`` (JPEG bytes, ~160 px),
    ``added``. Thumbnails belong to the painting, not to a model, so they are
    stored once however many models embed it; the vector tables stay lean.

The database handle itself is :class:`artsim.store.database.Database` (shared with
:mod:`artsim.store.collections`); what is missing goes through the model in
:func:`artsim.indexing.pipeline.embed_with_cache`.

Concurrency
-----------
Writers only append. ``add`` skips keys already present, so one process never
writes a key twice; two writers racing on the same key can both append it
(LanceDB's ``merge_insert`` does not prevent that either), so every read keeps
the first row per key, and :meth:`EmbeddingStore.compact` deletes the extra
rows. Appends from threads and from ``spawn``-ed processes keep every row;
**never fork a process after opening a store** (rows are lost silently), use
``multiprocessing.get_context("spawn")`` or open the store in the child.
Each append is a new table version, so :func:`artsim.indexing.pipeline.embed_with_cache`
compacts after every run that wrote.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from artsim import lazy
from artsim.errors import StoreError
from artsim.store.database import Database

pa = lazy.load("pyarrow")  # schemas and row batches, built only when a table is written

if TYPE_CHECKING:
    from artsim.embedding.base import Embedder
    from artsim.inputs.collection import Painting

__all__ = [
    "EMBEDDINGS_PREFIX", "THUMBNAILS_TABLE", "EmbeddingStore", "table_name", "thumbnail_schema", "vector_schema",
]

EMBEDDINGS_PREFIX = "embeddings_"
THUMBNAILS_TABLE = "thumbnails"


def table_name(fingerprint: str) -> str:
    """Name of the vector table for ``fingerprint`` (the fingerprint itself if it is a plain hex/word)."""
    if not fingerprint:
        raise ValueError("empty embedder fingerprint")
    if re.fullmatch(r"[A-Za-z0-9]{1,64}", fingerprint):
        return EMBEDDINGS_PREFIX + fingerprint
    return EMBEDDINGS_PREFIX + "h" + hashlib.sha256(fingerprint.encode()).hexdigest()[:32]


def vector_schema(dim: int, model: str) -> pa.Schema:
    """Arrow schema of a vector table: one row per painting, ``dim``-d float32 vectors."""
    return pa.schema(
        [
            pa.field("sha256", pa.string(), nullable=False),
            pa.field("fingerprint", pa.string(), nullable=False),
            pa.field("model", pa.string(), nullable=False),
            pa.field("vector", pa.list_(pa.float32(), dim), nullable=False),
            pa.field("artist", pa.string()),
            pa.field("title", pa.string()),
            pa.field("path", pa.string()),
            pa.field("added", pa.timestamp("us", tz="UTC")),
        ],
        metadata={"artsim": "embeddings v1", "model": model, "dim": str(dim)},
    )


def thumbnail_schema() -> pa.Schema:
    """Arrow schema of the thumbnails table: one JPEG per painting."""
    return pa.schema(
        [
            pa.field("sha256", pa.string(), nullable=False),
            pa.field("thumbnail", pa.binary()),
            pa.field("added", pa.timestamp("us", tz="UTC")),
        ],
        metadata={"artsim": "thumbnails v1"},
    )


def thumbnail_rows(rows: dict[str, bytes], now: datetime) -> pa.Table:
    """The thumbnails table's rows for ``rows`` (sha256 -> JPEG bytes)."""
    return pa.table(
        {
            "sha256": list(rows),
            "thumbnail": pa.array(list(rows.values()), pa.binary()),
            "added": pa.array([now] * len(rows), pa.timestamp("us", tz="UTC")),
        },
        schema=thumbnail_schema(),
    )


def vector_rows(
    paintings: Sequence[Painting], vectors: np.ndarray, embedder: Embedder, now: datetime
) -> pa.Table:
    """A vector table's rows: ``paintings`` with their ``(n, dim)`` ``vectors`` from ``embedder``."""
    n, dim = vectors.shape
    return pa.table(
        {
            "sha256": [p.sha256 for p in paintings],
            "fingerprint": [embedder.fingerprint] * n,
            "model": [embedder.name] * n,
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel(), pa.float32()), dim),
            "artist": [p.artist for p in paintings],
            "title": [p.title for p in paintings],
            "path": [str(p.path) for p in paintings],
            "added": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
        },
        schema=vector_schema(dim, embedder.name),
    )


class EmbeddingStore:
    """Vectors and thumbnails of paintings in a LanceDB database, opened on first use.

    Parameters
    ----------
    db : Database or str, optional
        The database (or its URI); default :func:`artsim.config.db_uri`.
    """

    def __init__(self, db: Database | str | None = None) -> None:
        self.db = db if isinstance(db, Database) else Database(db)
        self._lock = self.db.lock  # guards the key indexes and serialises this process's writes

    @property
    def uri(self) -> str:
        """The database URI."""
        return self.db.uri

    def __repr__(self) -> str:
        return f"EmbeddingStore({self.uri!r})"

    # ------------------------------------------------------------------ reading

    def get_vectors(self, shas: Sequence[str], fingerprint: str) -> dict[str, np.ndarray]:
        """Stored vectors of the given paintings for one embedder.

        Parameters
        ----------
        shas : sequence of str
            Painting sha256 digests (duplicates and unknown ones are fine).
        fingerprint : str
            Embedder fingerprint.

        Returns
        -------
        dict
            sha256 -> ``(d,)`` float32 vector, for the shas that are stored.
        """
        return self.db.first_rows(table_name(fingerprint), list(shas), "vector")

    def thumbnails(self, shas: Sequence[str]) -> dict[str, bytes]:
        """Stored JPEG thumbnails (~160 px) of the given paintings: sha256 -> bytes."""
        return {k: v for k, v in self.db.first_rows(THUMBNAILS_TABLE, list(shas), "thumbnail").items() if v}

    def count(self, fingerprint: str) -> int:
        """Number of distinct paintings with a vector for ``fingerprint``."""
        name = table_name(fingerprint)
        table = self.db.open(name)
        if table is None:
            return 0
        with self._lock:
            return len(self.db.key_index(name, table))

    def info(self) -> list[dict[str, Any]]:
        """One dict per vector table: ``table``, ``model``, ``dim``, ``rows``."""
        out = []
        for name in self.db.table_names():
            if not name.startswith(EMBEDDINGS_PREFIX):
                continue
            table = self.db.open(name)
            if table is None:
                continue
            meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
            out.append(
                {
                    "table": name,
                    "model": meta.get("model", ""),
                    "dim": int(meta.get("dim", 0)),
                    "rows": table.count_rows(),
                }
            )
        return out

    # ------------------------------------------------------------------ writing

    def add(
        self,
        paintings: Sequence[Painting],
        vectors: np.ndarray,
        embedder: Embedder,
        thumbnails: Sequence[bytes],
    ) -> int:
        """Store vectors (and thumbnails) of paintings embedded by ``embedder``; returns rows written.

        Keys already stored are left as they are (the first vector wins).

        Parameters
        ----------
        paintings : sequence of Painting
            ``n`` paintings (``sha256``, ``artist``, ``title``, ``path`` are stored).
        vectors : np.ndarray
            ``(n, embedder.dim)`` finite floats.
        embedder : Embedder
            Supplies ``fingerprint``, ``name`` and ``dim``.
        thumbnails : sequence of bytes
            ``n`` JPEG thumbnails; empty bytes for "none".
        """
        paintings = list(paintings)
        vectors = np.asarray(vectors, dtype=np.float32)
        n, dim = len(paintings), int(embedder.dim)
        if vectors.shape != (n, dim):
            raise ValueError(f"vectors have shape {vectors.shape}, expected {(n, dim)} for {n} paintings")
        if len(thumbnails) != n:
            raise ValueError(f"{len(thumbnails)} thumbnails for {n} paintings")
        if n == 0:
            return 0
        if not np.isfinite(vectors).all():
            raise ValueError("vectors contain NaN or infinity; refusing to store them")
        name = table_name(embedder.fingerprint)
        now = datetime.now(UTC)
        try:
            with self._lock:
                # thumbnails first: a stored vector then always has its thumbnail
                thumbs = self.db.open_or_create(THUMBNAILS_TABLE, thumbnail_schema())
                have = self.db.key_index(THUMBNAILS_TABLE, thumbs)
                rows = {p.sha256: t for p, t in zip(paintings, thumbnails, strict=True) if t and p.sha256 not in have}
                if rows:
                    self.db.append(THUMBNAILS_TABLE, thumbs, thumbnail_rows(rows, now))
                table = self.db.open_or_create(name, vector_schema(dim, embedder.name))
                stored_dim = table.schema.field("vector").type.list_size
                if stored_dim != dim:
                    raise StoreError(
                        f"table {name!r} holds {stored_dim}-d vectors but embedder {embedder.name!r} "
                        f"makes {dim}-d ones; its fingerprint should have changed"
                    )
                have = self.db.key_index(name, table)
                keep: dict[str, int] = {}
                for i, p in enumerate(paintings):
                    if p.sha256 not in have:
                        keep.setdefault(p.sha256, i)
                if not keep:
                    return 0
                idx = list(keep.values())
                self.db.append(name, table, vector_rows([paintings[i] for i in idx], vectors[idx], embedder, now))
                return len(idx)
        except (StoreError, ValueError):
            raise
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"Cannot write to the embedding store at {self.uri!r}: {exc}") from exc

    def compact(self, fingerprint: str | None = None, keep: timedelta | None = None) -> None:
        """Delete duplicate rows left by racing writers, merge small files, prune old versions.

        ``fingerprint`` limits the work to one vector table (plus thumbnails);
        default all tables. Versions older than ``keep`` (default
        :func:`artsim.config.keep_versions`) are removed.
        """
        names = [THUMBNAILS_TABLE]
        if fingerprint is not None:
            names.append(table_name(fingerprint))
        else:
            names += [t for t in self.db.table_names() if t.startswith(EMBEDDINGS_PREFIX)]
        for name in names:
            table = self.db.open(name)
            if table is None:
                continue
            try:
                with self._lock:
                    self.db.drop_duplicates(name)
                    self.db.compact(name, keep)
            except StoreError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise StoreError(
                    f"Cannot compact table {name!r} of the embedding store at {self.uri!r}: {exc}"
                ) from exc
