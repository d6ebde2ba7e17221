"""Text alternatives for the charts and images: an ``alt`` sentence and a table with the same numbers.

Pure functions (no Streamlit): the pages pass the ``alt`` to ``st.image`` /
``st.plotly_chart`` / ``st.pydeck_chart`` and show the table for a screen reader
(and anyone who prefers numbers) under the chart. Every string here is plain
text: the pages show it as text (``st.dataframe``, an ``alt`` attribute), never
as markdown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Neighbours listed per painting in the tables.
NEAREST_K = 3
#: Most paintings :func:`projection_table` lists (its neighbour search is O(n^2)).
TABLE_MAX_N = 5000


def _year(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def painting_alt(row: Mapping[str, Any]) -> str:
    """``alt`` of a painting's image: "Title by Artist, year" (parts left out when missing)."""
    title = str(row.get("title", "") or "").strip() or "Untitled"
    artist = str(row.get("artist", "") or "").strip()
    year = _year(row.get("year", ""))
    return title + (f" by {artist}" if artist else "") + (f", {year}" if year else "")


def _nearest(S: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, k) column indices of each row's ``k`` largest off-diagonal values, and the values."""
    S = np.asarray(S, dtype=np.float64)
    n = S.shape[0]
    k = max(0, min(k, n - 1))
    masked = np.where(np.eye(n, dtype=bool), -np.inf, np.nan_to_num(S, nan=-np.inf))
    order = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(S, order, axis=1)


def nearest_table(S: np.ndarray, labels: Sequence[str], k: int = NEAREST_K, *, value: str = "cosine") -> pd.DataFrame:
    """Each row's ``k`` most similar others with their values: the heatmap as a table.

    Parameters
    ----------
    S : (n, n) similarity matrix (cosines); the diagonal is ignored.
    labels : n names, in the matrix's order.
    value : the values' name in the column headers.

    Returns
    -------
    n rows: ``name``, then ``nearest 1``, ``<value> 1``, ... ``nearest k``, ``<value> k``
    (rounded to 3 decimals), most similar first.
    """
    S = np.asarray(S, dtype=np.float64)
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] != len(labels):
        raise ValueError(f"S has shape {S.shape}, expected ({len(labels)}, {len(labels)})")
    order, values = _nearest(S, k)
    table: dict[str, Any] = {"name": list(map(str, labels))}
    for r in range(order.shape[1]):
        table[f"nearest {r + 1}"] = [str(labels[j]) for j in order[:, r]]
        table[f"{value} {r + 1}"] = np.round(values[:, r], 3)
    return pd.DataFrame(table)


def heatmap_alt(n: int, level: str, S: np.ndarray | None = None, labels: Sequence[str] | None = None) -> str:
    """``alt`` of a similarity heatmap of ``n`` paintings or artists (``level``), naming the closest pair."""
    text = f"Heatmap of cosine similarity between {n} {level}, each row and column one of them."
    if S is not None and labels is not None and n >= 2:
        off = np.where(np.eye(n, dtype=bool), -np.inf, np.nan_to_num(np.asarray(S, dtype=np.float64), nan=-np.inf))
        i, j = np.unravel_index(int(np.argmax(off)), off.shape)
        if np.isfinite(off[i, j]):
            text += f" Most similar pair: {labels[i]} and {labels[j]}, {off[i, j]:.3f}."
    return text + " The table below lists each one's nearest three with their cosines."


def projection_table(coords: np.ndarray, frame: pd.DataFrame, k: int = NEAREST_K) -> pd.DataFrame:
    """The map as a table: each painting's coordinates and its ``k`` nearest on the map.

    Parameters
    ----------
    coords : (n, d) map coordinates, d = 2 or 3.
    frame : n rows with ``artist`` and ``title`` (and optionally ``cluster``, 0-based).

    Returns
    -------
    n rows: ``painting``, ``artist``, (``cluster``,) ``x``, ``y`` (, ``z``) rounded to 3
    decimals, and ``nearest on the map`` (the ``k`` closest by Euclidean distance, "; "-joined).
    """
    xyz = np.asarray(coords, dtype=np.float64)
    if xyz.ndim != 2 or xyz.shape[0] != len(frame) or xyz.shape[1] not in (2, 3):
        raise ValueError(f"coords has shape {xyz.shape}, expected ({len(frame)}, 2 or 3)")
    titles = [str(t) for t in frame["title"]]
    table: dict[str, Any] = {"painting": titles, "artist": [str(a) for a in frame["artist"]]}
    if "cluster" in frame:
        table["cluster"] = [f"Cluster {int(c) + 1}" for c in frame["cluster"]]
    for axis, name in zip(range(xyz.shape[1]), "xyz", strict=False):
        table[name] = np.round(xyz[:, axis], 3)
    n = len(xyz)
    k = max(0, min(k, n - 1))
    order = np.zeros((n, k), dtype=np.intp)
    step = max(1, 2_000_000 // max(n, 1))  # rows per block: about 16 MB of distances
    for start in range(0, n, step):
        block = ((xyz[start:start + step, None, :] - xyz[None, :, :]) ** 2).sum(-1)
        block[np.arange(block.shape[0]), np.arange(start, start + block.shape[0])] = np.inf
        order[start:start + step] = np.argsort(block, axis=1, kind="stable")[:, :k]
    labels = [f"{t} ({a})" for t, a in zip(titles, table["artist"], strict=True)]
    table["nearest on the map"] = ["; ".join(labels[j] for j in row) for row in order]
    return pd.DataFrame(table)


def projection_alt(method: str, n: int, color_by: str, dims: int = 3, uploads: int = 0) -> str:
    """``alt`` of the projection chart (3-D map) or the 2-D Map of paintings."""
    text = (f"{dims}-D {method.upper()} map of {n} paintings, one point each, coloured by {color_by}"
            + (f"; {uploads} uploaded ones drawn as diamonds" if uploads else "") + ". "
            "Nearby points are paintings the network sees as alike. "
            "The table below gives each painting's coordinates and nearest neighbours on the map.")
    return text


def dendrogram_alt(method: str, n: int, k: int, sizes: Sequence[int]) -> str:
    """``alt`` of the dendrogram: what is merged and the clusters at the current cut."""
    parts = ", ".join(f"cluster {c + 1}: {int(s)}" for c, s in enumerate(sizes))
    return (f"Dendrogram of {method}-linkage clustering of {n} paintings, cut into {k} clusters "
            f"(paintings per cluster: {parts}). The clusters are listed below the chart.")


def top_pairs_table(pairs: pd.DataFrame, labels: Sequence[str], why: Sequence[str] | None = None) -> pd.DataFrame:
    """The "most similar pairs" as text for a grid: similarity first, then the two paintings (no image data).

    Parameters
    ----------
    pairs : rows with ``i``, ``j`` (painting rows) and ``similarity``.
    labels : painting names by row.
    why : optional link per pair ("why are these similar?").
    """
    table: dict[str, Any] = {
        "similarity": pairs["similarity"].astype(float).round(3).to_numpy(),
        "painting A": [str(labels[int(i)]) for i in pairs["i"]],
        "painting B": [str(labels[int(j)]) for j in pairs["j"]],
    }
    if why is not None:
        table["why"] = list(why)
    return pd.DataFrame(table)
