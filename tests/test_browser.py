"""One real-browser journey: `streamlit run` on a free port, Debian Chromium driven by Playwright.

Clicks through every page, changes linkage and projection, opens the share link
in a fresh browser context and checks the same view comes back. Screenshots go
to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from artsim.figures.export import read_csv_bytes
from tests.app_fixtures import ARTISTS, CHROMIUM, clean_environment, jpeg_bytes, make_collection

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "browser"


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
    # last run's screenshots go; another worker may be writing its own here meanwhile (regression:
    # FileNotFoundError when a file vanished under rmtree), so a missing file is no error
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    root = tmp_path_factory.mktemp("browser")
    env = clean_environment()
    env.update(
        ARTSIM_HOME=str(root / "home"), ARTSIM_DB=str(root / "db"), ARTSIM_MODEL="efficientnet-lite0",
        ARTSIM_GALLERY=str(make_collection(root / "gallery")), TORCH_HOME=str(root / "torch"),
        # No UMAP warm-up child: the journey's one UMAP compiles in the server when asked (its
        # wait message is part of the journey); the warm-up itself is timed by app_latency.py
        # and its child by tests/test_startup.py. Saves a compile's CPU on a 2-core run.
        ARTSIM_UMAP_WARMUP="0",
    )
    return env, root


@pytest.fixture(scope="module")
def server(server_env):
    env, root = server_env
    with streamlit_servers(env, [root / "streamlit.log"]) as (base,):
        yield base


#: Resolves true once Streamlit is idle (no run, no status widget, no stale element left, no
#: embedding progress bar -- the Tour page's step bar is not one --, every chart drawn and every
#: frame loaded) and the DOM has not changed for ``quietMs`` (figures drawn);
#: false after ``maxMs``. A click sets the app's script state to "rerunRequested" at once, so a
#: rerun about to start is never taken for idle.
SETTLE_JS = """([quietMs, maxMs]) => new Promise(resolve => {
  const busy = () => !document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    || document.querySelector('[data-testid="stStatusWidget"], [data-testid="stElementContainer"][data-stale="true"]')
    || [...document.querySelectorAll('[data-testid="stProgress"]')].some(p => p.textContent.includes('Embedding'))
    || document.querySelector('[data-testid="stSkeleton"], [data-testid="stSkeletonElement"]')
    || [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].some(c => !c.querySelector('.main-svg'))
    || [...document.querySelectorAll('iframe')].some(f => {
         try { return f.contentDocument.readyState !== 'complete'; } catch (e) { return false; } });
  let timer = null;
  const done = ok => { observer.disconnect(); clearTimeout(timer); clearTimeout(deadline); resolve(ok); };
  const check = () => busy() ? restart() : done(true);
  const restart = () => { clearTimeout(timer); timer = setTimeout(check, quietMs); };
  const observer = new MutationObserver(restart);
  const deadline = setTimeout(() => done(false), maxMs);  // even if the DOM never stops changing
  observer.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
  restart();
})"""


def _settle(page, quiet_ms: int = 250) -> None:
    """Wait until Streamlit has finished the current run (and any background embedding) and the page is still."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    # a first model load takes minutes on a busy machine (the progress fragment redraws meanwhile)
    assert page.evaluate(SETTLE_JS, [quiet_ms, 300_000]), "the page never settled"


_last_shot = [time.monotonic()]


def _shot(page, name: str, *, whole: bool = False) -> None:
    """Save a screenshot; ``whole``: grow the viewport to the page's height first (Streamlit scrolls
    its main area, which a full-page screenshot does not unroll). Each shot's seconds since the
    previous one go to ``timings.tsv`` beside the screenshots."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if whole:
        height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight ?? 0")
        if height > page.viewport_size["height"]:
            page.set_viewport_size({"width": page.viewport_size["width"], "height": height})
            _settle(page)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    now = time.monotonic()
    with open(ARTIFACTS / "timings.tsv", "a") as out:
        out.write(f"{name}\t{now - _last_shot[0]:.1f}\n")
    _last_shot[0] = now


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
    page.get_by_role("combobox", name=label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def _export_the_selection_as_csv(page, root: Path) -> None:
    """Issue 14.2/14.6: the sidebar's export gives the selection as CSV; read it back."""
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary', has_text="Export").click()
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Selection as CSV (9 paintings)").click()
    assert download.value.suggested_filename == "artsim-efficientnet-lite0-9.csv"
    table = read_csv_bytes(Path(download.value.path()).read_bytes())
    files = sorted((root / "gallery").glob("*/*.jpg"))
    assert sorted(table["sha256"]) == sorted(hashlib.sha256(f.read_bytes()).hexdigest() for f in files)
    assert sorted(zip(table["artist"], table["title"], strict=True)) == sorted(
        (artist, f"Study {i + 1}") for artist in ARTISTS for i in range(3))
    assert set(table["model"]) == {"efficientnet-lite0"} and len({len(v) for v in table["vector"]}) == 1
    _shot(page, "03b-export-selection-csv")


def _build_a_tour_and_take_it(page, browser) -> None:
    """Issue 14.5/14.6: a teacher builds a 2-step tour; its link plays it read-only with next/previous."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Tour").click()
    page.get_by_role("heading", name="Tour").wait_for()
    _settle(page)
    page.get_by_role("textbox", name="Title").fill("Week 3: who looks like whom?")
    page.get_by_role("button", name="Start a tour").click()
    page.get_by_text("send this one").wait_for(timeout=60_000)
    _settle(page)
    steps = (("Similarity", "Which two paintings look most alike?"), ("Clustering", "Why does Ward group these?"))
    for i, (target, caption) in enumerate(steps):
        _choose(page, "Page", target)
        _settle(page)
        box = page.get_by_role("textbox", name="Caption or question")
        box.fill(caption)
        box.press("Control+Enter")  # a text area sends its value on blur or Ctrl+Enter
        _settle(page)
        page.get_by_role("button", name="Add step").click()
        page.get_by_text(f"{i + 1}. {target}: {caption}").wait_for(timeout=60_000)
        _settle(page)
    page.get_by_text("2 steps · yours, editable").wait_for()
    _no_exception(page)
    _shot(page, "12-tour-built")
    builder = page.locator('[data-testid="stExpander"]', has_text="send this one")
    link = builder.locator('[data-testid="stCode"]').first.inner_text().strip()
    assert "/tour?tour=" in link and "edit" not in link, link

    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
    student = fresh.new_page()
    student.goto(link, wait_until="domcontentloaded")
    student.get_by_text("Step 1 of 2").wait_for(timeout=120_000)
    _settle(student)
    student.get_by_text("2 steps · read-only").wait_for()
    student.get_by_text(steps[0][1]).wait_for()
    assert student.get_by_text("Build this tour").count() == 0 and student.get_by_text("Add step").count() == 0
    assert student.get_by_role("button", name="Previous").is_disabled()
    _no_exception(student)
    _shot(student, "13-tour-step-1-read-only")
    student.get_by_role("button", name="Next").click()
    student.get_by_text("Step 2 of 2").wait_for(timeout=60_000)
    _settle(student)
    student.get_by_text(steps[1][1]).wait_for()
    assert student.get_by_role("button", name="Next").is_disabled() and "step=2" in student.url
    _shot(student, "14-tour-step-2")
    student.get_by_role("button", name="Previous").click()
    student.get_by_text("Step 1 of 2").wait_for(timeout=60_000)
    _settle(student)
    assert "step=1" in student.url
    href = student.get_by_role("link", name="Open this view: Similarity").get_attribute("href")
    assert "similarity" in href, href  # the step's page (its parameters: AppTests of the Tour page)
    _no_exception(student)
    fresh.close()


def test_journey_through_every_page_and_a_share_link(server, browser, server_env):
    server_root = server_env[1]
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

    # "Why are these two similar?" (issue 13.4): the nearest strip has a link per painting, and a click
    # on a heatmap cell (row 1, column 8: two paintings) offers one for that cell's pair.
    page.get_by_role("link", name="why?").nth(4).wait_for(timeout=60_000)
    assert page.get_by_role("link", name="why?").count() == 5
    cells = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    x, y = cells["x"] + cells["width"] * 7.5 / 9, cells["y"] + cells["height"] * 0.5 / 9
    page.mouse.move(x, y)
    hover = page.locator(".js-plotly-plot .hoverlayer").first
    assert "cosine similarity" in hover.text_content() and "why are these two similar" in hover.text_content()
    page.mouse.click(x, y)
    pair_link = page.get_by_role("link", name="Why are these two similar?")
    pair_link.wait_for(timeout=60_000)
    _settle(page)
    _no_exception(page)
    _shot(page, "02a-similarity-heatmap-cell-why")
    pair_link.click()
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
    _export_the_selection_as_csv(page, server_root)
    _build_a_tour_and_take_it(page, browser)

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
    # An unknown sub-path gets the app's "page not found" with a way back (a fresh server's
    # first request to one is checked at / and /common below).
    student.goto(f"{server}/clustering/extra", wait_until="domcontentloaded")
    _app_navigation(student)
    student.get_by_text("there is no page at /clustering/extra", exact=False).wait_for(timeout=60_000)
    student.get_by_role("link", name="Back to the Gallery").wait_for(timeout=30_000)
    _no_exception(student)
    # A page script under its file name (pages/atlas.py is listed as /map): Streamlit's legacy
    # pages/ discovery never routes it, the router answers.
    student.goto(f"{server}/atlas", wait_until="domcontentloaded")
    student.get_by_text("there is no page at /atlas", exact=False).wait_for(timeout=60_000)
    _no_exception(student)
    reader.close()
    context.close()


#: Every page by its navigation title and heading (the Map page: only "opens without exception").
NARROW_PAGES = (
    ("Gallery", "Gallery"), ("Similarity", "Similarity"), ("Clustering", "Clustering"),
    ("Projection", "Projection"), ("Map", None), ("Walk", "Walk between paintings"),
    ("Compare models", "Compare models"), ("Why similar?", "Why are these two similar?"), ("Tour", "Tour"),
    ("Add paintings", "Add paintings"),
)
#: Per page: every Plotly figure and iframe whose box leaves its element container, and whether
#: anything scrolls sideways (the document or Streamlit's main area).
OVERFLOW_JS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('.js-plotly-plot .main-svg, iframe')) {
    const box = el.getBoundingClientRect();
    const holder = el.closest('[data-testid="stElementContainer"]');
    if (!holder || box.width === 0) continue;
    const c = holder.getBoundingClientRect();
    if (box.left < c.left - 1 || box.right > c.right + 1) out.push(`${el.className.baseVal ?? el.tagName}: `
      + `${Math.round(box.left)}-${Math.round(box.right)} outside ${Math.round(c.left)}-${Math.round(c.right)}`);
  }
  for (const el of [document.documentElement, document.querySelector('[data-testid="stMain"]'),
                    document.querySelector('[data-testid="stAppViewContainer"]')]) {
    if (el && el.scrollWidth > el.clientWidth + 1) out.push(`${el.dataset?.testid ?? el.tagName} scrolls sideways: `
      + `${el.scrollWidth} > ${el.clientWidth}`);
  }
  return out;
}"""


def test_every_page_at_1024_px_has_nothing_clipped(server, browser):
    """Issue 9: every page at 1,024 px wide: screenshots, no figure wider than its container, no sideways scroll."""
    context = browser.new_context(viewport={"width": 1024, "height": 900})
    page = context.new_page()
    page.goto(server, wait_until="domcontentloaded")
    nav = page.locator('[data-testid="stSidebarNav"]')
    problems = {}
    for i, (title, heading) in enumerate(NARROW_PAGES):
        if i:  # the first page is the Gallery the server opens on
            nav.get_by_role("link", name=title).click()
        if heading is not None:
            page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
        _settle(page)
        _no_exception(page)
        _shot(page, f"20-1024px-{i:02d}-{title.lower().replace(' ', '-').strip('?')}", whole=True)
        if found := page.evaluate(OVERFLOW_JS):
            problems[title] = found
    assert not problems, problems
    context.close()


FRESH_PATHS = ("/", "/common")  # and /clustering, the journey's first request


@pytest.fixture(scope="module")
def fresh_servers(server_env, server):
    """One fresh server per path in FRESH_PATHS, started together after the journey's (warm store)."""
    env, root = server_env
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
