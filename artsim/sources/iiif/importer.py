"""Import the paintings of a IIIF manifest or collection into an artsim folder.

Walks nested collections (bounded: :data:`MAX_DEPTH` levels, :data:`MAX_MANIFESTS`
manifests, :data:`MAX_PAINTINGS` paintings), requests each painting's image from
its IIIF Image service fitted in :data:`~artsim.sources.iiif.parse.IMAGE_SIDE` px (never the
full scan), checks that it decodes, and writes ``<out>/<Artist>/<Title> (<id>).jpg``
plus a ``metadata.csv`` (``file, artist, title, year, work, source, license,
museum``) that :func:`artsim.inputs.collection.scan_folder` reads. ``source`` is the
manifest id, ``work`` the canvas id. A manifest or image that fails is one entry
in :attr:`ImportReport.skipped`; the rest are imported. Reruns request only what
is missing.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import requests

from artsim.errors import FetchError, ImageError
from artsim.files import atomic_write
from artsim.inputs.images import load_image
from artsim.progress import progress_bar
from artsim.sources import http as web
from artsim.sources.fetch import write_metadata
from artsim.sources.iiif.parse import IMAGE_SIDE, Painting, children, ident, kind, paintings
from artsim.sources.manifest import safe_component

log = logging.getLogger(__name__)

MAX_DEPTH = 4
"""Collections nested deeper than this are not followed."""
MAX_MANIFESTS = 5_000
MAX_PAINTINGS = 50_000
MAX_DOC_BYTES = 16 * 1024 * 1024
"""Largest manifest or collection read (big books run to a few MB)."""
MAX_IMAGE_BYTES = 25 * 1024 * 1024
UNKNOWN_ARTIST = "Unknown artist"
OFFLINE_HINT = "Importing a IIIF manifest needs the network (or a local mirror of the manifest's host)."


@dataclass
class ImportReport:
    """What an import did: files (relative ``<Artist>/<name>``), skips and notes as ``(where, why)``."""

    dest: Path
    imported: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line: counts and the folder."""
        return (
            f"imported {len(self.imported)}, already there {len(self.already_there)}, "
            f"skipped {len(self.skipped)} -> {self.dest}"
        )


def file_for(painting: Painting) -> str:
    """``<Artist>/<Title> (<8 hex of the canvas id>).jpg``: stable across runs, unique per canvas."""
    tag = hashlib.sha256(painting.canvas_id.encode()).hexdigest()[:8]
    artist = safe_component(painting.artist or UNKNOWN_ARTIST)
    title = (painting.title or "Untitled")[:100]
    return f"{artist}/{safe_component(f'{title} ({tag}).jpg')}"


def collect(
    url: str, session: requests.Session, *, timeout: float = 20.0, max_depth: int = MAX_DEPTH
) -> tuple[list[Painting], list[tuple[str, str]]]:
    """Paintings of the manifest or collection at ``url`` (breadth first), and what was skipped."""
    found: list[Painting] = []
    skipped: list[tuple[str, str]] = []
    queue: deque[tuple[str, dict | None, int]] = deque([(url, None, 0)])
    seen: set[str] = set()
    manifests = 0
    while queue and len(found) < MAX_PAINTINGS:
        where, embedded, depth = queue.popleft()
        if where in seen:
            continue
        seen.add(where)
        doc = embedded
        if doc is None:
            try:
                doc = web.get_json(session, where, max_bytes=MAX_DOC_BYTES, timeout=timeout)
            except FetchError as exc:
                skipped.append((where, str(exc)))
                continue
        what = kind(doc)
        if what == "Collection":
            if depth >= max_depth:
                skipped.append((where, f"collection nested deeper than {max_depth} levels: not followed"))
                continue
            for child in children(doc):
                embedded = any(k in child for k in ("items", "sequences", "manifests", "collections"))
                queue.append((ident(child), child if embedded else None, depth + 1))
        elif what == "Manifest":
            manifests += 1
            if manifests > MAX_MANIFESTS:
                skipped.append((where, f"more than {MAX_MANIFESTS} manifests: the rest not read"))
                break
            items, problems = paintings(doc)
            found.extend(items)
            skipped.extend((p.where, p.reason) for p in problems)
        else:
            skipped.append((where, f"not a IIIF Manifest or Collection (type {what or 'missing'})"))
    return found[:MAX_PAINTINGS], skipped


def _fetch_image(session: requests.Session, painting: Painting, target: Path, timeout: float) -> None:
    body, ctype = web.get_bytes(
        session, painting.image_url, max_bytes=MAX_IMAGE_BYTES, timeout=timeout, accept="image/*"
    )
    try:
        load_image(body, target.name, max_side=128)
    except ImageError as exc:
        raise FetchError(
            f"not a usable image ({ctype or 'no type'}): {exc.reason}; from {painting.image_url}"
        ) from None
    atomic_write(target, body)


def _valid(path: Path) -> bool:
    try:
        load_image(path, path.name, max_side=64)
    except ImageError:
        return False
    return True


def import_iiif(
    url: str,
    dest: str | Path,
    *,
    session: requests.Session | None = None,
    timeout: float = 20.0,
    progress: bool = True,
    probe_timeout: float = web.PROBE_TIMEOUT,
) -> ImportReport:
    """Import the paintings of the IIIF manifest or collection at ``url`` into ``dest``.

    Raises :class:`~artsim.errors.FetchError` when the host cannot be reached
    (offline) or ``url`` itself is not a readable manifest or collection; every
    other problem is an entry of :attr:`ImportReport.skipped`.
    """
    dest = Path(dest).expanduser()
    report = ImportReport(dest=dest)
    own = session is None
    session = session or web.make_session()
    try:
        web.probe(url, probe_timeout, hint=OFFLINE_HINT)
        found, skipped = collect(url, session, timeout=timeout)
        report.skipped.extend(skipped)
        if not found and skipped and skipped[0][0] == url:
            raise FetchError(f"cannot import {url}: {skipped[0][1]}")
        records: list[dict[str, str]] = []
        with progress_bar(len(found), "importing", enabled=progress) as bar:
            for painting in found:
                rel = file_for(painting)
                target = dest / rel
                try:
                    if target.is_file() and _valid(target):
                        report.already_there.append(rel)
                    else:
                        _fetch_image(session, painting, target, timeout)
                        report.imported.append(rel)
                    records.append(_record(rel, painting))
                    report.notes.extend((painting.canvas_id, note) for note in painting.notes)
                except FetchError as exc:
                    report.skipped.append((painting.canvas_id, str(exc)))
                    log.warning("%s: %s", painting.canvas_id, exc)
                bar.update(1)
        if records:
            write_metadata(dest, records)
    finally:
        if own:
            session.close()
    return report


def _record(rel: str, painting: Painting) -> dict[str, str]:
    return {
        "file": rel,
        "artist": painting.artist or UNKNOWN_ARTIST,
        "title": painting.title,
        "year": painting.year,
        "work": painting.canvas_id,
        "source": painting.manifest_id,
        "license": painting.license,
        "museum": painting.museum,
    }


__all__ = ["IMAGE_SIDE", "ImportReport", "collect", "file_for", "import_iiif"]
