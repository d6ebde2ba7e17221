"""How well do a model's features group paintings by artist?

* :func:`loo_nn_accuracy`: leave-one-out nearest-neighbour artist accuracy by
  cosine similarity, against the accuracy of a random neighbour.
* :func:`within_between`: distributions of similarity for pairs by the same
  artist vs by different artists.
* :func:`clustering_agreement`: adjusted Rand index between models' clusterings.

Copies of one work (the same painting photographed twice) would make the task
trivial, so they are never each other's neighbour, and are left out of pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from artsim.analysis.similarity import artist_codes, normalize_rows, work_keys


def loo_nn_accuracy(
    X: np.ndarray,
    artists: Sequence[str],
    works: Sequence[str] | None = None,
    *,
    center: bool = False,
    chunk: int = 1024,
) -> tuple[float, float]:
    """Leave-one-out nearest-neighbour artist accuracy.

    For each painting i (the query), its candidates are every other painting
    except copies of the same work (same non-empty ``works`` entry). The
    nearest candidate by cosine similarity (ties: lowest index) is a hit when
    it has the same artist. A query with no candidates is skipped.

    ``chance`` is the exact expected accuracy of a neighbour drawn uniformly at
    random from the same candidates: the mean over queries of
    (same-artist candidates) / (candidates). Without ``works`` this is
    sum_a (n_a / n) * (n_a - 1) / (n - 1).

    Parameters
    ----------
    X : (n, d) vectors; artists : n names; works : optional n work names
    ('' or None = unknown, matches nothing); center : mean-centre first;
    chunk : query rows per block (memory is chunk x n, not n x n).

    Returns
    -------
    (accuracy, chance), both NaN when no query has a candidate (n < 2).
    Cost is O(n^2 d): about 6 s at n = 20,000, d = 2048 (float32) on 2 cores;
    not something to rerun on every widget change.
    """
    Xn = normalize_rows(X, center=center)
    n = Xn.shape[0]
    _, codes = artist_codes(artists, n)
    keys = work_keys(works, n)
    if keys is None:
        keys = -np.arange(1, n + 1)
    hits = np.zeros(n, dtype=bool)
    for start in range(0, n, max(1, int(chunk))):
        rows = np.arange(start, min(n, start + chunk))
        Sb = Xn[rows] @ Xn.T
        Sb[keys[rows][:, None] == keys[None, :]] = -np.inf  # self and copies of the same work
        best = np.argmax(Sb, axis=1)
        hits[rows] = codes[best] == codes[rows]
    # candidates and same-artist candidates per query, with the same exclusions
    work_count = Counter(keys.tolist())
    work_artist_count = Counter(zip(keys.tolist(), codes.tolist(), strict=True))
    artist_count = np.bincount(codes)
    cand = np.array([n - work_count[k] for k in keys.tolist()], dtype=np.float64)
    same = np.array(
        [artist_count[c] - work_artist_count[(k, c)] for k, c in zip(keys.tolist(), codes.tolist(), strict=True)],
        dtype=np.float64,
    )
    valid = cand > 0
    if not valid.any():
        return float("nan"), float("nan")
    return float(hits[valid].mean()), float((same[valid] / cand[valid]).mean())


def within_between(
    S: np.ndarray,
    artists: Sequence[str],
    *,
    works: Sequence[str] | None = None,
    max_pairs_per_kind: int | None = 50_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Similarities of all distinct pairs, labelled by artist relation.

    Parameters
    ----------
    S : (n, n) painting-level similarity (so n <= ``PAINTING_LEVEL_MAX_N`` in
        the app; for a larger collection pass a seeded sample of paintings).
    artists : n names.
    works : optional n work names; pairs of copies of one work are left out.
    max_pairs_per_kind : keep at most this many pairs of each kind, chosen at
        random with ``seed`` (a box plot of millions of points is a huge
        figure); None keeps all. At the default every pair is kept up to
        n ~ 300.

    Returns
    -------
    Long DataFrame with columns ``i``, ``j`` (i < j), ``similarity`` and
    ``kind`` in {"within", "between"} (same / different artist), in (i, j) order.
    """
    S = np.asarray(S, dtype=np.float64)
    n = S.shape[0]
    _, codes = artist_codes(artists, n)
    iu, ju = np.triu_indices(n, 1)
    keys = work_keys(works, n)
    if keys is not None:
        keep = keys[iu] != keys[ju]
        iu, ju = iu[keep], ju[keep]
    same = codes[iu] == codes[ju]
    rng = np.random.default_rng(seed)
    parts = []
    for kind, mask in (("within", same), ("between", ~same)):
        idx = np.flatnonzero(mask)
        if max_pairs_per_kind is not None and idx.size > max_pairs_per_kind:
            idx = np.sort(rng.choice(idx, size=int(max_pairs_per_kind), replace=False))
        parts.append((idx, kind))
    idx = np.concatenate([p[0] for p in parts])
    kinds = np.concatenate([np.full(p[0].size, p[1], dtype=object) for p in parts])
    order = np.argsort(idx, kind="stable")
    idx, kinds = idx[order], kinds[order]
    return pd.DataFrame(
        {"i": iu[idx], "j": ju[idx], "similarity": S[iu[idx], ju[idx]], "kind": pd.Series(kinds, dtype=object)}
    )


def clustering_agreement(label_sets: Mapping[str, Sequence[int] | np.ndarray]) -> pd.DataFrame:
    """Adjusted Rand index between every two clusterings of the same paintings.

    Parameters
    ----------
    label_sets : name (e.g. model) -> (n,) cluster labels, all over the same n
        paintings in the same order (typically each model cut at the same k).

    Returns
    -------
    Square DataFrame (models x models) of ARI: 1 on the diagonal, 0 for
    chance-level agreement, can be slightly negative.
    """
    names = list(label_sets)
    arrays = [np.asarray(label_sets[m]) for m in names]
    if len({a.shape for a in arrays}) > 1:
        raise ValueError("all clusterings must label the same paintings: " + ", ".join(
            f"{m}: {a.shape[0]}" for m, a in zip(names, arrays, strict=True)))
    A = np.eye(len(names))
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            A[a, b] = A[b, a] = adjusted_rand_score(arrays[a], arrays[b])
    return pd.DataFrame(A, index=pd.Index(names, name="model"), columns=pd.Index(names, name="model"))
