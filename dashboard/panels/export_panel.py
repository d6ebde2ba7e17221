"""Export for a class handout (issue 14.2): the selection as CSV/Parquet, figures as HTML, a citation line.

The data come from :mod:`artsim.figures.export`; the model's fingerprint from the cache
layer's embedder handle. Files are built only when a button is clicked (Streamlit
calls the data callable then), so an unclicked button costs nothing on a rerun.
PNG needs no button here: every Plotly chart's toolbar has a camera icon
("Download plot as a png").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from artsim import viewstate
from artsim.figures import export
from dashboard import cache
from dashboard.widgets import access

#: Session keys: the sidebar's "Share this view" and "Export" panels are open. Both draw their
#: content only once opened: a code block makes the browser load Streamlit's syntax highlighter
#: (1.5 MB of JavaScript) and the buttons their own code, none of which a first view needs.
SHARE_OPEN, EXPORT_OPEN = "share_open", "export_open"


def _file_stem(text: str) -> str:
    """A safe file-name stem (letters, digits, ``-`` and ``_`` only)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:60] or "artsim"


def table_builder(ctx: cache.Context) -> Callable[[], pd.DataFrame]:
    """A function building ``ctx``'s export table (metadata, credits, vectors, model, fingerprint).

    Everything it needs is read now: Streamlit runs a download's data callable on
    another thread, where the session and the caches are not at hand.
    """
    frame, vectors, model = ctx.frame, ctx.vectors, ctx.model
    fingerprint = cache.embedder(model).fingerprint
    return lambda: export.selection_table(frame, vectors, model=model, fingerprint=fingerprint)


def _later(build: Callable[[], bytes]) -> Callable[[], bytes]:
    """A data callable for ``st.download_button`` (run when clicked, on another thread)."""
    return build


def share() -> None:
    """The sidebar's "Share this view" panel: the share link, with a copy icon."""
    panel = st.sidebar.expander("Share this view", icon=":material/link:", key=SHARE_OPEN, on_change="rerun")
    if panel.open:
        with panel:
            st.code(cache.share_url(), language=None, wrap_lines=True)
            st.caption("Copy the link (icon at the right): it reopens exactly this view, read-only.")


def sidebar() -> None:
    """The sidebar's "Export" expander: selection as CSV and Parquet, and a citation line."""
    panel = st.sidebar.expander("Export", icon=":material/download:", key=EXPORT_OPEN, on_change="rerun")
    if not panel.open:
        return
    ctx = cache.context()
    picked = viewstate.selected_rows(st.query_params.get("sel"), list(ctx.frame["sha256"]))
    if picked:  # the Map page's selection, carried by the share link (``sel``)
        ctx = replace(ctx, frame=ctx.frame.iloc[picked], vectors=ctx.vectors[picked])
    n = len(ctx.frame)
    with panel:
        if n == 0:
            st.caption("Nothing selected to export.")
            return
        if picked:
            st.caption(f"The {n} paintings selected on the Map page (clear the selection there to export all).")
        stem = _file_stem(f"artsim-{ctx.model}-{n}")
        table = table_builder(ctx)
        st.download_button(
            f"Selection as CSV ({n} paintings)", _later(lambda: export.to_csv_bytes(table())),
            file_name=f"{stem}.csv", mime="text/csv", on_click="ignore", key="export_csv",
            icon=":material/table:",
        )
        st.download_button(
            "Selection as Parquet (vectors as float32)", _later(lambda: export.to_parquet_bytes(table())),
            file_name=f"{stem}.parquet", mime="application/vnd.apache.parquet", on_click="ignore",
            key="export_parquet", icon=":material/database:",
        )
        st.caption("Each row: metadata and credits, the painting's vector, the model and its fingerprint.")
        st.code(export.citation(cache.share_url(), model=ctx.model, n=n), language=None, wrap_lines=True)
        st.caption("Citation line with this view's share link and today's date (copy icon at the right). "
                   "Figures: the camera icon above a chart saves a PNG; the button below it saves HTML.")


def chart(fig: go.Figure, *, key: str, name: str, where=st, **plot_kwargs):
    """``where.plotly_chart(fig, **plot_kwargs)`` followed by a button saving it as a standalone HTML page.

    Returns what ``plotly_chart`` returns (the selection event with ``on_select="rerun"``).
    """
    # A swipe scrolls the page: no drag mode, except where a desktop pointer picks on the chart.
    access.touch_safe(fig, selecting="on_select" in plot_kwargs and not access.on_phone())
    plot_kwargs.setdefault("config", access.PLOTLY_CONFIG)
    event = where.plotly_chart(fig, key=key, **plot_kwargs)
    where.download_button(
        "Figure as HTML", _later(lambda: export.figure_html(fig)), file_name=f"{_file_stem(name)}.html",
        mime="text/html", on_click="ignore", key=f"{key}_html", icon=":material/download:", type="tertiary",
    )
    return event
