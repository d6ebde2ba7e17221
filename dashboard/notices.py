"""Notices several pages share, so each says the same thing the same way."""

from __future__ import annotations

import streamlit as st

from dashboard import cache


def stop_if_no_paintings(verb: str) -> None:
    """With an empty collection, say there is nothing to ``verb`` and how to add paintings, then stop.

    (Asking to "select at least three paintings" when there is nothing to select
    sends a new user looking for a sidebar choice that does not exist.)
    """
    if cache.context().all_artists:
        return
    st.info(
        f"Nothing to {verb} yet: this collection has no paintings. Add some on the **Add paintings** page, "
        "or start artsim on a folder of paintings (`ARTSIM_GALLERY=/path/to/folder make run`).",
        icon=":material/photo_library:",
    )
    st.stop()
