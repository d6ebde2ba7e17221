"""Approximate nearest neighbours on the store's vector tables (LanceDB IVF-PQ, cosine).

The index itself (built once a table passes :func:`artsim.store.ann_index.ann_min_rows`
rows) is :mod:`artsim.store.ann_index`'s; below the threshold LanceDB's search is an exact
brute-force scan (fast at that size).

IVF-PQ alone ranks by compressed vectors (LanceDB's own figure: recall@10 0.66);
each query therefore probes ``nprobes`` partitions and re-ranks
``refine_factor * k`` candidates on the full vectors, which brings recall@10
above 0.95 (``benchmarks/scale.py`` measures it at 50,000 vectors against numpy
brute force).

:func:`nearest_in_store` answers one query; :func:`store_knn_graph` builds the
same symmetric k-nearest-neighbour graph as :func:`artsim.analysis.separation.knn_graph`
from batched ANN queries when the selection is large and indexed, and falls back
to the exact graph otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

from artsim.analysis.separation import DEFAULT_K, knn_graph
from artsim.analysis.similarity import work_keys
from artsim.errors import StoreError
from artsim.store.ann_index import (
    ANN_MIN_ROWS,
    VECTOR_COLUMN,
    ann_min_rows,
    ensure_index,
    ensure_indexes,
    has_index,
)
from artsim.store.database import KEY
from artsim.store.vectors import table_name

if TYPE_CHECKING:
    from artsim.store.vectors import EmbeddingStore

__all__ = [
    "ANN_MIN_ROWS",
    "ann_min_rows",
    "NPROBES",
    "REFINE_FACTOR",
    "ensure_index",
    "ensure_indexes",
    "has_index",
    "index_serves",
    "nearest_in_store",
    "search_many",
    "store_knn_graph",
]

#: IVF partitions probed per query (of about sqrt(rows)).
NPROBES = 32
#: Candidates re-ranked on full vectors: ``REFINE_FACTOR * k``.
REFINE_FACTOR = 20
#: The k-NN graph asks the index for ``GRAPH_CANDIDATES * (k + 2)`` candidates per painting,
#: ranked by PQ distances only, and re-ranks them on the vectors it holds in memory
#: (LanceDB's own re-ranking reads every candidate's full vector back from the table:
#: 12 ms a query at 10,000 rows, most of a 50,000-query graph's time).
GRAPH_CANDIDATES = 5
#: Queries sent to LanceDB at once by :func:`search_many`.
QUERY_BATCH = 256


def _table(store: EmbeddingStore, fingerprint: str) -> Any | None:
    return store.db.open(table_name(fingerprint))


def _query(table: Any, q: Any, limit: int, nprobes: int, refine_factor: int, columns: list[str]) -> Any:
    search = table.search(q, vector_column_name=VECTOR_COLUMN).distance_type("cosine").limit(limit)
    search = search.select([*columns, "_distance"])
    if has_index(table):
        search = search.nprobes(nprobes)
        if refine_factor:  # 0: rank by the compressed (PQ) distances only
            search = search.refine_factor(refine_factor)
    return search.to_arrow()


def nearest_in_store(
    store: EmbeddingStore,
    fingerprint: str,
    vector: np.ndarray,
    k: int = 10,
    *,
    exclude: Sequence[str] = (),
    nprobes: int = NPROBES,
    refine_factor: int = REFINE_FACTOR,
) -> pd.DataFrame:
    """The ``k`` stored paintings nearest to ``vector`` in cosine, through the ANN index when there is one.

    Parameters
    ----------
    vector : (d,) query vector (as stored: not centred).
    k : neighbours wanted.
    exclude : sha256 keys left out (e.g. the query painting itself).

    A query never builds the index (minutes at 50,000 rows): ``artsim index``
    does, through :func:`ensure_indexes`; without one the search is exact.

    Returns
    -------
    DataFrame with ``sha256``, ``artist``, ``title``, ``path``, ``similarity``
    (cosine), most similar first, one row per painting (at most ``k``).
    """
    cols = ["sha256", "artist", "title", "path", "similarity"]
    table = _table(store, fingerprint)
    if table is None or k <= 0:
        return pd.DataFrame(columns=cols)
    q = np.asarray(vector, dtype=np.float32).ravel()
    skip = set(exclude)
    limit = int(k) + len(skip) + 4  # spare rows for excluded keys and racing duplicates
    try:
        got = _query(table, q, limit, nprobes, refine_factor, [KEY, "artist", "title", "path"]).to_pylist()
    except Exception as exc:  # noqa: BLE001
        raise StoreError(f"Cannot search table {table_name(fingerprint)!r} at {store.uri!r}: {exc}") from exc
    out: list[dict[str, Any]] = []
    for row in got:
        if row[KEY] in skip:
            continue
        skip.add(row[KEY])
        out.append({c: row[c] for c in cols[:-1]} | {"similarity": 1.0 - float(row["_distance"])})
        if len(out) == k:
            break
    return pd.DataFrame(out, columns=cols)


def search_many(
    store: EmbeddingStore,
    fingerprint: str,
    Q: np.ndarray,
    limit: int,
    *,
    nprobes: int = NPROBES,
    refine_factor: int = REFINE_FACTOR,
    batch: int = QUERY_BATCH,
) -> tuple[list[list[str]], list[np.ndarray]]:
    """Up to ``limit`` nearest stored keys for each row of ``Q`` (batched LanceDB queries).

    Parameters
    ----------
    Q : (m, d) query vectors.

    Returns
    -------
    keys, sims : for each query, the sha256 keys (nearest first, may repeat a
    key a racing writer stored twice) and their cosine similarities ``(<=limit,)``.
    """
    table = _table(store, fingerprint)
    Q = np.asarray(Q, dtype=np.float32)
    keys: list[list[str]] = [[] for _ in range(Q.shape[0])]
    sims: list[list[float]] = [[] for _ in range(Q.shape[0])]
    if table is None or Q.shape[0] == 0:
        return keys, [np.zeros(0) for _ in keys]
    for start in range(0, Q.shape[0], max(1, int(batch))):
        part = Q[start : start + batch]
        got = _query(table, list(part), int(limit), nprobes, refine_factor, [KEY])
        qi = got["query_index"].to_numpy() if "query_index" in got.column_names else np.zeros(got.num_rows, int)
        for i, key, dist in zip(qi, got[KEY].to_pylist(), got["_distance"].to_numpy(), strict=True):
            keys[start + int(i)].append(key)
            sims[start + int(i)].append(1.0 - float(dist))
    # LanceDB returns each query's rows nearest first; keep that order but make sure of it
    out_keys, out_sims = [], []
    for ks, ss in zip(keys, sims, strict=True):
        order = np.argsort(-np.asarray(ss), kind="stable")
        out_keys.append([ks[j] for j in order])
        out_sims.append(np.asarray(ss, dtype=np.float64)[order])
    return out_keys, out_sims


def index_serves(store: EmbeddingStore, fingerprint: str, n: int, *, min_rows: int | None = None) -> bool:
    """Whether a selection of ``n`` paintings gets its k-NN graph from the ANN index.

    True when ``n`` reaches ``min_rows`` (default :func:`ann_min_rows`) and
    ``fingerprint``'s table has an index; the decision :func:`store_knn_graph` makes.
    """
    if n < (ann_min_rows() if min_rows is None else int(min_rows)):
        return False
    table = _table(store, fingerprint)
    return table is not None and has_index(table)


def store_knn_graph(
    store: EmbeddingStore,
    fingerprint: str,
    shas: Sequence[str],
    k: int = DEFAULT_K,
    *,
    works: Sequence[str] | None = None,
    vectors: np.ndarray | None = None,
    min_rows: int | None = None,
    nprobes: int = NPROBES,
    candidates: int = GRAPH_CANDIDATES,
) -> csr_matrix:
    """The k-NN graph of :func:`artsim.analysis.separation.knn_graph` over stored paintings, by ANN when large.

    With fewer than ``min_rows`` paintings (or no index: a graph never builds one) it is the exact
    ``knn_graph`` of their stored vectors. Above, each painting's neighbours
    come from one batched ANN query: ``candidates * (k + 2)`` rows ranked by the
    index's compressed distances, re-ranked here by exact cosine on the vectors
    (ties in index order, as ``knn_graph``); neighbours outside ``shas`` are
    skipped (the query asks for more when ``shas`` is only part of the table),
    and copies of one work are never neighbours. ``benchmarks/scale.py`` measures
    the share of the exact graph's edges it keeps.

    Parameters
    ----------
    shas : n sha256 keys, all stored for ``fingerprint`` (raises KeyError otherwise).
    works : optional n work names.
    vectors : optional (n, d) stored vectors of ``shas`` in that order (the caller
        already holds them: 3 s to read 50,000 again); read from the store when None.
    min_rows : default :func:`ann_min_rows`.

    Returns
    -------
    (n, n) symmetric CSR matrix, ``G[i, j] = 1 - cos + 1e-9`` as ``knn_graph``.
    """
    shas = list(shas)
    n = len(shas)
    if vectors is None:
        vecs = store.get_vectors(shas, fingerprint)
        missing = [s for s in shas if s not in vecs]
        if missing:
            raise KeyError(f"{len(missing)} paintings have no stored vector for this model, e.g. {missing[0]}")
        X = np.stack([vecs[s] for s in shas]) if n else np.zeros((0, 1), np.float32)
    else:
        X = np.asarray(vectors, dtype=np.float32)
        if X.shape[0] != n:
            raise ValueError(f"{X.shape[0]} vectors for {n} paintings")
    if not index_serves(store, fingerprint, n, min_rows=min_rows):
        return knn_graph(X, k, works=works)
    k = max(0, min(int(k), n - 1))
    pos = {s: i for i, s in enumerate(shas)}
    wk = work_keys(works, n)
    rows_total = _table(store, fingerprint).count_rows()
    limit = min(rows_total, max(1, int(candidates)) * (k + 2) * math.ceil(rows_total / n) + 4)
    keys, _ = search_many(store, fingerprint, X, limit, nprobes=nprobes, refine_factor=0)
    norms = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))
    norms[norms == 0] = 1.0
    r, c, v = [], [], []
    for i, ks in enumerate(keys):
        cand = np.unique(np.fromiter((pos.get(key, -1) for key in ks), dtype=np.intp, count=len(ks)))
        cand = cand[(cand >= 0) & (cand != i)]
        if wk is not None:
            cand = cand[wk[cand] != wk[i]]
        if k == 0 or cand.size == 0:
            continue
        sims = (X[cand].astype(np.float64) / norms[cand, None]) @ (X[i].astype(np.float64) / norms[i])
        top = np.argsort(-sims, kind="stable")[:k]  # candidates ascending: ties in index order
        r.append(np.full(top.size, i, dtype=np.intp))
        c.append(cand[top])
        v.append(sims[top])
    rows, cols = (np.concatenate(a) if a else np.zeros(0, dtype=np.intp) for a in (r, c))
    dist = np.clip(1.0 - (np.concatenate(v) if v else np.zeros(0)), 0.0, 2.0) + 1e-9
    G = csr_matrix((dist, (rows, cols)), shape=(n, n))
    return G.maximum(G.T).tocsr()
