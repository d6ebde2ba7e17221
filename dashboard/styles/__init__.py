"""Style sheets injected with ``st.html`` (Streamlit's public API: a file of CSS only goes to the
page's event container and takes no room). Outside text never goes into them."""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
#: A visible focus ring on links, buttons, the main area and the map (every page; see the file).
FOCUS = FOLDER / "focus.css"
#: The Gallery's cards without a Fullscreen Tab stop each (see the file).
GALLERY = FOLDER / "gallery.css"
#: The key prefix of a Gallery card's container: ``gallery.css`` selects ``st-key-<prefix>...``.
GALLERY_CARD_KEY = "gallery_card_"
