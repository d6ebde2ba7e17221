"""artsim.analysis.comparison: the Compare page's numbers, each against its library reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist
from sklearn.metrics import adjusted_rand_score

from artsim.analysis import comparison, similarity
from artsim.analysis.comparison import comparable, compare_models
from artsim.analysis.evaluation import loo_nn_accuracy


@pytest.fixture
def selection():
    rng = np.random.default_rng(3)
    artists = [f"a{i % 3}" for i in range(12)]
    centers = rng.normal(size=(3, 6))
    vectors = {
        "m1": np.stack([centers[i % 3] + 0.3 * rng.normal(size=6) for i in range(12)]),
        "m2": rng.normal(size=(12, 4)).astype(np.float32),
    }
    return vectors, artists


def test_each_model_matches_the_direct_calls(selection):
    vectors, artists = selection
    result = compare_models(vectors, artists, linkage="average", k=3)
    assert list(result.accuracy) == ["m1", "m2"] and result.k == 3 and result.painting_level
    for model, X in vectors.items():
        assert result.accuracy[model] == loo_nn_accuracy(X, artists)
        ref = fcluster(linkage(pdist(np.asarray(X, dtype=np.float64), "cosine"), "average"), 3, "maxclust")
        assert adjusted_rand_score(result.labels[model], ref) == pytest.approx(1.0)
        pairs = result.pairs[model]
        assert len(pairs) == 66 and (pairs.kind == "within").sum() == 3 * 6
    m1, m2 = result.labels["m1"], result.labels["m2"]
    assert result.agreement.loc["m1", "m2"] == pytest.approx(adjusted_rand_score(m1, m2))
    # well-separated artists under m1: nearest neighbour is always the same artist
    assert result.accuracy["m1"][0] == 1.0


def test_k_is_clamped_and_one_model_has_no_agreement(selection):
    vectors, artists = selection
    result = compare_models({"m1": vectors["m1"]}, artists, k=99)
    assert result.k == 12 and result.agreement.empty
    assert len(set(result.labels["m1"])) == 12
    assert compare_models({"m1": vectors["m1"]}, artists, k=1).k == 2


def test_above_the_painting_level_threshold_no_pairs(selection, monkeypatch):
    vectors, artists = selection
    monkeypatch.setattr(similarity, "PAINTING_LEVEL_MAX_N", 11)
    result = compare_models(vectors, artists, k=2)
    assert result.pairs == {} and not result.painting_level and set(result.accuracy) == {"m1", "m2"}


def test_mismatched_rows_raise(selection):
    vectors, artists = selection
    with pytest.raises(ValueError, match="m1: 5 vectors for 12"):
        compare_models({"m1": vectors["m1"][:5]}, artists)


def test_comparable_needs_three_paintings_by_two_artists():
    assert not comparable(["a", "b"]) and not comparable(["a", "a", "a"])
    assert comparable(["a", "a", "b"])
    assert isinstance(comparison.ModelComparison().agreement, pd.DataFrame)
