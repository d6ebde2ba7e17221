"""Tour: a teacher's ordered views with a caption each; students step through them, read-only."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from artsim.figures.markup import md
from artsim.store.tours import MAX_CAPTION_CHARS, MAX_TITLE_CHARS, Step, TourError
from dashboard.panels import tour_panel as tp

st.title("Tour", anchor=False)

# An edit link (tour_edit=TOKEN) makes this session the owner. The router has already taken the
# token out of the URL (so no share link or citation shows it); the link's values stay in the view.
view = st.session_state["view"]
if edit := str(view.extra.get("tour_edit", ""))[:100]:
    wanted = str(view.extra.get("tour", "") or st.query_params.get("tour", ""))[:64]
    if wanted and tp.tours().can_edit(wanted, edit):
        tp.remember_token(wanted, edit)
    else:
        st.text("ⓘ The edit link's token does not match this tour; opened read-only.")
    st.session_state["view"] = replace(view, extra={k: v for k, v in view.extra.items() if k != "tour_edit"})

tour = tp.current()
if st.query_params.get("tour") and tour is None:
    st.text("ⓘ This tour was not found: check the link.")


def _create() -> None:
    try:
        made, token = tp.tours().create(
            st.session_state["tour_title_widget"], created_so_far=st.session_state.get("tours_created", 0))
    except TourError as exc:
        st.session_state["tour_message"] = str(exc)
        return
    st.session_state["tours_created"] = st.session_state.get("tours_created", 0) + 1
    tp.remember_token(made.id, token)
    st.session_state[tp.CURRENT] = made.id
    st.query_params["tour"] = made.id
    st.query_params["step"] = "1"


if tour is None:
    st.caption(
        "A tour is an ordered list of views of this app, each with a caption or a question for the class, "
        "shared as one link. Students open the link and step through it; only you can change it."
    )
    with st.form("tour_new"):
        st.text_input("Title", key="tour_title_widget", max_chars=MAX_TITLE_CHARS, placeholder="e.g. Week 3: who looks like whom?")
        st.form_submit_button("Start a tour", on_click=_create, icon=":material/add:")
    if message := st.session_state.pop("tour_message", ""):
        st.text(message)  # a cap reached: plain text
    st.stop()

owner = tp.token(tour.id)
n = len(tour.steps)
st.header(md(tour.title), anchor=False)  # untrusted: markdown escaped
st.caption(f"{n} step{'s' if n != 1 else ''} · {'yours, editable' if owner else 'read-only'}")


def _edit(action: str, index: int, offset: int = 0) -> None:
    st.session_state["tour_building"] = True  # the builder stays open while its owner edits
    try:
        if action == "move":
            tp.tours().move(tour.id, owner, index, offset)
        elif action == "remove":
            tp.tours().remove(tour.id, owner, index)
        elif action == "add":
            page = st.session_state["tour_page_widget"]
            params = st.session_state["view"].to_query_params()
            tp.tours().add(tour.id, owner, Step(page, params, st.session_state.get("tour_new_caption", "")))
            st.session_state["tour_new_caption"] = ""
    except TourError as exc:
        st.session_state["tour_message"] = str(exc)


if owner:
    with st.expander("Build this tour", icon=":material/edit:",
                     expanded=n == 0 or st.session_state.get("tour_building", False)):
        st.caption("Students' link (read-only): send this one.")
        st.code(tp.app_url(tp.URL_PATH, {"tour": tour.id}), language=None, wrap_lines=True)
        st.caption("Your edit link: keep it private, it lets whoever has it change the tour.")
        st.code(tp.app_url(tp.URL_PATH, {"tour": tour.id, "tour_edit": owner}), language=None, wrap_lines=True)
        st.caption(
            "Add a step from any page with the sidebar's Tour panel (it keeps that page's settings), "
            "or here: the current view (model, artists, seed…) on the page you pick."
        )
        left, right = st.columns([1, 2])
        left.selectbox("Page", list(tp.PAGE_TITLES), format_func=tp.PAGE_TITLES.__getitem__, key="tour_page_widget")
        right.text_area("Caption or question", key="tour_new_caption", max_chars=MAX_CAPTION_CHARS)
        st.button("Add step", on_click=_edit, args=("add", 0), key="tour_add", icon=":material/add:")
        if message := st.session_state.pop("tour_message", ""):
            st.text(message)
        for i, step in enumerate(tour.steps):
            cols = st.columns([6, 1, 1, 1])
            cols[0].text(f"{i + 1}. {tp.PAGE_TITLES.get(step.page, step.page)}: {step.caption or '(no caption)'}")
            cols[1].button("↑", key=f"tour_up_{i}", on_click=_edit, args=("move", i, -1), disabled=i == 0)
            cols[2].button("↓", key=f"tour_down_{i}", on_click=_edit, args=("move", i, 1), disabled=i == n - 1)
            cols[3].button("✕", key=f"tour_remove_{i}", on_click=_edit, args=("remove", i), help="Remove this step")

if n == 0:
    st.info("This tour has no steps yet." + (" Add the first one above." if owner else ""), icon=":material/info:")
    st.stop()

try:
    index = min(max(int(str(st.query_params.get("step", "1"))[:4]) - 1, 0), n - 1)
except ValueError:
    index = 0
st.query_params["tour"] = tour.id
st.query_params["step"] = str(index + 1)


def _go(to: int) -> None:
    st.query_params["step"] = str(to + 1)


step = tour.steps[index]
st.progress((index + 1) / n, text=f"Step {index + 1} of {n}")
st.text(step.caption or "(no caption)")  # untrusted text: shown as text, never markup
target = tp.page_file(step.page)
if target is not None:
    st.page_link(target, label=f"Open this view: {tp.PAGE_TITLES[step.page]}", icon=":material/open_in_new:",
                 query_params=tp.step_params(step, tour, index))
else:
    st.text(f"(This step's page, {step.page!r}, is not part of this app.)")
left, right = st.columns(2)
left.button("Previous", on_click=_go, args=(index - 1,), disabled=index == 0, key="tour_prev",
            icon=":material/arrow_back:", width="stretch")
right.button("Next", on_click=_go, args=(index + 1,), disabled=index == n - 1, key="tour_next",
             icon=":material/arrow_forward:", width="stretch")
