"""Notices several pages share, so each says the same thing the same way."""

from __future__ import annotations

import logging
import secrets

import streamlit as st

from dashboard import cache

LOG = logging.getLogger("artsim.dashboard")


def stop_if_no_paintings(verb: str) -> None:
    """With an empty collection, say there is nothing to ``verb`` and how to add paintings, then stop.

    While the first embedding runs and no painting has a vector yet, say so and stop.

    (Asking to "select at least three paintings" when there is nothing to select
    sends a new user looking for a sidebar choice that does not exist.)
    """
    ctx = cache.context()
    if ctx.all_artists and ctx.frame.empty and ctx.embedding:
        st.info("The paintings are being embedded (progress above); this page fills in when they are ready.",
                icon=":material/hourglass_top:")
        st.stop()
    if ctx.all_artists:
        return
    st.info(
        f"Nothing to {verb} yet: this collection has no paintings. Add some on the **Add paintings** page, "
        "or start artsim on a folder of paintings (`ARTSIM_GALLERY=/path/to/folder make run`).",
        icon=":material/photo_library:",
    )
    st.stop()


_NUMBERS = {2: "two", 3: "three"}


def stop_unless_selected(minimum: int, verb: str) -> None:
    """:func:`stop_if_no_paintings`, then, with fewer than ``minimum`` paintings selected, ask for more and stop."""
    stop_if_no_paintings(verb)
    if len(cache.context().frame) < minimum:
        st.info(f"Select at least {_NUMBERS.get(minimum, minimum)} paintings (sidebar) to {verb} them.",
                icon=":material/arrow_back:")
        st.stop()


def page_failed(error: Exception) -> str:
    """Say that the page failed, with an error id, and log the traceback under that id; returns the id.

    Visitors never see a traceback or a server path (``client.showErrorDetails`` is
    ``"none"`` in ``.streamlit/config.toml`` for anything this does not catch):
    whoever runs the server finds the details in its log by the id.
    """
    error_id = secrets.token_hex(4)
    LOG.error("page error %s on %s: %s", error_id, st.context.url or "?", type(error).__name__, exc_info=error)
    st.error(
        f"Sorry: this page hit an error it did not expect (error id {error_id}). Reload the page or try "
        "another view; if it keeps happening, tell whoever runs this site the error id.",
        icon=":material/error:",
    )
    return error_id
