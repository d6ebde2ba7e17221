"""artsim.analysis.evaluation against hand-computed answers and brute-force loops."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from artsim.analysis.evaluation import clustering_agreement, loo_nn_accuracy, within_between
from artsim.analysis.similarity import cosine_similarity_matrix

# Six paintings as 2-D unit vectors at these angles (degrees), so the nearest
# neighbour by cosine is the smallest angle difference:
#   0: A, work "w1", 0    1: A, work "w1", 1  (a second photo of painting 0)
#   2: A, 25              3: B, 9             4: B, 14            5: C, 90
ANGLES = [0, 1, 25, 9, 14, 90]
ARTISTS = ["A", "A", "A", "B", "B", "C"]
WORKS = ["w1", "w1", "", "", "", ""]


def _tiny():
    a = np.deg2rad(ANGLES)
    return np.column_stack([np.cos(a), np.sin(a)]) * np.array([[1.0], [3.0], [0.5], [2.0], [1.0], [1.0]])


def test_loo_hand_computed_with_work_exclusion():
    # copies excluded: 0 -> 3 (B, miss), 1 -> 3 (miss), 2 -> 4 (miss), 3 -> 4 (hit),
    # 4 -> 3 (hit), 5 -> 2 (miss): 2 / 6.
    # chance per query = same-artist candidates / candidates:
    # 0: 1/4, 1: 1/4, 2: 2/5, 3: 1/5, 4: 1/5, 5: 0/5  -> mean 1.3 / 6
    acc, chance = loo_nn_accuracy(_tiny(), ARTISTS, WORKS)
    assert acc == pytest.approx(2 / 6)
    assert chance == pytest.approx(1.3 / 6)


def test_loo_hand_computed_without_works():
    # 0 <-> 1 are each other's neighbours (hits), 2 -> 4 miss, 3 -> 4 hit, 4 -> 3 hit, 5 -> 2 miss
    acc, chance = loo_nn_accuracy(_tiny(), ARTISTS)
    assert acc == pytest.approx(4 / 6)
    # sum_a n_a (n_a - 1) / (n (n - 1)) = (3*2 + 2*1 + 0) / 30
    assert chance == pytest.approx(8 / 30)
    # empty work names are not a shared work
    assert loo_nn_accuracy(_tiny(), ARTISTS, [""] * 6) == (acc, chance)


def _loo_loop(X, artists, works):
    S = cosine_similarity_matrix(X)
    n = len(artists)
    hits, chances = [], []
    for i in range(n):
        cand = [j for j in range(n) if j != i and not (works[i] and works[i] == works[j])]
        if not cand:
            continue
        best = max(cand, key=lambda j: (S[i, j], -j))
        hits.append(artists[best] == artists[i])
        chances.append(sum(artists[j] == artists[i] for j in cand) / len(cand))
    return np.mean(hits), np.mean(chances)


@pytest.mark.parametrize("chunk", [1, 7, 1024])
def test_loo_matches_brute_force_loop(chunk):
    rng = np.random.default_rng(11)
    centers = rng.normal(size=(4, 10))
    lab = rng.integers(0, 4, 50)
    X = centers[lab] + rng.normal(size=(50, 10)) * 0.8
    artists = [f"artist{v}" for v in lab]
    works = [f"w{rng.integers(0, 6)}" if rng.random() < 0.3 else "" for _ in range(50)]
    acc, chance = loo_nn_accuracy(X, artists, works, chunk=chunk)
    ref_acc, ref_chance = _loo_loop(X, artists, works)
    assert acc == pytest.approx(ref_acc) and chance == pytest.approx(ref_chance)
    assert acc > chance  # clustered data beats chance
    c_acc, _ = loo_nn_accuracy(X, artists, works, center=True)
    assert c_acc == pytest.approx(_loo_loop(X - X.mean(0), artists, works)[0])


def test_loo_degenerate():
    assert all(np.isnan(v) for v in loo_nn_accuracy(np.ones((1, 3)), ["a"]))
    # two copies of one work: no query has a candidate
    assert all(np.isnan(v) for v in loo_nn_accuracy(np.eye(2), ["a", "a"], ["w", "w"]))
    assert loo_nn_accuracy(np.eye(2), ["a", "b"]) == (0.0, 0.0)


def test_within_between_matches_loop():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(12, 6))
    artists = list("AABBBCCDDDDE")
    works = ["", "x", "", "", "", "", "", "x", "", "", "", ""]  # a (mis-attributed) copy pair 1-7
    S = cosine_similarity_matrix(X)
    df = within_between(S, artists, works=works)
    ref = [(i, j, S[i, j], "within" if artists[i] == artists[j] else "between")
           for i, j in itertools.combinations(range(12), 2) if (i, j) != (1, 7)]
    assert list(df.columns) == ["i", "j", "similarity", "kind"]
    assert list(zip(df.i, df.j, df.kind, strict=True)) == [(r[0], r[1], r[3]) for r in ref]
    np.testing.assert_allclose(df.similarity, [r[2] for r in ref])
    assert (df.kind == "within").sum() == 1 + 3 + 1 + 6


def test_within_between_caps_each_kind_reproducibly():
    rng = np.random.default_rng(6)
    S = cosine_similarity_matrix(rng.normal(size=(40, 5)))
    artists = [f"a{i % 4}" for i in range(40)]
    full = within_between(S, artists, max_pairs_per_kind=None)
    capped = within_between(S, artists, max_pairs_per_kind=50, seed=3)
    assert (full.kind == "within").sum() == 4 * 45 and len(full) == 780
    assert capped.kind.value_counts().to_dict() == {"within": 50, "between": 50}
    merged = capped.merge(full, on=["i", "j"], suffixes=("", "_full"))
    assert len(merged) == 100 and (merged.kind == merged.kind_full).all()
    np.testing.assert_array_equal(merged.similarity, merged.similarity_full)
    pd.testing.assert_frame_equal(capped, within_between(S, artists, max_pairs_per_kind=50, seed=3))


def test_clustering_agreement_is_ari():
    rng = np.random.default_rng(9)
    a = rng.integers(0, 4, 60)
    b = np.where(rng.random(60) < 0.7, a, rng.integers(0, 4, 60))
    c = rng.integers(0, 3, 60)
    relabelled = (a + 1) % 4  # same partition, different numbers
    df = clustering_agreement({"resnet50": a, "style": b, "random": c, "same": relabelled})
    assert list(df.index) == list(df.columns) == ["resnet50", "style", "random", "same"]
    np.testing.assert_allclose(np.diag(df), 1.0)
    assert df.loc["resnet50", "style"] == pytest.approx(adjusted_rand_score(a, b))
    assert df.loc["style", "random"] == pytest.approx(adjusted_rand_score(b, c))
    assert df.loc["resnet50", "same"] == pytest.approx(1.0)
    np.testing.assert_allclose(df.to_numpy(), df.to_numpy().T)
    with pytest.raises(ValueError, match="same paintings"):
        clustering_agreement({"a": a, "b": a[:10]})
