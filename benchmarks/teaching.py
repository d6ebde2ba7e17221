"""Teaching tools (issue 14): bootstrap intervals and walk queries.

Prints figures against baselines measured in the same run:

- bootstrap intervals (200 replicates) at 45 / 500 / 2,000 paintings vs the first
  implementation (dense weight matrix, one ``np.add.at`` per artist, per-pair quantiles);
- a walk (k = 10 graph build, then one query) at 5,000 paintings vs
  ``scipy.sparse.csgraph.shortest_path`` from the same source.

The map of thumbnails in headless Chromium has its own script: ``benchmarks/thumb_map.py``.

    .venv/bin/python benchmarks/teaching.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from artsim.analysis import separation  # noqa: E402
from artsim.analysis.artist_bootstrap import artist_intervals  # noqa: E402
from artsim.analysis.similarity import artist_codes, normalize_rows  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-browser", action="store_true", help="ignored (the map moved to thumb_map.py)")
    parser.parse_args()
    bench_bootstrap()
    bench_walk()


if __name__ == "__main__":
    main()
