"""The LanceDB database handle every stored table goes through: connect, open or create, list, compact.

One :class:`Database` per URI (a folder or an object-store URI such as
``s3://bucket/db``), opened on first use so that constructing one never touches
the disk. The vector store (:mod:`artsim.store.vectors`) and the collections
(:mod:`artsim.store.collections`) both hold one; neither borrows the other's.

Concurrency rules shared by every table: writers only append (or ``update`` a
row in place), readers see other processes' commits at once
(``read_consistency_interval=0``) and keep the first row per key, and
:meth:`Database.compact` merges the small files appends leave and prunes old
versions. Appends from threads and from ``spawn``-ed processes keep every row;
**never fork a process after opening a database** (LanceDB then loses rows
without an error).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from artsim import config, lazy
from artsim.errors import StoreError
from artsim.files import atomic_write

lancedb = lazy.load("lancedb")  # connects on first use: an all-cached CLI run never imports it

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["KEY", "Database", "quote"]

KEY = "sha256"
"""The key column of keyed tables (vectors, thumbnails, images): the first row per key wins."""
_IN_CHUNK = 500
COMPACT_EVERY = 50
"""Writes to a small table (tours, collections) after which :meth:`Database.wrote` compacts it."""
KEYS_DIR = ".artsim-keys"
"""Folder of the key lists kept beside local tables (:meth:`Database.stored_keys`)."""


def quote(value: str) -> str:
    """``value`` as a SQL string literal for LanceDB filters (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


class Database:
    """A LanceDB database, connected on first use; table handles cached per name.

    Parameters
    ----------
    uri : str, optional
        LanceDB URI (folder path or object-store URI); default :func:`artsim.config.db_uri`.
    """

    def __init__(self, uri: str | None = None) -> None:
        self.uri = str(uri) if uri is not None else config.db_uri()
        self._db: Any = None
        self._tables: dict[str, Any] = {}
        self._index: dict[str, tuple[int, dict[str, int], int]] = {}  # name -> (version, key -> offset, rows)
        self._writes: dict[str, int] = {}
        self.lock = threading.RLock()
        """Guards the handles; holders may also use it to serialise this process's writes."""

    def __repr__(self) -> str:
        return f"Database({self.uri!r})"

    def connect(self) -> Any:
        """The ``lancedb`` connection (opened once; :class:`StoreError` with a fix if it cannot be)."""
        with self.lock:
            if self._db is None:
                try:
                    # interval 0: every read sees other writers' latest commits.
                    self._db = lancedb.connect(self.uri, read_consistency_interval=timedelta(0))
                    self._db.list_tables()
                except Exception as exc:  # noqa: BLE001 - lancedb raises OSError, ValueError, RuntimeError...
                    self._db = None
                    raise StoreError(
                        f"Cannot open the database at {self.uri!r} ({type(exc).__name__}: {exc}). "
                        "Set ARTSIM_DB to a writable folder (or ARTSIM_HOME for all of artsim's files)."
                    ) from exc
            return self._db

    def open(self, name: str) -> Any | None:
        """The table ``name``, or None if it does not exist yet."""
        with self.lock:
            table = self._tables.get(name)
            if table is not None:
                return table
            db = self.connect()
            try:
                table = db.open_table(name)
            except ValueError:  # "Table ... was not found"
                return None
            except Exception as exc:  # noqa: BLE001
                raise StoreError(f"Cannot open table {name!r} in the database at {self.uri!r}: {exc}") from exc
            self._tables[name] = table
            return table

    def open_or_create(self, name: str, schema: pa.Schema) -> Any:
        """The table ``name``, created empty with ``schema`` if missing (safe when processes race)."""
        table = self.open(name)
        if table is not None:
            return table
        with self.lock:
            db = self.connect()
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
                raise StoreError(f"Cannot create table {name!r} in the database at {self.uri!r}: {last}")
            self._tables[name] = table
            return table

    def table_names(self) -> list[str]:
        """Names of every table in the database (all pages of the listing)."""
        db = self.connect()
        names: list[str] = []
        token: str | None = None
        while True:
            page = db.list_tables(page_token=token)
            names += list(page.tables)
            token = page.page_token
            if not token:
                return names

    def compact(self, name: str, keep: timedelta | None = None) -> bool:
        """Merge the small files of table ``name`` and drop versions older than ``keep``.

        ``keep`` defaults to :func:`artsim.config.keep_versions`: a reader or writer
        in another process still on a pruned version would fail, so the window must
        be longer than any one read or commit. Returns False when there is no such table.
        """
        table = self.open(name)
        if table is None:
            return False
        try:
            table.optimize(cleanup_older_than=config.keep_versions() if keep is None else keep)
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"Cannot compact table {name!r} in the database at {self.uri!r}: {exc}") from exc
        return True

    def wrote(self, name: str, every: int | None = None) -> bool:
        """Count a write to table ``name``; every ``every``-th (:data:`COMPACT_EVERY`) write of this process compacts it.

        The small tables (tours, collections) are written a row at a time, and each
        write leaves a data file and a version: without this, 3,000 new tours left
        9,000 files and made a lookup 40 times slower. Returns whether it compacted.
        A failed compaction (another process compacting at once) is not the
        writer's problem: the next one tries again.
        """
        every = every or COMPACT_EVERY
        with self.lock:
            count = self._writes.get(name, 0) + 1
            self._writes[name] = 0 if count >= every else count
        if count < every:
            return False
        try:
            return self.compact(name)
        except StoreError:
            return False

    def versions(self, name: str) -> int:
        """How many versions of table ``name`` are kept on disk (0 if there is no such table)."""
        table = self.open(name)
        return 0 if table is None else len(table.list_versions())

    # ------------------------------------------------------------------ keyed tables (first row per key wins)

    def key_index(self, name: str, table: Any) -> dict[str, int]:
        """sha256 -> row offset of its first row in ``table`` (named ``name``), cached per table version."""
        version = table.version
        cached = self._index.get(name)
        if cached is not None and cached[0] == version:
            return cached[1]
        keys = table.search().select([KEY]).limit(None).to_arrow()[KEY].to_pylist()
        index: dict[str, int] = {}
        for offset, key in enumerate(keys):
            index.setdefault(key, offset)
        self._index[name] = (version, index, len(keys))
        return index

    def append(self, name: str, table: Any, rows: pa.Table) -> None:
        """Append ``rows`` to keyed table ``name`` and carry its cached key index over to the new version.

        An append adds its rows after the existing ones, so when this commit is the
        only one since the cached version the index grows by the new keys instead of
        being read again: a run writing a chunk at a time would otherwise read every
        key of the table once per chunk (quadratic in the collection's size). Any
        other commit in between (another process) leaves the index to be read anew.
        The caller holds :attr:`lock`.
        """
        before = table.version
        table.add(rows)
        cached = self._index.get(name)
        if cached is None or cached[0] != before or table.version != before + 1:
            return
        _, index, count = cached
        for offset, key in enumerate(rows.column(KEY).to_pylist(), start=count):
            index.setdefault(key, offset)
        self._index[name] = (before + 1, index, count + rows.num_rows)

    # ------------------------------------------------------------------ key lists read without LanceDB

    def _table_dir(self, name: str) -> Path | None:
        """The folder of a local table (None for object storage)."""
        if "://" in self.uri and not self.uri.startswith("file://"):
            return None
        return Path(self.uri.removeprefix("file://")) / f"{name}.lance"

    def version_signature(self, name: str) -> str | None:
        """A digest of table ``name``'s committed versions, read from its folder without LanceDB.

        Every commit (append, delete, compaction, a re-created table) adds or
        removes a manifest under ``_versions``, so the digest of the manifests'
        names, sizes and mtimes changes with the table. None for object storage
        or when the folder is not there or not laid out that way.
        """
        folder = self._table_dir(name)
        if folder is None:
            return None
        try:
            with os.scandir(folder / "_versions") as entries:
                listing = sorted(
                    (e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in entries if e.name.endswith(".manifest")
                )
        except OSError:
            return None
        return hashlib.sha256(repr(listing).encode()).hexdigest() if listing else None

    def _keys_file(self, name: str) -> Path | None:
        folder = self._table_dir(name)
        return None if folder is None else folder.parent / KEYS_DIR / f"{name}.json"

    def _save_keys(self, name: str, signature: str, keys: Any) -> None:
        path = self._keys_file(name)
        if path is None:
            return
        try:
            atomic_write(path, json.dumps({"signature": signature, "keys": sorted(keys)}).encode())
        except OSError:  # a read-only database: the key list only saves time
            pass

    def save_keys(self, name: str) -> bool:
        """Leave table ``name``'s key list beside it (:meth:`stored_keys`); True when one is current.

        Called at the end of an embedding run, not on every read (a list of 50,000
        keys is 3 MB). Written only when no commit happened while the keys were
        read (the table's signature is the same before and after).
        """
        if self.stored_keys(name) is not None:
            return True
        table = self.open(name)
        if table is None:
            return False
        with self.lock:
            before = self.version_signature(name)
            index = self.key_index(name, table)
            if before is None or self.version_signature(name) != before:
                return False
            self._save_keys(name, before, index)
        return self.stored_keys(name) is not None

    def stored_keys(self, name: str) -> frozenset[str] | None:
        """Keys of table ``name`` from the list kept beside it, if still current; else None.

        Imports no LanceDB (about 1 s): ``artsim embed`` on a folder whose vectors
        are all stored answers from this. The list was written by
        :meth:`save_keys` from a full read of the keys at a version whose
        signature (:meth:`version_signature`) it records; it is used only while
        the table's signature is the same, so any commit since makes it None
        (and the caller reads the table).
        """
        path = self._keys_file(name)
        if path is None:
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            signature, keys = data["signature"], data["keys"]
        except (OSError, ValueError, TypeError, KeyError):
            return None
        if not isinstance(keys, list) or signature != self.version_signature(name):
            return None
        return frozenset(k for k in keys if isinstance(k, str))

    def rows(self, table: str, where: str = "", columns: list[str] | None = None) -> list[dict]:
        """The rows of ``table`` matching ``where`` (a SQL filter; all when empty), as dicts of
        ``columns`` (all when None); [] when the table does not exist yet."""
        handle = self.open(table)
        if handle is None:
            return []
        query = handle.search().where(where, prefilter=True) if where else handle.search()
        return (query.select(columns) if columns else query).limit(None).to_arrow().to_pylist()

    def over_hourly_cap(self, table: str, setting: str, now: datetime, what: str) -> str | None:
        """Why a new ``what`` is refused when ``table`` already holds the setting's number of rows created
        in the hour before ``now``; None when there is room (or the setting is 0: no cap)."""
        per_hour = config.setting(setting)
        if not per_hour:
            return None
        since = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
        recent = len(self.rows(table, f"created > timestamp '{since}'", ["id"]))
        if recent < per_hour:
            return None
        return (f"this server has made {recent} new {what}s in the last hour (the limit is {per_hour}): "
                f"try again later, or add to a {what} you already have with its edit link")

    def first_rows(self, name: str, keys: Sequence[str], column: str) -> dict[str, Any]:
        """key -> ``column`` of its first row in table ``name``, for the ``keys`` present.

        Row offsets come from the cached key index and are read with one
        ``take_offsets``; if the table changed under us (a concurrent compaction
        renumbers rows) the returned keys do not match and we fall back to
        ``sha256 IN (...)`` filters in chunks. A ``vector`` column comes back as
        rows of one fresh ``(n, d)`` float32 matrix.
        """
        table = self.open(name)
        if table is None or not keys:
            return {}
        try:
            with self.lock:
                index = self.key_index(name, table)
            wanted = [k for k in dict.fromkeys(keys) if k in index]
            if not wanted:
                return {}
            if len(wanted) * 2 > len(index):  # most of the table: one sequential scan is faster
                got = table.search().select([KEY, column]).limit(None).to_arrow()
                want = set(wanted)
                out = {k: v for k, v in _first_per_key(got, column).items() if k in want}
            else:
                got = table.take_offsets([index[k] for k in wanted]).select([KEY, column]).to_arrow()
                out = _first_per_key(got, column)
            if set(out) != set(wanted):
                out = {}
                for start in range(0, len(wanted), _IN_CHUNK):
                    chunk = wanted[start : start + _IN_CHUNK]
                    where = f"{KEY} IN ({', '.join(quote(k) for k in chunk)})"
                    part = table.search().where(where).select([KEY, column]).limit(None).to_arrow()
                    for key, value in _first_per_key(part, column).items():
                        out.setdefault(key, value)
            return out
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"Cannot read table {name!r} in the database at {self.uri!r}: {exc}") from exc

    def drop_duplicates(self, name: str) -> None:
        """Keep the earliest row of each key (by ``added``); rows with an identical timestamp stay (reads dedupe)."""
        table = self.open(name)
        if table is None:
            return
        cols = table.search().select([KEY, "added"]).limit(None).to_arrow()
        keys = cols[KEY].to_pylist()
        if len(set(keys)) == len(keys):
            return
        first: dict[str, Any] = {}
        dupes: set[str] = set()
        for key, when in zip(keys, cols["added"].to_pylist(), strict=True):
            if key in first:
                dupes.add(key)
                first[key] = min(first[key], when)
            else:
                first[key] = when
        later = [
            f"({KEY} = {quote(key)} AND added > timestamp '{first[key].strftime('%Y-%m-%dT%H:%M:%S.%f')}')"
            for key in sorted(dupes)
        ]
        for start in range(0, len(later), _IN_CHUNK):  # one delete (one version) per chunk of keys
            table.delete(" OR ".join(later[start : start + _IN_CHUNK]))
        self._index.pop(name, None)


def _first_per_key(table: pa.Table, column: str) -> dict[str, Any]:
    """key -> value of ``column`` from its first row; vectors are rows of one fresh float32 matrix."""
    keys = table[KEY].to_pylist()
    if column == "vector":
        values = table[column].combine_chunks()
        flat = values.flatten().to_numpy(zero_copy_only=False)
        rows: Any = np.array(flat, dtype=np.float32).reshape(len(keys), values.type.list_size)  # own copy
    else:
        rows = table[column].to_pylist()
    out: dict[str, Any] = {}
    for i, key in enumerate(keys):
        if key not in out:
            out[key] = rows[i]
    return out
