"""artsim.analysis.similarity against scipy and hand-written loops on seeded data."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist, squareform

from artsim.analysis.similarity import (
    artist_similarity,
    artist_similarity_from_vectors,
    cosine_similarity_matrix,
    nearest,
    nearest_from_vectors,
    normalize_rows,
    same_work_mask,
    similarity_to,
    top_pairs,
)


@pytest.fixture
def data():
    rng = np.random.default_rng(42)
    X = rng.random((23, 16))  # non-negative, like post-ReLU features
    artists = list(rng.choice(["Monet", "Munch", "Klimt", "Degas", "Seurat"], size=23))
    artists[7] = "Schiele"  # an artist with a single painting
    return X, artists


def test_cosine_matches_scipy(data):
    X, _ = data
    S = cosine_similarity_matrix(X)
    assert S.dtype == np.float64 and S.shape == (23, 23)
    np.testing.assert_allclose(S, 1 - squareform(pdist(X, "cosine")), atol=1e-12)
    assert np.array_equal(S, S.T)
    assert np.all(np.diag(S) == 1.0)


def test_centering_matches_scipy_on_centred_data_and_spreads_values(data):
    X, _ = data
    S = cosine_similarity_matrix(X, center=True)
    np.testing.assert_allclose(S, 1 - squareform(pdist(X - X.mean(0), "cosine")), atol=1e-12)
    off = ~np.eye(23, dtype=bool)
    raw = cosine_similarity_matrix(X)[off]
    assert raw.min() > 0.4  # non-negative features bunch up
    assert S[off].min() < 0 < S[off].max()
    assert np.std(S[off]) > 2 * np.std(raw)


def test_zero_vectors_do_not_produce_nan():
    X = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    S = cosine_similarity_matrix(X)
    assert np.isfinite(S).all()
    np.testing.assert_array_equal(S[0], [1.0, 0.0, 0.0])
    assert S[1, 2] == pytest.approx(1 / np.sqrt(2))
    # one painting, centred: its vector becomes zero
    assert np.array_equal(cosine_similarity_matrix(np.ones((1, 4)), center=True), [[1.0]])
    assert np.isfinite(normalize_rows(np.zeros((2, 3)))).all()


def _artist_loop(S, artists):
    names = sorted(set(artists))
    out = pd.DataFrame(np.nan, index=names, columns=names)
    for a, b in itertools.product(names, names):
        vals = [S[i, j] for i in range(len(artists)) for j in range(len(artists))
                if artists[i] == a and artists[j] == b and i != j]
        if vals:
            out.loc[a, b] = np.mean(vals)
    return out


def test_artist_similarity_matches_hand_loop(data):
    X, artists = data
    S = cosine_similarity_matrix(X, center=True)
    A = artist_similarity(S, artists)
    ref = _artist_loop(S, artists)
    assert list(A.index) == sorted(set(artists)) == list(A.columns)
    np.testing.assert_allclose(A.to_numpy(), ref.to_numpy(), atol=1e-12)
    assert np.isnan(A.loc["Schiele", "Schiele"])
    assert np.isfinite(A.loc["Schiele", "Monet"])
    np.testing.assert_allclose(A.to_numpy(), A.to_numpy().T, atol=1e-12)


@pytest.mark.parametrize("center", [False, True])
def test_artist_similarity_from_vectors_equals_matrix_route(data, center):
    X, artists = data
    X = X.copy()
    X[3] = 0.0  # a zero vector contributes similarity 0, not 1, to its own artist
    A = artist_similarity(cosine_similarity_matrix(X, center=center), artists)
    B = artist_similarity_from_vectors(X, artists, center=center)
    np.testing.assert_allclose(B.to_numpy(), A.to_numpy(), atol=1e-12)


def test_artist_similarity_rejects_wrong_length(data):
    X, artists = data
    with pytest.raises(ValueError, match="artist names"):
        artist_similarity(cosine_similarity_matrix(X), artists[:-1])


def _pairs_loop(S, artists, works, exclude_same_artist):
    rows = []
    for i, j in itertools.combinations(range(len(artists)), 2):
        if exclude_same_artist and artists[i] == artists[j]:
            continue
        if works is not None and works[i] and works[i] == works[j]:
            continue
        rows.append((i, j, S[i, j]))
    rows.sort(key=lambda r: (-r[2], r[0], r[1]))
    return rows


@pytest.mark.parametrize("exclude_same_artist", [True, False])
def test_top_pairs_matches_loop_and_skips_copies(data, exclude_same_artist):
    X, artists = data
    X = X.copy()
    X[5] = X[2] + 1e-3  # near-duplicate: a second photograph of painting 2
    artists[5] = "Monet" if artists[2] != "Monet" else "Munch"  # even mis-attributed
    works = [""] * 23
    works[2] = works[5] = "starry-night"
    S = cosine_similarity_matrix(X)
    df = top_pairs(S, artists, k=8, exclude_same_artist=exclude_same_artist, works=works)
    ref = _pairs_loop(S, artists, works, exclude_same_artist)[:8]
    assert list(df.columns) == ["i", "j", "similarity"]
    assert list(zip(df.i, df.j, strict=True)) == [(r[0], r[1]) for r in ref]
    np.testing.assert_allclose(df.similarity, [r[2] for r in ref])
    assert (2, 5) not in set(zip(df.i, df.j, strict=True))
    # without works the duplicate is the top pair
    top = top_pairs(S, artists, k=1, exclude_same_artist=exclude_same_artist)
    assert (top.i[0], top.j[0]) == (2, 5)


def test_top_pairs_k_larger_than_available():
    S = cosine_similarity_matrix(np.eye(3))
    df = top_pairs(S, ["a", "a", "b"], k=50)
    assert len(df) == 2 and set(zip(df.i, df.j, strict=True)) == {(0, 2), (1, 2)}


def test_nearest_excludes_self_and_copies(data):
    X, artists = data
    works = [""] * 23
    works[0] = works[4] = works[9] = "scream"
    S = cosine_similarity_matrix(X)
    df = nearest(S, 0, k=5, works=works)
    cand = [j for j in range(23) if j not in (0, 4, 9)]
    ref = sorted(cand, key=lambda j: (-S[0, j], j))[:5]
    assert df.j.tolist() == ref
    np.testing.assert_allclose(df.similarity, S[0, ref])
    # an empty work name never matches: painting 1 only loses itself
    assert len(nearest(S, 1, k=100, works=works)) == 22
    assert nearest(S, 0, k=100).j.tolist() == sorted(range(1, 23), key=lambda j: (-S[0, j], j))


def test_nearest_from_vectors_equals_matrix_route(data):
    X, _ = data
    works = ["w"] * 2 + [""] * 21
    a = nearest(cosine_similarity_matrix(X, center=True), 1, k=7, works=works)
    b = nearest_from_vectors(X, 1, k=7, works=works, center=True)
    assert a.j.tolist() == b.j.tolist()
    np.testing.assert_allclose(a.similarity, b.similarity, atol=1e-12)


def test_same_work_mask():
    M = same_work_mask(["a", "", "a", None, ""], 5)
    assert M.sum() == 2 and M[0, 2] and M[2, 0] and not M[1, 4]
    assert same_work_mask(None, 3) is None


def test_similarity_to_places_uploads_in_collection_frame(data):
    X, _ = data
    Y = X[:3] * 2.0  # the same images, different scale
    T = similarity_to(X, Y, center=True)
    Xc = X - X.mean(0)
    ref = 1 - squareform(pdist(np.vstack([Xc, Y - X.mean(0)]), "cosine"))[23:, :23]
    np.testing.assert_allclose(T, ref, atol=1e-12)
    np.testing.assert_allclose(similarity_to(X, X[:3]), cosine_similarity_matrix(X)[:3], atol=1e-12)


def test_a_subset_centred_on_the_collection_mean_equals_the_full_matrix_block():
    X = np.random.default_rng(3).normal(size=(12, 5))
    rows = [1, 4, 7, 8]
    full = cosine_similarity_matrix(X, center=True)
    block = cosine_similarity_matrix(X[rows], center=True, mean=X.mean(axis=0))
    np.testing.assert_allclose(block, full[np.ix_(rows, rows)], atol=1e-12)
