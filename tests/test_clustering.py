"""artsim.analysis.clustering against scipy run directly on the same data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import cophenet, fcluster, leaves_list, linkage
from scipy.cluster.vq import vq
from scipy.spatial.distance import pdist
from sklearn.neighbors import NearestCentroid
from sklearn.preprocessing import normalize

from artsim.analysis.clustering import (
    LINKAGES,
    cluster_collection,
    cophenetic_correlation,
    cut,
    cut_height,
    leaf_order,
    linkage_distances,
    linkage_matrix,
    node_clusters,
)


@pytest.fixture
def X():
    rng = np.random.default_rng(7)
    centers = rng.normal(size=(4, 12)) * 3
    return np.abs(centers[rng.integers(0, 4, 30)] + rng.normal(size=(30, 12)))


def _scipy_reference(X, method):
    if method == "ward":
        Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
        return pdist(Xn, "euclidean")
    return pdist(X, "cosine")


@pytest.mark.parametrize("method", LINKAGES)
def test_distances_and_linkage_match_scipy(X, method):
    d = linkage_distances(X, method)
    ref_d = _scipy_reference(X, method)
    np.testing.assert_allclose(d, ref_d, atol=1e-12)
    Z = linkage_matrix(X, method)
    ref = linkage(ref_d, method=method)
    assert Z.shape == (29, 4)
    np.testing.assert_array_equal(Z[:, [0, 1, 3]], ref[:, [0, 1, 3]])
    np.testing.assert_allclose(Z[:, 2], ref[:, 2], atol=1e-10)


def test_ward_equals_scipy_ward_on_normalised_observations(X):
    # scipy's own ward from the observation matrix, L2-normalised first
    ref = linkage(X / np.linalg.norm(X, axis=1, keepdims=True), method="ward", metric="euclidean")
    Z = linkage_matrix(X, "ward")
    np.testing.assert_array_equal(Z[:, :2], ref[:, :2])
    np.testing.assert_allclose(Z[:, 2], ref[:, 2], atol=1e-10)


@pytest.mark.parametrize("method", LINKAGES)
@pytest.mark.parametrize("k", [1, 2, 3, 5, 30])
def test_cut_is_leaf_ordered_relabelling_of_fcluster(X, method, k):
    Z = linkage_matrix(X, method)
    labels = cut(Z, k)
    raw = fcluster(Z, k, criterion="maxclust")
    # same partition
    pairs = set(zip(raw.tolist(), labels.tolist(), strict=True))
    assert len(pairs) == len(set(raw.tolist())) == len(set(labels.tolist()))
    assert labels.min() == 0 and labels.max() == len(set(raw.tolist())) - 1
    # numbered by first appearance left to right
    along = labels[leaves_list(Z)]
    firsts = [int(v) for i, v in enumerate(along) if v not in along[:i]]
    assert firsts == list(range(len(firsts)))


def test_cut_clamps_k(X):
    Z = linkage_matrix(X, "average")
    assert set(cut(Z, 0).tolist()) == {0}
    assert set(cut(Z, -3).tolist()) == {0}
    assert sorted(cut(Z, 500).tolist()) == list(range(30))


@pytest.mark.parametrize("method", LINKAGES)
def test_cophenetic_equals_scipy(X, method):
    Z = linkage_matrix(X, method)
    ref = cophenet(Z, _scipy_reference(X, method))[0]
    assert cophenetic_correlation(Z, X, method) == pytest.approx(ref, abs=1e-10)


def test_leaf_order_is_scipy_leaves_list(X):
    Z = linkage_matrix(X, "complete")
    np.testing.assert_array_equal(leaf_order(Z), leaves_list(Z))


def test_tiny_collections():
    with pytest.raises(ValueError, match="at least 2 paintings"):
        linkage_matrix(np.ones((1, 5)), "average")
    with pytest.raises(ValueError, match="unknown linkage"):
        linkage_matrix(np.ones((3, 5)), "centroid")
    X2 = np.array([[1.0, 0.0], [0.0, 1.0]])
    for method in LINKAGES:
        Z = linkage_matrix(X2, method)
        assert Z.shape == (1, 4) and Z[0, 3] == 2
        assert cut(Z, 2).tolist() == [0, 1] and cut(Z, 1).tolist() == [0, 0]
        assert np.isnan(cophenetic_correlation(Z, X2, method))  # one distance: undefined
    assert linkage_matrix(X2, "average")[0, 2] == pytest.approx(1.0)
    assert linkage_matrix(X2, "ward")[0, 2] == pytest.approx(np.sqrt(2))


def test_zero_vector_does_not_break_linkage():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.1], [0.0, 1.0]])
    for method in LINKAGES:
        Z = linkage_matrix(X, method)
        assert np.isfinite(Z).all()


def test_node_clusters_and_cut_height(X):
    Z = linkage_matrix(X, "average")
    labels = cut(Z, 4)
    nodes = node_clusters(Z, labels)
    assert (nodes == -1).sum() == 3  # k clusters are joined by k - 1 merges
    h = cut_height(Z, labels)
    inside = Z[nodes >= 0, 2]
    above = Z[nodes < 0, 2]
    assert inside.max() < h < above.min()
    # fcluster at that height gives the same partition
    by_height = fcluster(Z, h, criterion="distance")
    assert len(set(zip(by_height.tolist(), labels.tolist(), strict=True))) == 4


def test_cluster_collection_exact_below_threshold(X):
    res = cluster_collection(X, "average", 4, center=True, with_cophenetic=True)
    Xc = X - X.mean(0)
    Z = linkage_matrix(Xc, "average")
    assert res.exact and np.array_equal(res.sample, np.arange(30))
    np.testing.assert_array_equal(res.labels, cut(Z, 4))
    assert res.cophenetic == pytest.approx(cophenetic_correlation(Z, Xc, "average"))


def test_cluster_collection_samples_above_threshold(X):
    res = cluster_collection(X, "ward", 3, max_n=12, seed=1)
    again = cluster_collection(X, "ward", 3, max_n=12, seed=1)
    assert not res.exact and res.sample.shape == (12,) and res.Z.shape == (11, 4)
    np.testing.assert_array_equal(res.labels, again.labels)
    # the sampled paintings keep the tree's cut
    np.testing.assert_array_equal(res.labels[res.sample], cut(res.Z, 3))
    # every other painting joins the cluster with the most similar mean direction: the nearest
    # (scipy vq) of sklearn's class centroids of the sampled unit vectors, rescaled to unit length
    Xn = normalize(X)
    lab_s = res.labels[res.sample]
    centroids = NearestCentroid().fit(Xn[res.sample], lab_s).centroids_
    rest = np.setdiff1d(np.arange(30), res.sample)
    codes, _ = vq(Xn[rest], normalize(centroids))
    np.testing.assert_array_equal(res.labels[rest], codes)
