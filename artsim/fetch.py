"""Download the default self-portrait gallery named by ``data/gallery.csv``.

All of artsim's network code is here, on the standard library's ``urllib``.
Images come from Wikimedia Commons (``Special:FilePath``, 960 px wide) or a
museum's open-access API (The Met, NGA IIIF, Art Institute of Chicago) and are
stored as ``<dest>/<Artist>/<file>`` with a ``metadata.csv`` beside them that
the collection scanner reads for titles and credits.

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
  :func:`artsim.images.load_image` before it is written; files are written to
  a temporary name and renamed; files already present and decodable are not
  requested again.

Base URLs are in :data:`BASES` (module-level, may be changed) and can be
overridden by ``ARTSIM_FETCH_BASE`` (one URL for every source, or
``commons=URL,met=URL,...``) or by the ``bases`` argument, so tests and
mirrors can point the fetcher at another server.
"""

from __future__ import annotations

import csv
import email.utils
import io
import json
import logging
import os
import random
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlsplit
from urllib.request import ProxyHandler, Request, build_opener, getproxies, proxy_bypass

from artsim import __version__, config
from artsim.errors import FetchError, ImageError
from artsim.files import atomic_write
from artsim.manifest import ManifestRow, read_manifest

log = logging.getLogger(__name__)

DEFAULT_BASES: dict[str, str] = {
    "commons": "https://commons.wikimedia.org",
    "met": "https://collectionapi.metmuseum.org",
    "nga": "https://api.nga.gov",
    "aic": "https://api.artic.edu",
    "aic_iiif": "https://www.artic.edu",
}
"""Where each source's API lives (the public services)."""

BASES: dict[str, str] = dict(DEFAULT_BASES)
"""The bases used when neither ``ARTSIM_FETCH_BASE`` nor ``bases=`` says otherwise; may be edited."""

ENV_BASE = "ARTSIM_FETCH_BASE"
COMMONS_WIDTH = 960
"""Width asked of Commons: plenty for 224-px models and the app's views, ~100-500 kB a file.

Must be one of Wikimedia's standard thumbnail steps (20, 40, 60, 120, 250,
330, 500, 960, 1280, 1920, 3840 px): since 2025-26 other widths are refused
at the edge with HTTP 429 ("Use thumbnail steps"), see
https://www.mediawiki.org/wiki/Common_thumbnail_sizes.
"""
MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024
"""Refuse a download larger than this (a 1024-px JPEG is well under 2 MB)."""
MAX_JSON_BYTES = 2 * 1024 * 1024
MAX_RETRY_AFTER = 30.0
"""Longest wait (s) granted to a server's ``Retry-After``."""
PROBE_TIMEOUT = 5.0
NETWORK_FAILURES_BEFORE_GIVING_UP = 3
PROJECT_URL = "https://example.org/artsim"  # placeholder: replace with the project's public page
USER_AGENT = (
    f"artsim/{__version__} (+{PROJECT_URL}; contact: see project page) "
    f"Python-urllib/{sys.version_info.major}.{sys.version_info.minor}"
)
"""Descriptive User-Agent, as Wikimedia's User-Agent policy and museum APIs ask."""

META_COLUMNS: tuple[str, ...] = ("file", "artist", "title", "year", "work", "source", "license", "museum")
"""Columns of the ``metadata.csv`` written beside the images (the collection format)."""

_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
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


class _RowFailure(Exception):
    """A reason for one row's failure (reported, never raised to the caller)."""

    def __init__(self, reason: str, *, network: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.network = network  # connection-level: counts towards giving up


# --------------------------------------------------------------------------- URLs


def resolve_bases(bases: Mapping[str, str] | None = None) -> dict[str, str]:
    """Effective base URLs: :data:`BASES`, then ``ARTSIM_FETCH_BASE``, then ``bases``.

    ``ARTSIM_FETCH_BASE`` is either one URL used for every source or a comma
    list ``name=URL`` (names as in :data:`DEFAULT_BASES`).
    """
    out = dict(BASES)
    env = os.environ.get(ENV_BASE, "").strip()
    if env:
        if "=" in env:
            for item in env.split(","):
                name, _, url = item.partition("=")
                if name.strip() not in DEFAULT_BASES or not url.strip():
                    raise FetchError(
                        f"{ENV_BASE}: bad entry {item!r}; use one URL or name=URL with names "
                        f"{', '.join(DEFAULT_BASES)}"
                    )
                out[name.strip()] = url.strip()
        else:
            out = dict.fromkeys(DEFAULT_BASES, env)
    if bases:
        out.update(bases)
    return {k: v.rstrip("/") for k, v in out.items()}


def commons_url(file_name: str, base: str) -> str:
    """``Special:FilePath`` URL of a Commons file, scaled to :data:`COMMONS_WIDTH` px."""
    quoted = quote(file_name.replace(" ", "_"), safe="()',!")
    return f"{base}/wiki/Special:FilePath/{quoted}?width={COMMONS_WIDTH}"


def met_api_url(object_id: str, base: str) -> str:
    """The Met collection API record of an object (JSON with ``primaryImageSmall``)."""
    return f"{base}/public/collection/v1/objects/{quote(object_id, safe='')}"


def nga_iiif_url(uuid: str, base: str) -> str:
    """NGA IIIF image, fitted in 1024x1024."""
    return f"{base}/iiif/{quote(uuid, safe='')}/full/!1024,1024/0/default.jpg"


def aic_api_url(object_id: str, base: str) -> str:
    """Art Institute of Chicago API record of an artwork, only its ``image_id``."""
    return f"{base}/api/v1/artworks/{quote(object_id, safe='')}?fields=image_id"


def aic_iiif_url(image_id: str, base: str) -> str:
    """Art Institute of Chicago IIIF image, 843 px wide (the size AIC recommends)."""
    return f"{base}/iiif/2/{quote(image_id, safe='')}/full/843,/0/default.jpg"


def first_url(row: ManifestRow, bases: Mapping[str, str]) -> str | None:
    """The first URL a row needs (an image or an API record), or None if it cannot be fetched."""
    if row.source_type == "commons":
        return commons_url(row.source_id, bases["commons"])
    if row.source_type == "met":
        return met_api_url(row.source_id, bases["met"])
    if row.source_type == "nga":
        return nga_iiif_url(row.source_id, bases["nga"]) if _UUID.match(row.source_id) else None
    if row.source_type == "aic":
        return aic_api_url(row.source_id, bases["aic"])
    return None


# --------------------------------------------------------------------------- HTTP


def _is_loopback(host: str) -> bool:
    return host in {"localhost", "::1"} or host.startswith("127.")


class _Http:
    """GET with retries, backoff, Retry-After, size caps and a per-attempt deadline."""

    def __init__(
        self, *, user_agent: str, timeout: float, retries: int, backoff: float, max_retry_after: float
    ) -> None:
        self.user_agent = user_agent
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self._proxied = build_opener()  # honours *_proxy / no_proxy
        self._direct = build_opener(ProxyHandler({}))

    def get(self, url: str, *, max_bytes: int, accept: str) -> tuple[bytes, str]:
        """Body and Content-Type of ``url``; raises :class:`_RowFailure` with a plain reason."""
        attempts = self.retries + 1
        last, network = "", False
        for attempt in range(attempts):
            wait = self.backoff * (2**attempt) * (1 + 0.25 * random.random())
            try:
                return self._once(url, max_bytes=max_bytes, accept=accept)
            except HTTPError as exc:
                exc.close()
                if exc.code in (404, 410):
                    raise _RowFailure(f"not found (HTTP {exc.code}) at {url}") from None
                if exc.code not in _RETRY_STATUS:
                    raise _RowFailure(f"HTTP {exc.code} {exc.reason} at {url}") from None
                last = f"HTTP {exc.code} {exc.reason}"
                retry_after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
                if retry_after is not None:
                    wait = min(retry_after, self.max_retry_after)
                network = False
            except TimeoutError:
                last, network = f"timed out after {self.timeout:g} s", True
            except URLError as exc:
                reason = exc.reason
                if isinstance(reason, TimeoutError):
                    last = f"timed out after {self.timeout:g} s"
                else:
                    last = f"cannot connect ({reason})"
                network = True
            except (HTTPException, ConnectionError, OSError) as exc:
                last, network = f"connection broken ({type(exc).__name__}: {exc})", True
            if attempt + 1 < attempts:
                log.info("%s: %s; retry %d/%d in %.1f s", url, last, attempt + 1, self.retries, wait)
                time.sleep(wait)
        raise _RowFailure(
            f"{last} ({attempts} attempt{'s' if attempts > 1 else ''}) at {url}", network=network
        )

    def _once(self, url: str, *, max_bytes: int, accept: str) -> tuple[bytes, str]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise _RowFailure(f"refusing non-HTTP URL {url!r}")
        req = Request(url, headers={"User-Agent": self.user_agent, "Accept": accept})
        opener = self._direct if _is_loopback(parts.hostname or "") else self._proxied
        deadline = time.monotonic() + max(10 * self.timeout, 1.0)
        with opener.open(req, timeout=self.timeout) as resp:
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise _RowFailure(
                    f"file too large ({int(length) / 1e6:.1f} MB > {max_bytes / 1e6:.0f} MB) at {url}"
                )
            buf = io.BytesIO()
            while chunk := resp.read(64 * 1024):
                buf.write(chunk)
                if buf.tell() > max_bytes:
                    raise _RowFailure(f"file too large (over {max_bytes / 1e6:.0f} MB) at {url}")
                if time.monotonic() > deadline:
                    raise TimeoutError("download too slow")
            return buf.getvalue(), resp.headers.get("Content-Type", "")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def probe(url: str, timeout: float = PROBE_TIMEOUT) -> None:
    """Open a TCP connection to ``url``'s host (or its proxy) within ``timeout`` s.

    DNS is resolved inside the timeout too (in a helper thread), so a dead
    resolver cannot hang the probe. Raises :class:`FetchError` with the one
    message a user needs when the machine is offline.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (host, port)
    proxy = getproxies().get(parts.scheme)
    if proxy and not _is_loopback(host) and not proxy_bypass(host):
        p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        target = (p.hostname or "", p.port or 80)
    outcome: list[BaseException | None] = []

    def connect() -> None:
        try:
            socket.create_connection(target, timeout=timeout).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=connect, daemon=True, name="artsim-probe")
    worker.start()
    worker.join(timeout + 1.0)
    error: BaseException | None = outcome[0] if outcome else TimeoutError(f"no answer in {timeout:g} s")
    if error is not None:
        via = f" (via proxy {target[0]}:{target[1]})" if target != (host, port) else ""
        raise FetchError(
            f"cannot reach {host}{via}: {error}. Offline? Downloading the default gallery needs the "
            f"internet once; the app works on any folder of paintings laid out as <Artist>/<image>: "
            f"ARTSIM_GALLERY=/path/to/folder"
        )


# --------------------------------------------------------------------------- rows


def _image_url(row: ManifestRow, bases: Mapping[str, str], http: _Http) -> str:
    """URL of the row's image, following a museum API where needed."""
    if row.source_type == "commons":
        return commons_url(row.source_id, bases["commons"])
    if row.source_type == "met":
        record = _get_json(http, met_api_url(row.source_id, bases["met"]))
        if record.get("isPublicDomain") is False:
            raise _RowFailure(
                f"The Met does not mark object {row.source_id} public domain (no open-access image)"
            )
        url = record.get("primaryImageSmall") or record.get("primaryImage")
        if not isinstance(url, str) or not url:
            raise _RowFailure(f"The Met API gives no image for object {row.source_id}; see {row.source_url}")
        return url
    if row.source_type == "nga":
        if _UUID.match(row.source_id):
            return nga_iiif_url(row.source_id, bases["nga"])
        raise _RowFailure(
            f"the manifest gives NGA object id {row.source_id}, but NGA serves images by IIIF image uuid, "
            f"which only its open-data CSV maps (github.com/NationalGalleryOfArt/opendata, "
            f"published_images.csv); put that uuid in source_id, or save the image from {row.source_url} "
            f"as {row.file}"
        )
    if row.source_type == "aic":
        record = _get_json(http, aic_api_url(row.source_id, bases["aic"]))
        data = record.get("data") if isinstance(record.get("data"), dict) else {}
        image_id = data.get("image_id")
        if not isinstance(image_id, str) or not image_id:
            raise _RowFailure(f"the Art Institute of Chicago API gives no image for artwork {row.source_id}")
        return aic_iiif_url(image_id, bases["aic_iiif"])
    raise _RowFailure(f"unknown source_type {row.source_type!r}")


def _get_json(http: _Http, url: str) -> dict:
    body, _ = http.get(url, max_bytes=MAX_JSON_BYTES, accept="application/json")
    try:
        record = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _RowFailure(f"not JSON at {url}") from None
    if not isinstance(record, dict):
        raise _RowFailure(f"unexpected JSON at {url}")
    return record


def _valid_image(path: Path, name: str) -> bool:
    from artsim.images import load_image

    try:
        load_image(path, name, max_side=_VALIDATE_SIDE)
    except ImageError:
        return False
    return True


def _fetch_row(row: ManifestRow, target: Path, bases: Mapping[str, str], http: _Http, max_bytes: int) -> None:
    """Download, validate, and atomically store one row's image; raises :class:`_RowFailure`."""
    from artsim.images import load_image

    url = _image_url(row, bases, http)
    body, ctype = http.get(url, max_bytes=max_bytes, accept="image/*")
    try:
        load_image(body, row.file, max_side=_VALIDATE_SIDE)
    except ImageError as exc:
        hint = f" (server sent {ctype.split(';')[0]})" if ctype and not ctype.startswith("image/") else ""
        raise _RowFailure(f"not a usable image{hint}: {exc.reason}; from {url}") from None
    atomic_write(target, body)




def write_metadata(dest: Path, rows: Sequence[ManifestRow]) -> Path:
    """Write/merge ``dest/metadata.csv`` for the rows whose files exist.

    Rows of an existing ``metadata.csv`` for files not in ``rows`` are kept
    (a user's own additions survive a re-fetch). Written atomically.
    """
    path = dest / "metadata.csv"
    ours = {r.file for r in rows}
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
    for r in rows:
        if (dest / r.file).is_file():
            writer.writerow(
                {
                    "file": r.file,
                    "artist": r.artist,
                    "title": r.title,
                    "year": r.year,
                    "work": r.key,
                    "source": r.source_url,
                    "license": r.license,
                    "museum": r.museum,
                }
            )
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
    reached (offline) and :class:`~artsim.manifest.ManifestError` for a bad
    manifest; every other problem is a per-row entry of ``failed``.
    """
    rows = read_manifest(manifest_path, include_unverified=include_unverified)
    dest = Path(dest).expanduser() if dest is not None else config.home() / "gallery"
    the_bases = resolve_bases(bases)
    http = _Http(
        user_agent=user_agent,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        max_retry_after=max_retry_after,
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
        first = next((u for u in (first_url(r, the_bases) for r in todo) if u), None)
        if first is not None:
            probe(first, probe_timeout)
        network_failures = 0
        for row in todo:
            if network_failures >= NETWORK_FAILURES_BEFORE_GIVING_UP:
                report.failed.append((row.label, "not tried: the network stopped answering"))
            else:
                try:
                    _fetch_row(row, dest / row.file, the_bases, http, max_bytes)
                    report.fetched.append(row.file)
                    network_failures = 0
                except _RowFailure as exc:
                    report.failed.append((row.label, exc.reason))
                    network_failures = network_failures + 1 if exc.network else 0
                    log.warning("%s: %s", row.label, exc.reason)
            tick(1, row.file)
    finally:
        if bar is not None:
            bar.close()
    if report.fetched or report.already_there:
        write_metadata(dest, rows)
    return report


def _progress(progress: bool | Progress, total: int):
    """(tqdm bar or None, tick(n, label)) for the chosen kind of progress report."""
    if callable(progress):
        state = {"done": 0}

        def tick(n: int, label: str) -> None:
            state["done"] += n
            progress(state["done"], total, label)

        return None, tick
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, file=sys.stderr, unit="img", desc="gallery", disable=None)

        def tick_bar(n: int, label: str) -> None:
            bar.set_postfix_str(label[-40:], refresh=False)
            bar.update(n)

        return bar, tick_bar
    return None, lambda n, label: None
