"""artsim.sources.http against a local server: caps, JSON, hash-checked downloads, the probe, proxies."""

from __future__ import annotations

import hashlib
import socket

import pytest

from artsim.errors import FetchError
from artsim.sources import http
from tests.local_http import LocalServer

PAYLOAD = bytes(range(256)) * 300  # 76,800 bytes


def answer(path: str, query: str):
    if path == "/blob.bin":
        return 200, {"Content-Type": "application/octet-stream"}, PAYLOAD
    if path == "/doc.json":
        return 200, {"Content-Type": "application/json"}, b'{"a": [1, 2]}'
    if path == "/page.html":
        return 200, {"Content-Type": "text/html"}, b"<html>nope</html>"
    return 404, {}, b"missing"


@pytest.fixture(scope="module")
def server():
    with LocalServer(answer) as s:
        yield s


@pytest.fixture
def session():
    with http.make_session(retries=1, backoff=0.01) as s:
        yield s


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_get_bytes_and_json(server, session):
    body, ctype = http.get_bytes(session, f"{server.base}/blob.bin", max_bytes=len(PAYLOAD))
    assert body == PAYLOAD and ctype == "application/octet-stream"
    assert http.get_json(session, f"{server.base}/doc.json") == {"a": [1, 2]}
    with pytest.raises(http.HttpFailure, match="not JSON"):
        http.get_json(session, f"{server.base}/page.html")


def test_byte_cap_and_status(server, session):
    with pytest.raises(http.HttpFailure, match="too large") as info:
        http.get_bytes(session, f"{server.base}/blob.bin", max_bytes=len(PAYLOAD) - 1)
    assert not info.value.network
    with pytest.raises(http.HttpFailure, match=r"not found \(HTTP 404\)") as info:
        http.get_bytes(session, f"{server.base}/none", max_bytes=10)
    assert info.value.status == 404
    with pytest.raises(http.HttpFailure, match="non-HTTP"):
        http.get_bytes(session, "file:///etc/passwd", max_bytes=10)


def test_download_file_checks_sha256_and_leaves_nothing_on_mismatch(server, tmp_path):
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    dest = tmp_path / "w" / "blob.bin"
    assert http.download_file(f"{server.base}/blob.bin", dest, sha256_prefix=digest[:8], progress=True) == dest
    assert dest.read_bytes() == PAYLOAD
    bad = tmp_path / "w" / "bad.bin"
    with pytest.raises(http.HttpFailure, match="sha256"):
        http.download_file(f"{server.base}/blob.bin", bad, sha256_prefix="00000000", progress=False)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["blob.bin"]


def test_probe_offline_message_and_connection_failure(session):
    url = f"http://127.0.0.1:{closed_port()}/x"
    with pytest.raises(FetchError, match=r"^cannot reach 127\.0\.0\.1: .*Offline\? do this"):
        http.probe(url, 1.0, hint="do this")
    with pytest.raises(http.HttpFailure, match=r"cannot connect .*\(2 attempts\)") as info:
        http.get_bytes(session, url, max_bytes=10)
    assert info.value.network


def test_loopback_bypasses_a_configured_proxy(server, session, monkeypatch):
    dead = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HTTP_PROXY", dead)
    monkeypatch.setenv("http_proxy", dead)
    http.probe(f"{server.base}/blob.bin", 1.0)
    assert http.get_json(session, f"{server.base}/doc.json") == {"a": [1, 2]}
