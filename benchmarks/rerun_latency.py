"""How long the analysis behind one widget change takes, at a given collection size.

A widget change (centring, linkage, k, projection, ...) reruns the analysis
the app shows for the current collection. This times what the app actually
runs, with the same size-dependent choices:

* n <= ``PAINTING_LEVEL_MAX_N``: painting-level cosine matrix, then the
  artist matrix from it;
  n above: artist matrix straight from the vectors (O(n d), no n x n matrix).
* ``cluster_collection`` (average linkage, cut at k, cophenetic correlation):
  exact tree up to ``LINKAGE_MAX_N`` paintings, a seeded sample above.
* PCA to 3-D of all paintings.

Reported: p50 over ``--repeat`` runs after one warm-up, a per-step breakdown,
the cost of building the figures (informational), and UMAP separately: one fit
on the full collection after warm-up fits that pay numba's compilation (a
small one, plus one just above 4,096 points for the NN-descent path umap-learn
uses on larger data). The first large UMAP in a fresh process costs that
compilation on top (about 20 s more at n = 20,000 on 2 cores).
The last line is exactly ``n=<N> rerun_ms_p50=<ms> umap_s=<s>``.

Usage: ``python benchmarks/rerun_latency.py --n 1000 [--repeat 5] [--dim 2048]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import pandas as pd

from artsim.analysis.clustering import cluster_collection, leaf_order
from artsim.analysis.projection import fit_projection
from artsim.analysis.similarity import (
    PAINTING_LEVEL_MAX_N,
    artist_similarity,
    artist_similarity_from_vectors,
    cosine_similarity_matrix,
)
from artsim.figures import MAX_HEATMAP_N, dendrogram_figure, scatter3d, similarity_heatmap

#: umap-learn computes exact neighbours below 4096 points and NN-descent above.
UMAP_NNDESCENT_MIN_N = 4096


def synthetic_collection(n: int, dim: int, n_artists: int = 20, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """(n, dim) float32 non-negative vectors (like pooled post-ReLU CNN features)
    around ``n_artists`` artist centres, and the artist of each."""
    rng = np.random.default_rng(seed)
    centres = np.maximum(rng.normal(size=(n_artists, dim)), 0).astype(np.float32) * 2
    who = rng.integers(0, n_artists, n)
    X = centres[who] + rng.normal(size=(n, dim)).astype(np.float32)
    np.maximum(X, 0, out=X)
    return X, [f"Artist {a:02d}" for a in who]


def rerun(X: np.ndarray, artists: list[str], *, method: str = "average", k: int = 8, center: bool = True,
          timings: dict[str, list[float]] | None = None) -> dict:
    """The analysis one widget change triggers (see module docstring)."""
    def step(name, fn, *a, **kw):
        t0 = time.perf_counter()
        out = fn(*a, **kw)
        if timings is not None:
            timings.setdefault(name, []).append(time.perf_counter() - t0)
        return out

    out = {}
    if X.shape[0] <= PAINTING_LEVEL_MAX_N:
        out["S"] = step("similarity", cosine_similarity_matrix, X, center=center)
        out["A"] = step("artists", artist_similarity, out["S"], artists)
    else:
        out["A"] = step("artists", artist_similarity_from_vectors, X, artists, center=center)
    out["clusters"] = step("linkage+cut+cophenetic", cluster_collection, X, method, k, center=center,
                           with_cophenetic=True)
    out["pca"] = step("pca", fit_projection, X, "pca", center=center)
    return out


def figures(out: dict, artists: list[str]) -> None:
    """Build what the pages draw from one rerun (not part of rerun_ms)."""
    res = out["clusters"]
    n = len(artists)
    frame = pd.DataFrame({"artist": artists, "title": [f"Painting {i}" for i in range(n)], "year": "",
                          "cluster": res.labels})
    S = out.get("S")
    if S is not None and n <= MAX_HEATMAP_N:
        similarity_heatmap(S, [f"{a} – {i}" for i, a in enumerate(artists)],
                           order=leaf_order(res.Z) if res.exact else None, artists=artists)
    similarity_heatmap(out["A"])
    dendrogram_figure(res.Z, [f"{artists[i]} – {i}" for i in res.sample], res.labels[res.sample])
    scatter3d(out["pca"], frame, color_by="cluster")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="paintings in the synthetic collection")
    ap.add_argument("--repeat", type=int, default=5, help="timed reruns (after one warm-up)")
    ap.add_argument("--dim", type=int, default=2048, help="feature dimension (ResNet-50: 2048)")
    ap.add_argument("--no-umap", action="store_true", help="skip the UMAP timing (reports umap_s=nan)")
    args = ap.parse_args(argv)

    X, artists = synthetic_collection(args.n, args.dim)
    print(f"collection: n={args.n} dim={args.dim} artists={len(set(artists))} "
          f"(painting-level matrix up to n={PAINTING_LEVEL_MAX_N})")
    out = rerun(X, artists)  # warm-up: imports, BLAS threads, allocator
    timings: dict[str, list[float]] = {}
    totals = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        out = rerun(X, artists, timings=timings)
        totals.append(time.perf_counter() - t0)
    for name, ts in timings.items():
        print(f"  {name:<24} p50 {statistics.median(ts) * 1000:9.1f} ms")
    print(f"  tree over {out['clusters'].sample.size} paintings (exact={out['clusters'].exact})")
    t0 = time.perf_counter()
    figures(out, artists)
    print(f"  figures (informational)  {(time.perf_counter() - t0) * 1000:9.1f} ms")

    umap_s = float("nan")
    if not args.no_umap:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            fit_projection(X[: min(args.n, 200)], "umap", seed=0)  # import + numba compile
            print(f"  umap warm-up (import + numba compile) {time.perf_counter() - t0:.1f} s")
            if args.n > UMAP_NNDESCENT_MIN_N:
                # above ~4k points umap switches to NN-descent, which compiles separately
                t0 = time.perf_counter()
                fit_projection(X[:UMAP_NNDESCENT_MIN_N + 100], "umap", seed=0)
                print(f"  umap warm-up 2 (NN-descent compile, {UMAP_NNDESCENT_MIN_N + 100} points) "
                      f"{time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            fit_projection(X, "umap", seed=0, center=True)
            umap_s = time.perf_counter() - t0
    print(f"n={args.n} rerun_ms_p50={statistics.median(totals) * 1000:.0f} umap_s={umap_s:.1f}")


if __name__ == "__main__":
    main()
