"""ANN search on the store (artsim.store.ann) against exact numpy / separation.knn_graph references."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from artsim.analysis.separation import knn_graph
from artsim.inputs.collection import Painting
from artsim.store import ann
from artsim.store.vectors import EmbeddingStore, table_name

N, D, ARTISTS, FP = 2000, 32, 40, "annsynth"


class _Dims:
    """Embedder identity only (for ``store.add``); the vectors are given."""

    dim, fingerprint, name = D, FP, "synthetic"


def _data(n: int = N, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Vectors with artist structure: one centre per artist plus noise, float32."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((ARTISTS, D)).astype(np.float32)
    labels = rng.integers(0, ARTISTS, n)
    return centres[labels] + 0.7 * rng.standard_normal((n, D)).astype(np.float32), labels


def _store(path, X: np.ndarray, labels: np.ndarray) -> tuple[EmbeddingStore, list[str]]:
    shas = [hashlib.sha256(f"p{i}".encode()).hexdigest() for i in range(len(X))]
    paintings = [Painting(sha256=s, path=f"/x/{i}.jpg", artist=f"A{labels[i]}", title=f"t{i}") for i, s in enumerate(shas)]
    store = EmbeddingStore(str(path))
    store.add(paintings, X, _Dims(), [b""] * len(X))
    return store, shas


def _exact_top(X: np.ndarray, qi: np.ndarray, k: int) -> np.ndarray:
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    S = Xn[qi].astype(np.float64) @ Xn.T.astype(np.float64)
    S[np.arange(len(qi)), qi] = -np.inf  # the query painting itself
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    X, labels = _data()
    store, shas = _store(tmp_path_factory.mktemp("ann") / "db", X, labels)
    assert ann.ensure_index(store, FP, min_rows=1000)
    return store, shas, X


def test_small_table_gets_no_index_and_search_is_exact(tmp_path):
    X, labels = _data(400, seed=1)
    store, shas = _store(tmp_path / "db", X, labels)
    assert not ann.ensure_index(store, FP)  # 400 < ANN_MIN_ROWS
    assert ann.ensure_indexes(store) == []
    assert not ann.has_index(store.db.open(table_name(FP)))
    qi = np.array([0, 7, 123])
    exact = _exact_top(X, qi, 10)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    for q, want in zip(qi, exact, strict=True):
        got = ann.nearest_in_store(store, FP, X[q], 10, exclude=[shas[q]])
        assert list(got["sha256"]) == [shas[j] for j in want]
        np.testing.assert_allclose(got["similarity"], Xn[want] @ Xn[q], atol=1e-5)
        assert list(got["artist"]) == [f"A{labels[j]}" for j in want]


def test_ann_recall_at_10_against_brute_force(indexed):
    store, shas, X = indexed
    qi = np.random.default_rng(2).choice(N, 100, replace=False)
    exact = _exact_top(X, qi, 10)
    keys, sims = ann.search_many(store, FP, X[qi], 11)
    recall = []
    for row, q, want in zip(keys, qi, exact, strict=True):
        got = [k for k in row if k != shas[q]][:10]
        assert set(got) <= set(shas)  # real row keys
        recall.append(len(set(got) & {shas[j] for j in want}) / 10)
    assert np.mean(recall) >= 0.9
    assert all(np.all(np.diff(s) <= 1e-6) for s in sims)  # nearest first


def test_index_is_built_once_not_per_query(indexed):
    store, shas, X = indexed
    table = store.db.open(table_name(FP))
    version = table.version
    indices = [ix.name for ix in table.list_indices()]
    assert len(indices) == 1
    for q in (3, 4):
        df = ann.nearest_in_store(store, FP, X[q], 5, exclude=[shas[q]])
        assert len(df) == 5 and shas[q] not in set(df["sha256"])
        assert set(df["sha256"]) <= set(shas)
    assert ann.ensure_index(store, FP, min_rows=1000)
    assert ann.ensure_indexes(store, min_rows=1000) == [table_name(FP)]
    assert table.version == version
    assert [ix.name for ix in table.list_indices()] == indices


def test_store_knn_graph_exact_below_threshold_matches_knn_graph(tmp_path):
    X, labels = _data(300, seed=3)
    store, shas = _store(tmp_path / "db", X, labels)
    works = [f"w{i // 2}" if i < 20 else "" for i in range(300)]
    G = ann.store_knn_graph(store, FP, shas, 5, works=works)
    ref = knn_graph(X, 5, works=works)
    np.testing.assert_allclose(G.toarray(), ref.toarray(), atol=1e-6)


def test_store_knn_graph_ann_close_to_exact(indexed):
    store, shas, X = indexed
    sub = list(range(0, N, 2))  # half the table: neighbours outside the selection are skipped
    works = [f"w{i // 2}" if i < 40 else "" for i in range(len(sub))]
    G = ann.store_knn_graph(store, FP, [shas[i] for i in sub], 5, works=works, min_rows=1000)
    ref = knn_graph(X[sub], 5, works=works)
    assert G.shape == ref.shape and (G != G.T).nnz == 0 and G.diagonal().sum() == 0
    a, b = {tuple(e) for e in np.argwhere(G.toarray() > 0)}, {tuple(e) for e in np.argwhere(ref.toarray() > 0)}
    assert len(a & b) / len(b) >= 0.9
    assert G[0, 1] == 0 and G[2, 3] == 0  # copies of one work are never neighbours
    i, j = next(iter(a & b))
    assert G[i, j] == pytest.approx(ref[i, j], abs=1e-5)


def test_index_serves_large_indexed_selections_and_large_n_lowers_the_threshold(indexed, monkeypatch):
    store, shas, X = indexed
    monkeypatch.delenv("ARTSIM_LARGE_N", raising=False)
    assert ann.ann_min_rows() == ann.ANN_MIN_ROWS and not ann.index_serves(store, FP, N)
    assert ann.index_serves(store, FP, 1000, min_rows=1000) and not ann.index_serves(store, FP, 999, min_rows=1000)
    monkeypatch.setenv("ARTSIM_LARGE_N", "500")
    assert ann.ann_min_rows() == 500 and ann.index_serves(store, FP, 600)
    given = ann.store_knn_graph(store, FP, shas[:600], 5, vectors=X[:600])  # through the index, vectors given
    read = ann.store_knn_graph(store, FP, shas[:600], 5, min_rows=500)  # the same, vectors read from the store
    assert (given != read).nnz == 0
    with pytest.raises(ValueError):
        ann.store_knn_graph(store, FP, shas[:600], 5, vectors=X[:599])
