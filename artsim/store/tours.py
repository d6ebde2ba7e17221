"""Tours: a teacher's ordered list of views, each with a caption or question, shared as one link.

A tour has a random, unguessable id (what its share link carries, read-only) and an
edit token that only its owner holds (the database keeps just its SHA-256), like a
collection (:mod:`artsim.store.collections`). A step is a page's URL path, that page's
URL parameters, and a caption.

Everything in a tour is untrusted text: the caption, the page name, the parameters
all come from a browser. :func:`clean_step` bounds each of them (characters, count)
and drops control characters; pages show captions as plain text.

Each save writes the whole (bounded) list of steps as one row with the next
version number, then deletes the tour's older rows; readers read the version
numbers first and then only the highest version's row, so a read costs one list
of steps however often the tour was edited (a store written before this keeps
all its old rows and is read just as cheaply), an edit never loses a step half
way, and two sessions reading never see a partial list (a crash between the two
commits leaves an old row that readers skip and the next save deletes).

Every check-and-write (an edit: read the steps, change, write; a creation: count
the last hour's tours, write) holds a lock (:mod:`artsim.store.locks`) for that
tour or for creations, across processes on a local store, so two tabs adding at
once both keep their step and no cap is crossed. Creations are capped per hour on
the whole server (``ARTSIM_MAX_TOURS_PER_HOUR``) and per browser session
(``ARTSIM_MAX_SESSION_TOURS``, counted by the caller), as collections are. Both
tables are compacted every :data:`artsim.store.database.COMPACT_EVERY` writes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pyarrow as pa

from artsim import config
from artsim.errors import ArtsimError
from artsim.ids import is_collection_id, new_id, new_token
from artsim.store import locks
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
    kept = str(text or "")
    if not kept.isprintable():  # printable: no character of category C (the common case, 50x faster)
        kept = "".join(c for c in kept if c == "\n" or not unicodedata.category(c).startswith("C"))
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

    def _info(self, tour_id: str) -> dict | None:
        if not is_collection_id(tour_id):
            return None
        rows = self.db.rows(TOURS_TABLE, f"id = {quote(tour_id)}", ["id", "title", "token_sha256", "created"])
        return min(rows, key=lambda r: r["created"]) if rows else None

    def get(self, tour_id: str) -> Tour | None:
        """The tour ``tour_id`` with its latest list of steps, or None when there is no such tour."""
        info = self._info(str(tour_id))
        return None if info is None else self._latest(info)

    def _latest(self, info: dict) -> Tour:
        """The tour of ``info`` (its row in the tours table) with the latest version of its steps."""
        where = f"tour = {quote(info['id'])}"
        for _ in range(5):  # a save between the two reads deletes the version just found: read again
            versions = [r["version"] for r in self.db.rows(STEPS_TABLE, where, ["version"])]
            if not versions:
                break
            latest = f"{where} AND version = {int(max(versions))}"  # only the latest version's steps are read
            rows = self.db.rows(STEPS_TABLE, latest, ["version", "steps", "added"])
            if rows:
                last = max(rows, key=lambda r: r["added"])
                return Tour(info["id"], info["title"], info["created"], _decode(last["steps"]), last["version"])
        return Tour(info["id"], info["title"], info["created"])

    def can_edit(self, tour_id: str, token: str | None) -> bool:
        """Whether ``token`` is the edit token of ``tour_id`` (constant-time compare)."""
        info = self._info(str(tour_id)) if token else None
        return info is not None and hmac.compare_digest(info["token_sha256"], _hash_token(str(token)))

    def create(self, title: str, *, created_so_far: int = 0, max_new: int | None = None) -> tuple[Tour, str]:
        """A new, empty tour; returns it and its edit token (shown once, kept only hashed).

        Raises :class:`TourError` when this session has made ``created_so_far`` tours
        and that reaches ``max_new`` (default ``ARTSIM_MAX_SESSION_TOURS``; 0: no cap),
        or when the server made ``ARTSIM_MAX_TOURS_PER_HOUR`` tours in the last hour.
        """
        cap = config.setting("ARTSIM_MAX_SESSION_TOURS") if max_new is None else max_new
        if cap and created_so_far >= cap:
            raise TourError(
                f"this session has already made {created_so_far} tours (the limit is {cap}): "
                "add to one of them with its edit link instead"
            )
        with locks.held(self.db.uri, "tours-create"):
            now = datetime.now(UTC)
            if refusal := self.db.over_hourly_cap(TOURS_TABLE, "ARTSIM_MAX_TOURS_PER_HOUR", now, "tour"):
                raise TourError(refusal)
            tour = Tour(new_id(), clean_text(title, MAX_TITLE_CHARS).replace("\n", " ") or "Tour", now)
            token = new_token()
            self.db.open_or_create(TOURS_TABLE, TOURS_SCHEMA).add(pa.Table.from_pylist([{
                "id": tour.id, "title": tour.title, "token_sha256": _hash_token(token), "created": now,
            }], schema=TOURS_SCHEMA))
        self.db.wrote(TOURS_TABLE)
        return tour, token

    def save(self, tour_id: str, token: str | None, steps: Sequence[Step]) -> Tour:
        """Replace the tour's steps (owner only): a new version row; returns the tour as stored."""
        return self._edit(tour_id, token, lambda _current: list(steps))

    def add(self, tour_id: str, token: str | None, step: Step) -> Tour:
        """Append ``step`` (owner only)."""
        return self._edit(tour_id, token, lambda current: [*current, step])

    def move(self, tour_id: str, token: str | None, index: int, offset: int) -> Tour:
        """Move step ``index`` by ``offset`` places (clamped to the ends; owner only)."""

        def moved(current: tuple[Step, ...]) -> list[Step]:
            steps = list(current)
            if not 0 <= index < len(steps):
                raise TourError(f"there is no step {index + 1}")
            step = steps.pop(index)
            steps.insert(min(max(index + offset, 0), len(steps)), step)
            return steps

        return self._edit(tour_id, token, moved)

    def remove(self, tour_id: str, token: str | None, index: int) -> Tour:
        """Remove step ``index`` (owner only)."""

        def removed(current: tuple[Step, ...]) -> list[Step]:
            if not 0 <= index < len(current):
                raise TourError(f"there is no step {index + 1}")
            return [s for i, s in enumerate(current) if i != index]

        return self._edit(tour_id, token, removed)

    def _edit(self, tour_id: str, token: str | None, change: Callable[[tuple[Step, ...]], list[Step]]) -> Tour:
        """Read the latest steps, ``change`` them and write them, all under the tour's lock (owner only)."""
        info = self._info(str(tour_id)) if token else None  # also validates the id used in the filters below
        if info is None or not hmac.compare_digest(info["token_sha256"], _hash_token(str(token))):
            raise TourError("this tour is read-only here: only its owner (edit link) can change it")
        with locks.held(self.db.uri, f"tour:{tour_id}"):
            current = self._latest(info)
            steps = change(current.steps)
            if len(steps) > MAX_STEPS:
                raise TourError(f"a tour holds at most {MAX_STEPS} steps")
            clean = tuple(clean_step(s.page, s.params, s.caption) for s in steps)
            saved = replace(current, steps=clean, version=current.version + 1)
            table = self.db.open_or_create(STEPS_TABLE, STEPS_SCHEMA)
            table.add(pa.Table.from_pylist([{
                "tour": tour_id, "version": saved.version, "added": datetime.now(UTC),
                "steps": json.dumps([{"page": s.page, "params": s.params, "caption": s.caption} for s in clean]),
            }], schema=STEPS_SCHEMA))
            table.delete(f"tour = {quote(tour_id)} AND version < {saved.version}")  # readers already skip them
        self.db.wrote(STEPS_TABLE)
        return saved  # type: ignore[return-value]
