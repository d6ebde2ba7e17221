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

Room is left for more tables (named collections of paintings will be a
separate table keyed by collection id; they reference paintings by sha256).

Concurrency
-----------
Writers only append. ``add`` skips keys already present, so one process never
writes a key twice; two writers racing on the same key can both append it
(LanceDB's ``merge_insert`` does not prevent that either), so every read keeps
the first row per key, and :meth:`EmbeddingStore.compact` deletes the extra
rows. Appends from threads and from ``spawn``-ed processes keep every row;
**never fork a process after opening a store** (rows are lost silently), use
``multiprocessing.get_context("spawn")`` or open the store in the child.
Each append is a new table version, so :meth:`get_or_compute` compacts after
bulk work.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from artsim import config
from artsim.errors import StoreError
from artsim.pipeline import DEFAULT_BATCH_SIZE

if TYPE_CHECKING:
    import pyarrow as pa

    from artsim.collection import Painting
    from artsim.embedding.base import Embedder

__all__ = ["EMBEDDINGS_PREFIX", "THUMBNAILS_TABLE", "EmbedResult", "EmbeddingStore", "table_name"]

EMBEDDINGS_PREFIX = "embeddings_"
THUMBNAILS_TABLE = "thumbnails"
WRITE_EVERY = 256
"""Rows buffered by :meth:`EmbeddingStore.get_or_compute` before each write (a crash loses at most these)."""
_IN_CHUNK = 500
_COMPACT_FRAGMENTS = 16
_KEEP_OLD_VERSIONS = timedelta(hours=1)


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
        Paintings whose vector came from the store.
    skipped : list of (path, reason)
        Files that could not be loaded.
    """

    vectors: np.ndarray
    paintings: list[Painting]
    new: int = 0
    cached: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def table_name(fingerprint: str) -> str:
    """Name of the vector table for ``fingerprint`` (the fingerprint itself if it is a plain hex/word)."""
    if not fingerprint:
        raise ValueError("empty embedder fingerprint")
    if re.fullmatch(r"[A-Za-z0-9]{1,64}", fingerprint):
        return EMBEDDINGS_PREFIX + fingerprint
    return EMBEDDINGS_PREFIX + "h" + hashlib.sha256(fingerprint.encode()).hexdigest()[:32]


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


class EmbeddingStore:
    """Vectors and thumbnails of paintings in a LanceDB database, opened on first use.

    Parameters
    ----------
    uri : str, optional
        LanceDB URI (a folder path or object-store URI); default :func:`artsim.config.db_uri`.
    write_every : int
        Rows buffered by :meth:`get_or_compute` between writes.
    """

    def __init__(self, uri: str | None = None, *, write_every: int = WRITE_EVERY) -> None:
        self.uri = str(uri) if uri is not None else config.db_uri()
        self.write_every = max(1, int(write_every))
        self._db: Any = None
        self._tables: dict[str, Any] = {}
        self._index: dict[str, tuple[int, dict[str, int]]] = {}
        self._lock = threading.RLock()  # guards the handles and serialises this object's writes

    def __repr__(self) -> str:
        return f"EmbeddingStore({self.uri!r})"

    # ------------------------------------------------------------------ opening

    def _connect(self) -> Any:
        with self._lock:
            if self._db is None:
                import lancedb

                try:
                    # interval 0: every read sees other writers' latest commits.
                    self._db = lancedb.connect(self.uri, read_consistency_interval=timedelta(0))
                    self._db.list_tables()
                except Exception as exc:  # noqa: BLE001 - lancedb raises OSError, ValueError, RuntimeError...
                    self._db = None
                    raise StoreError(
                        f"Cannot open the embedding store at {self.uri!r} ({type(exc).__name__}: {exc}). "
                        "Set ARTSIM_DB to a writable folder (or ARTSIM_HOME for all of artsim's files)."
                    ) from exc
            return self._db

    def _open(self, name: str) -> Any | None:
        """The table ``name``, or None if it does not exist yet."""
        with self._lock:
            table = self._tables.get(name)
            if table is not None:
                return table
            db = self._connect()
            try:
                table = db.open_table(name)
            except ValueError:  # "Table ... was not found"
                return None
            except Exception as exc:  # noqa: BLE001
                raise StoreError(
                    f"Cannot open table {name!r} in the embedding store at {self.uri!r}: {exc}"
                ) from exc
            self._tables[name] = table
            return table

    def _open_or_create(self, name: str, schema: pa.Schema) -> Any:
        table = self._open(name)
        if table is not None:
            return table
        with self._lock:
            db = self._connect()
            last: Exception | None = None
            for _ in range(5):  # another process may be creating it at the same moment
                try:
                    table = db.create_table(name, schema=schema, exist_ok=True)
                    break
                except Exception as exc:  # noqa: BLE001
                    last = exc
                    try:
                        table = db.open_table(name)
                        break
                    except Exception:  # noqa: BLE001
                        continue
            else:
                raise StoreError(
                    f"Cannot create table {name!r} in the embedding store at {self.uri!r}: {last}"
                )
            self._tables[name] = table
            return table

    def table(self, name: str, schema: pa.Schema | None = None) -> Any | None:
        """Another table in the same database (e.g. collections), created from ``schema`` if missing.

        With ``schema=None`` a missing table gives None. Same concurrency rules as the
        vector tables: append-only writers, readers that tolerate duplicate rows.
        """
        return self._open(name) if schema is None else self._open_or_create(name, schema)

    def _table_names(self) -> list[str]:
        db = self._connect()
        names: list[str] = []
        token: str | None = None
        while True:
            page = db.list_tables(page_token=token)
            names += list(page.tables)
            token = page.page_token
            if not token:
                return names

    # ------------------------------------------------------------------ schemas

    @staticmethod
    def _vector_schema(dim: int, model: str) -> pa.Schema:
        import pyarrow as pa

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

    @staticmethod
    def _thumbnail_schema() -> pa.Schema:
        import pyarrow as pa

        return pa.schema(
            [
                pa.field("sha256", pa.string(), nullable=False),
                pa.field("thumbnail", pa.binary()),
                pa.field("added", pa.timestamp("us", tz="UTC")),
            ],
            metadata={"artsim": "thumbnails v1"},
        )

    # ------------------------------------------------------------------ reading

    def _key_index(self, name: str, table: Any) -> dict[str, int]:
        """sha256 -> row offset of its first row, cached per table version."""
        version = table.version
        cached = self._index.get(name)
        if cached is not None and cached[0] == version:
            return cached[1]
        keys = table.search().select(["sha256"]).limit(None).to_arrow()["sha256"].to_pylist()
        index: dict[str, int] = {}
        for offset, key in enumerate(keys):
            index.setdefault(key, offset)
        self._index[name] = (version, index)
        return index

    def _fetch(self, name: str, keys: Sequence[str], column: str) -> dict[str, Any]:
        """key -> value of ``column`` (an Arrow scalar's array slice) for keys present in table ``name``.

        Row offsets come from the cached key index and are read with one
        ``take_offsets``; if the table changed under us (a concurrent compaction
        renumbers rows) the returned keys do not match and we fall back to
        ``sha256 IN (...)`` filters in chunks.
        """
        table = self._open(name)
        if table is None or not keys:
            return {}
        try:
            with self._lock:
                index = self._key_index(name, table)
            wanted = [k for k in _unique(keys) if k in index]
            if not wanted:
                return {}
            if len(wanted) * 2 > len(index):  # most of the table: one sequential scan is faster
                got = table.search().select(["sha256", column]).limit(None).to_arrow()
                want = set(wanted)
                out = {k: v for k, v in self._first_per_key(got, column).items() if k in want}
            else:
                got = table.take_offsets([index[k] for k in wanted]).select(["sha256", column]).to_arrow()
                out = self._first_per_key(got, column)
            if set(out) != set(wanted):
                out = {}
                for start in range(0, len(wanted), _IN_CHUNK):
                    chunk = wanted[start : start + _IN_CHUNK]
                    where = f"sha256 IN ({', '.join(_quote(k) for k in chunk)})"
                    part = table.search().where(where).select(["sha256", column]).limit(None).to_arrow()
                    for key, value in self._first_per_key(part, column).items():
                        out.setdefault(key, value)
            return out
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise StoreError(
                f"Cannot read table {name!r} of the embedding store at {self.uri!r}: {exc}"
            ) from exc

    @staticmethod
    def _first_per_key(table: pa.Table, column: str) -> dict[str, Any]:
        """key -> value of ``column`` from its first row; vectors are rows of one fresh float32 matrix."""
        keys = table["sha256"].to_pylist()
        if column == "vector":
            values = table[column].combine_chunks()
            dim = values.type.list_size
            flat = values.flatten().to_numpy(zero_copy_only=False)
            rows = np.array(flat, dtype=np.float32).reshape(len(keys), dim)  # own, writable copy
        else:
            rows = table[column].to_pylist()
        out: dict[str, Any] = {}
        for i, key in enumerate(keys):
            if key not in out:
                out[key] = rows[i]
        return out

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
        return self._fetch(table_name(fingerprint), list(shas), "vector")

    def thumbnails(self, shas: Sequence[str]) -> dict[str, bytes]:
        """Stored JPEG thumbnails (~160 px) of the given paintings: sha256 -> bytes."""
        return {k: v for k, v in self._fetch(THUMBNAILS_TABLE, list(shas), "thumbnail").items() if v}

    def count(self, fingerprint: str) -> int:
        """Number of distinct paintings with a vector for ``fingerprint``."""
        name = table_name(fingerprint)
        table = self._open(name)
        if table is None:
            return 0
        with self._lock:
            return len(self._key_index(name, table))

    def info(self) -> list[dict[str, Any]]:
        """One dict per vector table: ``table``, ``model``, ``dim``, ``rows``."""
        out = []
        for name in self._table_names():
            if not name.startswith(EMBEDDINGS_PREFIX):
                continue
            table = self._open(name)
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
    ) -> None:
        """Store vectors (and thumbnails) of paintings embedded by ``embedder``.

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
        import pyarrow as pa

        paintings = list(paintings)
        vectors = np.asarray(vectors, dtype=np.float32)
        n, dim = len(paintings), int(embedder.dim)
        if vectors.shape != (n, dim):
            raise ValueError(f"vectors have shape {vectors.shape}, expected {(n, dim)} for {n} paintings")
        if len(thumbnails) != n:
            raise ValueError(f"{len(thumbnails)} thumbnails for {n} paintings")
        if n == 0:
            return
        if not np.isfinite(vectors).all():
            raise ValueError("vectors contain NaN or infinity; refusing to store them")
        name = table_name(embedder.fingerprint)
        now = datetime.now(UTC)
        try:
            with self._lock:
                # thumbnails first: a stored vector then always has its thumbnail
                thumbs = self._open_or_create(THUMBNAILS_TABLE, self._thumbnail_schema())
                have = self._key_index(THUMBNAILS_TABLE, thumbs)
                rows = {
                    p.sha256: t
                    for p, t in zip(paintings, thumbnails, strict=True)
                    if t and p.sha256 not in have
                }
                if rows:
                    thumbs.add(
                        pa.table(
                            {
                                "sha256": list(rows),
                                "thumbnail": pa.array(list(rows.values()), pa.binary()),
                                "added": pa.array([now] * len(rows), pa.timestamp("us", tz="UTC")),
                            },
                            schema=self._thumbnail_schema(),
                        )
                    )
                schema = self._vector_schema(dim, embedder.name)
                table = self._open_or_create(name, schema)
                stored_dim = table.schema.field("vector").type.list_size
                if stored_dim != dim:
                    raise StoreError(
                        f"table {name!r} holds {stored_dim}-d vectors but embedder {embedder.name!r} "
                        f"makes {dim}-d ones; its fingerprint should have changed"
                    )
                have = self._key_index(name, table)
                keep: dict[str, int] = {}
                for i, p in enumerate(paintings):
                    if p.sha256 not in have:
                        keep.setdefault(p.sha256, i)
                if not keep:
                    return
                idx = list(keep.values())
                sel = vectors[idx]
                batch = pa.table(
                    {
                        "sha256": [paintings[i].sha256 for i in idx],
                        "fingerprint": [embedder.fingerprint] * len(idx),
                        "model": [embedder.name] * len(idx),
                        "vector": pa.FixedSizeListArray.from_arrays(pa.array(sel.ravel(), pa.float32()), dim),
                        "artist": [paintings[i].artist for i in idx],
                        "title": [paintings[i].title for i in idx],
                        "path": [str(paintings[i].path) for i in idx],
                        "added": pa.array([now] * len(idx), pa.timestamp("us", tz="UTC")),
                    },
                    schema=schema,
                )
                table.add(batch)
        except (StoreError, ValueError):
            raise
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"Cannot write to the embedding store at {self.uri!r}: {exc}") from exc

    def compact(self, fingerprint: str | None = None) -> None:
        """Delete duplicate rows left by racing writers and merge small files.

        ``fingerprint`` limits the work to one vector table (plus thumbnails);
        default all tables. Versions older than an hour are removed.
        """
        names = [THUMBNAILS_TABLE]
        if fingerprint is not None:
            names.append(table_name(fingerprint))
        else:
            names += [t for t in self._table_names() if t.startswith(EMBEDDINGS_PREFIX)]
        for name in names:
            table = self._open(name)
            if table is None:
                continue
            try:
                with self._lock:
                    self._drop_duplicates(table)
                    table.optimize(cleanup_older_than=_KEEP_OLD_VERSIONS)
                    self._index.pop(name, None)
            except Exception as exc:  # noqa: BLE001
                raise StoreError(
                    f"Cannot compact table {name!r} of the embedding store at {self.uri!r}: {exc}"
                ) from exc

    @staticmethod
    def _drop_duplicates(table: Any) -> None:
        """Keep the earliest row of each sha256; rows with an identical timestamp stay (reads dedupe)."""
        cols = table.search().select(["sha256", "added"]).limit(None).to_arrow()
        keys = cols["sha256"].to_pylist()
        if len(set(keys)) == len(keys):
            return
        added = cols["added"].to_pylist()
        first: dict[str, Any] = {}
        dupes: set[str] = set()
        for key, when in zip(keys, added, strict=True):
            if key in first:
                dupes.add(key)
                first[key] = min(first[key], when)
            else:
                first[key] = when
        for key in sorted(dupes):
            stamp = first[key].strftime("%Y-%m-%dT%H:%M:%S.%f")
            table.delete(f"sha256 = {_quote(key)} AND added > timestamp '{stamp}'")

    def _maybe_compact(self, fingerprint: str, new_rows: int) -> None:
        """Compact after bulk work or when appends have left many small files."""
        table = self._open(table_name(fingerprint))
        if table is None:
            return
        try:
            fragments = table.stats()["fragment_stats"]["num_fragments"]
        except Exception:  # noqa: BLE001 - statistics are a hint only
            fragments = 0
        if new_rows > self.write_every or fragments > _COMPACT_FRAGMENTS:
            self.compact(fingerprint)

    # ------------------------------------------------------------------ the main entry point

    def get_or_compute(
        self,
        paintings: Sequence[Painting],
        embedder: Embedder,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: Callable[[int, int], None] | None = None,
    ) -> EmbedResult:
        """Vectors of ``paintings``: from the store where present, else embedded now and stored.

        Parameters
        ----------
        paintings : sequence of Painting
            What to embed, identified by ``sha256``.
        embedder : Embedder
            The model; only paintings not stored under its fingerprint go through it.
        batch_size : int
            Images per forward pass.
        progress : callable(done, total), optional
            Called as work proceeds; ``done`` counts cached, new and skipped paintings.

        Returns
        -------
        EmbedResult
            Vectors in the order of ``paintings`` (failures left out, listed in ``skipped``).
        """
        from artsim.pipeline import embed_paintings

        paintings = list(paintings)
        total = len(paintings)
        fp = embedder.fingerprint
        vectors = self.get_vectors([p.sha256 for p in paintings], fp)
        cached = sum(1 for p in paintings if p.sha256 in vectors)
        missing: list[Painting] = []
        seen: set[str] = set()
        for p in paintings:
            if p.sha256 not in vectors and p.sha256 not in seen:
                seen.add(p.sha256)
                missing.append(p)
        if progress is not None:
            progress(cached, total)

        new = 0
        skipped: list[tuple[str, str]] = []
        if missing:
            report = (lambda done, _t: progress(cached + done, total)) if progress is not None else None
            stream = embed_paintings(missing, embedder, batch_size=batch_size, progress=report)
            buf: tuple[list[Painting], list[np.ndarray], list[bytes]] = ([], [], [])

            def flush() -> None:
                if buf[0]:
                    self.add(buf[0], np.stack(buf[1]), embedder, buf[2])
                    for part in buf:
                        part.clear()

            try:
                for batch, vecs, thumbs in stream:
                    for p, v, t in zip(batch, vecs, thumbs, strict=True):
                        vectors[p.sha256] = v
                        buf[0].append(p)
                        buf[1].append(v)
                        buf[2].append(t)
                    new += len(batch)
                    if len(buf[0]) >= self.write_every:
                        flush()
            except BaseException:
                try:  # keep what was embedded before the failure
                    flush()
                except Exception:  # noqa: BLE001 - the original error matters more
                    pass
                raise
            finally:
                stream.close()
            flush()
            skipped = list(stream.skipped)
            self._maybe_compact(fp, new)

        ok = [p for p in paintings if p.sha256 in vectors]
        matrix = (
            np.stack([vectors[p.sha256] for p in ok]).astype(np.float32, copy=False)
            if ok
            else np.zeros((0, embedder.dim), np.float32)
        )
        if progress is not None:
            progress(total, total)
        return EmbedResult(vectors=matrix, paintings=ok, new=new, cached=cached, skipped=skipped)
