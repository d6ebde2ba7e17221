"""Export a selection of paintings and the figures, and a citation line for a class handout.

A selection leaves the app as a table that can be read back exactly: one row per
painting with its metadata and credits, the vector it was embedded to, and the model
and fingerprint that produced it (a vector without its fingerprint cannot be
compared with anything). Parquet keeps the vectors as float32 lists; CSV writes
them as one space-separated column so any spreadsheet opens the file.

The server's file path of each painting is left out: it says nothing to a reader
and discloses the host's layout.

Titles, artists and file names come from strangers. In CSV a cell that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or their full-width
forms, or any of these after leading spaces) is a live formula in a spreadsheet,
so :func:`to_csv_bytes` prefixes such a cell with ``'`` (OWASP's advice on CSV
injection): the value stays readable and a spreadsheet shows it as text. A cell
that already starts with ``'`` gets one too, so :func:`read_csv_bytes` removes
exactly one leading ``'`` and reads every value back exactly. Parquet is typed
data, not a spreadsheet: it keeps the values as they are. The HTML export is the
figure as the pages draw it: outside text in it went through
:func:`artsim.figures.text.plain`, and Plotly writes the figure's JSON with
``<``, ``>`` and ``/`` as ``\\u`` escapes, so no text closes its ``<script>``.
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
#: First characters that make a spreadsheet read a cell as a formula (OWASP; with the full-width forms).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
#: What neutralises a cell (also put before a cell that already starts with it, so reading is exact).
NEUTRAL_PREFIX = "'"


def neutral_cell(value: str) -> str:
    """``value`` safe in a spreadsheet cell: ``'`` put before a formula start (after any spaces) or a ``'``."""
    if value.startswith(NEUTRAL_PREFIX) or value.lstrip(" \n").startswith(FORMULA_STARTS):
        return NEUTRAL_PREFIX + value
    return value


def _unneutral(value: str) -> str:
    return value[1:] if value.startswith(NEUTRAL_PREFIX) else value


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
    (``repr`` precision, so float32 values read back exactly); every cell neutralised
    (:func:`neutral_cell`: a vector starting with a minus sign is shown as text too)."""
    flat = table.copy()
    flat["vector"] = [" ".join(repr(float(x)) for x in np.asarray(v, dtype=np.float32)) for v in table["vector"]]
    for column in flat.columns:
        flat[column] = [neutral_cell(str(v)) for v in flat[column]]
    # CRLF rows (RFC 4180): the writer then quotes every cell holding a CR or LF, so a CR in a title
    # cannot end a row (with "\n" rows, pandas leaves a lone CR unquoted).
    return flat.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def read_csv_bytes(data: bytes) -> pd.DataFrame:
    """Read back :func:`to_csv_bytes`."""
    table = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    for column in table.columns:
        table[column] = table[column].map(_unneutral)
    table["vector"] = [np.array(v.split(), dtype=np.float32) for v in table["vector"]]
    return table


def figure_html(fig: go.Figure) -> bytes:
    """A standalone HTML page of ``fig`` (plotly.js included: opens offline)."""
    return fig.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")


def citation(share_url: str, *, model: str, n: int, on: date | None = None) -> str:
    """A one-line citation for a handout: what was shown, with which model, where, when."""
    day = (on or date.today()).isoformat()
    return f"artsim view of {n} painting{'s' if n != 1 else ''}, model {model}. {share_url} (accessed {day})."
