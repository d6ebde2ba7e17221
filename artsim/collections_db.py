"""Named collections of uploaded paintings, kept in the embedding store so they persist.

A collection is the base gallery plus the paintings added to it. It has a
random, unguessable id (what a share link carries, read-only) and an edit
token (only its owner has it; the store keeps just its SHA-256). Deriving a
collection copies the parent's added paintings, so the parent is never
modified (copy-on-write). Uploaded files are stored in the database itself
(``image`` column) and written back to ``uploads_dir/<sha256><ext>`` on demand,
so a hosted instance whose ``ARTSIM_DB`` lives on object storage keeps them
across restarts while its local disk does not.

Writers only append; reads keep the first row per (collection, sha256), so
concurrent sessions adding to collections never lose or duplicate a painting.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from artsim import config
from artsim.collection import Painting
from artsim.database import Database
from artsim.errors import ArtsimError
from artsim.files import atomic_write
from artsim.ids import is_collection_id

COLLECTIONS_TABLE = "collections"
ITEMS_TABLE = "collection_items"
ID_BYTES = 12  # 16 url-safe characters, 96 random bits
TOKEN_BYTES = 24


class CollectionError(ArtsimError):
    """Unknown collection, or an edit without the collection's edit token."""


@dataclass(frozen=True)
class CollectionInfo:
    """A collection's identity: ``id`` (share-link safe), display ``name``, ``parent`` id or ''."""

    id: str
    name: str
    parent: str
    created: datetime


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Collections:
    """Create, read and extend collections stored beside the embeddings.

    Parameters
    ----------
    db : the database holding the collection tables (a :class:`Database`, its URI,
        or anything with a ``db`` attribute such as an ``EmbeddingStore``)
    uploads_dir : where added images are written back as files for embedding
        (default ``$ARTSIM_HOME/uploads``)
    """

    def __init__(self, db: Database | str | object, uploads_dir: str | os.PathLike | None = None) -> None:
        self.db = db if isinstance(db, Database) else getattr(db, "db", None) or Database(str(db))
        self.uploads_dir = Path(uploads_dir) if uploads_dir else config.home() / "uploads"

    # ------------------------------------------------------------------ tables
    @staticmethod
    def _collections_schema():
        import pyarrow as pa

        return pa.schema([
            pa.field("id", pa.string()), pa.field("name", pa.string()), pa.field("parent", pa.string()),
            pa.field("token_sha256", pa.string()), pa.field("created", pa.timestamp("us", tz="UTC")),
        ])

    @staticmethod
    def _items_schema():
        import pyarrow as pa

        return pa.schema([
            pa.field("collection", pa.string()), pa.field("sha256", pa.string()),
            pa.field("artist", pa.string()), pa.field("title", pa.string()), pa.field("year", pa.string()),
            pa.field("license", pa.string()), pa.field("suffix", pa.string()),
            pa.field("image", pa.large_binary()), pa.field("added", pa.timestamp("us", tz="UTC")),
        ])

    def _rows(self, table: str, where: str, columns: list[str] | None = None):
        handle = self.db.open(table)
        if handle is None:
            return []
        query = handle.search().where(where, prefilter=True)
        if columns:
            query = query.select(columns)
        return query.limit(None).to_arrow().to_pylist()

    # ------------------------------------------------------------------ reading
    def get(self, collection_id: str) -> CollectionInfo | None:
        """The collection ``collection_id``, or None when there is no such collection."""
        if not is_collection_id(collection_id):
            return None
        rows = self._rows(COLLECTIONS_TABLE, f"id = '{collection_id}'")
        if not rows:
            return None
        row = min(rows, key=lambda r: r["created"])
        return CollectionInfo(row["id"], row["name"], row["parent"], row["created"])

    def can_edit(self, collection_id: str, token: str | None) -> bool:
        """Whether ``token`` is the edit token of ``collection_id`` (constant-time compare)."""
        if not token or not is_collection_id(collection_id):
            return False
        rows = self._rows(COLLECTIONS_TABLE, f"id = '{collection_id}'", ["token_sha256", "created"])
        if not rows:
            return False
        stored = min(rows, key=lambda r: r["created"])["token_sha256"]
        return hmac.compare_digest(stored, _hash_token(token))

    def _item_rows(self, collection_id: str) -> list[dict]:
        if not is_collection_id(collection_id):
            return []
        seen: dict[str, dict] = {}
        for row in sorted(self._rows(ITEMS_TABLE, f"collection = '{collection_id}'"), key=lambda r: r["added"]):
            seen.setdefault(row["sha256"], row)
        return list(seen.values())

    def paintings(self, collection_id: str) -> list[Painting]:
        """The paintings added to ``collection_id`` (not the base gallery), files written back if needed."""
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        out = []
        for row in self._item_rows(collection_id):
            path = self.uploads_dir / f"{row['sha256']}{row['suffix']}"
            if not path.exists():
                atomic_write(path, row["image"])
            out.append(Painting(
                sha256=row["sha256"], path=str(path), artist=row["artist"], title=row["title"],
                year=row["year"], source="upload", license=row["license"],
            ))
        return out

    # ------------------------------------------------------------------ writing
    def create(self, name: str, *, parent: str = "") -> tuple[CollectionInfo, str]:
        """A new collection (copying ``parent``'s added paintings); returns it and its edit token."""
        import pyarrow as pa

        if parent and self.get(parent) is None:
            raise CollectionError(f"cannot derive from unknown collection {parent!r}")
        info = CollectionInfo(secrets.token_urlsafe(ID_BYTES), name.strip()[:80] or "My collection",
                              parent, datetime.now(UTC))
        token = secrets.token_urlsafe(TOKEN_BYTES)
        if parent:
            rows = self._item_rows(parent)
            if rows:
                for row in rows:
                    row["collection"] = info.id
                self.db.open_or_create(ITEMS_TABLE, self._items_schema()).add(
                    pa.Table.from_pylist(rows, schema=self._items_schema())
                )
        table = self.db.open_or_create(COLLECTIONS_TABLE, self._collections_schema())
        table.add(pa.Table.from_pylist([{
            "id": info.id, "name": info.name, "parent": parent,
            "token_sha256": _hash_token(token), "created": info.created,
        }], schema=self._collections_schema()))
        return info, token

    def add(self, collection_id: str, token: str | None, items: Sequence[tuple[Painting, bytes]]) -> int:
        """Add ``(painting, file bytes)`` pairs; returns how many were new. Needs the edit token."""
        import pyarrow as pa

        if not self.can_edit(collection_id, token):  # also validates the id used in the filter below
            raise CollectionError("this collection is read-only here: only its owner (edit link) can add to it")
        present = {row["sha256"] for row in self._rows(ITEMS_TABLE, f"collection = '{collection_id}'", ["sha256"])}
        now = datetime.now(UTC)
        rows, seen = [], set(present)
        for painting, data in items:
            if painting.sha256 in seen:
                continue
            seen.add(painting.sha256)
            rows.append({
                "collection": collection_id, "sha256": painting.sha256, "artist": painting.artist,
                "title": painting.title, "year": painting.year, "license": painting.license,
                "suffix": Path(painting.path).suffix.lower() or ".img", "image": data, "added": now,
            })
        if rows:
            self.db.open_or_create(ITEMS_TABLE, self._items_schema()).add(
                pa.Table.from_pylist(rows, schema=self._items_schema())
            )
        return len(rows)


