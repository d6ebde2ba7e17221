"""The Add paintings workflow: where a batch of validated uploads goes, and what to report.

A visitor who owns the collection they are viewing adds to it. Anyone else
(the gallery, or someone else's shared collection) gets a new private
collection derived from what they were viewing (copy-on-write: the shared one
never changes). :func:`add_uploads` makes that decision and writes; a
per-session cap on new collections keeps one visitor from filling the store
(the server-wide limits live in :mod:`artsim.store.collections`). The page only
lays out the form and the report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from artsim import config
from artsim.store.collections import CollectionError, CollectionInfo, Collections
from artsim.uploads.batch import UploadOutcome

#: Default name of a collection made from the gallery.
DEFAULT_NAME = "My collection"
#: Longest collection name kept (longer names are cut).
MAX_COLLECTION_NAME_CHARS = 80
STATUSES = ("added", "duplicate", "rejected")


def max_new_collections() -> int:
    """New collections one browser session may make: ``ARTSIM_MAX_SESSION_COLLECTIONS`` (0: no limit)."""
    return config.setting("ARTSIM_MAX_SESSION_COLLECTIONS")


@dataclass(frozen=True)
class AddResult:
    """Where a batch went: the collection, its edit token, whether it is new, rows added."""

    collection: CollectionInfo
    token: str
    created: bool
    added: int


def new_collection_name(requested: str, current: CollectionInfo | None) -> str:
    """The name of a collection derived from ``current``: what the user typed, else a default.

    Whitespace runs become one space; the name is cut at ``MAX_COLLECTION_NAME_CHARS``.
    """
    name = " ".join(str(requested or "").split())[:MAX_COLLECTION_NAME_CHARS]
    if name:
        return name
    return f"{current.name} + uploads"[:MAX_COLLECTION_NAME_CHARS] if current else DEFAULT_NAME


def add_uploads(
    collections: Collections,
    outcomes: Sequence[UploadOutcome],
    *,
    current: CollectionInfo | None,
    token: str | None,
    name: str = "",
    created_so_far: int = 0,
    max_new: int | None = None,
) -> AddResult | None:
    """Store the "added" outcomes in the visitor's collection, creating it when needed.

    Parameters
    ----------
    collections : the collections store.
    outcomes : from :func:`artsim.uploads.batch.read_uploads`; only ``status == "added"`` is stored.
    current : the collection being viewed (None: the gallery).
    token : this session's edit token for ``current`` (None: not the owner).
    name : the name the visitor gave a new collection ('' for the default).
    created_so_far : collections this session has already created.
    max_new : cap on ``created_so_far`` (default :func:`max_new_collections`; 0: no cap).

    Returns
    -------
    :class:`AddResult`, or None when nothing was added.

    Raises
    ------
    CollectionError : a new collection is needed but the session's cap is reached
        (message says what to do), or the store refused.
    """
    items = [(o.painting, o.data) for o in outcomes if o.status == "added" and o.painting and o.data is not None]
    if not items:
        return None
    owner = current is not None and token is not None and collections.can_edit(current.id, token)
    created = False
    if owner:
        target = current
    else:
        cap = max_new_collections() if max_new is None else max_new
        if cap and created_so_far >= cap:
            raise CollectionError(
                f"this session has already made {created_so_far} new collections (the limit is {cap}): "
                "add to one of them with its edit link instead"
            )
        target, token = collections.create(new_collection_name(name, current), parent=current.id if current else "")
        created = True
    added = collections.add(target.id, token, items)
    return AddResult(target, token, created, added)


def can_rename(collections: Collections) -> bool:
    """Whether this store can rename collections (``Collections.rename``)."""
    return callable(getattr(collections, "rename", None))


def rename_collection(collections: Collections, info: CollectionInfo, token: str | None, name: str) -> str:
    """Rename ``info`` (its owner only); returns the name kept (whitespace folded, cut).

    Raises
    ------
    CollectionError : empty name, not the owner, or a store without renaming.
    """
    clean = " ".join(str(name or "").split())[:MAX_COLLECTION_NAME_CHARS]
    if not clean:
        raise CollectionError("give the collection a name")
    if not can_rename(collections):
        raise CollectionError("renaming collections is not available in this version of artsim")
    kept = collections.rename(info.id, token, clean)
    return kept if isinstance(kept, str) else clean


def result_rows(outcomes: Sequence[UploadOutcome]) -> list[dict[str, str]]:
    """One report row per file: ``file`` (``archive › member`` for zip members), ``result``,
    ``reason`` and ``sha256`` ('' when unread)."""
    return [
        {
            "file": f"{o.archive} › {o.display_name}" if o.archive else o.display_name,
            "result": o.status,
            "reason": o.reason,
            "sha256": o.sha256 or "",
        }
        for o in outcomes
    ]


def summary(rows: Sequence[dict[str, str]]) -> str:
    """'2 added, 0 duplicate, 1 rejected' for report rows."""
    counts = Counter(r["result"] for r in rows)
    return ", ".join(f"{counts.get(k, 0)} {k}" for k in STATUSES)
