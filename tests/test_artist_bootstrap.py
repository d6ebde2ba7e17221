"""Bootstrap artist similarity against a direct loop over resampled paintings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from artsim.analysis.artist_bootstrap import artist_intervals, bootstrap_replicates
from artsim.analysis.similarity import artist_similarity_from_vectors


def _collection(seed: int = 0):
    rng = np.random.default_rng(seed)
    artists = ["A"] * 4 + ["B"] * 3 + ["C"] * 1 + ["D"] * 2
    centres = {a: rng.normal(size=8) * 2 for a in "ABCD"}
    X = np.stack([centres[a] + rng.normal(size=8) for a in artists]).astype(np.float32)
    return X, artists


def _direct(X, artists, replicates, seed):
    """The definition, one replicate and one pair of draws at a time."""
    Xn = X.astype(np.float64) / np.linalg.norm(X.astype(np.float64), axis=1, keepdims=True)
    names = sorted(set(artists))
    members = {a: [i for i, b in enumerate(artists) if b == a] for a in names}
    rng = np.random.default_rng(seed)
    out = np.full((replicates, len(names), len(names)), np.nan)
    for r in range(replicates):
        draws = {a: list(rng.choice(members[a], size=len(members[a]), replace=True)) for a in names}
        for x, a in enumerate(names):
            for y, b in enumerate(names):
                vals = [Xn[p] @ Xn[q] for p in draws[a] for q in draws[b] if p != q or a != b]
                if a == b:  # within an artist: pairs of two different paintings only
                    vals = [Xn[p] @ Xn[q] for p in draws[a] for q in draws[b] if p != q]
                if vals:
                    out[r, x, y] = np.mean(vals)
    return names, out


def test_replicates_match_direct_loop():
    X, artists = _collection()
    names, B = bootstrap_replicates(X, artists, replicates=15, seed=7)
    want_names, want = _direct(X, artists, 15, 7)
    assert names == want_names
    np.testing.assert_allclose(B, want, atol=1e-9, equal_nan=True)


def test_seeded_and_reproducible():
    X, artists = _collection()
    a = bootstrap_replicates(X, artists, replicates=5, seed=3)[1]
    b = bootstrap_replicates(X, artists, replicates=5, seed=3)[1]
    c = bootstrap_replicates(X, artists, replicates=5, seed=4)[1]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(np.nan_to_num(a), np.nan_to_num(c))


def test_intervals_table():
    X, artists = _collection(1)
    t = artist_intervals(X, artists, replicates=60, seed=0)
    assert len(t) == 4 * 3
    point = artist_similarity_from_vectors(X, artists)
    for row in t.itertuples():
        assert row.similarity == pytest.approx(point.loc[row.artist, row.other])
        assert row.low <= row.high
    # ranks run 1..3 per artist, in decreasing point estimate
    for _, g in t.groupby("artist"):
        assert list(g["rank"]) == [1, 2, 3]
        assert g["similarity"].is_monotonic_decreasing
        assert bool(g["stable"].iloc[-1])
    single = t[(t["artist"] == "C") | (t["other"] == "C")]
    assert single["single"].all() and not t.drop(single.index)["single"].any()
    # an artist with one painting always draws that painting: its pairs only vary with the other artist
    c_rows = t[t["artist"] == "C"]
    assert isinstance(c_rows, pd.DataFrame) and (c_rows["n_artist"] == 1).all()


def test_identical_artists_are_unstable_in_order():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(1, 6))
    # B and C are drawn from one distribution: A's order between them must not be called stable
    X = np.vstack([base + rng.normal(size=(5, 6)) * 0.1 for _ in range(3)])
    artists = ["A"] * 5 + ["B"] * 5 + ["C"] * 5
    t = artist_intervals(X, artists, replicates=100, seed=1)
    first = t[(t["artist"] == "A") & (t["rank"] == 1)]
    assert not bool(first["stable"].iloc[0])
