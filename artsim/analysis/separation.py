"""Degrees of separation: the smoothest chain of nearest-neighbour steps between two paintings.

After Google Arts & Culture's "X Degrees of Separation": build a k-nearest-neighbour
graph of the collection (cosine distance on the edges), then find the shortest path
between two paintings. "Shortest" minimises the sum of cosine distances, so the walk
prefers many small, visually plausible steps over one big jump; ``hops=True`` instead
minimises the number of steps. The graph is symmetric: an edge joins ``i`` and ``j``
when either is among the other's ``k`` nearest, so a path found from A to B also runs
from B to A.

Building the graph is one pass over the collection in blocks (O(n^2 d) time, O(block n)
memory); a query is one Dijkstra run from one source (scipy), fast at thousands of
paintings. Copies of one work can be excluded from each other's neighbours so that a
chain does not "step" to the same painting photographed twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from artsim.analysis.similarity import normalize_rows, work_keys

#: Default number of neighbours per painting in the graph.
DEFAULT_K = 10


def knn_graph(
    X: np.ndarray,
    k: int = DEFAULT_K,
    *,
    center: bool = False,
    works: Sequence[str] | None = None,
    block: int = 1024,
) -> csr_matrix:
    """Symmetric k-nearest-neighbour graph with cosine distances on the edges.

    Parameters
    ----------
    X : (n, d) feature vectors.
    k : neighbours per painting (clipped to n - 1).
    center : mean-centre before the cosine (as the app's "centre" switch).
    works : optional n work names; copies of one work are never neighbours.
    block : rows per block of the similarity computation (bounds memory).

    Returns
    -------
    (n, n) CSR matrix: ``G[i, j] = 1 - cos(x_i, x_j) + 1e-9`` (strictly positive,
    so scipy keeps identical paintings connected) where ``j`` is among the ``k``
    nearest of ``i`` or ``i`` among those of ``j``; no self-loops.
    """
    Xn = normalize_rows(X, center=center, dtype=np.float64)
    X32 = Xn.astype(np.float32)  # neighbours are found in float32 (twice as fast), edges weighed in float64
    n = Xn.shape[0]
    k = max(0, min(int(k), n - 1))
    keys = work_keys(works, n)
    rows, cols, vals = [], [], []
    if k > 0:
        for start in range(0, n, max(1, int(block))):
            stop = min(n, start + block)
            S = X32[start:stop] @ X32.T
            local = np.arange(stop - start)
            S[local, start + local] = -np.inf  # never your own neighbour
            if keys is not None:
                S[keys[start:stop, None] == keys[None, :]] = -np.inf
            part = np.argpartition(S, -k, axis=1)[:, -k:]  # the k largest per row, in no order
            kth = np.take_along_axis(S, part, axis=1).min(axis=1)
            for r in np.flatnonzero((S >= kth[:, None]).sum(axis=1) > k):
                # a tie at the k-th value: the lowest indices win (a stable sort), so the graph is deterministic
                part[r] = np.argsort(-S[r], kind="stable")[:k]
            ok = np.isfinite(np.take_along_axis(S, part, axis=1)).ravel()
            r_block, c_block = np.repeat(np.arange(start, stop), k)[ok], part.ravel()[ok]
            rows.append(r_block)
            cols.append(c_block)
            vals.append(np.einsum("ij,ij->i", Xn[r_block], Xn[c_block]))
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.intp)
    c = np.concatenate(cols) if cols else np.zeros(0, dtype=np.intp)
    s = np.concatenate(vals) if vals else np.zeros(0)
    dist = np.clip(1.0 - s, 0.0, 2.0) + 1e-9
    G = csr_matrix((dist, (r, c)), shape=(n, n))
    return G.maximum(G.T).tocsr()  # symmetric: i~j when either is among the other's k nearest


@dataclass(frozen=True)
class SeparationPath:
    """A chain of paintings from ``source`` to ``target``.

    ``steps`` are row indices, source first, target last; ``similarities[t]`` is the
    cosine between ``steps[t]`` and ``steps[t + 1]`` (len(steps) - 1 values).
    """

    steps: tuple[int, ...]
    similarities: tuple[float, ...]

    @property
    def degrees(self) -> int:
        """Number of steps (edges) in the chain."""
        return len(self.steps) - 1


def shortest_chain(G: csr_matrix, source: int, target: int, *, hops: bool = False) -> SeparationPath | None:
    """Shortest path in a graph from :func:`knn_graph`, or None when none exists at this k.

    Parameters
    ----------
    G : (n, n) CSR graph with cosine distances (+1e-9) as edge weights.
    source, target : row indices.
    hops : minimise the number of steps instead of the summed distance.

    Returns
    -------
    The path, with the cosine of each step; None when ``target`` is unreachable.
    """
    n = G.shape[0]
    for name, v in (("source", source), ("target", target)):
        if not 0 <= int(v) < n:
            raise IndexError(f"{name} {v} out of range for {n} paintings")
    if source == target:
        return SeparationPath((int(source),), ())
    dist, pred = dijkstra(G, directed=False, indices=int(source), return_predecessors=True, unweighted=hops)
    if not np.isfinite(dist[target]):
        return None
    chain = [int(target)]
    while chain[-1] != source:
        chain.append(int(pred[chain[-1]]))
    chain.reverse()
    sims = tuple(float(1.0 - (G[a, b] - 1e-9)) for a, b in zip(chain[:-1], chain[1:], strict=True))
    return SeparationPath(tuple(chain), sims)
