"""The map of paintings (issue 14.1) in headless Chromium: first draw and pan/zoom frames at 5,000 paintings.

Writes N small JPEGs (seeded colour fields, 50 artist folders) with a
metadata.csv, stores a synthetic vector and the thumbnail of each under
``efficientnet-lite0``'s fingerprint (through a handle: no model is loaded or
run), starts ``streamlit run streamlit_app.py`` on that gallery and opens the
Map page (``/map``) in Debian Chromium through Playwright:

* ``first_draw_s``: a new visitor (fresh browser context, nothing cached in the
  browser; the server already ran the page once) from navigation start until the
  sprite atlas has arrived and two animation frames have been drawn after it
  (timed in the page; the WebGL icon layer draws once its texture is made;
  ``first_draw.png`` shows the page just after). The very
  first visit on the fresh server (imports, projection, atlas packed and
  written) is printed too;
* ``frame_p50_ms``/``frame_p95_ms``: ``requestAnimationFrame`` intervals while
  the mouse drags the map (30 steps) and the wheel zooms in and out (16 steps);
* the sprite requests of a second visit (cached by the browser: 0 expected),
  a hover tooltip and a click selection (``1 selected``) as checks.

The baseline is the first version of the map (Plotly layout images, kept as
``artsim.figures.maps.thumbmap.thumbnail_map``) as a standalone page in the same browser
and run, measured the same way (first draw: Plotly's first layout plus two frames, page clock) at
``--baseline-n`` paintings (default 600, the old page's cap: past it drew dots).
A screenshot goes to ``test-artifacts/thumb_map/``. Last line::

    n=5000 first_draw_s=.. frame_p50_ms=.. frame_p95_ms=.. baseline_first_draw_s=.. baseline_frame_p50_ms=.. baseline_n=600

Usage: ``.venv/bin/python benchmarks/thumb_map.py [--n 5000] [--baseline-n 600]``
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ARTIFACTS = ROOT / "test-artifacts" / "thumb_map"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 900}

RAF_START = """() => { window.__frames = []; window.__stop = false; let last = performance.now();
  const tick = now => { window.__frames.push(now - last); last = now; if (!window.__stop) requestAnimationFrame(tick); };
  requestAnimationFrame(tick); }"""
RAF_STOP = "() => { window.__stop = true; return window.__frames.slice(1); }"
TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
TWO_FRAMES_AT = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"
# In the page, from its navigation start: the atlas has arrived and two frames have been drawn since.
DRAWN = """window.__drawn = null;
new PerformanceObserver(list => { for (const e of list.getEntries()) {
  if (e.name.includes('/sprites/') && window.__drawn === null) {
    window.__drawn = 0;
    requestAnimationFrame(() => requestAnimationFrame(() => { window.__drawn = performance.now(); }));
  } } }).observe({type: 'resource', buffered: true});"""
# Where a first draw's time went (ms from navigation start): deck.gl's chunk, the atlas request.
BREAKDOWN = """() => { const r = performance.getEntriesByType('resource');
  const deck = r.find(e => e.name.includes('DeckGlJsonChart')), s = r.find(e => e.name.includes('/sprites/'));
  return {deck_js_ms: deck ? deck.responseEnd : null, atlas_start_ms: s ? s.startTime : null,
          atlas_end_ms: s ? s.responseEnd : null, atlas_kb: s ? s.encodedBodySize / 1024 : null,
          drawn_ms: performance.now()}; }"""


def collection(folder: Path, n: int, seed: int = 0) -> None:
    """``n`` 64 x 48 JPEGs in 50 artist folders and a metadata.csv with a credit per painting."""
    rng = np.random.default_rng(seed)
    rows = ["file,artist,title,year,license"]
    for i in range(n):
        artist = f"Artist {i % 50:02d}"
        base = rng.integers(0, 256, 3)
        pixels = np.clip(base + rng.normal(0, 40, (48, 64, 3)).cumsum(axis=1) / 6, 0, 255).astype(np.uint8)
        path = folder / artist / f"p{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path, quality=80)
        rows.append(f"{artist}/p{i:05d}.jpg,{artist},Study {i},{1800 + i % 200},CC0 <synthetic> & co")
    (folder / "metadata.csv").write_text("\n".join(rows) + "\n")


def fill_store(folder: Path, db: str) -> int:
    """Store a vector (clustered by artist) and the thumbnail of every painting; returns the count."""
    from artsim.embedding import get_embedder
    from artsim.inputs.collection import scan_folder
    from artsim.store.vectors import EmbeddingStore

    handle = get_embedder("efficientnet-lite0")
    paintings = scan_folder(folder).paintings
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(50, handle.dim)) * 3
    vectors = np.stack([centres[int(p.artist.split()[1])] + rng.normal(size=handle.dim) for p in paintings])
    thumbs = [Path(p.path).read_bytes() for p in paintings]  # already thumbnail-sized JPEGs
    EmbeddingStore(db).add(paintings, vectors.astype(np.float32), handle, thumbs)
    return len(paintings)


class Server:
    """``streamlit run streamlit_app.py`` on a free 127.0.0.1 port."""

    def __init__(self, env: dict[str, str], log: Path):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"), "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
        )
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120:
            try:
                if urllib.request.urlopen(f"{self.base}/_stcore/health", timeout=2).status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("streamlit did not start: " + log.read_text()[-2000:])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def interact(page, box: dict) -> list[float]:
    """rAF intervals (ms) during a drag across the middle of ``box`` and wheel zooms in and out."""
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.evaluate(RAF_START)
    page.mouse.down()
    for i in range(30):
        page.mouse.move(cx - 150 + 10 * i, cy - 60 + 4 * i)
    page.mouse.up()
    for i in range(16):
        page.mouse.wheel(0, -120 if i < 8 else 120)
        page.wait_for_timeout(30)
    page.evaluate(TWO_FRAMES)
    return page.evaluate(RAF_STOP)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def first_visit(browser, base: str) -> float:
    """Seconds from the request to the map drawn, in a browser context with nothing cached."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    sprites: list[str] = []
    page.on("requestfinished", lambda r: sprites.append(r.url) if "/sprites/" in r.url else None)
    t0 = time.perf_counter()
    page.goto(f"{base}/map", wait_until="commit")
    page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=900_000)
    while not sprites:
        page.wait_for_timeout(20)
    page.evaluate(TWO_FRAMES)
    first = time.perf_counter() - t0
    context.close()
    return first


def measure_app(browser, base: str) -> dict:
    """A new visitor's first draw of the Map page, its frames, a second visit's sprite bytes, hover and click."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(DRAWN)
    page = context.new_page()
    sprites: list[str] = []
    page.on("requestfinished", lambda r: sprites.append(r.url) if "/sprites/" in r.url else None)
    page.goto(f"{base}/map", wait_until="commit")
    page.wait_for_function("() => window.__drawn > 0", timeout=600_000, polling=100)
    first = page.evaluate("() => window.__drawn") / 1000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "first_draw.png"))  # what "drawn" looked like (a little later)
    breakdown = page.evaluate(BREAKDOWN)
    chart = page.locator('[data-testid="stDeckGlJsonChart"]')
    box = chart.bounding_box()
    frames = interact(page, box)
    page.screenshot(path=str(ARTIFACTS / "map.png"))
    # hover and click at the middle of a fresh view (the map is dense there)
    page.reload(wait_until="commit")
    page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', timeout=120_000)
    page.wait_for_timeout(1500)
    box = chart.bounding_box()
    cached = page.evaluate("() => performance.getEntriesByType('resource').filter(e => e.name.includes('/sprites/'))"
                           ".map(e => e.transferSize)")
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    tip = ""
    for dx in range(0, 60, 6):
        page.mouse.move(cx + dx, cy + dx / 2)
        page.wait_for_timeout(150)
        tips = page.locator(".deck-tooltip")
        if tips.count() and tips.first.is_visible():
            tip = tips.first.inner_text()
            page.mouse.click(cx + dx, cy + dx / 2)
            break
    selected = ""
    if tip:
        t = time.perf_counter()
        try:
            page.wait_for_selector('h3:has-text("selected")', timeout=180_000)
            selected = (page.locator('h3:has-text("selected")').first.inner_text()
                        + f" after {time.perf_counter() - t:.1f} s")
        except Exception:  # noqa: BLE001 - reported below
            selected = "(no selection shown within 180 s)"
    context.close()
    return {"first": first, "frames": frames, "sprite_requests": len(sprites), "cached": cached, "breakdown": breakdown, "tip": tip, "selected": selected}


def _thumb(rng) -> str:
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(buf, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def measure_baseline(browser, n: int, tmp: Path) -> dict:
    """The Plotly layout-image map of ``n`` paintings as a standalone page, measured like the app."""
    from artsim.figures import export
    from artsim.figures.maps import thumbmap

    rng = np.random.default_rng(0)
    thumbs = [_thumb(rng) for _ in range(64)]
    thumbmap.MAX_THUMBNAILS = max(thumbmap.MAX_THUMBNAILS, n)  # every painting as an image
    fig = thumbmap.thumbnail_map(rng.normal(size=(n, 2)), [f"p{i}" for i in range(n)],
                                 [thumbs[i % 64] for i in range(n)])
    path = tmp / "baseline.html"
    path.write_bytes(export.figure_html(fig))
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(path.as_uri(), wait_until="commit")
    page.wait_for_function("() => document.querySelector('.plotly-graph-div')?._fullLayout", timeout=600_000)
    first = page.evaluate(TWO_FRAMES_AT) / 1000  # page clock: ms from navigation start
    frames = interact(page, page.locator(".plotly-graph-div .nsewdrag").first.bounding_box())
    page.close()
    return {"first": first, "frames": frames}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--baseline-n", type=int, default=600)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="artsim-map-", ignore_cleanup_errors=True) as name:
        tmp = Path(name)
        env = {**os.environ, "ARTSIM_HOME": str(tmp / "home"), "ARTSIM_DB": str(tmp / "db"),
               "ARTSIM_GALLERY": str(tmp / "gallery"), "ARTSIM_MODEL": "efficientnet-lite0",
               "ARTSIM_UMAP_WARMUP": "0", "PYTHONPATH": str(ROOT)}  # the map is PCA: no UMAP warm-up
        os.environ.update({k: env[k] for k in ("ARTSIM_HOME", "ARTSIM_DB")})
        t = time.perf_counter()
        collection(tmp / "gallery", args.n)
        stored = fill_store(tmp / "gallery", env["ARTSIM_DB"])
        print(f"{stored} paintings written and stored in {time.perf_counter() - t:.1f} s")
        server = Server(env, tmp / "streamlit.log")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                cold = first_visit(browser, server.base)
                from artsim.store.vectors import EmbeddingStore

                if len(EmbeddingStore(env["ARTSIM_DB"]).info()) != 1:
                    print("WARNING: the app embedded the paintings again (model fingerprint changed since filling)")
                print(f"first visit on a fresh server (imports, projection, atlas built): {cold:.2f} s")
                app = measure_app(browser, server.base)
                print("  new visitor's first draw, where the time went:",
                      ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in app["breakdown"].items()),
                      "(ms from navigation start)")
                print(f"deck.gl map, {stored} thumbnails: first draw {app['first']:.2f} s; frames "
                      f"p50 {pct(app['frames'], 50):.1f} ms, p95 {pct(app['frames'], 95):.1f} ms "
                      f"({len(app['frames'])} frames); sprite atlas requests: "
                      f"{app['sprite_requests']} (second visit's bytes transferred: {app['cached']}); hover: {app['tip']!r}; click: {app['selected']!r}")
                base = measure_baseline(browser, args.baseline_n, tmp)
                print(f"Plotly layout images (first version), {args.baseline_n} thumbnails: first draw "
                      f"{base['first']:.2f} s; frames p50 {pct(base['frames'], 50):.1f} ms, "
                      f"p95 {pct(base['frames'], 95):.1f} ms")
                browser.close()
        finally:
            server.stop()
        print(f"load average {os.getloadavg()[0]:.1f}")
        print(f"n={stored} first_draw_s={app['first']:.2f} frame_p50_ms={pct(app['frames'], 50):.1f} "
              f"frame_p95_ms={pct(app['frames'], 95):.1f} baseline_first_draw_s={base['first']:.2f} "
              f"baseline_frame_p50_ms={pct(base['frames'], 50):.1f} baseline_n={args.baseline_n}")


if __name__ == "__main__":
    main()
