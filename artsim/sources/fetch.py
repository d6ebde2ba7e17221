"""Download the default self-portrait gallery named by ``data/gallery.csv``.

Each row's image comes from the source named in the manifest (:mod:`artsim.sources.dispatch`
says where) over artsim's one HTTP client (:mod:`artsim.sources.http`) and is stored as
``<dest>/<Artist>/<file>`` with a ``metadata.csv`` beside them that the
collection scanner reads for titles and credits.

Behaviour, and why:

- **Polite**: one request at a time, a descriptive User-Agent (Wikimedia's
  policy asks for one with a contact), retries with exponential backoff on
  429/5xx/timeouts, honouring ``Retry-After`` up to a cap.
- **Offline is one clear error**: a quick TCP probe of the first host (5 s)
  raises :class:`~artsim.errors.FetchError` instead of 31 slow failures; if
  the network drops mid-run, the remaining rows are reported after three
  consecutive connection failures instead of being tried one by one.
- **Per-row failures never stop the run**: a 404 (a renamed Commons file), a
  bad image, a too-large file are reported by row in :class:`FetchReport`.
- **Safe and resumable**: every download is decoded by
  :func:`artsim.inputs.images.load_image` before it is written; files are written to
  a temporary name and renamed; files already present and decodable are not
  requested again.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

from artsim import config
from artsim.errors import FetchError, ImageError
from artsim.files import atomic_write
from artsim.inputs.images import load_image
from artsim.progress import progress_bar
from artsim.sources import http as web
from artsim.sources.dispatch import COMMONS_WIDTH, DEFAULT_BASES, first_url, image_url, resolve_bases
from artsim.sources.http import MAX_RETRY_AFTER, PROBE_TIMEOUT, USER_AGENT
from artsim.sources.manifest import ManifestRow, read_manifest

__all__ = [
    "COMMONS_WIDTH",
    "DEFAULT_BASES",
    "META_COLUMNS",
    "FetchReport",
    "fetch_gallery",
    "resolve_bases",
    "write_metadata",
]

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024
"""Refuse a download larger than this (a 1024-px JPEG is well under 2 MB)."""
NETWORK_FAILURES_BEFORE_GIVING_UP = 3
OFFLINE_HINT = (
    "Downloading the default gallery needs the internet once; the app works on any folder of "
    "paintings laid out as <Artist>/<image>: ARTSIM_GALLERY=/path/to/folder"
)

META_COLUMNS: tuple[str, ...] = ("file", "artist", "title", "year", "work", "source", "license", "museum")
"""Columns of the ``metadata.csv`` written beside the images (the collection format)."""

_VALIDATE_SIDE = 128  # load_image reduces in draft mode: decoding to this size is fast

Progress = Callable[[int, int, str], None]
"""``progress(done, total, label)`` after each row."""


@dataclass
class FetchReport:
    """What a fetch did.

    ``fetched`` and ``already_there`` hold the rows' relative files
    (``<Artist>/<name>``); ``failed`` holds ``(row label, reason)`` pairs,
    the label being ``Artist: Title [source_type:source_id]``.
    """

    dest: Path
    fetched: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no row failed."""
        return not self.failed

    def summary(self) -> str:
        """One line: counts and the folder."""
        return (
            f"{len(self.fetched)} downloaded, {len(self.already_there)} already there, "
            f"{len(self.failed)} failed -> {self.dest}"
        )


def _valid_image(path: Path, name: str) -> bool:
    try:
        load_image(path, name, max_side=_VALIDATE_SIDE)
    except ImageError:
        return False
    return True


def _fetch_row(
    row: ManifestRow,
    target: Path,
    bases: Mapping[str, str],
    session: requests.Session,
    timeout: float,
    max_bytes: int,
) -> None:
    """Download, validate, and atomically store one row's image; raises :class:`FetchError`."""
    url = image_url(row, bases, lambda u: web.get_json(session, u, timeout=timeout))
    body, ctype = web.get_bytes(session, url, max_bytes=max_bytes, timeout=timeout, accept="image/*")
    try:
        load_image(body, row.file, max_side=_VALIDATE_SIDE)
    except ImageError as exc:
        hint = f" (server sent {ctype.split(';')[0]})" if ctype and not ctype.startswith("image/") else ""
        raise FetchError(f"not a usable image{hint}: {exc.reason}; from {url}") from None
    atomic_write(target, body)


def row_record(row: ManifestRow) -> dict[str, str]:
    """A manifest row as a ``metadata.csv`` record (:data:`META_COLUMNS`)."""
    return {
        "file": row.file,
        "artist": row.artist,
        "title": row.title,
        "year": row.year,
        "work": row.key,
        "source": row.source_url,
        "license": row.license,
        "museum": row.museum,
    }


def write_metadata(dest: Path, records: Sequence[Mapping[str, str]]) -> Path:
    """Write/merge ``dest/metadata.csv`` for the records (``file`` + :data:`META_COLUMNS`) whose files exist.

    Rows of an existing ``metadata.csv`` for other files are kept (a user's own
    additions survive a re-fetch). Written atomically.
    """
    path = dest / "metadata.csv"
    ours = {r["file"] for r in records}
    kept: list[dict[str, str]] = []
    if path.is_file():
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                kept = [r for r in csv.DictReader(fh) if r.get("file") and r["file"] not in ours]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            log.warning("replacing unreadable %s (%s)", path, exc)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=META_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for rec in kept:
        writer.writerow({c: rec.get(c) or "" for c in META_COLUMNS})
    for rec in records:
        if (dest / rec["file"]).is_file():
            writer.writerow({c: rec.get(c) or "" for c in META_COLUMNS})
    atomic_write(path, out.getvalue().encode("utf-8"))
    return path


# --------------------------------------------------------------------------- entry point


def fetch_gallery(
    manifest_path: str | Path | None = None,
    dest: str | Path | None = None,
    *,
    timeout: float = 10.0,
    retries: int = 3,
    progress: bool | Progress = True,
    user_agent: str = USER_AGENT,
    include_unverified: bool = True,
    bases: Mapping[str, str] | None = None,
    backoff: float = 1.0,
    max_retry_after: float = MAX_RETRY_AFTER,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    probe_timeout: float = PROBE_TIMEOUT,
) -> FetchReport:
    """Download the gallery named by a manifest into ``dest``.

    Parameters
    ----------
    manifest_path : manifest CSV (default ``data/gallery.csv``).
    dest : target folder (default ``$ARTSIM_HOME/gallery``).
    timeout : seconds per connect/read; an attempt also ends after 10x this.
    retries : extra attempts on 429/5xx/timeouts/connection errors, waiting
        ``backoff * 2**n`` s (or ``Retry-After``, at most ``max_retry_after`` s).
    progress : True for a tqdm bar on stderr (hidden when not a terminal),
        False for none, or ``progress(done, total, label)``.
    user_agent : sent with every request.
    include_unverified : also fetch rows with ``verified=no``.
    bases : base URLs overriding :func:`resolve_bases` (keys of :data:`DEFAULT_BASES`).
    max_bytes : largest accepted download.
    probe_timeout : seconds for the reachability probe.

    Returns
    -------
    FetchReport. Raises :class:`FetchError` when the first host cannot be
    reached (offline) and :class:`~artsim.sources.manifest.ManifestError` for a bad
    manifest; every other problem is a per-row entry of ``failed``.
    """
    rows = read_manifest(manifest_path, include_unverified=include_unverified)
    dest = Path(dest).expanduser() if dest is not None else config.home() / "gallery"
    the_bases = resolve_bases(bases)
    session = web.make_session(
        user_agent=user_agent, retries=retries, backoff=backoff, max_retry_after=max_retry_after
    )
    report = FetchReport(dest=dest)

    todo: list[ManifestRow] = []
    for row in rows:
        target = dest / row.file
        if target.is_file() and _valid_image(target, row.file):
            report.already_there.append(row.file)
        else:
            todo.append(row)

    bar, tick = _progress(progress, len(rows))
    try:
        if report.already_there:
            tick(len(report.already_there), "already there")
        first = next((u for u in map(_first_url_or_none(the_bases), todo) if u), None)
        if first is not None:
            web.probe(first, probe_timeout, hint=OFFLINE_HINT)
        network_failures = 0
        for row in todo:
            if network_failures >= NETWORK_FAILURES_BEFORE_GIVING_UP:
                report.failed.append((row.label, "not tried: the network stopped answering"))
            else:
                try:
                    _fetch_row(row, dest / row.file, the_bases, session, timeout, max_bytes)
                    report.fetched.append(row.file)
                    network_failures = 0
                except FetchError as exc:
                    reason = str(exc)
                    report.failed.append((row.label, reason))
                    network_failures = network_failures + 1 if getattr(exc, "network", False) else 0
                    log.warning("%s: %s", row.label, reason)
            tick(1, row.file)
    finally:
        session.close()
        if bar is not None:
            bar.close()
    if report.fetched or report.already_there:
        write_metadata(dest, [row_record(r) for r in rows])
    return report


def _first_url_or_none(bases: Mapping[str, str]) -> Callable[[ManifestRow], str | None]:
    """``row -> first URL``, None for a row that cannot be fetched (it is reported when tried)."""

    def first(row: ManifestRow) -> str | None:
        try:
            return first_url(row, bases)
        except FetchError:
            return None

    return first


def _progress(progress: bool | Progress, total: int):
    """(tqdm bar or None, tick(n, label)) for the chosen kind of progress report."""
    if callable(progress):
        state = {"done": 0}

        def tick(n: int, label: str) -> None:
            state["done"] += n
            progress(state["done"], total, label)

        return None, tick
    bar = progress_bar(total, "gallery", enabled=bool(progress))

    def tick_bar(n: int, label: str) -> None:
        bar.set_postfix_str(label[-40:], refresh=False)
        bar.update(n)

    return bar, tick_bar
