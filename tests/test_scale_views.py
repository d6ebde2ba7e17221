"""Large-collection views (#15.5) against exact references at small n with a low threshold."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy.cluster.hierarchy import dendrogram, linkage, to_tree

from artsim.analysis.clustering import cluster_collection, top_levels
from artsim.analysis.projection import UMAP_TRANSFORM_EPOCHS, fit_projection, fit_projection_sampled


def _vectors(n: int, d: int = 24, groups: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((groups, d))
    return (centres[rng.integers(0, groups, n)] + 0.5 * rng.standard_normal((n, d))).astype(np.float32)


@pytest.mark.parametrize("center", [False, True])
def test_sampled_pca_is_a_fit_on_the_sample_plus_transform(center):
    X = _vectors(300)
    proj = fit_projection_sampled(X, "pca", max_fit_n=120, seed=4, center=center)
    sample = proj.params["fit_sample"]
    assert sample.size == 120 and np.all(np.diff(sample) > 0)
    ref = fit_projection(X[sample], "pca", seed=4, center=center)
    np.testing.assert_allclose(proj.coords[sample], ref.coords, atol=1e-5)
    rest = np.setdiff1d(np.arange(300), sample)
    np.testing.assert_allclose(proj.coords[rest], ref.transform(X[rest]), atol=1e-5)
    assert "sample of 120 of the 300" in proj.note


@pytest.mark.slow  # UMAP: numba compiles its kernels on a process's first fit
@pytest.mark.usefixtures("umap_compiled")
def test_sampled_umap_is_a_fit_on_the_sample_plus_transform_and_deterministic():
    X = _vectors(150)
    got = fit_projection_sampled(X, "umap", max_fit_n=60, seed=3, n_neighbors=8)
    again = fit_projection_sampled(X, "umap", max_fit_n=60, seed=3, n_neighbors=8)
    np.testing.assert_array_equal(got.coords, again.coords)
    sample = got.params["fit_sample"]
    ref = fit_projection(X[sample], "umap", seed=3, n_neighbors=8)
    np.testing.assert_allclose(got.coords[sample], ref.coords)
    ref.model.reducer.set_params(n_epochs=3 * UMAP_TRANSFORM_EPOCHS)  # what the sampled fit places the rest with
    rest = np.setdiff1d(np.arange(150), sample)
    np.testing.assert_allclose(got.coords[rest], ref.transform(X[rest]), atol=1e-9)
    assert got.method == "umap" and "sample of 60 of the 150" in got.note


def test_sampled_projection_is_exact_below_the_threshold():
    X = _vectors(80)
    got = fit_projection_sampled(X, "pca", max_fit_n=100, seed=1)
    np.testing.assert_allclose(got.coords, fit_projection(X, "pca", seed=1).coords)
    assert got.params["fit_sample"].size == 80


def test_top_levels_match_scipy_truncated_dendrogram():
    X = _vectors(200, seed=2)
    Z = linkage(X.astype(np.float64), "average", metric="cosine")
    top = top_levels(Z, p=12)
    ref = dendrogram(Z, truncate_mode="lastp", p=12, no_plot=True)
    np.testing.assert_allclose(top.icoord, ref["icoord"])
    np.testing.assert_allclose(top.dcoord, ref["dcoord"])
    assert list(top.nodes) == ref["leaves"]
    ref_counts = [int(re.sub(r"\D", "", s)) if s.startswith("(") else 1 for s in ref["ivl"]]
    assert list(top.counts) == ref_counts and top.counts.sum() == 200
    _, nodes = to_tree(Z, rd=True)
    for node, members in zip(top.nodes, top.members, strict=True):
        assert sorted(members) == sorted(nodes[node].pre_order())
    np.testing.assert_array_equal(np.sort(np.concatenate(top.members)), np.arange(200))
    np.testing.assert_array_equal(top.sizes, top.counts)


def test_top_levels_of_a_sampled_tree_weigh_the_whole_collection():
    X = _vectors(500, seed=3)
    result = cluster_collection(X, "ward", 5, max_n=100, seed=0)
    assert not result.exact
    weights = np.full(100, 500 / 100)
    top = top_levels(result.Z, p=8, weights=weights)
    assert top.sizes.sum() == pytest.approx(500)
    np.testing.assert_allclose(top.sizes, top.counts * 5.0)
    with pytest.raises(ValueError):
        top_levels(result.Z, p=8, weights=np.ones(99))
