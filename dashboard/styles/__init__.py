"""The app's style sheets, sent by the router once per run into the sidebar. Only these
files go into it, never outside text.

Measured with Streamlit 1.67: ``st.html`` of style tags alone goes to the page's event container,
and there the sheet vanished while the page ran (the embedding progress fragment reruns every
second; the Gallery's Fullscreen buttons came back); ``st.html`` with other content drops the
style tag (its sanitizer). So the router uses ``st.markdown(..., unsafe_allow_html=True)`` with
:func:`html`: a sidebar element that stays, sent before the page runs (its gap sits above the share panel). Each
sheet is scoped (``gallery.css`` to the Gallery cards' ``st-key-`` class), so every page gets all."""

from __future__ import annotations

import functools
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
#: A visible focus ring on links, buttons, the main area and the map (every page; see the file).
FOCUS = FOLDER / "focus.css"
#: The Gallery's cards without a Fullscreen Tab stop each (see the file).
GALLERY = FOLDER / "gallery.css"
SHEETS = (FOCUS, GALLERY)
#: The key prefix of a Gallery card's container: ``gallery.css`` selects ``st-key-<prefix>...``.
GALLERY_CARD_KEY = "gallery_card_"


@functools.cache
def html() -> str:
    """Every sheet of :data:`SHEETS` in one ``<style>`` element (read once per process: every rerun sends it)."""
    css = "\n".join(sheet.read_text(encoding="utf-8") for sheet in SHEETS)
    return f"<style>\n{css}</style>"
