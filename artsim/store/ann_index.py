"""The ANN index of a vector table: built once (LanceDB IVF-PQ, cosine) when the table is large enough.

Below :func:`ann_min_rows` rows a vector table has no index and LanceDB's search is
an exact brute-force scan (fast at that size). Once a table passes the threshold,
:func:`ensure_index` builds one IVF-PQ index on its ``vector`` column, once: later
calls see it in ``list_indices`` and return. Rows appended after the build are still
found (LanceDB scans unindexed rows exactly and merges them), and
:meth:`artsim.store.vectors.EmbeddingStore.compact` (``optimize``) folds them into the index.
Queries on the index live in :mod:`artsim.store.ann`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from artsim import config, lazy
from artsim.errors import StoreError
from artsim.store.vectors import EMBEDDINGS_PREFIX, table_name

lancedb_index = lazy.load("lancedb.index")

if TYPE_CHECKING:
    from artsim.store.vectors import EmbeddingStore

__all__ = ["ANN_MIN_ROWS", "VECTOR_COLUMN", "ann_min_rows", "ensure_index", "ensure_indexes", "has_index"]

#: A vector table gets an ANN index once it holds this many rows, and a selection
#: of at least this many paintings gets its k-NN graph from the index
#: (the exact graph is O(n^2 d): minutes at 50,000).
ANN_MIN_ROWS = 10_000
VECTOR_COLUMN = "vector"
"""The indexed column of every vector table."""


def ann_min_rows() -> int:
    """:data:`ANN_MIN_ROWS`, or ``ARTSIM_LARGE_N`` when set (:func:`artsim.config.large_n`)."""
    return config.large_n(ANN_MIN_ROWS)


def has_index(table: Any) -> bool:
    """Whether the LanceDB ``table`` has a vector index on ``vector``."""
    return any(VECTOR_COLUMN in list(ix.columns) for ix in table.list_indices())


def _sub_vectors(dim: int) -> int:
    """PQ sub-vectors: the largest divisor of ``dim`` giving sub-vectors of >= 8 values (LanceDB needs a divisor)."""
    for m in range(max(1, dim // 8), 0, -1):
        if dim % m == 0:
            return m
    return 1


def ensure_index(store: EmbeddingStore, fingerprint: str, *, min_rows: int | None = None) -> bool:
    """Build the cosine IVF-PQ index on ``fingerprint``'s table once it has ``min_rows`` rows.

    ``min_rows`` defaults to :func:`ann_min_rows`; a table always needs 256 rows (PQ training).

    Returns
    -------
    True when the table has an index (already, or built now); False when it
    is missing or still below the threshold (queries are then exact).
    """
    return _ensure(store, table_name(fingerprint), min_rows)


def ensure_indexes(store: EmbeddingStore, *, min_rows: int | None = None) -> list[str]:
    """:func:`ensure_index` on every vector table of ``store`` (``artsim index`` ends with it).

    Returns the names of the tables that have an index.
    """
    names = [t for t in store.db.table_names() if t.startswith(EMBEDDINGS_PREFIX)]
    return [name for name in names if _ensure(store, name, min_rows)]


def _ensure(store: EmbeddingStore, name: str, min_rows: int | None) -> bool:
    min_rows = ann_min_rows() if min_rows is None else min_rows
    table = store.db.open(name)
    if table is None:
        return False
    try:
        if has_index(table):
            return True
        rows = table.count_rows()
        if rows < max(int(min_rows), 256):  # PQ trains 256 centroids per sub-vector
            return False
        dim = table.schema.field(VECTOR_COLUMN).type.list_size
        with store.db.lock:
            if has_index(table):
                return True
            try:
                config = lancedb_index.IvfPq(
                    distance_type="cosine",
                    num_partitions=max(1, min(round(math.sqrt(rows)), rows // 256)),
                    num_sub_vectors=_sub_vectors(dim),
                )
                table.create_index(VECTOR_COLUMN, config=config, replace=False)
            except Exception:  # noqa: BLE001 - another process may have built it meanwhile
                if not has_index(table):
                    raise
        return True
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise StoreError(f"Cannot index table {name!r} at {store.uri!r}: {exc}") from exc
