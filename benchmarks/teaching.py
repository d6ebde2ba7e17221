"""Teaching tools (issue 14): bootstrap intervals, walk queries, and the thumbnail map in headless Chromium.

Prints figures against baselines measured in the same run:

- bootstrap intervals (200 replicates) at 45 / 500 / 2,000 paintings vs the first
  implementation (dense weight matrix, one ``np.add.at`` per artist, per-pair quantiles);
- a walk (k = 10 graph build, then one query) at 5,000 paintings vs
  ``scipy.sparse.csgraph.shortest_path`` from the same source;
- the thumbnail map (:func:`artsim.thumbmap.thumbnail_map`) as a standalone page in
  headless Chromium: first draw (until Plotly's ``plotly_afterplot``) and pan frames
  (``requestAnimationFrame`` intervals while the axes move) with thumbnails vs dots.

    .venv/bin/python benchmarks/teaching.py [--no-browser]
"""

from __future__ import annotations

import argparse
import base64
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from artsim import export, separation  # noqa: E402
from artsim.artist_bootstrap import artist_intervals  # noqa: E402
from artsim.similarity import artist_codes, normalize_rows  # noqa: E402
from artsim.thumbmap import thumbnail_map  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--no-first-run"]
GALLERY_COUNTS = [17, 6, 4, 4, 3, 3, 2, 2, 2, 1, 1]  # paintings per artist in ../shared/gallery (45)


def _collection(n: int, m: int, d: int = 1280, seed: int = 0):
    rng = np.random.default_rng(seed)
    counts = GALLERY_COUNTS if n == 45 else [n // m + (i < n % m) for i in range(m)]
    artists = [f"artist {a}" for a, c in enumerate(counts) for _ in range(c)]
    centres = rng.normal(size=(len(counts), d))
    X = np.stack([centres[int(a.split()[1])] + rng.normal(size=d) * 2 for a in artists]).astype(np.float32)
    return X, artists


def _old_replicates(X, artists, replicates, seed, center):
    """The first implementation (baseline): dense W, np.add.at, one any() per replicate."""
    Xn = normalize_rows(X, center=center, dtype=np.float64)
    n = Xn.shape[0]
    names, codes = artist_codes(artists, n)
    m = len(names)
    members = [np.flatnonzero(codes == a) for a in range(m)]
    rng = np.random.default_rng(seed)
    out = np.empty((replicates, m, m))
    for r in range(replicates):
        counts = np.zeros(n)
        for idx in members:
            np.add.at(counts, rng.choice(idx, size=idx.size, replace=True), 1.0)
        W = np.zeros((m, n))
        W[codes, np.arange(n)] = counts
        G = W @ Xn
        out[r] = G @ G.T
    return out


def bench_bootstrap() -> None:
    print("bootstrap intervals, 200 replicates (d = 1280)")
    for n, m in ((45, 11), (500, 30), (2000, 60)):
        X, artists = _collection(n, m)
        t = time.perf_counter()
        artist_intervals(X, artists, replicates=200, seed=0, center=True)
        ours = time.perf_counter() - t
        t = time.perf_counter()
        _old_replicates(X, artists, 200, 0, True)
        old = time.perf_counter() - t
        print(f"  {n:5d} paintings, {m:3d} artists: {ours:6.2f} s  (first version's replicates alone: {old:6.2f} s,"
              f" {old / ours:4.1f}x)")


def bench_walk() -> None:
    from scipy.sparse.csgraph import shortest_path

    X, _ = _collection(5000, 100)
    t = time.perf_counter()
    graph = separation.knn_graph(X, 10, center=True)
    build = time.perf_counter() - t
    times, ref = [], []
    for a, b in ((0, 4999), (17, 2500), (123, 4321)):
        t = time.perf_counter()
        separation.shortest_chain(graph, a, b)
        times.append(time.perf_counter() - t)
        t = time.perf_counter()
        shortest_path(graph, method="D", directed=False, indices=a)
        ref.append(time.perf_counter() - t)
    print(f"walk at 5,000 paintings: graph (k = 10) {build:.2f} s once; query median "
          f"{statistics.median(times) * 1000:.1f} ms (scipy shortest_path from the source: "
          f"{statistics.median(ref) * 1000:.1f} ms)")


def _thumb(rng) -> str:
    img = Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


PAN = """
async () => {
  const gd = document.querySelector('.plotly-graph-div');
  const t0 = performance.now();
  await new Promise(r => { if (gd._fullLayout) r(); else gd.on('plotly_afterplot', r); });
  const xr = gd._fullLayout.xaxis.range.slice(), frames = [];
  let last = performance.now();
  for (let i = 0; i < 30; i++) {
    const dx = (xr[1] - xr[0]) * 0.01 * i;
    Plotly.relayout(gd, {'xaxis.range': [xr[0] + dx, xr[1] + dx]});
    await new Promise(r => requestAnimationFrame(r));
    const now = performance.now(); frames.push(now - last); last = now;
  }
  frames.sort((a, b) => a - b);
  return {median: frames[15], p90: frames[27]};
}
"""


def bench_map() -> None:
    from playwright.sync_api import sync_playwright

    rng = np.random.default_rng(0)
    thumbs = [_thumb(rng) for _ in range(64)]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for n, with_thumbs in ((45, True), (600, True), (600, False), (5000, False)):
            coords = rng.normal(size=(n, 2))
            fig = thumbnail_map(coords, [f"p{i}" for i in range(n)], [thumbs[i % 64] if with_thumbs else "" for i in range(n)])
            t = time.perf_counter()
            page_bytes = export.figure_html(fig)
            built = time.perf_counter() - t
            path = Path(tmp) / f"map{n}{with_thumbs}.html"
            path.write_bytes(page_bytes)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            t = time.perf_counter()
            page.goto(path.as_uri())
            page.wait_for_function("() => document.querySelector('.plotly-graph-div')?._fullLayout")
            first = time.perf_counter() - t
            frames = page.evaluate(PAN)
            page.close()
            print(f"  map {n:5d} paintings {'thumbnails' if with_thumbs else 'dots      '}: figure + page "
                  f"{built * 1000:5.0f} ms, {len(page_bytes) / 1e6:5.1f} MB; first draw {first:5.2f} s; "
                  f"pan frame median {frames['median']:5.1f} ms, p90 {frames['p90']:5.1f} ms")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    bench_bootstrap()
    bench_walk()
    if not args.no_browser:
        print("thumbnail map in headless Chromium (standalone page, plotly.js inlined)")
        bench_map()


if __name__ == "__main__":
    main()
