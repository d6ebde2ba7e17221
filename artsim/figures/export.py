"""Export a selection of paintings and the figures, and a citation line for a class handout.

A selection leaves the app as a table that can be read back exactly: one row per
painting with its metadata and credits, the vector it was embedded to, and the model
and fingerprint that produced it (a vector without its fingerprint cannot be
compared with anything). Parquet keeps the vectors as float32 lists; CSV writes
them as one space-separated column so any spreadsheet opens the file.

The server's file path of each painting is left out: it says nothing to a reader
and discloses the host's layout.
"""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.parquet as pq

#: Metadata columns exported for each painting, in order.
METADATA_COLUMNS = ("sha256", "artist", "title", "year", "work", "museum", "source", "license")


def selection_table(frame: pd.DataFrame, vectors: np.ndarray, *, model: str, fingerprint: str) -> pd.DataFrame:
    """The export table of a selection.

    Parameters
    ----------
    frame : one row per painting with (at least) the ``METADATA_COLUMNS`` that exist.
    vectors : (n, d) vectors in the same order as ``frame``.
    model, fingerprint : the embedder's name and fingerprint.

    Returns
    -------
    DataFrame with ``METADATA_COLUMNS`` (missing ones empty), ``model``, ``fingerprint``
    and ``vector`` (a float32 array per row).
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(frame):
        raise ValueError(f"{len(frame)} paintings but vectors of shape {vectors.shape}")
    out = pd.DataFrame({c: (frame[c].astype(str) if c in frame else "") for c in METADATA_COLUMNS},
                       index=range(len(frame)))
    out["model"] = model
    out["fingerprint"] = fingerprint
    out["vector"] = list(vectors)
    return out


def to_parquet_bytes(table: pd.DataFrame) -> bytes:
    """Parquet file of :func:`selection_table`'s output (vectors as float32 lists)."""
    arrow = pa.table({
        **{c: pa.array(table[c].astype(str).tolist(), type=pa.string()) for c in table.columns if c != "vector"},
        "vector": pa.array([np.asarray(v, dtype=np.float32) for v in table["vector"]], type=pa.list_(pa.float32())),
    })
    buf = io.BytesIO()
    pq.write_table(arrow, buf)
    return buf.getvalue()


def read_parquet_bytes(data: bytes) -> pd.DataFrame:
    """Read back :func:`to_parquet_bytes` (vectors as float32 arrays)."""
    table = pq.read_table(io.BytesIO(data)).to_pandas()
    table["vector"] = [np.asarray(v, dtype=np.float32) for v in table["vector"]]
    return table


def to_csv_bytes(table: pd.DataFrame) -> bytes:
    """UTF-8 CSV of :func:`selection_table`'s output; ``vector`` as space-separated floats
    (``repr`` precision, so float32 values read back exactly)."""
    flat = table.copy()
    flat["vector"] = [" ".join(repr(float(x)) for x in np.asarray(v, dtype=np.float32)) for v in table["vector"]]
    return flat.to_csv(index=False).encode("utf-8")


def read_csv_bytes(data: bytes) -> pd.DataFrame:
    """Read back :func:`to_csv_bytes`."""
    table = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    table["vector"] = [np.array(v.split(), dtype=np.float32) for v in table["vector"]]
    return table


def figure_html(fig: go.Figure) -> bytes:
    """A standalone HTML page of ``fig`` (plotly.js included: opens offline)."""
    return fig.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")


def citation(share_url: str, *, model: str, n: int, on: date | None = None) -> str:
    """A one-line citation for a handout: what was shown, with which model, where, when."""
    day = (on or date.today()).isoformat()
    return f"artsim view of {n} painting{'s' if n != 1 else ''}, model {model}. {share_url} (accessed {day})."
