"""artsim.sources.fetch against a local HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import csv
import io
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from PIL import Image

import artsim.sources.dispatch as sources
from artsim.errors import FetchError
from artsim.inputs.images import load_image
from artsim.sources import fetch
from artsim.sources.fetch import FetchReport, fetch_gallery, resolve_bases
from artsim.sources.http import make_session
from artsim.sources.manifest import ManifestRow, make_row, read_manifest, write_manifest
from tests.local_http import reply as send
from tests.local_http import serve

FAST = {"timeout": 2.0, "retries": 2, "backoff": 0.01, "progress": False, "probe_timeout": 2.0}


# --------------------------------------------------------------------------- helpers


def jpeg(color: tuple[int, int, int], size: tuple[int, int] = (48, 32)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def image_reply(color=(200, 30, 30)) -> Reply:
    return Reply(body=jpeg(color), headers={"Content-Type": "image/jpeg"})


class Server:
    """Scripted HTTP server: ``routes[path]`` replies in order (the last repeats); counts requests."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.fallback: Callable[[str], Reply | None] | None = None
        self.hits: Counter[str] = Counter()
        self.raw_paths: list[str] = []
        self.user_agents: list[str] = []
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = unquote(urlsplit(self.path).path)
                with lock:
                    n = server.hits[path]
                    server.hits[path] += 1
                    server.raw_paths.append(self.path)
                    server.user_agents.append(self.headers.get("User-Agent", ""))
                replies = server.routes.get(path)
                reply = replies[min(n, len(replies) - 1)] if replies else None
                if reply is None and server.fallback is not None:
                    reply = server.fallback(path)
                reply = reply or Reply(404, b"no such file", {"Content-Type": "text/plain"})
                time.sleep(reply.delay)
                send(self, reply.status, reply.headers, reply.body)

            def log_message(self, *args) -> None:
                pass

        self.httpd, self.base = serve(Handler)

    @property
    def total(self) -> int:
        return sum(self.hits.values())

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _no_env_base(monkeypatch):
    monkeypatch.delenv("ARTSIM_FETCH_BASE", raising=False)


def closed_port_base() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def commons_row(name: str, artist: str = "Test Artist", title: str | None = None) -> ManifestRow:
    return make_row(
        artist=artist,
        title=title or name,
        year="1900",
        museum="Somewhere",
        license="PD",
        source_type="commons",
        source_id=name,
        verified=True,
    )


def museum_row(source_type: str, source_id: str, title: str = "Portrait") -> ManifestRow:
    return make_row(
        artist="Museum Artist",
        title=title,
        year="1890",
        museum="A Museum",
        license="PD",
        source_type=source_type,
        source_id=source_id,
        verified=True,
    )


def commons_path(name: str) -> str:
    return "/wiki/Special:FilePath/" + name.replace(" ", "_")


def manifest(tmp_path: Path, rows: list[ManifestRow]) -> Path:
    path = tmp_path / "gallery.csv"
    write_manifest(rows, path)
    return path


def bases(server: Server) -> dict[str, str]:
    return dict.fromkeys(fetch.DEFAULT_BASES, server.base)


def leftovers(dest: Path) -> list[Path]:
    return [p for p in dest.rglob("*") if p.is_file() and p.name.startswith(".")]


# --------------------------------------------------------------------------- tests


def test_success_writes_images_metadata_and_sends_user_agent(server, tmp_path):
    names = ["A one.jpg", "Rousseau - Myself- Portrait – Landscape (1890, x).jpg", "c.JPG"]
    rows = [commons_row(n) for n in names]
    for i, n in enumerate(names):
        server.routes[commons_path(n)] = [image_reply((40 * i, 100, 200))]
    calls = []
    dest = tmp_path / "gallery"
    report = fetch_gallery(
        manifest(tmp_path, rows),
        dest,
        bases=bases(server),
        **{**FAST, "progress": lambda *a: calls.append(a)},
    )

    assert report.ok and report.failed == [] and report.already_there == []
    assert report.fetched == [r.file for r in rows]
    for r in rows:
        assert load_image(dest / r.file).size == (48, 32)
    assert calls[-1][:2] == (3, 3)
    # Commons: underscores, URL-quoted, width asked for.
    assert all(p.endswith(f"?width={fetch.COMMONS_WIDTH}") for p in server.raw_paths)
    assert "%E2%80%93" in server.raw_paths[1] and " " not in "".join(server.raw_paths)
    assert all(ua.startswith("artsim/") and "+" in ua for ua in server.user_agents)
    with (dest / "metadata.csv").open(newline="", encoding="utf-8") as fh:
        meta = list(csv.DictReader(fh))
    assert tuple(meta[0]) == fetch.META_COLUMNS
    assert [m["file"] for m in meta] == [r.file for r in rows]
    assert meta[1]["title"] == names[1] and meta[1]["source"] == rows[1].source_url
    assert leftovers(dest) == []


def test_commons_width_is_a_wikimedia_thumbnail_step():
    # Wikimedia refuses other thumbnail widths with HTTP 429 (mediawiki.org/wiki/Common_thumbnail_sizes).
    assert fetch.COMMONS_WIDTH in {20, 40, 60, 120, 250, 330, 500, 960, 1280, 1920, 3840}


def test_404_is_reported_by_row_and_others_are_fetched(server, tmp_path):
    rows = [commons_row("gone.jpg"), commons_row("here.jpg")]
    server.routes[commons_path("here.jpg")] = [image_reply()]
    # progress=True: a tqdm bar on stderr (hidden when stderr is not a terminal).
    report = fetch_gallery(
        manifest(tmp_path, rows), tmp_path / "g", bases=bases(server), **{**FAST, "progress": True}
    )
    assert report.fetched == [rows[1].file]
    assert len(report.failed) == 1
    label, reason = report.failed[0]
    assert label == rows[0].label and "HTTP 404" in reason
    assert server.hits[commons_path("gone.jpg")] == 1  # a 404 is not retried
    assert not (tmp_path / "g" / rows[0].file).exists()


def test_retries_after_500_and_429(server, tmp_path):
    rows = [commons_row("flaky.jpg"), commons_row("busy.jpg")]
    server.routes[commons_path("flaky.jpg")] = [Reply(500, b"oops"), image_reply()]
    server.routes[commons_path("busy.jpg")] = [Reply(429, b"slow down", {"Retry-After": "0"}), image_reply()]
    report = fetch_gallery(manifest(tmp_path, rows), tmp_path / "g", bases=bases(server), **FAST)
    assert report.ok and len(report.fetched) == 2
    assert server.hits[commons_path("flaky.jpg")] == 2
    assert server.hits[commons_path("busy.jpg")] == 2


def test_retries_give_up_after_the_last_attempt(server, tmp_path):
    rows = [commons_row("down.jpg")]
    server.routes[commons_path("down.jpg")] = [Reply(503, b"maintenance")]
    report = fetch_gallery(manifest(tmp_path, rows), tmp_path / "g", bases=bases(server), **FAST)
    assert report.fetched == [] and "HTTP 503" in report.failed[0][1] and "3 attempts" in report.failed[0][1]
    assert server.hits[commons_path("down.jpg")] == 3  # 1 + retries


def test_retry_after_is_capped(server, tmp_path):
    rows = [commons_row("wait.jpg")]
    server.routes[commons_path("wait.jpg")] = [Reply(429, b"", {"Retry-After": "4"}), image_reply()]
    report = fetch_gallery(
        manifest(tmp_path, rows), tmp_path / "g", bases=bases(server), max_retry_after=0.2, **FAST
    )
    assert report.ok and server.hits[commons_path("wait.jpg")] == 2


def test_retry_after_header_forms_are_capped():
    retry = make_session(max_retry_after=30.0).get_adapter("https://x.test").max_retries
    assert retry.parse_retry_after("7") == 7.0
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 100))
    assert retry.parse_retry_after(future) == 30.0 and retry.parse_retry_after("4000") == 30.0


def test_slow_response_fails_quickly(server, tmp_path):
    rows = [commons_row("slow.jpg"), commons_row("fast.jpg")]
    server.routes[commons_path("slow.jpg")] = [Reply(200, jpeg((1, 2, 3)), delay=3.0)]
    server.routes[commons_path("fast.jpg")] = [image_reply()]
    report = fetch_gallery(
        manifest(tmp_path, rows),
        tmp_path / "g",
        bases=bases(server),
        **{**FAST, "timeout": 0.3, "retries": 1},
    )
    assert report.fetched == [rows[1].file]
    assert "timed out" in report.failed[0][1] and "2 attempts" in report.failed[0][1]


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"<!DOCTYPE html><html><body>File not found</body></html>", {"Content-Type": "text/html"}),
        Reply(200, b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8, {"Content-Type": "image/jpeg"}),
    ],
    ids=["html", "garbage-jpeg"],
)
def test_bad_image_is_a_failure_and_leaves_no_file(server, tmp_path, reply):
    rows = [commons_row("bad.jpg")]
    server.routes[commons_path("bad.jpg")] = [reply]
    dest = tmp_path / "g"
    report = fetch_gallery(manifest(tmp_path, rows), dest, bases=bases(server), **FAST)
    assert report.fetched == [] and len(report.failed) == 1
    assert "not a usable image" in report.failed[0][1]
    assert not (dest / rows[0].file).exists() and leftovers(dest) == []
    assert server.hits[commons_path("bad.jpg")] == 1  # bad content is not retried


def test_size_cap(server, tmp_path):
    rows = [commons_row("huge.jpg")]
    server.routes[commons_path("huge.jpg")] = [
        Reply(200, jpeg((9, 9, 9), (400, 400)), {"Content-Type": "image/jpeg"})
    ]
    report = fetch_gallery(
        manifest(tmp_path, rows), tmp_path / "g", bases=bases(server), max_bytes=500, **FAST
    )
    assert "too large" in report.failed[0][1]
    assert not (tmp_path / "g" / rows[0].file).exists()


def test_resume_requests_nothing_already_there_and_refetches_a_broken_file(server, tmp_path):
    rows = [commons_row(f"p{i}.jpg") for i in range(3)]
    for i, r in enumerate(rows):
        server.routes[commons_path(r.source_id)] = [image_reply((i * 50, 0, 0))]
    path, dest = manifest(tmp_path, rows), tmp_path / "g"
    first = fetch_gallery(path, dest, bases=bases(server), **FAST)
    assert len(first.fetched) == 3 and server.total == 3

    second = fetch_gallery(path, dest, bases=bases(server), **FAST)
    assert second.already_there == [r.file for r in rows] and second.fetched == [] and second.failed == []
    assert server.total == 3  # not one request, not even the probe's HTTP

    (dest / rows[1].file).write_bytes(b"\xff\xd8\xff truncated")
    third = fetch_gallery(path, dest, bases=bases(server), **FAST)
    assert third.fetched == [rows[1].file] and len(third.already_there) == 2
    assert server.total == 4 and load_image(dest / rows[1].file).size == (48, 32)


def test_offline_raises_one_fetch_error_quickly(tmp_path):
    rows = [commons_row(f"x{i}.jpg") for i in range(5)]
    base = closed_port_base()
    with pytest.raises(FetchError) as err:
        fetch_gallery(
            manifest(tmp_path, rows), tmp_path / "g", bases=dict.fromkeys(fetch.DEFAULT_BASES, base), **FAST
        )
    msg = str(err.value)
    assert msg.startswith("cannot reach 127.0.0.1") and "ARTSIM_GALLERY=" in msg and "offline" in msg.lower()


def test_offline_is_fine_when_everything_is_there(server, tmp_path):
    rows = [commons_row("kept.jpg")]
    server.routes[commons_path("kept.jpg")] = [image_reply()]
    path, dest = manifest(tmp_path, rows), tmp_path / "g"
    fetch_gallery(path, dest, bases=bases(server), **FAST)
    report = fetch_gallery(path, dest, bases=dict.fromkeys(fetch.DEFAULT_BASES, closed_port_base()), **FAST)
    assert report.already_there == [rows[0].file] and report.ok


def test_network_dropping_mid_run_stops_trying(server, tmp_path):
    # The probe reaches commons (live); the Met host refuses connections.
    rows = [commons_row("ok.jpg")] + [museum_row("met", str(i), f"P{i}") for i in range(5)]
    server.routes[commons_path("ok.jpg")] = [image_reply()]
    the_bases = {**bases(server), "met": closed_port_base()}
    report = fetch_gallery(
        manifest(tmp_path, rows), tmp_path / "g", bases=the_bases, **{**FAST, "retries": 0}
    )
    assert report.fetched == [rows[0].file]
    reasons = [r for _, r in report.failed]
    assert len(reasons) == 5
    assert all("cannot connect" in r for r in reasons[:3])
    assert all(r.startswith("not tried") for r in reasons[3:])


def test_met_api_indirection(server, tmp_path):
    rows = [
        museum_row("met", "436532", "Straw Hat"),
        museum_row("met", "1", "Closed"),
        museum_row("met", "2", "No image"),
    ]
    api = "/public/collection/v1/objects/"
    server.routes[api + "436532"] = [
        Reply(
            200,
            (
                f'{{"objectID": 436532, "isPublicDomain": true, "primaryImage": "{server.base}/big.jpg", '
                f'"primaryImageSmall": "{server.base}/small.jpg"}}'
            ).encode(),
            {"Content-Type": "application/json"},
        )
    ]
    server.routes[api + "1"] = [Reply(200, b'{"isPublicDomain": false, "primaryImageSmall": ""}')]
    server.routes[api + "2"] = [
        Reply(200, b'{"isPublicDomain": true, "primaryImage": "", "primaryImageSmall": ""}')
    ]
    server.routes["/small.jpg"] = [image_reply((0, 0, 255))]
    dest = tmp_path / "g"
    report = fetch_gallery(manifest(tmp_path, rows), dest, bases=bases(server), **FAST)
    assert report.fetched == [rows[0].file]
    assert server.hits["/small.jpg"] == 1 and server.hits["/big.jpg"] == 0
    assert load_image(dest / rows[0].file).getpixel((5, 5))[2] > 200
    reasons = dict(report.failed)
    assert "public domain" in reasons[rows[1].label] and "no image" in reasons[rows[2].label]


def test_aic_and_nga_sources(server, tmp_path):
    uuid = "0b5ed6f4-8a4b-4d7b-9d3b-1d8f1c0b6a8e"
    rows = [
        museum_row("aic", "80607", "AIC one"),
        museum_row("nga", uuid, "NGA uuid"),
        museum_row("nga", "46625", "NGA id"),
    ]
    server.routes["/api/v1/artworks/80607"] = [Reply(200, b'{"data": {"image_id": "abc-123"}}')]
    server.routes["/iiif/2/abc-123/full/843,/0/default.jpg"] = [image_reply((0, 255, 0))]
    server.routes[f"/iiif/{uuid}/full/!1024,1024/0/default.jpg"] = [image_reply((255, 255, 0))]
    report = fetch_gallery(manifest(tmp_path, rows), tmp_path / "g", bases=bases(server), **FAST)
    assert report.fetched == [rows[0].file, rows[1].file]
    assert any(p.startswith("/api/v1/artworks/80607?fields=image_id") for p in server.raw_paths)
    ((label, reason),) = report.failed
    assert label == rows[2].label and "uuid" in reason and rows[2].source_url in reason
    assert server.total == 3  # the NGA object id made no request


def test_nothing_downloaded_writes_no_metadata(tmp_path):
    rows = [museum_row("nga", "46625")]
    report = fetch_gallery(manifest(tmp_path, rows), tmp_path / "g", **FAST)
    assert len(report.failed) == 1 and not (tmp_path / "g" / "metadata.csv").exists()


def test_metadata_keeps_a_users_own_rows(server, tmp_path):
    dest = tmp_path / "g"
    (dest / "Mine").mkdir(parents=True)
    (dest / "metadata.csv").write_text("file,artist,title\nMine/own.jpg,Me,My own\n", encoding="utf-8")
    rows = [commons_row("new.jpg")]
    server.routes[commons_path("new.jpg")] = [image_reply()]
    fetch_gallery(manifest(tmp_path, rows), dest, bases=bases(server), **FAST)
    with (dest / "metadata.csv").open(newline="", encoding="utf-8") as fh:
        meta = {m["file"]: m for m in csv.DictReader(fh)}
    assert meta["Mine/own.jpg"]["title"] == "My own" and rows[0].file in meta


def test_resolve_bases_env(monkeypatch):
    monkeypatch.setenv("ARTSIM_FETCH_BASE", "http://mirror.test:8080/")
    assert set(resolve_bases().values()) == {"http://mirror.test:8080"}
    monkeypatch.setenv("ARTSIM_FETCH_BASE", "met=http://m.test,commons=http://c.test")
    got = resolve_bases({"aic": "http://a.test"})
    assert (
        got["met"] == "http://m.test" and got["commons"] == "http://c.test" and got["aic"] == "http://a.test"
    )
    assert got["nga"] == fetch.DEFAULT_BASES["nga"]
    monkeypatch.setenv("ARTSIM_FETCH_BASE", "wikipedia=http://w.test")
    with pytest.raises(FetchError, match="ARTSIM_FETCH_BASE"):
        resolve_bases()


def test_default_manifest_end_to_end_against_local_server(server, tmp_path, monkeypatch):
    """The real data/gallery.csv: every commons and Met row is fetched, the collection scanner reads it."""
    from artsim.inputs.collection import scan_folder

    rows = read_manifest()
    colours = {}

    def any_image(path: str) -> Reply | None:
        if path.startswith("/public/collection/v1/objects/"):
            oid = path.rsplit("/", 1)[1]
            return Reply(
                200,
                f'{{"isPublicDomain": true, "primaryImageSmall": "{server.base}/met/{oid}.jpg"}}'.encode(),
            )
        if path.startswith(("/wiki/Special:FilePath/", "/met/")):
            c = colours.setdefault(path, (len(colours) * 8 % 256, len(colours) * 37 % 256, 128))
            return Reply(200, jpeg(c), {"Content-Type": "image/jpeg"})
        return None

    server.fallback = any_image
    monkeypatch.setenv("ARTSIM_FETCH_BASE", server.base)
    monkeypatch.setenv("ARTSIM_HOME", str(tmp_path / "home"))
    report = fetch_gallery(**FAST)
    assert isinstance(report, FetchReport) and report.dest == tmp_path / "home" / "gallery"

    nga = [r for r in rows if r.source_type == "nga" and not sources.UUID.match(r.source_id)]
    assert sorted(report.fetched) == sorted(r.file for r in rows if r not in nga)
    assert sorted(label for label, _ in report.failed) == sorted(r.label for r in nga)
    # Commons paths on the wire are the exact manifest names.
    wire = {unquote(urlsplit(p).path) for p in server.raw_paths}
    for r in rows:
        if r.source_type == "commons":
            assert commons_path(r.source_id) in wire

    scan = scan_folder(report.dest)
    by_path = {Path(p.path).relative_to(report.dest).as_posix(): p for p in scan.paintings}
    assert len(by_path) == len(report.fetched)
    for r in rows:
        if r.file in by_path:
            p = by_path[r.file]
            assert (p.artist, p.title, p.year, p.museum, p.source) == (
                r.artist,
                r.title,
                r.year,
                r.museum,
                r.source_url,
            )
