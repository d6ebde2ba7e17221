"""What a visitor waits for: the app in a real browser, from server start to settled reruns.

Starts ``streamlit run streamlit_app.py`` on a free 127.0.0.1 port with a fresh
``ARTSIM_HOME`` in a temp folder and drives Debian Chromium with Playwright:

* ``cold_first_view_s``: process start (empty cache) to the Gallery showing its
  first thumbnail (since issue 26 the Gallery shows thumbnails made from the files
  while the first embedding runs, so this no longer waits for the model);
* ``new_visitor_first_view_s``: a new browser on the running server, once it has
  finished its start-up work (embedding, the UMAP warm-up: the machine's CPUs idle
  for 3 s), from the request to the first thumbnail; the same right after the cold
  start, while that work still runs, is printed on a line of its own;
* ``warm_first_view_s``: a restarted server process on the same home (every
  vector cached), process start to the first thumbnail;
* ``rerun_p50_s``: median of widget changes (Similarity centring, Clustering k,
  Projection colour) from the input event until the script run has finished
  (``[data-testid="stStatusWidget"]`` gone, the app's script state back to
  not running) and the page has been still for 300 ms (time of the last DOM change);
* ``umap_first_s``: first UMAP once the warm server has been up 60 s;
* ``projection_rerun_kb``: websocket bytes received during one Projection
  rerun (a colour change); ``plotly_js_fetches`` counts plotly.js downloads
  over the whole visit (the 3-D map should fetch it once).

Baseline, same run and browser: a new visitor's first view of a bare Streamlit
page (a title and one thumbnail, nothing else), the floor that Streamlit's own
front end sets on this machine; printed with the ratio of artsim's new visitor
to it (``--no-baseline`` skips it).

With ``--screenshots`` it saves every page at 1,024 and 1,400 px wide into
``test-artifacts/app_latency/``. The last line is exactly
``n=<N> new_visitor_first_view_s=<..> warm_first_view_s=<..> cold_first_view_s=<..>
rerun_p50_s=<..> umap_first_s=<..> projection_rerun_kb=<..>``.

Usage::

    python benchmarks/app_latency.py --gallery ../shared/gallery [--screenshots]
    python benchmarks/app_latency.py --generate 1000   # re-encoded, cropped, recoloured gallery images
"""

from __future__ import annotations

import argparse
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "app_latency"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff"}
FIRST_VIEW = '[data-testid="stMain"] [data-testid="stImage"] img'

# Records when the app's script starts and stops running and when the DOM last changed.
INIT_SCRIPT = """
window.__lastMut = performance.now(); window.__runs = [];
new MutationObserver(function (muts) {
  window.__lastMut = performance.now();
  for (var i = 0; i < muts.length; i++) {
    var m = muts[i];
    if (m.type === 'attributes' && m.attributeName === 'data-test-script-state') {
      window.__runs.push([m.target.getAttribute('data-test-script-state'), performance.now()]);
    }
  }
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""
SETTLED = """([t0, quiet]) => {
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') === 'running') return false;
  const ran = window.__runs.some(r => r[1] >= t0 && r[0] === 'running');
  const waited = performance.now() - t0 > 3000;  // a run too quick to be seen running
  return (ran || waited) && performance.now() - window.__lastMut > quiet;
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def generate_collection(src: Path, dest: Path, n: int, seed: int = 0) -> Path:
    """``n`` images made from the gallery's: cropped 70-95 %, recoloured, re-encoded as JPEG
    (quality 70-92), as ``<dest>/<artist>/<stem>-<i>.jpg``."""
    from PIL import Image, ImageEnhance

    files = sorted(p for p in src.rglob("*") if p.suffix.lower() in IMAGE_EXTS and p.parent != src)
    rng = random.Random(seed)
    for i in range(n):
        path = files[i % len(files)]
        with Image.open(path) as im:
            im = im.convert("RGB")
            im.thumbnail((900, 900))
            w, h = im.size
            f = rng.uniform(0.7, 0.95)
            cw, ch = int(w * f), int(h * f)
            x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
            im = im.crop((x, y, x + cw, y + ch))
            im = ImageEnhance.Color(im).enhance(rng.uniform(0.6, 1.4))
            im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.85, 1.15))
            out = dest / path.parent.name / f"{path.stem}-{i}.jpg"
            out.parent.mkdir(parents=True, exist_ok=True)
            im.save(out, "JPEG", quality=rng.randint(70, 92))
    return dest


#: The baseline: a bare Streamlit page with a title and one thumbnail-sized JPEG.
BARE_APP = """import base64, io
import streamlit as st
from PIL import Image
buf = io.BytesIO()
Image.new("RGB", (160, 200), (180, 140, 90)).save(buf, "JPEG")
st.title("Gallery")
st.image("data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode(), width=160)
"""


class Server:
    """``streamlit run`` on a free port; ``start`` returns the process start time."""

    def __init__(self, env: dict[str, str], log: Path, script: Path = ROOT / "streamlit_app.py"):
        self.env, self.log, self.proc, self.base, self.script = env, log, None, "", script
        self.healthy_s = float("nan")

    def start(self) -> float:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(self.script),
             "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=self.env, stdout=open(self.log, "a"), stderr=subprocess.STDOUT,  # noqa: SIM115
        )
        while time.monotonic() - t0 < 120:
            try:
                if urllib.request.urlopen(f"{self.base}/_stcore/health", timeout=2).status == 200:
                    self.healthy_s = time.monotonic() - t0
                    return t0
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("streamlit did not start: " + self.log.read_text()[-2000:])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None


# Where a first view's time went, in ms from the page's navigation start (browser clock).
BREAKDOWN = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const js = res.filter(r => r.name.endsWith('.js'));
  const imgs = res.filter(r => r.initiatorType === 'img');
  const end = xs => xs.length ? Math.max(...xs.map(r => r.responseEnd)) : NaN;
  const first = document.querySelector('[data-testid="stMain"] [data-testid="stImage"] img');
  return {html: nav ? nav.responseEnd : NaN, dom: nav ? nav.domContentLoadedEventEnd : NaN,
          js: end(js), js_n: js.length, ws_first: window.__wsFirst || NaN, ws_last: window.__wsLast || NaN,
          ws_n: window.__wsCount || 0, ws_kb: (window.__wsBytes || 0) / 1024, img_dom: window.__imgInDom || NaN,
          img_first: imgs.length ? Math.min(...imgs.map(r => r.responseEnd)) : NaN, img_n: imgs.length,
          shown: performance.now()};
}"""
WS_SCRIPT = """
(function () {
  const Orig = window.WebSocket;
  window.WebSocket = function (...args) {
    const ws = new Orig(...args);
    window.__wsOpen = performance.now();
    window.__wsBytes = 0; window.__wsCount = 0;
    ws.addEventListener('message', (e) => {
      const now = performance.now();
      if (!window.__wsFirst) window.__wsFirst = now;
      window.__wsLast = now; window.__wsCount += 1;
      window.__wsBytes += e.data.byteLength || e.data.size || e.data.length || 0;
    });
    new MutationObserver(() => {
      if (!window.__imgInDom && document.querySelector('[data-testid="stMain"] [data-testid="stImage"] img'))
        window.__imgInDom = performance.now();
    }).observe(document, {subtree: true, childList: true});
    return ws;
  };
  window.WebSocket.prototype = Orig.prototype;
  Object.assign(window.WebSocket, Orig);
})();
"""


def first_view(
    browser, url: str, t0: float, *, timeout_s: float = 600, breakdown: dict | None = None
) -> tuple[float, object]:
    """Seconds from ``t0`` until a new browser shows the Gallery's first thumbnail at ``url``.

    With ``breakdown`` (a dict), fills it with the browser's timings of that view (ms from
    navigation start: HTML, JS bundle, first websocket message, first image, shown).
    """
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    if breakdown is not None:
        ctx.add_init_script(WS_SCRIPT)
    page = ctx.new_page()
    page.goto(url, wait_until="commit")
    shown = page.locator(f'{FIRST_VIEW}, [data-testid="stException"]').first
    shown.wait_for(state="visible", timeout=timeout_s * 1000)
    elapsed = time.monotonic() - t0
    if page.locator('[data-testid="stException"]').count():
        raise RuntimeError("the app failed: " + page.locator('[data-testid="stException"]').first.inner_text())
    if breakdown is not None:
        breakdown.update(page.evaluate(BREAKDOWN))
    return elapsed, ctx


def wait_until_idle(quiet_s: float = 3.0, busy_below: float = 0.15, max_s: float = 300.0) -> float:
    """Wait until the machine's CPUs have been at least ``1 - busy_below`` idle for ``quiet_s``
    (the server has finished embedding and warming up); returns the seconds waited."""
    def times() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # all, idle + iowait

    t0 = quiet_since = time.monotonic()
    last = times()
    while time.monotonic() - t0 < max_s:
        time.sleep(0.5)
        now = times()
        total, idle = now[0] - last[0], now[1] - last[1]
        last = now
        if total and 1 - idle / total > busy_below:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            break
    return time.monotonic() - t0


def bare_streamlit_first_view(browser, tmp: Path, env: dict[str, str], repeat: int) -> float:
    """Median new-visitor first view of :data:`BARE_APP` on its own server (after one untimed visit)."""
    script = tmp / "bare_app.py"
    script.write_text(BARE_APP)
    server = Server(env, tmp / "bare.log", script=script)
    server.start()
    try:
        _, ctx = first_view(browser, server.base, time.monotonic())
        ctx.close()
        times = []
        for _ in range(max(1, repeat)):
            elapsed, ctx = first_view(browser, server.base, time.monotonic())
            ctx.close()
            times.append(elapsed)
        return statistics.median(times)
    finally:
        server.stop()


def describe(breakdown: dict) -> str:
    """A first view's browser timings as one line (ms from navigation start)."""
    keys = ("html", "dom", "js", "ws_first", "img_dom", "shown", "ws_last")
    return " ".join(f"{k}={breakdown.get(k, float('nan')):.0f}" for k in keys) + (
        f" (js files {breakdown.get('js_n')}, image requests {breakdown.get('img_n')}, "
        f"websocket messages {breakdown.get('ws_n')}, {breakdown.get('ws_kb', float('nan')):.0f} KB)")


def settle(page, t0: float, *, quiet_ms: int = 300, timeout_s: float = 300) -> float:
    """Wait for the rerun started at page time ``t0`` to finish; its duration in s."""
    page.wait_for_function(SETTLED, arg=[t0, quiet_ms], timeout=timeout_s * 1000, polling=50)
    return (page.evaluate("window.__lastMut") - t0) / 1000


def now(page) -> float:
    return page.evaluate("performance.now()")


def open_page(page, base: str, path: str, ready: str) -> None:
    """Open ``base/path`` and wait until ``ready`` (a selector) shows and the run has settled."""
    page.goto(f"{base}/{path}", wait_until="commit")
    page.locator(ready).first.wait_for(timeout=300_000)
    settle(page, now(page))


def screenshots(browser, base: str) -> list[Path]:
    """Every page in the sidebar at 1,024 and 1,400 px wide, full page."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = []
    for width in (1024, 1400):
        # Streamlit scrolls inside its main block: a tall window shows the whole page.
        ctx = browser.new_context(viewport={"width": width, "height": 2600})
        ctx.add_init_script(INIT_SCRIPT)
        page = ctx.new_page()
        page.goto(base, wait_until="commit")
        page.locator(FIRST_VIEW).first.wait_for(timeout=300_000)
        settle(page, now(page))
        links = page.locator('[data-testid="stSidebarNav"] a')
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        for i, href in enumerate(hrefs):
            page.goto(href if href.startswith("http") else base + "/" + href.lstrip("/"), wait_until="commit")
            page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=300_000)
            settle(page, now(page), quiet_ms=1000)
            tail = href.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
            name = tail if i and tail else "gallery"
            path = ARTIFACTS / f"{width}-{i:02d}-{name}.png"
            page.screenshot(path=str(path), full_page=True)
            shots.append(path)
        ctx.close()
    return shots


def measure_reruns(browser, base: str, t_up: float) -> tuple[list[float], list[float], float, int]:
    """Settled reruns (s), Projection rerun payloads (KB), the first UMAP (s) once the server
    started at ``t_up`` has been up 60 s, and how often plotly.js was fetched."""
    plotly_fetches = 0
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.add_init_script(INIT_SCRIPT)
    page = ctx.new_page()

    def count_plotly(request) -> None:
        nonlocal plotly_fetches
        plotly_fetches += request.url.endswith("plotly.min.js")

    ctx.on("request", count_plotly)
    received = [0]
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda payload: received.__setitem__(0, received[0] + len(payload))))
    reruns = []
    open_page(page, base, "similarity", '[data-testid="stMain"] .js-plotly-plot')
    for _ in range(2):
        t = now(page)
        page.get_by_text("Mean-centre vectors").first.click()
        reruns.append(settle(page, t))
    open_page(page, base, "clustering", '[data-testid="stMain"] .js-plotly-plot')
    slider = page.get_by_role("slider", name="Clusters (k)").first
    for key in ("ArrowRight", "ArrowLeft"):
        slider.focus()
        t = now(page)
        page.keyboard.press(key)
        reruns.append(settle(page, t))
    open_page(page, base, "projection", '[data-testid="stMain"] iframe')
    payloads = []
    for label in ("cluster", "artist", "cluster", "artist"):
        before, t = received[0], now(page)
        page.get_by_text(label, exact=True).first.click()
        reruns.append(settle(page, t))
        payloads.append((received[0] - before) / 1024)
    # first UMAP, once the server has been up 60 s
    time.sleep(max(0.0, 60 - (time.monotonic() - t_up)))
    t = now(page)
    page.get_by_text("UMAP", exact=True).first.click()
    umap_first = settle(page, t, timeout_s=600)
    for label in ("PCA", "UMAP"):  # switching between two computed maps
        before, t = received[0], now(page)
        page.get_by_text(label, exact=True).first.click()
        reruns.append(settle(page, t))
        payloads.append((received[0] - before) / 1024)
    ctx.close()
    return reruns, payloads, umap_first, plotly_fetches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gallery", default=str(ROOT.parent / "shared" / "gallery"))
    ap.add_argument("--generate", type=int, default=0, help="make N images from the gallery's")
    ap.add_argument("--model", default="efficientnet-lite0")
    ap.add_argument("--screenshots", action="store_true")
    ap.add_argument("--cold-timeout", type=float, default=300, help="give up on the cold first view after this")
    ap.add_argument("--repeat", type=int, default=1,
                    help="measure the new visitor and the warm restart this many times (median reported)")
    ap.add_argument("--first-views", action="store_true",
                    help="first views only (no reruns, UMAP or payloads): for quick A/B runs")
    ap.add_argument("--no-baseline", action="store_true", help="skip the bare Streamlit page's first view")
    ap.add_argument("--skip-cold", action="store_true",
                    help="embed with `artsim embed` first instead of timing a cold start (cold_first_view_s=nan; "
                         "the first visit is still made, untimed)")
    args = ap.parse_args()
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="artsim-app-latency-"))
    gallery = Path(args.gallery).resolve()
    if args.generate:
        gallery = generate_collection(gallery, tmp / "collection", args.generate)
    n = sum(1 for p in gallery.rglob("*") if p.suffix.lower() in IMAGE_EXTS and p.parent != gallery)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSIM_")}
    env.update(ARTSIM_HOME=str(tmp / "home"), ARTSIM_GALLERY=str(gallery), ARTSIM_MODEL=args.model)
    server = Server(env, tmp / "streamlit.log")

    def embed_all() -> None:
        subprocess.run([sys.executable, "-m", "artsim.cli", "embed", str(gallery), "--model", args.model],
                       cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL)

    reruns, payloads, umap_first = [float("nan")], [float("nan")], float("nan")
    cold = float("nan")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            bare = float("nan") if args.no_baseline else bare_streamlit_first_view(browser, tmp, env, args.repeat)
            if args.skip_cold:
                embed_all()
            t0 = server.start()
            try:  # with --skip-cold an untimed first visitor, so the next ones meet a running server
                first, ctx = first_view(browser, server.base, t0, timeout_s=args.cold_timeout)
                ctx.close()
                cold = first if not args.skip_cold else cold
            except PlaywrightTimeout:
                print(f"cold start: no first view within {args.cold_timeout} s", flush=True)
            busy = []
            for _ in range(args.repeat):  # while the server still embeds and warms up
                visitor, ctx = first_view(browser, server.base, time.monotonic(), timeout_s=args.cold_timeout)
                ctx.close()
                busy.append(visitor)
            print("new visitor during start-up work (embedding, UMAP warm-up): "
                  + " ".join(f"{b:.2f}" for b in busy) + f" s, median {statistics.median(busy):.2f} s", flush=True)
            print(f"server idle after {wait_until_idle():.0f} s more", flush=True)
            visitors = []
            for _ in range(args.repeat):
                info: dict = {}
                try:
                    visitor, ctx = first_view(browser, server.base, time.monotonic(),
                                              timeout_s=args.cold_timeout, breakdown=info)
                    ctx.close()
                    print(f"new visitor {visitor:.2f} s: {describe(info)}", flush=True)
                except PlaywrightTimeout:
                    visitor = float("nan")
                visitors.append(visitor)
            server.stop()
            embed_all()  # the warm restart needs every vector cached, whatever the cold start managed
            warms = []
            for i in range(args.repeat):
                t2 = server.start()
                info = {}
                warm, ctx = first_view(browser, server.base, t2, breakdown=info)
                ctx.close()
                print(f"warm restart {warm:.2f} s (server healthy after {server.healthy_s:.2f} s): {describe(info)}",
                      flush=True)
                warms.append(warm)
                if i < args.repeat - 1:
                    server.stop()
            visitor, warm = statistics.median(visitors), statistics.median(warms)
            print(f"first views: cold {cold:.2f} s, new visitor {visitor:.2f} s, warm restart {warm:.2f} s",
                  flush=True)
            if not math.isnan(bare):
                print(f"baseline: bare Streamlit page (title + one image), new visitor {bare:.2f} s (median of "
                      f"{args.repeat}); artsim's new visitor is {visitor / bare:.2f}x that", flush=True)
            if not args.first_views:
                reruns, payloads, umap_first, plotly_fetches = measure_reruns(browser, server.base, t2)
                print("reruns (s): " + " ".join(f"{r:.2f}" for r in reruns))
                print("projection rerun payloads (KB): " + " ".join(f"{p:.1f}" for p in payloads))
                print(f"plotly.js fetched {plotly_fetches} time(s) in one visit")
            if args.screenshots:
                for path in screenshots(browser, server.base):
                    print(f"screenshot {path.relative_to(ROOT)}")
        finally:
            server.stop()
            browser.close()
    print(
        f"n={n} new_visitor_first_view_s={visitor:.2f} warm_first_view_s={warm:.2f} "
        f"cold_first_view_s={cold:.2f} rerun_p50_s={statistics.median(reruns):.2f} "
        f"umap_first_s={umap_first:.2f} projection_rerun_kb={statistics.median(payloads):.1f}"
    )


if __name__ == "__main__":
    main()
