"""One real-browser journey: `streamlit run` on a free port, Debian Chromium driven by Playwright.

Clicks through every page, changes linkage and projection, opens the share link
in a fresh browser context and checks the same view comes back. Screenshots go
to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.app_fixtures import jpeg_bytes, make_collection

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def streamlit_servers(env: dict[str, str], log_paths: list[Path]):
    """`streamlit run streamlit_app.py` once per log path, started together on free ports.

    Yields the base URLs once every server answers its health check.
    """
    with contextlib.ExitStack() as stack:
        procs, bases = [], []
        for log_path in log_paths:
            port = _free_port()
            log = stack.enter_context(open(log_path, "w"))
            proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
                 "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
            stack.callback(proc.wait, timeout=20)
            stack.callback(proc.terminate)
            procs.append(proc)
            bases.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 90
        for base, log_path in zip(bases, log_paths, strict=True):
            while True:
                try:
                    if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).status == 200:
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail("streamlit did not start: " + log_path.read_text()[-2000:])
                    time.sleep(0.5)
        yield bases


@pytest.fixture(scope="module")
def server_env(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing in CI: `make test` should have installed it")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    root = tmp_path_factory.mktemp("browser")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSIM_")}
    env.update(
        ARTSIM_HOME=str(root / "home"), ARTSIM_DB=str(root / "db"), ARTSIM_MODEL="efficientnet-lite0",
        ARTSIM_GALLERY=str(make_collection(root / "gallery")), TORCH_HOME=str(root / "torch"),
    )
    return env, root


@pytest.fixture(scope="module")
def server(server_env):
    env, root = server_env
    with streamlit_servers(env, [root / "streamlit.log"]) as (base,):
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _settle(page) -> None:
    """Wait until Streamlit has finished the current run and no background embedding is shown."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    quiet = "() => !document.querySelector('[data-testid=\"stStatusWidget\"], [data-testid=\"stProgress\"]')"
    for _ in range(10):  # quiet, and still quiet a moment later (the progress fragment redraws itself)
        page.wait_for_function(quiet, timeout=300_000)  # a first model load: minutes on a busy machine
        page.wait_for_timeout(1000)
        if page.evaluate(quiet):
            break


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _app_navigation(page) -> str:
    """The sidebar navigation's text as soon as it is drawn (the first thing a visitor sees)."""
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.wait_for(timeout=60_000)
    text = nav.inner_text()
    # The router's own titles, never Streamlit's legacy list of pages/ files (`common`, `gallery`...).
    assert "Add paintings" in text and "Compare models" in text, text
    assert not {"common", "gallery", "similarity", "streamlit app"} & {line.strip() for line in text.splitlines()}, text
    return text


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]'
    ).first.inner_text()




def _choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the Streamlit selectbox labelled ``label``."""
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_journey_through_every_page_and_a_share_link(server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    # A fresh server's first request is a deep link (regression: it used to skip the router).
    page.goto(f"{server}/clustering?k=3", wait_until="domcontentloaded")
    _app_navigation(page)
    _shot(page, "00-fresh-server-clustering-first-view")
    page.get_by_role("heading", name="Clustering").wait_for(timeout=120_000)
    # The model embeds in the background (progress bar), then the page reruns with the clusters.
    page.get_by_text("Cluster 3:").wait_for(timeout=300_000)
    _settle(page)
    assert page.get_by_text("Cluster 3:").count() == 1 and page.get_by_text("Cluster 4:").count() == 0
    _no_exception(page)
    page.get_by_role("link", name="Gallery").click()
    page.get_by_role("heading", name="Gallery").wait_for(timeout=60_000)
    _settle(page)
    assert page.get_by_text("Page not found").count() == 0
    page.get_by_text("9 paintings by 3 artists").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stImage"] img').count() >= 9
    _no_exception(page)
    _shot(page, "01-gallery")

    page.get_by_role("link", name="Similarity").click()
    page.get_by_role("heading", name="Similarity").wait_for()
    _settle(page)
    page.locator(".js-plotly-plot .heatmaplayer, .js-plotly-plot .hm").first.wait_for(timeout=60_000)
    _no_exception(page)
    _shot(page, "02-similarity")

    # "Why are these two similar?": the first nearest painting's link opens the pair's explanation
    page.get_by_role("link", name="why?").first.click()
    page.get_by_role("heading", name="Why are these two similar?").wait_for(timeout=60_000)
    page.wait_for_url("**/explain?**", timeout=30_000)
    assert "a=" in page.url and "b=" in page.url
    _settle(page)
    page.locator(".js-plotly-plot .heatmaplayer, .js-plotly-plot .hm").nth(1).wait_for(timeout=60_000)
    _no_exception(page)
    _shot(page, "02b-explain-pair")

    page.get_by_role("link", name="Clustering").click()
    page.get_by_role("heading", name="Clustering").wait_for()
    _settle(page)
    _choose(page, "Linkage", "ward")
    page.wait_for_url("**linkage=ward**", timeout=30_000)
    _settle(page)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    assert page.get_by_text("Cluster 1").count() >= 1
    _no_exception(page)
    _shot(page, "03-clustering-ward")

    page.get_by_role("link", name="Projection").click()
    page.get_by_role("heading", name="Projection").wait_for()
    _settle(page)
    page.get_by_text("UMAP", exact=True).click()
    page.wait_for_url("**projection=umap**", timeout=30_000)
    _settle(page)
    frame = page.frame_locator("iframe").first
    frame.locator(".js-plotly-plot .gl-container canvas").first.wait_for(state="attached", timeout=120_000)
    frame.locator(".js-plotly-plot .legend").first.wait_for(timeout=30_000)
    legend = frame.locator(".js-plotly-plot .legend").first.text_content()
    assert all(name in legend for name in ("Ada Blue", "Bo Red", "Cy Green")), legend
    _no_exception(page)
    _shot(page, "04-projection-umap")

    link = page.url
    assert "linkage=ward" in link and "projection=umap" in link
    page.get_by_text("Share this view").click()
    shown = page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first.inner_text().strip()
    assert shown.startswith(f"{server}/projection?") and "linkage=ward" in shown and "projection=umap" in shown
    link = shown  # open the link the app offers for copying

    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
    other = fresh.new_page()
    other.goto(link, wait_until="domcontentloaded")
    other.get_by_role("heading", name="Projection").wait_for(timeout=120_000)
    _settle(other)
    assert other.get_by_role("radio", name="UMAP").is_checked()
    other.frame_locator("iframe").first.locator(".js-plotly-plot .legend").first.wait_for(timeout=120_000)
    _no_exception(other)
    _shot(other, "05-shared-link")
    other.get_by_role("link", name="Clustering").click()
    other.get_by_role("heading", name="Clustering").wait_for()
    _settle(other)
    assert other.get_by_role("combobox", name="Linkage").input_value() == "ward"
    _shot(other, "06-shared-link-clustering")
    fresh.close()

    # Uploads: 3 images for a new artist, one broken -> 2 added, 1 rejected with its reason.
    page.get_by_role("link", name="Add paintings").click()
    page.get_by_role("heading", name="Add paintings").wait_for()
    _settle(page)
    page.get_by_role("textbox", name="Artist", exact=True).fill("Dee Yellow")
    good = [jpeg_bytes((230, 200, 40)), jpeg_bytes((240, 215, 30), (90, 70))]
    page.locator('[data-testid="stFileUploader"] input[type=file]').set_input_files([
        {"name": "me1.jpg", "mimeType": "image/jpeg", "buffer": good[0]},
        {"name": "me2.jpg", "mimeType": "image/jpeg", "buffer": good[1]},
        {"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": good[0][:150]},
    ])
    page.get_by_text("broken.jpg").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Add to collection").click()
    page.get_by_text("2 added, 0 duplicate, 1 rejected").wait_for(timeout=120_000)
    _settle(page)
    assert "collection=" in page.url and "edit=" not in page.url
    _no_exception(page)
    _shot(page, "07-upload-results")

    page.get_by_role("link", name="Projection").click()
    page.get_by_role("heading", name="Projection").wait_for()
    _settle(page)
    page.get_by_text("Uploads (diamonds) are placed into the existing map").wait_for(timeout=60_000)
    legend = page.frame_locator("iframe").first.locator(".js-plotly-plot .legend").first
    legend.wait_for(timeout=60_000)
    assert "Dee Yellow (uploaded)" in legend.text_content()  # their artist's colour, a diamond marker
    _shot(page, "08-projection-with-uploads")
    shared = page.url

    reader = browser.new_context(viewport={"width": 1400, "height": 1000})
    student = reader.new_page()
    student.goto(shared.replace("/projection", "/upload"), wait_until="domcontentloaded")
    student.get_by_role("heading", name="Add paintings").wait_for(timeout=120_000)
    _settle(student)
    student.get_by_text("shared, read-only collection").wait_for(timeout=30_000)
    student.get_by_role("textbox", name="Artist", exact=True).wait_for(timeout=30_000)
    assert student.get_by_text("Edit link").count() == 0
    _no_exception(student)
    _shot(student, "09-shared-collection-read-only")
    student.get_by_role("link", name="Gallery").click()
    student.get_by_text("Dee Yellow (2)").wait_for(timeout=60_000)
    _shot(student, "10-shared-collection-gallery")
    reader.close()
    context.close()


FRESH_PATHS = ("/", "/common", "/clustering/extra")


@pytest.fixture(scope="module")
def fresh_servers(server_env, server):
    """One fresh server per path in FRESH_PATHS, started together after the journey's (warm store)."""
    env, root = server_env
    env = {**env, "ARTSIM_UMAP_WARMUP": "0"}  # no UMAP here: keep the CPUs for the pages
    logs = [root / f"streamlit-fresh-{i}.log" for i in range(len(FRESH_PATHS))]
    with streamlit_servers(env, logs) as bases:
        yield dict(zip(FRESH_PATHS, bases, strict=True))


@pytest.mark.parametrize("path", FRESH_PATHS)
def test_a_fresh_server_shows_the_app_navigation_first(fresh_servers, browser, path):
    """A fresh server opened at ``path``: the app's navigation on the first screen, then the page."""
    name = path.strip("/").replace("/", "-") or "root"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{fresh_servers[path]}{path}", wait_until="domcontentloaded")
    _app_navigation(page)
    _shot(page, f"11-fresh-server-{name}-first-view")
    page.get_by_role("heading", name="Gallery").wait_for(timeout=120_000)
    if path != "/":
        page.get_by_text(f"there is no page at {path}", exact=False).wait_for(timeout=60_000)
        page.get_by_role("link", name="Back to the Gallery").wait_for(timeout=30_000)
    _no_exception(page)
    context.close()
