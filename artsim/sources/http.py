"""artsim's one HTTP client: a retrying session, a reachability probe, capped downloads.

Used by the gallery fetch (:mod:`artsim.sources.fetch`), the ResNet-50 weights download
(:mod:`artsim.embedding.weights`) and the IIIF import (:mod:`artsim.sources.iiif`).

Maintained libraries do the plumbing: ``requests`` for the session (connection
reuse, redirects, ``*_proxy``/``no_proxy``) and urllib3's ``Retry`` for retries
with exponential backoff on 408/425/429/5xx, timeouts and refused connections,
honouring ``Retry-After`` up to a cap (``retry_after_max``); progress bars are
:func:`artsim.progress.progress_bar`. What is ours, because servers are untrusted:

- a byte cap on every body (``Content-Length`` checked first, then counted),
- a wall-clock deadline per body, so a server trickling bytes cannot hold a run,
- a TCP probe with a hard deadline (DNS included) so that an offline machine
  fails in seconds with one actionable message instead of a retry storm,
- :func:`download_file`: streamed to a temporary file, hashed while written,
  checked against an expected sha256 (prefix) and renamed into place, like
  ``torch.hub.download_url_to_file`` (which we do not import: no torch here).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from requests.utils import get_environ_proxies, select_proxy
from urllib3.util.retry import Retry

from artsim import __version__
from artsim.errors import FetchError
from artsim.progress import progress_bar

PROJECT_URL = "https://example.org/artsim"  # placeholder: replace with the project's public page
USER_AGENT = (
    f"artsim/{__version__} (+{PROJECT_URL}; contact: see project page) "
    f"python-requests/{requests.__version__} Python/{sys.version_info.major}.{sys.version_info.minor}"
)
"""Descriptive User-Agent, as Wikimedia's User-Agent policy and museum APIs ask."""

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
"""Statuses worth another try (the rest, 404 included, are answers)."""
MAX_RETRY_AFTER = 30.0
"""Longest wait (s) granted to a server's ``Retry-After``."""
PROBE_TIMEOUT = 5.0
"""Seconds the reachability probe (DNS + TCP connect) may take in total."""
MAX_JSON_BYTES = 2 * 1024 * 1024
"""Largest JSON document read (an API record, a IIIF manifest)."""
DEADLINE_FACTOR = 10
"""A body must arrive within this many per-operation timeouts."""
_CHUNK = 64 * 1024


class HttpFailure(FetchError):
    """One request failed; ``reason`` is plain words, ``network`` True for connection-level failures."""

    def __init__(self, reason: str, *, network: bool = False, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.network = network
        self.status = status


def make_session(
    *,
    user_agent: str = USER_AGENT,
    retries: int = 3,
    backoff: float = 1.0,
    max_retry_after: float = MAX_RETRY_AFTER,
) -> requests.Session:
    """A session retrying ``retries`` times (GET/HEAD), waiting ``backoff * 2**n`` s or ``Retry-After``."""
    retry = Retry(
        total=max(0, retries),
        status_forcelist=RETRY_STATUS,
        allowed_methods=frozenset({"GET", "HEAD"}),
        backoff_factor=backoff,
        backoff_jitter=backoff / 4,
        backoff_max=max(max_retry_after, backoff),
        retry_after_max=max_retry_after,
        respect_retry_after_header=True,
        raise_on_status=False,  # the last answer is returned and reported with its status
    )
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session


def _is_loopback(host: str) -> bool:
    return host in {"localhost", "::1"} or host.startswith("127.")


def _attempts(session: requests.Session, url: str) -> int:
    return int(session.get_adapter(url).max_retries.total or 0) + 1


def _plural(n: int) -> str:
    return f"{n} attempt{'s' if n > 1 else ''}"


def _describe(exc: requests.RequestException, timeout: float) -> str:
    """Plain words for a connection-level failure (after urllib3 gave up retrying)."""
    text = repr(exc)
    if isinstance(exc, requests.Timeout) or "TimeoutError" in text or "timed out" in text:
        return f"timed out after {timeout:g} s"
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", exc.args[0]) if exc.args else exc
        return f"cannot connect ({reason})"
    return f"connection broken ({type(exc).__name__}: {exc})"


def open_stream(
    session: requests.Session, url: str, *, timeout: float = 10.0, accept: str = "*/*"
) -> requests.Response:
    """A streamed 200 response for ``url`` (caller closes it), after the session's retries.

    Raises :class:`HttpFailure`: a non-HTTP URL, an HTTP error status (``status``
    set), or a connection-level failure (``network`` True).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpFailure(f"refusing non-HTTP URL {url!r}")
    proxies = {"http": None, "https": None} if _is_loopback(parts.hostname) else None
    try:
        resp = session.get(url, stream=True, timeout=timeout, headers={"Accept": accept}, proxies=proxies)
    except requests.RequestException as exc:
        raise HttpFailure(
            f"{_describe(exc, timeout)} ({_plural(_attempts(session, url))}) at {url}", network=True
        ) from None
    if resp.status_code == 200:
        return resp
    resp.close()
    code, why = resp.status_code, resp.reason or ""
    if code in (404, 410):
        raise HttpFailure(f"not found (HTTP {code}) at {url}", status=code)
    tries = f" ({_plural(_attempts(session, url))})" if code in RETRY_STATUS else ""
    raise HttpFailure(f"HTTP {code} {why}{tries} at {url}".replace("  ", " "), status=code)


def _chunks(resp: requests.Response, url: str, *, max_bytes: int | None, timeout: float):
    """The body of ``resp`` in chunks, refusing more than ``max_bytes`` or a body slower than the deadline."""
    length = resp.headers.get("Content-Length", "")
    if max_bytes is not None and length.isdigit() and int(length) > max_bytes:
        raise HttpFailure(f"file too large ({int(length) / 1e6:.1f} MB > {max_bytes / 1e6:.0f} MB) at {url}")
    deadline = time.monotonic() + max(DEADLINE_FACTOR * timeout, 1.0)
    seen = 0
    try:
        for chunk in resp.iter_content(_CHUNK):
            seen += len(chunk)
            if max_bytes is not None and seen > max_bytes:
                raise HttpFailure(f"file too large (over {max_bytes / 1e6:.0f} MB) at {url}")
            if time.monotonic() > deadline:
                raise HttpFailure(f"timed out: download too slow at {url}", network=True)
            yield chunk
    except requests.RequestException as exc:
        raise HttpFailure(f"{_describe(exc, timeout)} at {url}", network=True) from None


def get_bytes(
    session: requests.Session, url: str, *, max_bytes: int, timeout: float = 10.0, accept: str = "*/*"
) -> tuple[bytes, str]:
    """Body (at most ``max_bytes``) and Content-Type of ``url``; raises :class:`HttpFailure`."""
    with open_stream(session, url, timeout=timeout, accept=accept) as resp:
        body = b"".join(_chunks(resp, url, max_bytes=max_bytes, timeout=timeout))
        return body, resp.headers.get("Content-Type", "")


def get_json(session: requests.Session, url: str, *, max_bytes: int = MAX_JSON_BYTES, timeout: float = 10.0):
    """Parsed JSON of ``url`` (any JSON value); raises :class:`HttpFailure` when it is not JSON."""
    body, _ = get_bytes(session, url, max_bytes=max_bytes, timeout=timeout, accept="application/json, */*;q=0.5")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise HttpFailure(f"not JSON at {url}") from None


def probe(url: str, timeout: float = PROBE_TIMEOUT, *, hint: str = "") -> None:
    """Open a TCP connection to ``url``'s host (or its proxy) within ``timeout`` s, DNS included.

    The connect runs in a daemon thread so that a hanging resolver cannot hold
    the caller past the deadline. Raises :class:`FetchError`
    ``cannot reach HOST: why. Offline? <hint>``.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise FetchError(f"not an http(s) URL: {url}")
    target = (host, parts.port or (443 if parts.scheme == "https" else 80))
    proxy = None if _is_loopback(host) else select_proxy(url, get_environ_proxies(url))
    if proxy:
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
    error = outcome[0] if outcome else TimeoutError(f"no answer in {timeout:g} s")
    if error is not None:
        via = f" (via proxy {target[0]}:{target[1]})" if proxy else ""
        raise FetchError(f"cannot reach {host}{via}: {error}. Offline? {hint}".rstrip())


def download_file(
    url: str,
    dest: str | os.PathLike,
    *,
    session: requests.Session | None = None,
    timeout: float = 15.0,
    max_bytes: int | None = None,
    sha256_prefix: str | None = None,
    progress: bool = True,
) -> Path:
    """Stream ``url`` into ``dest`` atomically, with a progress bar and an optional sha256 check.

    Parameters
    ----------
    sha256_prefix : the hex digest or its first characters (torch.hub's
        ``name-<prefix>.pth`` convention); a mismatch leaves nothing behind.
    max_bytes : refuse a larger body (None: no cap, for trusted hosts).

    Raises :class:`HttpFailure` (HTTP status, connection, size, hash).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    own = session is None
    session = session or make_session(retries=1)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name[:40]}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as fh, open_stream(session, url, timeout=timeout) as resp:
            total = int(resp.headers.get("Content-Length") or 0) or None
            digest = hashlib.sha256()
            with progress_bar(
                total, f"downloading {dest.name}", unit="B", enabled=progress, unit_scale=True, unit_divisor=1024
            ) as bar:
                for chunk in _chunks(resp, url, max_bytes=max_bytes, timeout=timeout):
                    fh.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
            fh.flush()
            os.fsync(fh.fileno())
        got = digest.hexdigest()
        if sha256_prefix and not got.startswith(sha256_prefix.lower()):
            raise HttpFailure(f"downloaded file's sha256 {got[:12]}... does not match {sha256_prefix} ({dest.name})")
        os.replace(tmp, dest)
        return dest
    finally:
        Path(tmp).unlink(missing_ok=True)
        if own:
            session.close()
