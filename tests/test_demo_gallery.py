"""The bundled demo gallery (issue 26): small files with complete credits, and an app that starts on it.

The app tests run with no ``ARTSIM_GALLERY``, a fresh ``ARTSIM_HOME`` and no
network (any connection beyond the loopback raises), as a first ``make run`` on a
machine without the internet.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from artsim.sources.gallery import DEMO_DIR, choose_gallery
from tests.app_fixtures import QUIET_BACKGROUND, clean_environment
from tests.helpers import SHARED_GALLERY
from tests.test_app import array

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "router.py")
MAX_FILE_BYTES = 200_000
MAX_TOTAL_BYTES = 3_500_000
CREDITS = ("artist", "title", "work", "source", "license")


def _metadata() -> list[dict[str, str]]:
    with (DEMO_DIR / "metadata.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_bundled_files_are_small_upright_jpegs_without_metadata():
    files = sorted(p for p in DEMO_DIR.rglob("*") if p.is_file() and p.name != "metadata.csv")
    assert len(files) == 45 and all(p.suffix == ".jpg" for p in files)
    sizes = {p.name: p.stat().st_size for p in files}
    assert max(sizes.values()) < MAX_FILE_BYTES, max(sizes.items(), key=lambda kv: kv[1])
    assert sum(sizes.values()) < MAX_TOTAL_BYTES
    for path in files:
        with Image.open(path) as im:
            assert im.format == "JPEG" and im.mode == "RGB" and max(im.size) <= 512, (path, im.size)
            assert not im.getexif() and "icc_profile" not in im.info and "comment" not in im.info, path


def test_every_bundled_painting_is_credited_and_copies_of_a_work_stay_marked():
    rows = _metadata()
    listed = {r["file"] for r in rows}
    on_disk = {p.relative_to(DEMO_DIR).as_posix() for p in DEMO_DIR.rglob("*.jpg")}
    assert listed == on_disk and len(rows) == 45
    missing = [(r["file"], c) for r in rows for c in CREDITS if not r[c].strip()]
    assert not missing, missing
    assert all(r["file"].split("/")[0] == r["artist"] for r in rows)
    assert len({r["artist"] for r in rows}) == 11
    works = Counter(r["work"] for r in rows)
    assert works["van-gogh-starry-night"] == 4 and works["munch-scream"] == 3
    assert all("public domain" in r["license"] for r in rows)


@pytest.mark.skipif(not (SHARED_GALLERY / "metadata.csv").is_file(), reason="../shared/gallery not present")
def test_bundled_paintings_are_reencoded_copies_of_the_shared_gallery():
    with (SHARED_GALLERY / "metadata.csv").open(newline="", encoding="utf-8") as fh:
        shared = list(csv.DictReader(fh))
    credits = {(r["artist"], r["title"], r["year"], r["work"], r["source"], r["license"]) for r in shared}
    assert {(r["artist"], r["title"], r["year"], r["work"], r["source"], r["license"]) for r in _metadata()} == credits
    originals = {r["sha256"] for r in shared}
    bundled = {hashlib.sha256(p.read_bytes()).hexdigest() for p in DEMO_DIR.rglob("*.jpg")}
    assert not originals & bundled, "a bundled file is a byte-copy of the shared gallery"


# ----------------------------------------------------------------------------- gallery choice
def test_gallery_choice_env_then_fetched_then_demo(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTSIM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ARTSIM_GALLERY", raising=False)
    demo = choose_gallery()
    assert (demo.kind, demo.folder) == ("demo", DEMO_DIR)
    assert demo.name(45, 11) == "Demo gallery: 45 paintings, 11 artists"
    assert "artsim gallery fetch" in demo.note()
    # A fetch writes metadata.csv once a painting is in: from then on the self-portraits.
    (tmp_path / "home" / "gallery").mkdir(parents=True)
    assert choose_gallery().kind == "demo"  # an empty folder left by a failed fetch is not a gallery
    (tmp_path / "home" / "gallery" / "metadata.csv").write_text("file,artist\n")
    fetched = choose_gallery()
    assert (fetched.kind, fetched.folder) == ("self-portraits", tmp_path / "home" / "gallery")
    assert fetched.name(1, 1) == "Self-portrait gallery: 1 painting, 1 artist"
    monkeypatch.setenv("ARTSIM_GALLERY", str(tmp_path / "mine" / "paintings"))
    chosen = choose_gallery()
    assert (chosen.kind, chosen.folder) == ("folder", tmp_path / "mine" / "paintings")
    assert chosen.name(9, 3) == "Folder “paintings”: 9 paintings, 3 artists" and str(tmp_path) not in chosen.name(9, 3)


def test_make_runs_line_says_which_gallery_and_how_to_get_the_self_portraits(tmp_path):
    """``artsim gallery which``, the line ``make run`` prints before starting the app."""
    env = clean_environment()
    env.update(ARTSIM_HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "artsim.cli", "gallery", "which"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Gallery: Demo gallery: 45 paintings, 11 artists. ")
    assert "artsim gallery fetch" in out.stdout and str(tmp_path) not in out.stdout


# ----------------------------------------------------------------------------- the app, offline
@pytest.fixture
def offline(monkeypatch):
    """Any connection to a host other than the loopback raises, as on a machine without the internet."""
    real_connect = socket.socket.connect

    def connect(sock, address):
        host = address[0] if isinstance(address, tuple) else ""
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"no network in this test (tried {address})")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    """The module's store: the AppTest's first start embeds into it, so the browser's server starts warm."""
    return tmp_path_factory.mktemp("demo") / "db"


@pytest.fixture
def first_start(tmp_path, monkeypatch, offline, demo_db):
    """A fresh home and store, no ARTSIM_GALLERY: the environment of a first ``make run``."""
    for key in [k for k in os.environ if k.startswith("ARTSIM_")]:
        monkeypatch.delenv(key)
    env = {**QUIET_BACKGROUND, "ARTSIM_HOME": str(tmp_path / "home"), "ARTSIM_DB": str(demo_db),
           "ARTSIM_MODEL": "efficientnet-lite0", "TORCH_HOME": str(tmp_path / "torch")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def _sidebar_texts(at: AppTest) -> list[str]:
    """The sidebar's texts and captions, except the "Not available here" expander of models.

    (That one still names where torchvision's cache would hold ResNet-50 weights: issue 21's message.)
    """
    models = {e.value for x in at.sidebar.expander if x.label.startswith("Not available here") for e in x.text}
    return [e.value for e in [*at.sidebar.text, *at.sidebar.caption] if e.value not in models]


def _plotly(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def test_the_sidebar_names_a_chosen_folder_and_its_skipped_files_without_server_paths(first_start, tmp_path,
                                                                                        monkeypatch):
    folder = tmp_path / "private" / "paintings"
    (folder / "Ada Blue").mkdir(parents=True)
    (folder / "Ada Blue" / "notes.txt").write_text("not a painting")  # the scan skips it
    monkeypatch.setenv("ARTSIM_GALLERY", str(folder))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    texts = _sidebar_texts(at) + [e.value for x in at.sidebar.expander if "skipped" in x.label for e in x.text]
    assert "Folder “paintings”: 0 paintings, 0 artists" in texts, texts
    assert any(t.startswith("Ada Blue/notes.txt: ") for t in texts), texts
    assert not any(str(tmp_path) in t for t in texts), texts


@pytest.mark.slow
def test_first_start_offline_shows_the_demo_gallery_then_every_page_works(first_start, tmp_path):
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    # First view: the embedding has only started, and the thumbnails are already there.
    assert at.get("progress"), "a fresh store embeds in the background with a progress bar"
    assert len(at.image) >= 40, len(at.image)
    assert any("45 paintings by 11 artists, being embedded" in c.value for c in at.caption)
    texts = _sidebar_texts(at)
    assert "Demo gallery: 45 paintings, 11 artists" in texts, texts
    assert any("artsim gallery fetch" in t for t in texts), texts
    assert not any(str(DEMO_DIR) in t or str(tmp_path) in t or "/tmp" in t for t in texts), texts

    deadline = time.monotonic() + 600
    while at.get("progress") and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
    assert not at.exception and not at.get("progress"), at.exception
    assert len(at.session_state["artsim_context"].frame) == 45
    assert len(at.image) >= 40 and all(i.proto.imgs[0].url for i in at.image)
    assert any("45 paintings by 11 artists, embedded with" in c.value for c in at.caption)

    at.switch_page("../pages/similarity.py").run()
    assert not at.exception, at.exception
    heat = _plotly(at)[0]["data"][0]
    assert heat["type"] == "heatmap" and array(heat["z"]).shape == (45, 45)
    at.switch_page("../pages/clustering.py").run()
    assert not at.exception, at.exception
    assert any(e.label.startswith("Cluster") for e in at.expander)
    at.switch_page("../pages/projection.py").run()
    assert not at.exception, at.exception
    assert at.metric[0].label == "Variance captured by the 3 axes"


# ----------------------------------------------------------------------------- the browser journey, offline
@pytest.mark.browser
@pytest.mark.slow
def test_browser_offline_shows_demo_thumbnails_and_similarity(tmp_path, demo_db):
    """``streamlit run`` as ``make run`` starts it: no ARTSIM_GALLERY, a fresh home, no network.

    The store is the one the AppTest above filled (a first start's embedding is checked there), so
    this server starts warm: the browser part costs a server and a page, not a second embedding.
    """
    from playwright.sync_api import sync_playwright

    from tests.app_fixtures import CHROMIUM, CHROMIUM_ARGS
    from tests.test_browser import _settle, streamlit_servers

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    env = {k: v for k, v in clean_environment().items() if "proxy" not in k.lower()}
    # Nothing beyond the loopback: any HTTP client honouring a proxy gets a closed local port.
    env.update({name: "http://127.0.0.1:9" for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")})
    env.update(no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost", ARTSIM_HOME=str(tmp_path / "home"),
               ARTSIM_DB=str(demo_db), ARTSIM_MODEL="efficientnet-lite0", TORCH_HOME=str(tmp_path / "torch"),
               ARTSIM_UMAP_WARMUP="0")
    with streamlit_servers(env, [tmp_path / "streamlit.log"]) as (base,), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(base, wait_until="domcontentloaded")
        page.get_by_role("heading", name="Gallery").wait_for(timeout=120_000)
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("Demo gallery: 45 paintings, 11 artists").wait_for(timeout=60_000)
        assert "artsim gallery fetch" in sidebar.inner_text()
        page.get_by_text("45 paintings by 11 artists").wait_for(timeout=60_000)
        page.locator('[data-testid="stImage"] img').nth(39).wait_for(timeout=60_000)  # at least 40 thumbnails
        _settle(page)  # every thumbnail loaded (and the embedding finished, when this test runs alone)
        images = page.locator('[data-testid="stMain"] [data-testid="stImage"] img')
        assert images.count() >= 40
        assert all(images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0") for i in range(40))
        assert not any(p in sidebar.inner_text() for p in (str(tmp_path), str(DEMO_DIR)))
        page.get_by_role("link", name="Similarity").click()
        page.get_by_role("heading", name="Similarity").wait_for()
        _settle(page)
        page.locator(".js-plotly-plot .heatmaplayer, .js-plotly-plot .hm").first.wait_for(timeout=60_000)
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()
