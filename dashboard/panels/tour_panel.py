"""Tours in the app (issue 14.5): the database handle, this session's tours, and the sidebar panel.

The owner's edit token lives in this session only (like a collection's); the
sidebar's "Tour" expander adds the page on screen, with its URL parameters, as
the tour's next step, and leads back to the tour. Captions are plain text.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import streamlit as st

from artsim import config
from artsim.figures.markup import md
from artsim.store.tours import DROPPED_PARAMS, MAX_CAPTION_CHARS, Step, Tour, TourError, Tours
from dashboard import cache

PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"
TOUR_PAGE = PAGES_DIR / "tour.py"
URL_PATH = "tour"
#: Pages a step may open (URL path -> title); a step of another page is shown but not linked.
PAGE_TITLES = {
    "": "Gallery", "similarity": "Similarity", "clustering": "Clustering", "projection": "Projection", "map": "Map",
    "walk": "Walk", "explain": "Why similar?", "compare": "Compare models",
}
CURRENT = "tour_current"


@st.cache_resource(show_spinner=False)
def _tours(uri: str) -> Tours:
    return Tours(cache.store(uri))


def tours() -> Tours:
    """Tours kept in the database at ``ARTSIM_DB``."""
    return _tours(config.db_uri())


def page_file(url_path: str) -> Path | None:
    """The script of a step's page, or None when this app has no such page."""
    if url_path not in PAGE_TITLES:
        return None
    path = PAGES_DIR / f"{url_path or 'gallery'}.py"
    return path if path.is_file() else None


def remember_token(tour_id: str, token: str) -> None:
    """Keep a tour's edit token in this session only (never in a student's link)."""
    st.session_state.setdefault("tour_tokens", {})[tour_id] = token


def token(tour_id: str) -> str | None:
    """This session's edit token for ``tour_id``, if it owns it."""
    return st.session_state.get("tour_tokens", {}).get(tour_id)


def current() -> Tour | None:
    """The tour this session is on: the link's ``tour`` parameter, else the last one opened."""
    wanted = str(st.query_params.get("tour", "") or st.session_state.get(CURRENT, ""))[:64]
    tour = tours().get(wanted) if wanted else None
    if tour is not None:
        st.session_state[CURRENT] = tour.id
    return tour


def app_url(url_path: str, params: dict[str, str]) -> str:
    """An absolute URL of a page of this app with ``params`` (for links to copy; called on the Tour page)."""
    base = str(st.context.url or "").split("?")[0].split("#")[0].rstrip("/")
    root = base.rsplit("/", 1)[0] if base.count("/") > 2 else base  # drop this page's own path
    return f"{root}/{url_path}" + (f"?{urlencode(params)}" if params else "")


def step_params(step: Step, tour: Tour, index: int) -> dict[str, str]:
    """The URL parameters that open ``step``, carrying the tour and the step number back."""
    return {**step.params, "tour": tour.id, "step": str(index + 1)}


def _add_here(tour: Tour, url_path: str) -> None:
    params = {k: v for k, v in st.query_params.to_dict().items() if k not in DROPPED_PARAMS}
    params = {**st.session_state["view"].to_query_params(), **params} if "view" in st.session_state else params
    caption = st.session_state.get("tour_caption_widget", "")
    try:
        tours().add(tour.id, token(tour.id), Step(url_path, params, caption))
    except TourError as exc:
        st.session_state["tour_message"] = str(exc)
    else:
        st.session_state["tour_caption_widget"] = ""
        st.session_state["tour_message"] = f"Added as step {len(tour.steps) + 1}."


def sidebar(url_path: str) -> None:
    """The sidebar's "Tour" expander, shown once this session has opened a tour."""
    if not (st.query_params.get("tour") or st.session_state.get(CURRENT)) or url_path == URL_PATH:
        return
    tour = current()
    if tour is None:
        return
    with st.sidebar.expander(f"Tour: {md(tour.title)}", icon=":material/tour:", expanded=bool(token(tour.id))):
        if token(tour.id) and url_path in PAGE_TITLES:
            st.text_area("Caption or question for this step", key="tour_caption_widget", max_chars=MAX_CAPTION_CHARS)
            st.button("Add this view to the tour", on_click=_add_here, args=(tour, url_path), key="tour_add_here",
                      icon=":material/add:")
            if message := st.session_state.pop("tour_message", ""):
                st.text(message)
        step = str(st.query_params.get("step", "1"))[:4]
        st.page_link(TOUR_PAGE, label="Back to the tour", icon=":material/arrow_back:",
                     query_params={"tour": tour.id, "step": step if step.isdigit() else "1"})
