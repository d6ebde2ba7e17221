"""Tours: a teacher's ordered list of views, each with a caption or question, shared as one link.

A tour has a random, unguessable id (what its share link carries, read-only) and an
edit token that only its owner holds (the database keeps just its SHA-256), like a
collection (:mod:`artsim.store.collections`). A step is a page's URL path, that page's
URL parameters, and a caption.

Everything in a tour is untrusted text: the caption, the page name, the parameters
all come from a browser. :func:`clean_step` bounds each of them (characters, count)
and drops control characters; pages show captions as plain text.

Rows are only appended: each edit writes the whole (bounded) list of steps as a new
version, and readers take the highest version, so an edit never loses a step half
way and two sessions reading never see a partial list.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from artsim.errors import ArtsimError
from artsim.ids import is_collection_id, new_id, new_token
from artsim.store.database import Database, quote

TOURS_TABLE = "tours"
STEPS_TABLE = "tour_steps"
#: Bounds on what a tour keeps (longer text is cut, extra steps or parameters refused or dropped).
MAX_STEPS = 40
MAX_CAPTION_CHARS = 600
MAX_TITLE_CHARS = 80
MAX_PARAMS = 24
MAX_PARAM_KEY_CHARS = 32
MAX_PARAM_VALUE_CHARS = 2000
#: Parameters never kept in a step: secrets and the tour's own navigation.
DROPPED_PARAMS = frozenset({"edit", "tour", "step", "tour_edit"})
_PAGE = re.compile(r"[a-z0-9_-]{0,40}")
_TS = pa.timestamp("us", tz="UTC")
TOURS_SCHEMA = pa.schema([
    pa.field("id", pa.string()), pa.field("title", pa.string()),
    pa.field("token_sha256", pa.string()), pa.field("created", _TS),
])
STEPS_SCHEMA = pa.schema([
    pa.field("tour", pa.string()), pa.field("version", pa.int64()),
    pa.field("steps", pa.string()), pa.field("added", _TS),
])


class TourError(ArtsimError):
    """Unknown tour, an edit without the edit token, or a step out of bounds (the message says which)."""


@dataclass(frozen=True)
class Step:
    """One stop of a tour: the page's URL path ('' = the first page), its URL parameters, a caption."""

    page: str
    params: dict[str, str] = field(default_factory=dict)
    caption: str = ""


@dataclass(frozen=True)
class Tour:
    """A tour as read: ``id`` (share-link safe), ``title``, ``steps`` in order, ``version`` of that list."""

    id: str
    title: str
    created: datetime
    steps: tuple[Step, ...] = ()
    version: int = 0


def clean_text(text: object, limit: int) -> str:
    """``text`` with control and format characters removed (newlines kept), cut to ``limit`` characters."""
    kept = "".join(
        c for c in str(text or "")
        if c == "\n" or not unicodedata.category(c).startswith("C")
    )
    return kept.strip()[:limit].rstrip()


def clean_step(page: object, params: Mapping[object, object] | None = None, caption: object = "") -> Step:
    """A bounded :class:`Step`; :class:`TourError` for a page name that is not a URL path.

    Parameters are kept in order up to :data:`MAX_PARAMS`; keys longer than
    :data:`MAX_PARAM_KEY_CHARS` or with other than letters, digits, ``_`` and ``-`` are
    dropped, values cut to :data:`MAX_PARAM_VALUE_CHARS`; :data:`DROPPED_PARAMS` never kept.
    """
    name = str(page or "")
    if not _PAGE.fullmatch(name):
        raise TourError(f"not a page of this app: {name[:40]!r}")
    kept: dict[str, str] = {}
    for key, value in (params or {}).items():
        key = str(key)
        if len(kept) >= MAX_PARAMS:
            break
        if key in DROPPED_PARAMS or not key or len(key) > MAX_PARAM_KEY_CHARS:
            continue
        if not all(c.isascii() and (c.isalnum() or c in "_-") for c in key):
            continue
        kept[key] = clean_text(value, MAX_PARAM_VALUE_CHARS).replace("\n", " ")
    return Step(name, kept, clean_text(caption, MAX_CAPTION_CHARS))


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _decode(steps_json: str) -> tuple[Step, ...]:
    """Steps from a stored row, re-cleaned (a row is trusted no more than a request)."""
    out = []
    for raw in json.loads(steps_json)[:MAX_STEPS]:
        try:
            out.append(clean_step(raw.get("page", ""), raw.get("params") or {}, raw.get("caption", "")))
        except (TourError, AttributeError):
            continue
    return tuple(out)


class Tours:
    """Create, read and edit tours stored in the database (a :class:`Database`, its URI, or an object with ``db``)."""

    def __init__(self, db: Database | str | object) -> None:
        self.db = db if isinstance(db, Database) else getattr(db, "db", None) or Database(str(db))

    def _rows(self, table: str, where: str, columns: list[str]) -> list[dict]:
        handle = self.db.open(table)
        if handle is None:
            return []
        return handle.search().where(where, prefilter=True).select(columns).limit(None).to_arrow().to_pylist()

    def _info(self, tour_id: str) -> dict | None:
        if not is_collection_id(tour_id):
            return None
        rows = self._rows(TOURS_TABLE, f"id = {quote(tour_id)}", ["id", "title", "token_sha256", "created"])
        return min(rows, key=lambda r: r["created"]) if rows else None

    def get(self, tour_id: str) -> Tour | None:
        """The tour ``tour_id`` with its latest list of steps, or None when there is no such tour."""
        info = self._info(str(tour_id))
        if info is None:
            return None
        rows = self._rows(STEPS_TABLE, f"tour = {quote(info['id'])}", ["version", "steps", "added"])
        if not rows:
            return Tour(info["id"], info["title"], info["created"])
        last = max(rows, key=lambda r: (r["version"], r["added"]))
        return Tour(info["id"], info["title"], info["created"], _decode(last["steps"]), last["version"])

    def can_edit(self, tour_id: str, token: str | None) -> bool:
        """Whether ``token`` is the edit token of ``tour_id`` (constant-time compare)."""
        info = self._info(str(tour_id)) if token else None
        return info is not None and hmac.compare_digest(info["token_sha256"], _hash_token(str(token)))

    def create(self, title: str) -> tuple[Tour, str]:
        """A new, empty tour; returns it and its edit token (shown once, kept only hashed)."""
        now = datetime.now(UTC)
        tour = Tour(new_id(), clean_text(title, MAX_TITLE_CHARS).replace("\n", " ") or "Tour", now)
        token = new_token()
        self.db.open_or_create(TOURS_TABLE, TOURS_SCHEMA).add(pa.Table.from_pylist([{
            "id": tour.id, "title": tour.title, "token_sha256": _hash_token(token), "created": now,
        }], schema=TOURS_SCHEMA))
        return tour, token

    def save(self, tour_id: str, token: str | None, steps: Sequence[Step]) -> Tour:
        """Replace the tour's steps (owner only): a new version row; returns the tour as stored."""
        if not self.can_edit(tour_id, token):
            raise TourError("this tour is read-only here: only its owner (edit link) can change it")
        if len(steps) > MAX_STEPS:
            raise TourError(f"a tour holds at most {MAX_STEPS} steps")
        clean = [clean_step(s.page, s.params, s.caption) for s in steps]
        current = self.get(tour_id)
        version = (current.version if current else 0) + 1
        self.db.open_or_create(STEPS_TABLE, STEPS_SCHEMA).add(pa.Table.from_pylist([{
            "tour": tour_id, "version": version, "added": datetime.now(UTC),
            "steps": json.dumps([{"page": s.page, "params": s.params, "caption": s.caption} for s in clean]),
        }], schema=STEPS_SCHEMA))
        return self.get(tour_id)  # type: ignore[return-value]

    def add(self, tour_id: str, token: str | None, step: Step) -> Tour:
        """Append ``step`` (owner only)."""
        tour = self._owned(tour_id, token)
        return self.save(tour_id, token, [*tour.steps, step])

    def move(self, tour_id: str, token: str | None, index: int, offset: int) -> Tour:
        """Move step ``index`` by ``offset`` places (clamped to the ends; owner only)."""
        tour = self._owned(tour_id, token)
        steps = list(tour.steps)
        if not 0 <= index < len(steps):
            raise TourError(f"there is no step {index + 1}")
        step = steps.pop(index)
        steps.insert(min(max(index + offset, 0), len(steps)), step)
        return self.save(tour_id, token, steps)

    def remove(self, tour_id: str, token: str | None, index: int) -> Tour:
        """Remove step ``index`` (owner only)."""
        tour = self._owned(tour_id, token)
        if not 0 <= index < len(tour.steps):
            raise TourError(f"there is no step {index + 1}")
        return self.save(tour_id, token, [s for i, s in enumerate(tour.steps) if i != index])

    def _owned(self, tour_id: str, token: str | None) -> Tour:
        if not self.can_edit(tour_id, token):
            raise TourError("this tour is read-only here: only its owner (edit link) can change it")
        return self.get(tour_id)  # type: ignore[return-value]
