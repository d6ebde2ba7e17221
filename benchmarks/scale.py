"""artsim at scale (#15.6): N synthetic vectors with artist structure through the store and
the first-view analysis, ANN recall@10 against numpy brute force, and an indexing rate on
generated images (locally and through Ray).

Analysis side (one process, vectors as the store holds them):

* write: N float32 vectors (artist centres + noise) into a fresh store, then the ANN index
  (``artsim.store.ann.ensure_index``; built once when indexing passes ``ANN_MIN_ROWS``).
* first view (``load_s``), from a fresh store handle: read every vector, the artist-level
  similarity (O(n d), no n x n matrix), the clustering (tree on a ``LINKAGE_MAX_N`` sample,
  everyone assigned) and its top levels, a PCA and a UMAP fitted on a
  ``PROJECTION_FIT_MAX_N`` sample (UMAP on the sample's first ``UMAP_PCA_DIMS``
  principal components) with ``transform`` for the rest. UMAP's numba kernels are
  compiled (or loaded from numba's disk cache) by a tiny fit *before* the first view,
  timed on its own line: the server does that at start (``dashboard/startup.py``), so
  ``load_s`` does not include it.
* walk graph: the Walk page's k-NN graph of all N paintings from the ANN index
  (``ann.store_knn_graph``, N batched queries), against the exact ``knn_graph`` when
  N <= ``--exact-graph-max`` (O(N^2 d)); neither is part of ``load_s`` (another page).
* rerun (``rerun_s``): what a Streamlit rerun does once all of that is cached by content:
  the content key of N paintings, the cached results copied back (``st.cache_data``
  pickles), the selection's vectors gathered.
* recall@10 of ``search_many`` (IVF-PQ, ``NPROBES``, ``REFINE_FACTOR``) for 200 stored
  paintings as queries, against exact cosine top-10 by numpy (the query itself left out).

Indexing side: ``artsim index`` (``--model``, default ResNet-50 with its real ImageNet weights;
``--model efficientnet-lite0`` for the figures measured before) on ``--images`` generated JPEGs in a
subprocess (model load included), then the same with ``--ray`` (local Ray) under a time
limit; ``ray_img_s=nan`` with the reason when Ray does not finish in time.

Ends with ``n=<N> load_s=<..> rerun_s=<..> recall_at_10=<..> peak_mem_gb=<..> index_img_s=<..> ray_img_s=<..>``.

    .venv/bin/python benchmarks/scale.py --n 50000 [--dim 1280] [--images 200] [--no-ray]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from artsim.analysis.clustering import LINKAGE_MAX_N, cluster_collection, top_levels  # noqa: E402
from artsim.analysis.projection import (  # noqa: E402
    PROJECTION_FIT_MAX_N,
    UMAP_PCA_DIMS,
    fit_projection,
    fit_projection_sampled,
)
from artsim.analysis.separation import DEFAULT_K, knn_graph  # noqa: E402
from artsim.analysis.similarity import artist_similarity_from_vectors  # noqa: E402
from artsim.inputs.collection import Painting  # noqa: E402
from artsim.store import ann  # noqa: E402
from artsim.store.vectors import EmbeddingStore  # noqa: E402

FP = "scalebench"


class _Dims:
    """Embedder identity for ``store.add`` (the vectors are synthetic)."""

    fingerprint, name = FP, "synthetic"

    def __init__(self, dim: int) -> None:
        self.dim = dim


def synthetic(n: int, dim: int, artists: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """(n, dim) float32: non-negative artist centres (like pooled CNN features) plus noise."""
    rng = np.random.default_rng(seed)
    centres = np.abs(rng.standard_normal((artists, dim))).astype(np.float32)
    labels = rng.integers(0, artists, n)
    X = np.empty((n, dim), np.float32)
    for start in range(0, n, 10_000):
        part = labels[start : start + 10_000]
        X[start : start + part.size] = centres[part] + 0.9 * rng.standard_normal((part.size, dim), np.float32)
    return X, [f"Artist {a:04d}" for a in labels]


def timed(label: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    dt = time.perf_counter() - t0
    print(f"  {label}: {dt:.1f} s", flush=True)
    return out, dt


def first_view(uri: str, shas: list[str], artists: list[str]) -> tuple[dict, float]:
    t0 = time.perf_counter()
    store = EmbeddingStore(uri)
    vecs, _ = timed("read vectors", store.get_vectors, shas, FP)
    X = np.stack([vecs[s] for s in shas])
    del vecs
    out: dict = {}
    out["artists"], _ = timed("artist similarity", artist_similarity_from_vectors, X, artists, center=True)
    clusters, _ = timed(f"clustering (tree on {LINKAGE_MAX_N})", cluster_collection, X, "ward", 8, center=True)
    out["clusters"] = clusters
    weights = np.full(clusters.sample.size, len(shas) / clusters.sample.size)
    out["top"], _ = timed("tree top levels", top_levels, clusters.Z, 30, weights)
    out["pca"], _ = timed("PCA (sample + transform)", fit_projection_sampled, X, "pca", center=True)
    out["umap"], _ = timed(
        f"UMAP (fit on {min(len(shas), PROJECTION_FIT_MAX_N):,} on {UMAP_PCA_DIMS} PCs + transform the rest)",
        fit_projection_sampled, X, "umap", center=True,
    )
    params = out["umap"].params
    print(f"    of which fit {params['fit_s']:.1f} s, transform {params['transform_s']:.1f} s", flush=True)
    return out | {"X": X}, time.perf_counter() - t0


def warm_numba() -> None:
    """A tiny UMAP fit and transform: numba compiles (or loads) the kernels the first view uses."""
    rng = np.random.default_rng(0)
    fitted = fit_projection(rng.random((60, 20)).astype(np.float32), "umap", seed=0, n_neighbors=10, center=True)
    fitted.transform(rng.random((3, 20)).astype(np.float32))


def walk_graph(uri: str, X: np.ndarray, shas: list[str], exact_max: int) -> None:
    """The Walk page's k-NN graph from the ANN index, and the exact graph as the baseline when affordable."""
    store = EmbeddingStore(uri)
    G, dt = timed(f"walk graph from the ANN index (k={DEFAULT_K}, {len(shas):,} queries)",
                  ann.store_knn_graph, store, FP, shas, DEFAULT_K, vectors=X, min_rows=0)
    if len(shas) <= exact_max:
        ref, dt_exact = timed("walk graph, exact (knn_graph)", knn_graph, X, DEFAULT_K)
        a, b = G.tocoo(), ref.tocoo()
        same = len(set(zip(a.row, a.col, strict=True)) & set(zip(b.row, b.col, strict=True))) / max(b.nnz, 1)
        print(f"    ANN graph keeps {same:.3f} of the exact graph's edges; ANN {dt:.1f} s vs exact {dt_exact:.1f} s",
              flush=True)
    else:
        print(f"    exact graph skipped above --exact-graph-max {exact_max} (O(n^2 d))", flush=True)


def rerun(cache: dict, shas: list[str], order: np.ndarray) -> float:
    """A rerun with everything cached: content key, cached values copied back, vectors gathered."""
    t0 = time.perf_counter()
    key = hashlib.sha256("\n".join([FP, *shas]).encode()).hexdigest()[:16]
    for name in ("artists", "clusters", "top"):
        pickle.loads(pickle.dumps(cache[name]))  # st.cache_data returns a copy
    _ = cache["X"][order]
    for name in ("pca", "umap"):  # st.cache_resource: the object itself
        _ = cache[name].coords
    assert key
    return time.perf_counter() - t0


def recall_at_10(uri: str, X: np.ndarray, shas: list[str], queries: int = 200) -> tuple[float, float]:
    store = EmbeddingStore(uri)
    qi = np.random.default_rng(1).choice(len(shas), queries, replace=False)
    norms = np.linalg.norm(X, axis=1)
    S = (X[qi] / norms[qi, None]) @ (X / norms[:, None]).T
    S[np.arange(queries), qi] = -np.inf
    exact = np.argsort(-S, axis=1)[:, :10]
    t0 = time.perf_counter()
    keys, _ = ann.search_many(store, FP, X[qi], 11)
    per_query_ms = (time.perf_counter() - t0) / queries * 1000
    hits = [
        len({k for k in row if k != shas[q]} & {shas[j] for j in want}) / 10
        for row, q, want in zip(keys, qi, exact, strict=True)
    ]
    return float(np.mean(hits)), per_query_ms


def make_images(root: Path, n: int, side: int = 240) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n):
        small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        path = root / f"Artist {i % 20:02d}" / f"img{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(small).resize((side * 4 // 3, side), Image.Resampling.BICUBIC).save(path, quality=85)


def index_rate(tmp: Path, n: int, ray: bool, limit_s: float, model: str = "resnet50") -> tuple[float, str]:
    cmd = [sys.executable, "-m", "artsim.cli", "index", str(tmp / "imgs"), "--db", str(tmp / ("ray" if ray else "local")),
           "--model", model] + (["--ray"] if ray else [])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=limit_s)
    except subprocess.TimeoutExpired:
        return float("nan"), f"did not finish within {limit_s:.0f} s"
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        return float("nan"), f"exit {proc.returncode}: {(proc.stderr or '').strip().splitlines()[-1:]}"
    return n / dt, f"{n} images in {dt:.1f} s (model load included)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--dim", type=int, default=1280)
    ap.add_argument("--artists", type=int, default=0, help="default n / 100")
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--model", default="resnet50", choices=["resnet50", "efficientnet-lite0"],
                    help="model of the indexing runs (resnet50: the real ImageNet weights)")
    ap.add_argument("--exact-graph-max", type=int, default=10_000, help="largest n for the exact k-NN graph baseline")
    ap.add_argument("--ray-limit", type=float, default=600.0, help="seconds allowed for the Ray run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="artsim-scale-", ignore_cleanup_errors=True) as tmp:
        measure(args, Path(tmp))


def measure(args: argparse.Namespace, tmp: Path) -> None:
    n = args.n
    print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    X, artists = synthetic(n, args.dim, args.artists or max(2, n // 100))
    shas = [hashlib.sha256(f"synthetic {i}".encode()).hexdigest() for i in range(n)]
    paintings = [Painting(sha256=s, path=f"/synthetic/{i}.jpg", artist=a, title=f"#{i}")
                 for i, (s, a) in enumerate(zip(shas, artists, strict=True))]
    uri = str(tmp / "db")
    store = EmbeddingStore(uri)
    t0 = time.perf_counter()
    for start in range(0, n, 5000):
        store.add(paintings[start : start + 5000], X[start : start + 5000], _Dims(args.dim), [b""] * len(paintings[start : start + 5000]))
    print(f"write {n} x {args.dim} vectors: {time.perf_counter() - t0:.1f} s", flush=True)
    _, index_s = timed("ANN index (IVF-PQ, cosine)", ann.ensure_index, store, FP)
    del X, store

    timed("numba warm-up (tiny UMAP; the server does this at start, not in load_s)", warm_numba)
    print("first view from the store:", flush=True)
    cache, load_s = first_view(uri, shas, artists)
    order = np.arange(n)
    rerun_s = min(rerun(cache, shas, order) for _ in range(3))
    print(f"first view {load_s:.1f} s, rerun {rerun_s:.2f} s", flush=True)
    recall, q_ms = recall_at_10(uri, cache["X"], shas)
    print(f"ANN recall@10 {recall:.3f} (nprobes {ann.NPROBES}, refine_factor {ann.REFINE_FACTOR}), {q_ms:.1f} ms/query batched", flush=True)
    walk_graph(uri, cache["X"], shas, args.exact_graph_max)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    del cache

    make_images(tmp / "imgs", args.images)
    index_img_s, why = index_rate(tmp, args.images, ray=False, limit_s=1800, model=args.model)
    print(f"artsim index: {why}", flush=True)
    if args.no_ray:
        ray_img_s, why = float("nan"), "skipped (--no-ray)"
    else:
        ray_img_s, why = index_rate(tmp, args.images, ray=True, limit_s=args.ray_limit, model=args.model)
    print(f"artsim index --ray: {why}", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}; index build {index_s:.1f} s")
    print(f"n={n} load_s={load_s:.1f} rerun_s={rerun_s:.2f} recall_at_10={recall:.3f} peak_mem_gb={peak_gb:.2f} "
          f"index_img_s={index_img_s:.2f} ray_img_s={ray_img_s:.2f}")


if __name__ == "__main__":
    main()
