""""Why are these two similar?" entry points: links that open the Explain page on a pair.

Each link carries the current view (model, artists, centring…) plus ``a`` and
``b``, the first 12 hex digits of the two paintings' sha256, so the Explain
page opens on the same view and the link is also a share link.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import streamlit as st

PAGE = Path(__file__).resolve().parents[2] / "pages" / "explain.py"
URL_PATH = "explain"
LABEL = "Why similar?"


def params(sha_a: str, sha_b: str) -> dict[str, str]:
    """The current view's URL parameters with the pair ``a``, ``b`` (sha256 prefixes)."""
    out = {k: v for k, v in st.query_params.to_dict().items() if k not in ("a", "b")}
    return {**out, "a": sha_a[:12], "b": sha_b[:12]}


def url(sha_a: str, sha_b: str) -> str:
    """An absolute URL of the Explain page on this pair (for a table's link column)."""
    base = str(st.context.url or "").split("?")[0].split("#")[0].rstrip("/")
    page = base.rsplit("/", 1)[0] if base.count("/") > 2 else base  # drop this page's own path
    return f"{page}/{URL_PATH}?{urlencode(params(sha_a, sha_b))}"


def link(sha_a: str, sha_b: str, label: str = LABEL) -> None:
    """A page link to the Explain page on this pair (same tab, same session)."""
    st.page_link(PAGE, label=label, icon=":material/help:", query_params=params(sha_a, sha_b))
