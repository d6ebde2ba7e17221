"""artsim.analysis.projection: PCA against scikit-learn, UMAP determinism, tiny collections."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from artsim.analysis.projection import UMAP_MIN_N, fit_projection

pytestmark = pytest.mark.usefixtures("umap_compiled")  # UMAP's kernels: compiled once per test run


@pytest.fixture
def X():
    rng = np.random.default_rng(3)
    centers = rng.normal(size=(3, 20)) * 2
    return np.abs(centers[rng.integers(0, 3, 40)] + rng.normal(size=(40, 20)))


def _unit(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _assert_equal_up_to_sign(A, B):
    for c in range(A.shape[1]):
        s = np.sign(A[:, c] @ B[:, c]) or 1.0
        np.testing.assert_allclose(A[:, c], s * B[:, c], atol=1e-8)


@pytest.mark.parametrize("center", [False, True])
def test_pca_matches_sklearn_up_to_sign(X, center):
    p = fit_projection(X, "pca", center=center)
    Xp = X - X.mean(0) if center else X
    ref = PCA(n_components=3, svd_solver="full").fit(_unit(Xp))
    assert p.method == "pca" and p.coords.shape == (40, 3) and p.note is None
    _assert_equal_up_to_sign(p.coords, ref.transform(_unit(Xp)))
    np.testing.assert_allclose(p.explained_variance_ratio, ref.explained_variance_ratio_, atol=1e-10)
    t = p.axis_titles()
    assert t[0] == f"PC1 ({ref.explained_variance_ratio_[0]:.0%})" and t[2].startswith("PC3 (")


def test_pca_transform_places_new_points_without_refitting(X):
    p = fit_projection(X[:30], "pca", center=True)
    before = p.coords.copy()
    np.testing.assert_allclose(p.transform(X[:30]), before, atol=1e-10)
    new = p.transform(X[30:])
    # reference: centre on the *fitted* collection's mean, normalise, project with its axes
    mean = X[:30].mean(0)
    ref = p.model.pca.transform(_unit(X[30:] - mean))
    np.testing.assert_allclose(new, ref, atol=1e-12)
    np.testing.assert_array_equal(p.coords, before)  # fit untouched


def test_pca_is_scale_invariant_per_painting(X):
    a = fit_projection(X, "pca").coords
    b = fit_projection(X * np.arange(1, 41)[:, None], "pca").coords
    np.testing.assert_allclose(a, b, atol=1e-8)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiny_pca_pads_with_zeros(n):
    X = np.random.default_rng(0).random((n, 6))
    p = fit_projection(X, "pca")
    assert p.coords.shape == (n, 3) and np.isfinite(p.coords).all()
    k = n - 1
    assert np.all(p.coords[:, k:] == 0)
    assert p.explained_variance_ratio.shape == (3,)
    assert np.all(p.explained_variance_ratio[k:] == 0)
    assert p.note
    assert p.transform(X[:1] + 0.5).shape == (1, 3)
    if n == 2:
        assert p.explained_variance_ratio[0] == pytest.approx(1.0)
        assert abs(p.coords[0, 0] - p.coords[1, 0]) > 0


def test_umap_falls_back_to_pca_for_tiny_n():
    X = np.random.default_rng(0).random((UMAP_MIN_N - 1, 6))
    p = fit_projection(X, "umap", seed=1)
    assert p.method == "pca" and "UMAP needs" in p.note
    assert p.coords.shape == (UMAP_MIN_N - 1, 3)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown projection"):
        fit_projection(np.ones((5, 3)), "tsne")
    with pytest.raises(ValueError, match="at least one painting"):
        fit_projection(np.ones((0, 3)), "pca")


@pytest.mark.slow  # numba compiles UMAP's kernels on a process's first fit (about a minute on 2 cores)
def test_umap_is_deterministic_and_transforms(X):
    """One small UMAP configuration, fitted twice (the first fit pays numba compilation)."""
    Xs = X[:24]
    a = fit_projection(Xs, "umap", seed=5, n_neighbors=50, min_dist=2.0, center=True)
    b = fit_projection(Xs, "umap", seed=5, n_neighbors=50, min_dist=2.0, center=True)
    assert a.method == "umap" and a.explained_variance_ratio is None
    assert a.coords.shape == (24, 3) and np.isfinite(a.coords).all()
    np.testing.assert_array_equal(a.coords, b.coords)
    assert a.params["n_neighbors"] == 23 and a.params["min_dist"] == 0.99
    assert "n_neighbors 50 adjusted to 23" in a.note and "min_dist" in a.note
    assert a.axis_titles() == ["UMAP 1", "UMAP 2", "UMAP 3"]
    new = a.transform(X[24:27])
    assert new.shape == (3, 3) and np.isfinite(new).all()
    np.testing.assert_array_equal(new, b.transform(X[24:27]))
    np.testing.assert_array_equal(a.coords, b.coords)  # transform did not move the map
