"""Named collections of uploaded paintings, kept in the database so they persist; limits for strangers.

A collection is the base gallery plus the paintings added to it. It has a
random, unguessable id (what a share link carries, read-only) and an edit
token (only its owner has it; the database keeps just its SHA-256). Deriving a
collection copies the parent's list of paintings, so the parent is never
modified (copy-on-write).

Images are stored once. The database is the source of truth: one row per
sha256 in ``collection_images`` however many collections hold the painting,
so a hosted instance whose ``ARTSIM_DB`` lives on object storage keeps them
across restarts. ``uploads_dir/<sha256><ext>`` is only a cache that the model
and the pages read from; :meth:`Collections.paintings` writes back any file
missing from it. (Rows written before this layout kept the bytes in
``collection_items.image``; they are still read.)

Limits (:mod:`artsim.config`, ``0`` = none): new collections per hour on the
whole server, paintings and megabytes per collection, and megabytes of images
in the whole store. Each refusal is a :class:`CollectionError` whose message
says what to do.

Writers only append (a rename updates its row in place); reads keep the first
row per key, so concurrent sessions never lose or duplicate a painting. Each
check-and-write holds a lock (:mod:`artsim.store.locks`, across processes on a
local store): an add reads the collection's paintings and checks its limits under
that collection's lock, and the store quota under the store-wide ``images`` lock;
a creation counts the last hour's collections under the ``collections-create``
lock. So two tabs adding with one edit token never cross a cap. The collections
and items tables are compacted every :data:`artsim.store.database.COMPACT_EVERY`
writes (not the images table: a merge would rewrite every image it holds, and
its reads go by key offsets, :meth:`Database.first_rows`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from artsim import config
from artsim.errors import ArtsimError
from artsim.files import atomic_write
from artsim.ids import is_collection_id, new_id, new_token
from artsim.inputs.collection import Painting
from artsim.inputs.names import clean_title
from artsim.store import locks
from artsim.store.database import Database, quote

__all__ = ["MAX_NAME_CHARS", "CollectionError", "CollectionInfo", "Collections", "is_collection_id"]

COLLECTIONS_TABLE = "collections"
ITEMS_TABLE = "collection_items"
IMAGES_TABLE = "collection_images"
MAX_NAME_CHARS = 80
"""Longest collection name kept (longer names are cut)."""
_MB = 1_000_000
_TS = pa.timestamp("us", tz="UTC")
COLLECTIONS_SCHEMA = pa.schema([
    pa.field("id", pa.string()), pa.field("name", pa.string()), pa.field("parent", pa.string()),
    pa.field("token_sha256", pa.string()), pa.field("created", _TS),
])
ITEMS_SCHEMA = pa.schema([
    pa.field("collection", pa.string()), pa.field("sha256", pa.string()),
    pa.field("artist", pa.string()), pa.field("title", pa.string()), pa.field("year", pa.string()),
    pa.field("license", pa.string()), pa.field("suffix", pa.string()),
    pa.field("image", pa.large_binary()),  # legacy rows only; new rows leave it null
    pa.field("added", _TS),
])
IMAGES_SCHEMA = pa.schema([
    pa.field("sha256", pa.string()), pa.field("image", pa.large_binary()),
    pa.field("bytes", pa.int64()), pa.field("added", _TS),
])
_ITEM_COLUMNS = ["collection", "sha256", "artist", "title", "year", "license", "suffix", "added"]


class CollectionError(ArtsimError):
    """Unknown collection, an edit without the edit token, or a limit reached (the message says which)."""


@dataclass(frozen=True)
class CollectionInfo:
    """A collection's identity: ``id`` (share-link safe), display ``name``, ``parent`` id or ''."""

    id: str
    name: str
    parent: str
    created: datetime


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def clean_name(name: str) -> str:
    """A collection name safe to show: control characters removed, spaces folded, cut to :data:`MAX_NAME_CHARS`."""
    return clean_title(str(name or ""))[:MAX_NAME_CHARS].rstrip()


def _mb(n: int) -> str:
    return f"{n / _MB:.1f} MB"


class Collections:
    """Create, read, rename and extend collections stored in the database.

    Parameters
    ----------
    db : the database holding the collection tables: a :class:`Database`, its URI,
        anything with a ``db`` attribute such as an ``EmbeddingStore``, or None for
        :func:`artsim.config.db_uri`
    uploads_dir : the cache folder images are written back to for the model and pages
        (default ``$ARTSIM_HOME/uploads``)
    """

    def __init__(self, db: Database | str | object | None = None, uploads_dir: str | os.PathLike | None = None) -> None:
        if db is None or isinstance(db, str):
            db = Database(db)
        self.db = db if isinstance(db, Database) else db.db  # type: ignore[attr-defined]
        self.uploads_dir = Path(uploads_dir) if uploads_dir else config.home() / "uploads"

    # ------------------------------------------------------------------ reading
    def get(self, collection_id: str) -> CollectionInfo | None:
        """The collection ``collection_id``, or None when there is no such collection."""
        if not is_collection_id(collection_id):
            return None
        rows = self.db.rows(COLLECTIONS_TABLE, f"id = {quote(collection_id)}", ["id", "name", "parent", "created"])
        if not rows:
            return None
        row = min(rows, key=lambda r: r["created"])
        return CollectionInfo(row["id"], row["name"], row["parent"], row["created"])

    def can_edit(self, collection_id: str, token: str | None) -> bool:
        """Whether ``token`` is the edit token of ``collection_id`` (constant-time compare)."""
        if not token or not is_collection_id(collection_id):
            return False
        rows = self.db.rows(COLLECTIONS_TABLE, f"id = {quote(collection_id)}", ["token_sha256", "created"])
        if not rows:
            return False
        stored = min(rows, key=lambda r: r["created"])["token_sha256"]
        return hmac.compare_digest(stored, _hash_token(token))

    def _item_rows(self, collection_id: str) -> list[dict]:
        if not is_collection_id(collection_id):
            return []
        rows = self.db.rows(ITEMS_TABLE, f"collection = {quote(collection_id)}", _ITEM_COLUMNS)
        seen: dict[str, dict] = {}
        for row in sorted(rows, key=lambda r: r["added"]):
            seen.setdefault(row["sha256"], row)
        return list(seen.values())

    def paintings(self, collection_id: str) -> list[Painting]:
        """The paintings added to ``collection_id`` (not the base gallery), cache files written back if missing."""
        rows = self._item_rows(collection_id)
        paths = {r["sha256"]: self.uploads_dir / f"{r['sha256']}{r['suffix']}" for r in rows}
        gone = [sha for sha, path in paths.items() if not path.exists()]
        if gone:
            data = self.db.first_rows(IMAGES_TABLE, gone, "image")
            legacy = [sha for sha in gone if sha not in data]
            if legacy:
                where = f"collection = {quote(collection_id)} AND sha256 IN ({', '.join(map(quote, legacy))})"
                for row in self.db.rows(ITEMS_TABLE, where, ["sha256", "image"]):
                    if row["image"]:
                        data.setdefault(row["sha256"], row["image"])
            for sha in gone:
                if sha in data:
                    atomic_write(paths[sha], data[sha])
        return [
            Painting(sha256=r["sha256"], path=str(paths[r["sha256"]]), artist=r["artist"], title=r["title"],
                     year=r["year"], source="upload", license=r["license"])
            for r in rows
        ]

    def image_bytes(self, shas: Sequence[str] | None = None) -> int:
        """Bytes of the stored images ``shas`` (each once), or of every stored image."""
        if shas is None:
            return sum(r["bytes"] or 0 for r in self.db.rows(IMAGES_TABLE, "", ["bytes"]))
        return sum(v or 0 for v in self.db.first_rows(IMAGES_TABLE, list(shas), "bytes").values())

    # ------------------------------------------------------------------ writing
    def create(self, name: str, *, parent: str = "") -> tuple[CollectionInfo, str]:
        """A new collection (listing ``parent``'s paintings); returns it and its edit token.

        Raises :class:`CollectionError` for an unknown parent or when the server's
        hourly limit on new collections is reached.
        """
        if parent and self.get(parent) is None:
            raise CollectionError(f"cannot derive from unknown collection {parent!r}")
        with locks.held(self.db.uri, "collections-create"):
            now = datetime.now(UTC)
            if refusal := self.db.over_hourly_cap(COLLECTIONS_TABLE, "ARTSIM_MAX_COLLECTIONS_PER_HOUR", now, "collection"):
                raise CollectionError(refusal)
            info = CollectionInfo(new_id(), clean_name(name) or "My collection", parent, now)
            token = new_token()
            rows = self._item_rows(parent) if parent else []
            if rows:
                copied = [{**row, "collection": info.id, "image": None} for row in rows]
                items = self.db.open_or_create(ITEMS_TABLE, ITEMS_SCHEMA)
                items.add(pa.Table.from_pylist(copied, schema=ITEMS_SCHEMA))
            self.db.open_or_create(COLLECTIONS_TABLE, COLLECTIONS_SCHEMA).add(pa.Table.from_pylist([{
                "id": info.id, "name": info.name, "parent": parent,
                "token_sha256": _hash_token(token), "created": info.created,
            }], schema=COLLECTIONS_SCHEMA))
        self.db.wrote(COLLECTIONS_TABLE)
        if rows:
            self.db.wrote(ITEMS_TABLE)
        return info, token

    def rename(self, collection_id: str, token: str | None, name: str) -> str:
        """Rename a collection (its owner only); returns the name kept (cleaned, cut)."""
        if not self.can_edit(collection_id, token):  # also validates the id used in the filter below
            raise CollectionError("only the owner of this collection (edit link) can rename it")
        clean = clean_name(name)
        if not clean:
            raise CollectionError("give the collection a name")
        with locks.held(self.db.uri, f"collection:{collection_id}"):
            self.db.open(COLLECTIONS_TABLE).update(where=f"id = {quote(collection_id)}", values={"name": clean})
        self.db.wrote(COLLECTIONS_TABLE)
        return clean

    def add(self, collection_id: str, token: str | None, items: Sequence[tuple[Painting, bytes]]) -> int:
        """Add ``(painting, file bytes)`` pairs; returns how many were new. Needs the edit token.

        Raises :class:`CollectionError` without the token or when the batch would pass
        a limit on paintings or megabytes per collection or on the whole store.
        """
        if not self.can_edit(collection_id, token):  # also validates the id used in the filters
            raise CollectionError("this collection is read-only here: only its owner (edit link) can add to it")
        with locks.held(self.db.uri, f"collection:{collection_id}"):  # the count checked is the count written to
            added = self._add(collection_id, items)
        if added:  # the images table is not compacted here: merging would rewrite every stored image
            self.db.wrote(ITEMS_TABLE)
        return added

    def _add(self, collection_id: str, items: Sequence[tuple[Painting, bytes]]) -> int:
        present = [r["sha256"] for r in self.db.rows(ITEMS_TABLE, f"collection = {quote(collection_id)}", ["sha256"])]
        now = datetime.now(UTC)
        rows, blobs, seen = [], {}, set(present)
        for painting, data in items:
            if painting.sha256 in seen:
                continue
            seen.add(painting.sha256)
            blobs[painting.sha256] = data
            rows.append({
                "collection": collection_id, "sha256": painting.sha256, "artist": painting.artist,
                "title": painting.title, "year": painting.year, "license": painting.license,
                "suffix": Path(painting.path).suffix.lower() or ".img", "image": None, "added": now,
            })
        if not rows:
            return 0
        with locks.held(self.db.uri, "images"):  # the store quota is shared by every collection
            stored = self.db.first_rows(IMAGES_TABLE, list(blobs), "bytes")
            fresh = {sha: data for sha, data in blobs.items() if sha not in stored}
            _check_limits(self, set(present), blobs, fresh)
            if fresh:
                self.db.open_or_create(IMAGES_TABLE, IMAGES_SCHEMA).add(pa.Table.from_pylist([
                    {"sha256": sha, "image": data, "bytes": len(data), "added": now} for sha, data in fresh.items()
                ], schema=IMAGES_SCHEMA))
        self.db.open_or_create(ITEMS_TABLE, ITEMS_SCHEMA).add(pa.Table.from_pylist(rows, schema=ITEMS_SCHEMA))
        for row in rows:  # the cache holds what the model and the pages read
            path = self.uploads_dir / f"{row['sha256']}{row['suffix']}"
            if not path.exists():
                atomic_write(path, blobs[row["sha256"]])
        return len(rows)


def _check_limits(collections: Collections, present: set[str], blobs: dict[str, bytes], fresh: dict[str, bytes]) -> None:
    """Refuse a batch that would pass a limit; the message says how far it is and what to do."""
    most = config.setting("ARTSIM_MAX_COLLECTION_PAINTINGS")
    if most and len(present) + len(blobs) > most:
        room = max(0, most - len(present))
        raise CollectionError(
            f"a collection holds at most {most} paintings; this one has {len(present)}, so {room} more "
            f"fit and this batch has {len(blobs)}: add fewer, or start a new collection"
        )
    cap = config.setting("ARTSIM_MAX_COLLECTION_MB") * _MB
    if cap:
        size = collections.image_bytes(sorted(present)) + sum(len(b) for b in blobs.values())
        if size > cap:
            raise CollectionError(
                f"a collection holds at most {_mb(cap)} of images; with this batch it would hold {_mb(size)}: "
                "add fewer or smaller files, or start a new collection"
            )
    quota = config.setting("ARTSIM_STORE_QUOTA_MB") * _MB
    if quota and fresh:
        total = collections.image_bytes() + sum(len(b) for b in fresh.values())
        if total > quota:
            raise CollectionError(
                f"this server's storage for uploads is full ({_mb(quota)}): new images cannot be kept "
                "now; ask whoever runs it to raise ARTSIM_STORE_QUOTA_MB"
            )
