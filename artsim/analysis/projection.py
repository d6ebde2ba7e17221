"""3-D maps of a collection: PCA or UMAP.

Both start from the same vectors the similarity page uses: optionally centred
on the collection mean, then scaled to unit length, so that the map reflects
cosine geometry (the image's feature "energy" does not move a point).
Float32 embeddings are processed in float32 (half the memory, about twice as
fast at n = 20,000); coordinates come back as float64.

* PCA (scikit-learn): the three directions of greatest variance; the axes
  carry their share of variance (``explained_variance_ratio``).
* UMAP (umap-learn, imported lazily through :mod:`artsim.analysis.umap_kernels`, which
  keeps every numba kernel in numba's disk cache): a neighbourhood-preserving
  layout. ``random_state=seed`` makes it deterministic (and single-threaded).
  Above ``UMAP_PCA_MIN_N`` paintings with more than ``UMAP_PCA_DIMS`` features,
  the vectors are first reduced to ``UMAP_PCA_DIMS`` principal components
  (about 1.6x faster at n = 20,000, d = 2048; standard practice).

Tiny collections are handled instead of failing: PCA with n paintings has at
most n - 1 meaningful axes, the rest are zero; UMAP needs ``UMAP_MIN_N``
paintings and falls back to PCA below that. ``Projection.note`` says what was
adjusted, in words for the user.

``Projection.transform(Y)`` places new vectors (uploads) in the fitted space
without re-fitting, so the map does not move when a painting is added.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.metrics.pairwise import euclidean_distances

from artsim.analysis.similarity import normalize_rows
from artsim.analysis.umap_kernels import import_umap

METHODS = ("pca", "umap")
#: Fewest paintings UMAP is run on (its spectral initialisation fails below 5).
UMAP_MIN_N = 5
#: Above this many paintings UMAP runs on a PCA reduction to UMAP_PCA_DIMS.
UMAP_PCA_MIN_N = 2000
UMAP_PCA_DIMS = 50
#: Up to this many paintings UMAP gets its exact Euclidean distances from one BLAS
#: product (``metric="precomputed"``), fit and ``transform`` alike. umap-learn's own
#: exact route (below 4,096 points) hands its numba distance to scikit-learn, which
#: calls it once per pair from Python: ~8 million calls for a 4,000-point fit, 20
#: million per 5,000 paintings placed. Above, umap-learn's approximate index.
UMAP_EXACT_MAX_N = 4095


def _prepare(X: np.ndarray, mean: np.ndarray | None) -> np.ndarray:
    return normalize_rows(X, center=mean is not None, mean=mean)


@dataclass
class _PCAModel:
    mean: np.ndarray | None
    pca: PCA | None  # None when n == 1 (nothing to project)

    def transform(self, Y: np.ndarray) -> np.ndarray:
        Yp = _prepare(Y, self.mean)
        out = np.zeros((Yp.shape[0], 3))
        if self.pca is not None and Yp.shape[0]:
            c = self.pca.transform(Yp)
            out[:, : c.shape[1]] = c
        return out


@dataclass
class _UMAPModel:
    mean: np.ndarray | None
    reducer: Any  # umap.UMAP
    pre_pca: PCA | None = None
    train: np.ndarray | None = None  # (s, d') fitted points when the reducer takes distances

    def transform(self, Y: np.ndarray) -> np.ndarray:
        Yp = _prepare(Y, self.mean)
        if Yp.shape[0] == 0:
            return np.zeros((0, 3))
        if self.pre_pca is not None:
            Yp = self.pre_pca.transform(Yp)
        if self.train is not None:
            Yp = euclidean_distances(Yp, self.train)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*precomputed metric.*", category=UserWarning)
            return np.asarray(self.reducer.transform(Yp), dtype=np.float64)


@dataclass
class Projection:
    """A fitted 3-D map.

    coords : (n, 3) float64 positions of the fitted paintings.
    method : the method actually used, "pca" or "umap".
    explained_variance_ratio : (3,) share of variance per PCA axis (0 for padded
        axes), None for UMAP.
    model : object with ``transform(Y (m, d)) -> (m, 3)``.
    note : what was adjusted for this collection (clamped parameters, fallback),
        or None.
    params : the parameters actually used.
    """

    coords: np.ndarray
    method: str
    explained_variance_ratio: np.ndarray | None
    model: Any
    note: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def transform(self, Y: np.ndarray) -> np.ndarray:
        """(m, d) new vectors -> (m, 3) coordinates in this map (no re-fit)."""
        return self.model.transform(Y)

    def axis_titles(self) -> list[str]:
        """``["PC1 (23%)", ...]`` for PCA, ``["UMAP 1", ...]`` for UMAP."""
        if self.method == "pca" and self.explained_variance_ratio is not None:
            return [f"PC{i + 1} ({r:.0%})" for i, r in enumerate(self.explained_variance_ratio)]
        return [f"UMAP {i + 1}" for i in range(3)]


def _fit_pca(X: np.ndarray, mean: np.ndarray | None, seed: int, notes: list[str]) -> Projection:
    Xp = _prepare(X, mean)
    n, d = Xp.shape
    ratio = np.zeros(3)
    coords = np.zeros((n, 3))
    k = min(3, n - 1, d)
    if k < 1:
        notes.append("With one painting there is nothing to project: it sits at the origin.")
        model = _PCAModel(mean, None)
    else:
        if k < 3:
            notes.append(f"{n} paintings span at most {k} dimension{'s' * (k > 1)}; the other axes are zero.")
        # ARPACK (seeded start vector: deterministic) is the fastest exact solver
        # for 3 components here: ~25 ms at n=1,000 and ~0.7 s at n=20,000 (float32).
        solver = "arpack" if k < min(n, d) else "full"
        pca = PCA(n_components=k, svd_solver=solver, random_state=seed)
        coords[:, :k] = pca.fit_transform(Xp)  # float32 input: float32 PCA
        ratio[:k] = np.nan_to_num(pca.explained_variance_ratio_)
        model = _PCAModel(mean, pca)
    return Projection(coords, "pca", ratio, model, params={"n_components": k, "seed": seed})


def fit_projection(
    X: np.ndarray,
    method: str = "pca",
    *,
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    center: bool = False,
) -> Projection:
    """Fit a 3-D projection of the rows of ``X``.

    Parameters
    ----------
    X : (n, d) vectors.
    method : "pca" or "umap".
    seed : random state (PCA's randomized solver, UMAP's layout).
    n_neighbors : UMAP neighbourhood size, clamped to [2, n - 1].
    min_dist : UMAP minimum distance, clamped to [0, 0.99].
    center : subtract the collection mean before normalising (kept for ``transform``).

    Returns
    -------
    Projection with coords (n, 3); see the module docstring for tiny n.
    """
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; choose 'pca' or 'umap'")
    X = np.asarray(X)
    if X.dtype.kind != "f":
        X = X.astype(np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"need at least one painting to project; got shape {X.shape}")
    n, d = X.shape
    mean = X.mean(axis=0, dtype=np.float64) if center else None
    notes: list[str] = []

    if method == "pca" or n < UMAP_MIN_N:
        if method == "umap":
            notes.append(f"UMAP needs at least {UMAP_MIN_N} paintings; showing PCA for {n}.")
        proj = _fit_pca(X, mean, seed, notes)
        proj.note = " ".join(notes) or None
        return proj

    umap = import_umap()  # lazy: ~2 s import; numba compiles on a first fit unless its disk cache has the kernels

    nn = int(min(max(int(n_neighbors), 2), n - 1))
    if nn != int(n_neighbors):
        notes.append(f"n_neighbors {n_neighbors} adjusted to {nn} for {n} paintings.")
    md = float(min(max(float(min_dist), 0.0), 0.99))
    if md != float(min_dist):
        notes.append(f"min_dist {min_dist} adjusted to {md} (must be in [0, 0.99]).")
    Xp = _prepare(X, mean)
    pre = None
    if n > UMAP_PCA_MIN_N and d > UMAP_PCA_DIMS:
        pre = PCA(n_components=UMAP_PCA_DIMS, random_state=seed)
        Xp = pre.fit_transform(Xp)
        notes.append(f"UMAP ran on the first {UMAP_PCA_DIMS} principal components ({n} paintings).")
    # Euclidean distance between unit vectors ranks neighbours exactly as cosine does.
    train = Xp if n <= UMAP_EXACT_MAX_N else None
    reducer = umap.UMAP(
        n_components=3, n_neighbors=nn, min_dist=md, random_state=seed,
        metric="euclidean" if train is None else "precomputed",
    )
    with warnings.catch_warnings():
        # "n_jobs value 1 overridden to 1 by setting random_state": expected, we want determinism
        warnings.filterwarnings("ignore", message=".*n_jobs.*", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*precomputed metric.*", category=UserWarning)
        fit_on = Xp if train is None else euclidean_distances(train)
        coords = np.asarray(reducer.fit_transform(fit_on), dtype=np.float64)
    return Projection(
        coords,
        "umap",
        None,
        _UMAPModel(mean, reducer, pre, train),
        note=" ".join(notes) or None,
        params={"n_neighbors": nn, "min_dist": md, "seed": seed, "pre_pca": pre is not None},
    )


#: Above this many paintings a map is fitted on a seeded sample of this size and
#: the other paintings are placed with ``transform`` (:func:`fit_projection_sampled`).
#: 4,000 stays under umap-learn's 4,096 points for exact neighbours: the fit then
#: builds no approximate index (pynndescent: ~50 s more numba compilation per
#: process, which the server's warm-up does not cover) and ``transform`` finds a
#: painting's neighbours in the sample by one distance matrix per chunk.
PROJECTION_FIT_MAX_N = 4000
#: UMAP epochs when ``transform`` places the paintings outside the sample:
#: umap-learn's own number for more than 10,000 new points (it takes 100 for a
#: smaller batch, i.e. per chunk here: 3x the time, placements no more faithful;
#: benchmarks/README.md, "Scale").
UMAP_TRANSFORM_EPOCHS = 30


def fit_projection_sampled(
    X: np.ndarray,
    method: str = "pca",
    *,
    max_fit_n: int = PROJECTION_FIT_MAX_N,
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    center: bool = False,
    chunk: int = 5_000,
) -> Projection:
    """:func:`fit_projection` for large collections: fit on a sample, place the rest with ``transform``.

    Up to ``max_fit_n`` paintings this is exactly :func:`fit_projection`. Above,
    the map is fitted on a seeded random sample of ``max_fit_n`` paintings (UMAP's
    cost grows faster than linearly; a fit on 50,000 takes minutes) and every
    other painting is placed in it by ``transform``, ``chunk`` rows at a time
    (bounded memory: a UMAP chunk is a ``chunk x max_fit_n`` distance matrix), a
    UMAP with ``UMAP_TRANSFORM_EPOCHS`` epochs (kept for later ``transform`` calls,
    e.g. uploads). With ``center`` the sample's mean is the centre, as for
    uploads placed in a fitted map. Above ``UMAP_PCA_MIN_N`` paintings in the
    sample, UMAP runs on the sample's first ``UMAP_PCA_DIMS`` principal components.

    Parameters
    ----------
    X : (n, d) vectors.

    Returns
    -------
    Projection with coords (n, 3) in the order of ``X``; ``params["fit_sample"]``
    holds the (s,) sorted indices fitted (all of them when n <= max_fit_n),
    ``params["fit_s"]`` and ``params["transform_s"]`` the seconds each step took
    (for benchmarks), and ``note`` says that the rest were placed.
    """
    X = np.asarray(X)
    n = X.shape[0] if X.ndim == 2 else 0
    t0 = time.perf_counter()
    if n <= max_fit_n:
        proj = fit_projection(X, method, seed=seed, n_neighbors=n_neighbors, min_dist=min_dist, center=center)
        proj.params.update(fit_sample=np.arange(n), fit_s=time.perf_counter() - t0, transform_s=0.0)
        return proj
    sample = np.sort(np.random.default_rng(seed).choice(n, size=max(1, int(max_fit_n)), replace=False))
    proj = fit_projection(X[sample], method, seed=seed, n_neighbors=n_neighbors, min_dist=min_dist, center=center)
    t1 = time.perf_counter()
    rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
    if proj.method == "umap":
        # umap-learn runs n_epochs // 3 epochs in transform (sklearn's public set_params)
        proj.model.reducer.set_params(n_epochs=3 * UMAP_TRANSFORM_EPOCHS)
    coords = np.empty((n, 3))
    coords[sample] = proj.coords
    for start in range(0, rest.size, max(1, int(chunk))):
        part = rest[start : start + chunk]
        coords[part] = proj.transform(X[part])
    note = (
        f"The map was fitted on a random sample of {sample.size:,} of the {n:,} paintings; "
        "the others were placed in it without refitting."
    )
    return Projection(
        coords,
        proj.method,
        proj.explained_variance_ratio,
        proj.model,
        note=" ".join(filter(None, [proj.note, note])),
        params={**proj.params, "fit_sample": sample, "fit_s": t1 - t0, "transform_s": time.perf_counter() - t1},
    )
