"""Artist-to-artist similarity with bootstrap intervals: how far to trust one number.

"Braque and Picasso are 0.70 alike" may rest on one self-portrait each. Resampling
each artist's paintings with replacement (a seeded bootstrap, so a share link
reproduces the intervals) shows how much the figure would move with other paintings
by the same artists.

Each replicate draws, for every artist with ``n_a`` paintings, ``n_a`` of them with
replacement; the artist's score is then computed exactly as
:func:`artsim.analysis.similarity.artist_similarity_from_vectors` computes it (mean cosine over
pairs of one painting of each artist; within an artist, pairs of two different draws
of distinct paintings). Sums of unit vectors make one replicate O(n d), no n x n matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from artsim.analysis.similarity import artist_codes, artist_similarity_from_vectors, normalize_rows

#: Default number of bootstrap replicates.
DEFAULT_REPLICATES = 200
#: A pair's order against its neighbour in rank is "stable" when it holds in at least this share.
STABLE_SHARE = 0.9


def bootstrap_replicates(
    X: np.ndarray,
    artists: Sequence[str],
    *,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    center: bool = False,
) -> tuple[list[str], np.ndarray]:
    """Artist similarity matrices of ``replicates`` bootstrap resamples.

    Parameters
    ----------
    X : (n, d) feature vectors.
    artists : n artist names.
    replicates : number of resamples.
    seed : seeds ``numpy.random.default_rng``; same seed, same replicates.
    center : mean-centre on the whole collection's mean (not the resample's), as the app does.

    Returns
    -------
    (names, B): sorted artist names (m,) and B (replicates, m, m) float64. Within-artist
    entries are NaN where a resample holds a single distinct painting.
    """
    Xn = normalize_rows(X, center=center, dtype=np.float64)
    n = Xn.shape[0]
    names, codes = artist_codes(artists, n)
    m = len(names)
    members = [np.flatnonzero(codes == a) for a in range(m)]
    rng = np.random.default_rng(seed)
    out = np.empty((int(replicates), m, m))
    order = np.argsort(codes, kind="stable")  # paintings grouped by artist: W's rows, sparse
    indptr = np.searchsorted(codes[order], np.arange(m + 1))
    W = sparse.csr_matrix((np.zeros(n), order, indptr), shape=(m, n))
    nonzero = np.any(Xn != 0, axis=1)
    sizes = np.array([idx.size for idx in members], dtype=np.float64)
    for r in range(int(replicates)):
        counts = np.zeros(n)
        for idx in members:
            counts += np.bincount(rng.choice(idx, size=idx.size, replace=True), minlength=n)
        W.data = counts[order]
        G = np.asarray(W @ Xn)  # (m, d) weighted sums of unit vectors
        sums = G @ G.T
        pairs = np.outer(sizes, sizes)
        # within an artist: drop pairs of a painting with itself (weight c_i^2, cosine 1 or 0)
        self_weight = np.bincount(codes, weights=counts**2 * nonzero, minlength=m)
        self_pairs = np.bincount(codes, weights=counts**2, minlength=m)
        np.fill_diagonal(sums, np.diag(sums) - self_weight)
        np.fill_diagonal(pairs, sizes**2 - self_pairs)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[r] = np.where(pairs > 0, sums / np.where(pairs > 0, pairs, 1), np.nan)
    return names, out


def artist_intervals(
    X: np.ndarray,
    artists: Sequence[str],
    *,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    center: bool = False,
    level: float = 0.9,
) -> pd.DataFrame:
    """One row per ordered artist pair (a, b), a != b, with a bootstrap interval and stability.

    Parameters
    ----------
    X, artists, replicates, seed, center : as :func:`bootstrap_replicates`.
    level : central interval coverage (0.9: the 5th to 95th percentile).

    Returns
    -------
    DataFrame with columns ``artist``, ``other``, ``similarity`` (the point estimate on
    all paintings), ``low``, ``high``, ``rank`` (1 = most similar other artist for
    ``artist``), ``stable`` (the pair keeps its order against the next-ranked artist in
    at least ``STABLE_SHARE`` of replicates; True for the last-ranked), ``n_artist``,
    ``n_other`` (paintings), and ``single`` (either artist has one painting: the figure
    rests on one sample).
    """
    point = artist_similarity_from_vectors(np.asarray(X, dtype=np.float64), artists, center=center).to_numpy()
    names, B = bootstrap_replicates(X, artists, replicates=replicates, seed=seed, center=center)
    sizes = pd.Series([str(a) for a in artists]).value_counts().to_dict()
    tail = (1.0 - float(level)) / 2
    low, high = np.quantile(B, [tail, 1 - tail], axis=0)  # (m, m) each; off-diagonal has no NaN
    rows = []
    for a_i, a in enumerate(names):
        others = [b for b in range(len(names)) if b != a_i]
        est = point[a_i, others]
        ranked = [others[t] for t in np.argsort(-est, kind="stable")]
        for rank, b_i in enumerate(ranked, start=1):
            if rank < len(ranked):
                stable = bool(np.mean(B[:, a_i, b_i] > B[:, a_i, ranked[rank]]) >= STABLE_SHARE)
            else:
                stable = True
            rows.append({
                "artist": a, "other": names[b_i],
                "similarity": float(point[a_i, b_i]),
                "low": float(low[a_i, b_i]), "high": float(high[a_i, b_i]),
                "rank": rank, "stable": stable,
                "n_artist": int(sizes[a]), "n_other": int(sizes[names[b_i]]),
                "single": bool(sizes[a] == 1 or sizes[names[b_i]] == 1),
            })
    return pd.DataFrame(rows, columns=[
        "artist", "other", "similarity", "low", "high", "rank", "stable", "n_artist", "n_other", "single",
    ])
