"""Accessibility helpers for the pages: phone detection, chart settings that never capture a
touch scroll, and a chart's table for a screen reader.

The tables and ``alt`` sentences themselves come from :mod:`artsim.figures.access`.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

#: Plotly settings for every chart: a wheel or two-finger gesture scrolls the page, never zooms.
PLOTLY_CONFIG = {"scrollZoom": False, "displaylogo": False}
#: Parts of a User-Agent that mark a phone (a tablet's "Mobile Safari" included).
_PHONE_MARKS = ("Mobi", "Android", "iPhone", "iPad")


def on_phone() -> bool:
    """True when the browser says it is a phone or tablet (its User-Agent)."""
    try:
        agent = str(st.context.headers.get("User-Agent", ""))
    except Exception:  # noqa: BLE001 - no request context (AppTest): a desktop
        return False
    return any(mark in agent for mark in _PHONE_MARKS)


def touch_safe(fig: go.Figure, *, selecting: bool = False) -> go.Figure:
    """No drag mode (a swipe scrolls the page) unless the chart selects by pointer (``selecting``)."""
    if not selecting:
        fig.update_layout(dragmode=False)
    return fig


def table(frame: pd.DataFrame, label: str, *, expanded: bool = False) -> None:
    """``frame`` as a grid in an expander labelled ``label`` (the chart's numbers as text)."""
    with st.expander(label, expanded=expanded, icon=":material/table:"):
        st.dataframe(frame, hide_index=True, width="stretch")
