"""Cosine similarity between paintings and between artists.

Raw CNN features (ResNet, EfficientNet: post-ReLU pooled activations) are all
non-negative, so raw cosines bunch near 1 and every pair looks alike.
Mean-centring (``center=True``: subtract the collection's mean vector) spreads
them over [-1, 1] and shows what distinguishes paintings *within* this
collection.

Large collections: a full n x n float64 matrix is 8 n^2 bytes (3.2 GB at
n = 20,000) and a heatmap of it cannot be drawn anyway. The app builds the
painting-level matrix only for n <= ``PAINTING_LEVEL_MAX_N`` (or for a selected
subset of at most that size; the painting heatmap itself stops at
``figures.MAX_HEATMAP_N``); beyond that it uses the artist-level matrix from
:func:`artist_similarity_from_vectors` (O(n d), no n x n matrix) and finds
neighbours of one painting with :func:`nearest_from_vectors` (one O(n d)
matrix-vector product).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Largest collection for which the app builds the painting-level n x n matrix.
PAINTING_LEVEL_MAX_N = 2000


def _as_2d(X: np.ndarray, dtype: np.dtype | type | None = None) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-D array (paintings x features), got shape {X.shape}")
    return X.astype(work_dtype(X) if dtype is None else dtype, copy=False)


def work_dtype(X: np.ndarray) -> type:
    """float32 for float32 input (embeddings as stored: half the memory and
    about twice the speed on large collections), float64 otherwise."""
    return np.float32 if np.asarray(X).dtype == np.float32 else np.float64


def normalize_rows(
    X: np.ndarray,
    *,
    center: bool = False,
    mean: np.ndarray | None = None,
    dtype: np.dtype | type | None = None,
) -> np.ndarray:
    """Optionally centre, then scale each row to unit L2 norm.

    Parameters
    ----------
    X : (n, d) array.
    center : subtract ``mean`` (default: the mean of ``X``) before normalising.
    mean : (d,) vector to subtract when ``center`` is true (e.g. a collection's
        mean, to place uploads relative to it).
    dtype : result dtype; default :func:`work_dtype` of ``X``.

    Returns
    -------
    (n, d) new array. Rows of norm 0 (a zero vector, or a single painting after
    centring) stay all-zero instead of becoming NaN.
    """
    X = _as_2d(X, dtype)
    if center and X.shape[0] > 0:
        mu = X.mean(axis=0, dtype=np.float64) if mean is None else np.asarray(mean, dtype=np.float64)
        out = X - mu.astype(X.dtype)
    else:
        out = X.copy()
    norms = np.sqrt(np.einsum("ij,ij->i", out, out))[:, None]
    np.divide(out, norms, out=out, where=norms > 0)
    out[(norms == 0)[:, 0]] = 0.0
    return out


def cosine_similarity_matrix(X: np.ndarray, *, center: bool = False, mean: np.ndarray | None = None) -> np.ndarray:
    """Pairwise cosine similarity of the rows of ``X``.

    Parameters
    ----------
    X : (n, d) feature vectors, one per painting.
    center : subtract the mean vector first (see the module docstring).
    mean : (d,) the vector ``center`` subtracts (default: the mean of ``X``); a collection's
        mean keeps a subset's similarities equal to the collection's (a drill-down).

    Returns
    -------
    (n, n) float64, symmetric, values clipped to [-1, 1], diagonal exactly 1.
    A zero vector has similarity 0 to every other painting (never NaN).
    Equals ``1 - squareform(pdist(X, "cosine"))`` for non-zero rows.
    """
    Xn = normalize_rows(X, center=center, mean=mean, dtype=np.float64)
    S = Xn @ Xn.T
    np.clip(S, -1.0, 1.0, out=S)
    S = (S + S.T) / 2  # exact symmetry despite BLAS rounding
    np.fill_diagonal(S, 1.0)
    return S


def artist_codes(artists: Sequence[str], n: int) -> tuple[list[str], np.ndarray]:
    """Sorted distinct artist names and each painting's index into them.

    Parameters
    ----------
    artists : n names (converted with ``str``).
    n : expected number of paintings (a mismatch raises ``ValueError``).

    Returns
    -------
    (names, codes): sorted unique names, and (n,) intp codes with
    ``names[codes[i]] == str(artists[i])``.
    """
    artists = [str(a) for a in artists]
    if len(artists) != n:
        raise ValueError(f"{len(artists)} artist names for {n} paintings")
    names = sorted(set(artists))
    index = {a: i for i, a in enumerate(names)}
    return names, np.array([index[a] for a in artists], dtype=np.intp)


def artist_similarity(S: np.ndarray, artists: Sequence[str]) -> pd.DataFrame:
    """Mean similarity between artists' paintings.

    Parameters
    ----------
    S : (n, n) painting similarity matrix.
    artists : n artist names.

    Returns
    -------
    DataFrame (m, m) indexed and columned by artist name (sorted). Off-diagonal:
    mean of S over all pairs (one painting of each artist). Diagonal: mean over
    distinct pairs of the artist's own paintings (self-pairs excluded); NaN for
    an artist with one painting.
    """
    S = np.asarray(S, dtype=np.float64)
    n = S.shape[0]
    names, codes = artist_codes(artists, n)
    m = len(names)
    M = np.zeros((n, m))
    M[np.arange(n), codes] = 1.0
    sums = M.T @ S @ M  # (m, m) block sums
    counts = M.sum(axis=0)
    pairs = np.outer(counts, counts)
    diag_self = np.bincount(codes, weights=np.diag(S), minlength=m)
    within_pairs = counts * (counts - 1)
    np.fill_diagonal(sums, np.diag(sums) - diag_self)
    np.fill_diagonal(pairs, within_pairs)
    with np.errstate(invalid="ignore", divide="ignore"):
        A = np.where(pairs > 0, sums / np.where(pairs > 0, pairs, 1), np.nan)
    return pd.DataFrame(A, index=pd.Index(names, name="artist"), columns=pd.Index(names, name="artist"))


def artist_similarity_from_vectors(
    X: np.ndarray, artists: Sequence[str], *, center: bool = False, block: int = 4096
) -> pd.DataFrame:
    """Same result as ``artist_similarity(cosine_similarity_matrix(X, center=center), artists)``
    in O(n d) time and O(block d) extra memory, without the n x n matrix (for
    large collections).

    The sum of cosines over a block of pairs is the dot product of the two
    artists' sums of unit vectors; the diagonal subtracts each painting's
    similarity with itself (1, or 0 for a zero vector). Computed in the input's
    precision (float32 embeddings: agrees with the float64 route to ~1e-6).
    """
    X = _as_2d(X)
    n, d = X.shape
    names, codes = artist_codes(artists, n)
    m = len(names)
    mu = X.mean(axis=0, dtype=np.float64) if center and n else None
    G = np.zeros((m, d))
    self_sim = np.zeros(m)
    for start in range(0, n, max(1, int(block))):
        sl = slice(start, min(n, start + block))
        Xb = normalize_rows(X[sl], center=mu is not None, mean=mu)
        M = np.zeros((m, Xb.shape[0]), dtype=Xb.dtype)
        M[codes[sl], np.arange(Xb.shape[0])] = 1.0
        G += M @ Xb
        self_sim += np.bincount(codes[sl], weights=np.any(Xb != 0, axis=1).astype(np.float64), minlength=m)
    sums = G @ G.T
    counts = np.bincount(codes, minlength=m).astype(np.float64)
    pairs = np.outer(counts, counts)
    np.fill_diagonal(sums, np.diag(sums) - self_sim)
    np.fill_diagonal(pairs, counts * (counts - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        A = np.where(pairs > 0, sums / np.where(pairs > 0, pairs, 1), np.nan)
    return pd.DataFrame(A, index=pd.Index(names, name="artist"), columns=pd.Index(names, name="artist"))


def work_keys(works: Sequence[str] | None, n: int) -> np.ndarray | None:
    """(n,) integer work ids: equal for copies of one named work; a unique negative id
    where the work is unknown ('' / None / NaN), so it matches nothing. None without ``works``."""
    if works is None:
        return None
    works = list(works)
    if len(works) != n:
        raise ValueError(f"{len(works)} work names for {n} paintings")
    keys = np.empty(n, dtype=np.intp)
    seen: dict[str, int] = {}
    for i, w in enumerate(works):
        if w is None or (isinstance(w, float) and np.isnan(w)) or str(w).strip() == "":
            keys[i] = -(i + 1)  # unknown work: a copy of nothing
        else:
            keys[i] = seen.setdefault(str(w), len(seen))
    return keys


def same_work_mask(works: Sequence[str] | None, n: int) -> np.ndarray | None:
    """(n, n) bool: True where two different paintings are copies of one named work.

    An empty / missing work name never matches anything.
    """
    keys = work_keys(works, n)
    if keys is None:
        return None
    M = keys[:, None] == keys[None, :]
    np.fill_diagonal(M, False)
    return M


def top_pairs(
    S: np.ndarray,
    artists: Sequence[str],
    k: int = 10,
    *,
    exclude_same_artist: bool = True,
    works: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The ``k`` most similar pairs of paintings.

    Parameters
    ----------
    S : (n, n) similarity matrix.
    artists : n artist names; with ``exclude_same_artist`` only pairs by two
        different artists are considered ("who looks like whom").
    k : number of pairs (fewer if fewer exist).
    works : optional n work names; two copies of the same work are never a pair.

    Returns
    -------
    DataFrame with columns ``i``, ``j`` (i < j, row indices into S) and
    ``similarity``, most similar first (ties: smaller i, then smaller j).
    """
    S = np.asarray(S, dtype=np.float64)
    n = S.shape[0]
    _, codes = artist_codes(artists, n)
    iu, ju = np.triu_indices(n, 1)
    keep = np.ones(iu.shape[0], dtype=bool)
    if exclude_same_artist:
        keep &= codes[iu] != codes[ju]
    keys = work_keys(works, n)
    if keys is not None:
        keep &= keys[iu] != keys[ju]
    iu, ju = iu[keep], ju[keep]
    vals = S[iu, ju]
    k = max(0, min(int(k), vals.shape[0]))
    # a stable sort keeps triu_indices' (i, j) order among ties
    order = np.argsort(-vals, kind="stable")[:k]
    return pd.DataFrame({"i": iu[order], "j": ju[order], "similarity": vals[order]})


def _nearest_from_row(
    row: np.ndarray, i: int, k: int, works: Sequence[str] | None
) -> pd.DataFrame:
    n = row.shape[0]
    if not 0 <= i < n:
        raise IndexError(f"painting index {i} out of range for {n} paintings")
    keep = np.ones(n, dtype=bool)
    keep[i] = False
    keys = work_keys(works, n)
    if keys is not None:
        keep &= keys != keys[i]
    cand = np.flatnonzero(keep)
    order = cand[np.argsort(-row[cand], kind="stable")][: max(0, int(k))]
    return pd.DataFrame({"j": order, "similarity": row[order]})


def nearest(S: np.ndarray, i: int, k: int = 5, *, works: Sequence[str] | None = None) -> pd.DataFrame:
    """The ``k`` paintings most similar to painting ``i``.

    Excludes ``i`` itself and, when ``works`` is given, other copies of its work.

    Returns
    -------
    DataFrame with columns ``j`` (row index into S) and ``similarity``, most
    similar first (ties: smaller j first).
    """
    S = np.asarray(S, dtype=np.float64)
    return _nearest_from_row(S[i], int(i), k, works)


def nearest_from_vectors(
    X: np.ndarray, i: int, k: int = 5, *, works: Sequence[str] | None = None, center: bool = False
) -> pd.DataFrame:
    """Same as ``nearest(cosine_similarity_matrix(X, center=center), i, k, works=works)``
    with one O(n d) product instead of the n x n matrix (for large collections)."""
    Xn = normalize_rows(X, center=center)
    row = np.clip((Xn @ Xn[i]).astype(np.float64), -1.0, 1.0)
    return _nearest_from_row(row, int(i), k, works)


def similarity_to(
    X: np.ndarray, Y: np.ndarray, *, center: bool = False
) -> np.ndarray:
    """Cosine similarity of new vectors ``Y`` (m, d) to a collection ``X`` (n, d) -> (m, n).

    With ``center`` both are centred on the *collection's* mean, so uploads are
    compared in the same frame as the collection.
    """
    X = _as_2d(X)
    mean = X.mean(axis=0, dtype=np.float64) if center and X.shape[0] else None
    Xn = normalize_rows(X, center=center, mean=mean)
    Yn = normalize_rows(Y, center=mean is not None, mean=mean, dtype=Xn.dtype)
    return np.clip((Yn @ Xn.T).astype(np.float64), -1.0, 1.0)
