"""Two replicas behind Debian's nginx (deploy/proxy.py), on loopback: one store, sticky websockets, compression.

Starts two ``streamlit run streamlit_app.py`` replicas sharing one ``ARTSIM_DB`` and
a foreground nginx from the generated configuration, then talks to the proxy
as a browser's first visit does (``deploy/sessions.py``: Streamlit's websocket
protocol) and with plain HTTP.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import os
import re
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from artsim.store.collections import Collections
from artsim.store.tours import Tours, clean_step
from deploy import proxy, sessions
from tests.app_fixtures import app_environment, clean_environment

pytestmark = pytest.mark.slow


def _get(url: str, cookie: str = "", encoding: str = "gzip"):
    req = urllib.request.Request(url, headers={"Accept-Encoding": encoding, **({"Cookie": cookie} if cookie else {})})
    with urllib.request.urlopen(req, timeout=30) as reply:
        return reply.status, reply.headers, reply.read()


def _cookie_for(base: str, replica: str) -> str:
    """A sticky cookie the proxy sends to ``replica`` (host:port), found by asking for fresh ones."""
    for _ in range(40):
        _, headers, _ = _get(base + "/")
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        if headers[proxy.REPLICA_HEADER] == replica:
            return cookie
    raise AssertionError(f"no cookie led to {replica} in 40 tries")


def _view(base: str, page: str = "", query: str = "", cookie: str = "") -> sessions.View:
    ws = base.replace("http://", "ws://") + "/_stcore/stream"
    return asyncio.run(sessions.first_view(ws, page, query, cookie=cookie, collect_texts=True, timeout=90))


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    if not Path(proxy.NGINX).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's nginx is missing in CI: `make test` should have installed it")
        pytest.skip("Debian's nginx is not installed (apt-get install nginx-light)")
    root = tmp_path_factory.mktemp("deploy")
    env = clean_environment()
    env.update(app_environment(root), ARTSIM_UMAP_WARMUP="0")
    with proxy.cluster(2, env, log_dir=root) as running:
        yield running, env
    shutil.rmtree(root / "db", ignore_errors=True)


def test_the_proxy_compresses_the_bundle_and_caches_hashed_assets_for_a_year(deployed):
    running, _ = deployed
    _, _, page = _get(running.url + "/", encoding="identity")
    bundle = next(part.split('"')[0] for part in page.decode().split('src="./')[1:] if part.startswith("static/js/index."))
    plain = (proxy.streamlit_static_dir() / bundle).read_bytes()
    status, headers, body = _get(f"{running.url}/{bundle}")
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == plain and len(body) < len(plain) / 2
    assert "immutable" in headers["Cache-Control"] and "max-age=31536000" in headers["Cache-Control"]
    # The page itself: compressed on the fly, never cached (a new Streamlit would change its asset names).
    status, headers, body = _get(running.url + "/")
    assert headers.get("Content-Encoding") == "gzip" and b"static/js/index." in gzip.decompress(body)
    assert headers["Cache-Control"] == "no-cache"


def test_a_collection_and_a_tour_written_on_one_replica_open_read_only_on_the_other(deployed):
    running, env = deployed
    a, b = (r.removeprefix("http://") for r in running.replicas)
    to_a, to_b = _cookie_for(running.url, a), _cookie_for(running.url, b)
    first = _view(running.url, cookie=to_a)  # replica A has served the gallery (and embedded it)
    assert first.ok and first.replica == a, first

    # What A's pages call to write (the library, on A's store); replica B has its store open already.
    db = env["ARTSIM_DB"]
    collection, _token = Collections(db, uploads_dir=Path(env["ARTSIM_HOME"]) / "uploads").create("Lecture 3 <b>light</b>")
    tour, tour_token = Tours(db).create("Impressionism in 3 steps")
    Tours(db).add(tour.id, tour_token, clean_step("similarity", {"k": "5"}, "Look at the block of Monet"))

    shown = _view(running.url, query=f"collection={collection.id}", cookie=to_b)
    assert shown.ok and shown.replica == b, shown
    assert any(t.startswith("Collection: Lecture 3 <b>light</b> (shared, read-only) on Folder “gallery”")
               for t in shown.texts), shown.texts
    taken = _view(running.url, "tour", f"tour={tour.id}&step=1", cookie=to_b)
    assert taken.ok and taken.replica == b, taken
    joined = "\n".join(taken.texts)
    assert "Impressionism in 3 steps" in joined and "Look at the block of Monet" in joined, taken.texts


def test_a_websocket_and_its_pages_stay_on_one_replica(deployed):
    running, _ = deployed
    a, b = (r.removeprefix("http://") for r in running.replicas)
    to_b = _cookie_for(running.url, b)
    views = [_view(running.url, page, cookie=to_b) for page in ("", "similarity", "clustering")]
    assert all(v.ok for v in views), views
    assert {v.replica for v in views} == {b}
    for path in ("/", "/similarity", "/_stcore/health"):
        assert _get(running.url + path, cookie=to_b)[1][proxy.REPLICA_HEADER] == b
    # Without a cookie (a first visit each), sessions spread over both replicas.
    seen = {_get(running.url + "/")[1][proxy.REPLICA_HEADER] for _ in range(20)}
    assert seen == {a, b}


# ----------------------------------------------------------------------------- link previews
def _tags(page: str) -> dict[str, str]:
    import html

    return {name: html.unescape(value) for name, value in re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)" />', page)}


def test_a_share_link_fetched_like_an_unfurler_shows_preview_tags_and_boots_streamlit(deployed):
    running, env = deployed
    hostile = '"><script>alert(1)</script> Bo\'s & <b>class</b>'
    collection, token = Collections(env["ARTSIM_DB"], uploads_dir=Path(env["ARTSIM_HOME"]) / "uploads").create(hostile)
    link = f"{running.url}/clustering?collection={collection.id}&artists=Bo%20Red&model=efficientnet-lite0&edit={token}"
    status, headers, body = _get(link, encoding="identity")  # no cookie, no browser headers: a chat app's fetch
    page = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    tags = _tags(page)
    assert {"og:title", "og:description", "og:image", "og:url", "twitter:card"} <= tags.keys()
    assert tags["twitter:card"] == "summary_large_image"
    assert tags["og:title"].startswith("Clustering: ") and hostile[:40] in tags["og:title"]
    assert "Artists: Bo Red." in tags["og:description"] and "Model: efficientnet-lite0." in tags["og:description"]
    # Untrusted text is escaped everywhere; the private collection's edit token is nowhere.
    assert "<script>alert" not in page and "<b>class" not in page and token not in page
    # Streamlit boots from the same page: take the tags and the title out and it is Streamlit's index.html.
    index = (proxy.streamlit_static_dir() / "index.html").read_text()
    assert page.split("</head>", 1)[1] == index.split("</head>", 1)[1]
    head = page.split("</head>", 1)[0]
    assert all(line in head for line in index.split("</head>", 1)[0].splitlines() if "<title>" not in line)


def test_the_preview_image_is_a_mosaic_of_the_views_paintings(deployed):
    from PIL import Image

    from artsim.store.vectors import EmbeddingStore

    running, env = deployed
    page = _get(f"{running.url}/similarity?artists=Bo%20Red", encoding="identity")[2].decode()
    image_url = _tags(page)["og:image"]
    assert image_url.startswith(running.url + "/preview/")
    _view(running.url, cookie="")  # a first view starts the gallery's embedding (its thumbnails) if none has
    store, deadline = EmbeddingStore(env["ARTSIM_DB"]), time.monotonic() + 90
    while len(store.thumbnails([p.sha256 for p in _gallery(env)])) < len(_gallery(env)):
        assert time.monotonic() < deadline, "the replicas did not store the gallery's thumbnails"
        time.sleep(0.5)
    status, headers, body = _get(image_url)
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(body)) as im:
        assert im.format == "JPEG" and im.size == (1200, 630)
        cells = [im.crop((x * 200 + 20, 20, x * 200 + 180, 190)).convert("RGB") for x in range(4)]
    # Bo Red's three paintings (reddish), then the dark ground: the artist filter held.
    means = [tuple(int(v) for v in np.asarray(c).reshape(-1, 3).mean(0)) for c in cells]
    assert all(r > g + 60 and r > b + 60 for r, g, b in means[:3]), means
    assert max(means[3]) < 60, means
    assert _get(image_url)[2] == body  # cached: the same file again
    # A key that does not match its parameters is not rendered.
    assert _status(image_url.replace("artists=Bo+Red", "artists=Ada+Blue")) == 404


def _gallery(env: dict[str, str]):
    from artsim.inputs.collection import scan_folder

    return scan_folder(env["ARTSIM_GALLERY"]).paintings


def _status(url: str) -> int:
    try:
        return _get(url)[0]
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_printed_configuration_is_valid_nginx(tmp_path):
    """``python -m deploy.launch --print-config`` (systemd and Procfile use): nginx -t accepts it."""
    import subprocess
    import sys

    if not Path(proxy.NGINX).exists():
        pytest.skip("Debian's nginx is not installed (apt-get install nginx-light)")
    run = tmp_path / "nginx"
    conf = subprocess.run([sys.executable, "-m", "deploy.launch", "--port", str(proxy.free_port()), "--run-dir", str(run),
                           "--print-config", "8601,8602"], cwd=proxy.ROOT, capture_output=True, text=True, check=True).stdout
    assert "server 127.0.0.1:8601" in conf and "server 127.0.0.1:8602" in conf and "gzip_static on" in conf
    (run / "nginx.conf").write_text(conf)
    checked = subprocess.run([proxy.NGINX, "-t", "-c", str(run / "nginx.conf"), "-p", str(run), "-e", str(run / "error.log")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_every_page_of_the_router_has_a_preview_route():
    """``dashboard.previews.PAGES`` names the router's pages (a new page needs its preview too)."""
    from dashboard import previews

    router = (proxy.ROOT / "dashboard" / "router.py").read_text()
    pages = dict(re.findall(r'st\.Page\(PAGES_DIR / "\w+\.py", title="([^"]+)"[^)]*?url_path="(\w+)"', router))
    assert {v: k for k, v in pages.items()} | {"": "Gallery"} == previews.PAGES
