"""Degrees of separation: the k-NN graph and the chain, checked against brute force and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import shortest_path

from artsim.analysis.separation import knn_graph, shortest_chain


def _data(n: int, d: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def _brute_graph(X: np.ndarray, k: int) -> np.ndarray:
    """Dense reference: direct loops over pairs."""
    X = X.astype(np.float64)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    n = len(X)
    S = Xn @ Xn.T
    D = np.zeros((n, n))
    for i in range(n):
        others = [j for j in range(n) if j != i]
        nearest = sorted(others, key=lambda j: (-S[i, j], j))[:k]
        for j in nearest:
            D[i, j] = D[j, i] = 1 - S[i, j] + 1e-9
    return D


def test_graph_matches_brute_force():
    X = _data(40)
    G = knn_graph(X, 5).toarray()
    np.testing.assert_allclose(G, _brute_graph(X, 5), atol=1e-9)
    assert np.allclose(G, G.T)
    assert np.all(np.diag(G) == 0)


def test_copies_of_a_work_are_not_neighbours():
    X = _data(10)
    X[1] = X[0] * 1.0001  # a second photograph of painting 0
    works = ["w0", "w0"] + [""] * 8
    G = knn_graph(X, 3, works=works)
    assert G[0, 1] == 0
    assert knn_graph(X, 3)[0, 1] > 0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 6), hops=st.booleans())
def test_chain_is_a_shortest_path(seed, k, hops):
    X = _data(30, seed=seed)
    G = knn_graph(X, k)
    dist = shortest_path(G, directed=False, unweighted=hops)
    path = shortest_chain(G, 0, 29, hops=hops)
    if not np.isfinite(dist[0, 29]):
        assert path is None
        return
    assert path.steps[0] == 0 and path.steps[-1] == 29
    edges = list(zip(path.steps[:-1], path.steps[1:], strict=True))
    assert all(G[a, b] > 0 for a, b in edges)  # every step is an edge of the graph
    length = len(edges) if hops else sum(G[a, b] for a, b in edges)
    assert length == pytest.approx(dist[0, 29], rel=1e-9, abs=1e-12)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    want = [float(Xn[a].astype(np.float64) @ Xn[b].astype(np.float64)) for a, b in edges]
    np.testing.assert_allclose(path.similarities, want, atol=1e-6)


def test_no_path_between_separate_groups():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 4)) + np.array([50, 0, 0, 0])
    b = rng.normal(size=(6, 4)) + np.array([0, 0, 0, 50])
    G = knn_graph(np.vstack([a, b]), 2)
    assert shortest_chain(G, 0, 11) is None
    assert shortest_chain(G, 0, 5) is not None


def test_same_painting_and_bad_index():
    G = knn_graph(_data(5), 2)
    assert shortest_chain(G, 3, 3).degrees == 0
    with pytest.raises(IndexError):
        shortest_chain(G, 0, 5)


def test_centering_changes_the_graph_like_the_app():
    X = np.abs(_data(25, seed=3)) + 1.0  # all-positive features: raw cosines bunch together
    Xc = X - X.mean(axis=0)
    np.testing.assert_allclose(knn_graph(X, 4, center=True).toarray(), knn_graph(Xc, 4).toarray(), atol=1e-6)
