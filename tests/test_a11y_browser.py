"""Issue 24.5: accessibility in a real browser, one server and one Chromium for every concern.

* axe-core (npm, ``tests/a11y``; ``make a11y-deps``) on every page: WCAG 2.1 A/AA and best
  practice, 0 serious or critical nodes from the app's content. Streamlit's own are allowed only
  as listed in :data:`STREAMLIT_OWNED`, each with its upstream issue.
* A keyboard-only journey: Tab, typing and Enter select a painting on the Map and open an
  explanation from the Similarity page.
* A 390 x 844 touch phone: a swipe over each chart scrolls the page.
* Focus is visible (a ring of 3:1 or more against what it sits on) on a navigation link and the
  map, and the Gallery has no Tab stop per painting.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from artsim.figures.colors import contrast_ratio
from dashboard import styles
from tests.app_fixtures import CHROMIUM, clean_environment, make_collection
from tests.test_browser import (
    ARTIFACTS,
    NARROW_PAGES,
    _no_exception,
    _settle,
    streamlit_servers,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
PHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.0 Mobile/15E148 Safari/604.1")
#: Streamlit-owned nodes axe may report: (rule, CSS selector fragment of the node) -> upstream issue.
STREAMLIT_OWNED = {
    # The selected segmented-control button: Streamlit's own colours, 4.47:1 (the measurement).
    ("color-contrast", "stButtonGroup"): "streamlit/streamlit#9953 (segmented control contrast)",
    # st.file_uploader's drop zone: a presentation role on a focusable element.
    ("presentation-role-conflict", "stFileUploader"): "streamlit/streamlit#8563 family (uploader roles)",
}
AXE_RUN = """async () => {
  const r = await axe.run(document, {runOnly: {type: 'tag',
    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}, resultTypes: ['violations']});
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').flatMap(v =>
    v.nodes.map(n => ({rule: v.id, impact: v.impact, target: n.target.join(' '), html: n.html.slice(0, 200),
                       owner: (() => { try { const el = document.querySelector(n.target[0]);
                         const t = el && el.closest('[data-testid]'); return t ? t.dataset.testid : ''; }
                         catch (e) { return ''; } })()})));
}"""
PATHS = {"Gallery": "", "Map": "map", "Compare models": "compare", "Why similar?": "explain"}
#: How far the page has scrolled, read from where the title sits (whichever element scrolls).
SCROLLED_JS = """() => -document.querySelector('h1').getBoundingClientRect().top"""
#: Whether Streamlit's main area is scrolled to its end.
AT_BOTTOM_JS = """() => { const m = document.querySelector('[data-testid="stMain"]');
  return m.scrollHeight - m.clientHeight - m.scrollTop < 60; }"""
#: Every chart's box on the page: Plotly charts, the deck.gl map and component frames.
CHARTS_JS = """() => [...document.querySelectorAll(
  '[data-testid="stPlotlyChart"], [data-testid="stDeckGlJsonChart"], iframe')].map(e => {
    const b = e.getBoundingClientRect(); return {x: b.x + b.width / 2, y: b.y + Math.min(b.height / 2, 300),
                                                 top: b.top, bottom: b.bottom, h: b.height,
                                                 kind: e.dataset.testid || e.tagName}; })
  .filter(b => b.h > 50)"""


@pytest.fixture(scope="module")
def a11y_server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing in CI: `make test` should have installed it")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    if not AXE.is_file():
        if os.environ.get("CI"):
            pytest.fail("axe-core is missing in CI: `make test` should have installed it (make a11y-deps)")
        pytest.skip("axe-core is not installed: run `make a11y-deps` (npm ci in tests/a11y)")
    root = tmp_path_factory.mktemp("a11y")
    env = clean_environment()
    env.update(ARTSIM_HOME=str(root / "home"), ARTSIM_DB=str(root / "db"), ARTSIM_MODEL="efficientnet-lite0",
               ARTSIM_GALLERY=str(make_collection(root / "gallery")), TORCH_HOME=str(root / "torch"),
               ARTSIM_UMAP_WARMUP="0")
    with streamlit_servers(env, [root / "streamlit.log"]) as (base,):
        yield base


def _visit(page, server: str, i: int, title: str, heading: str | None) -> None:
    if i == 0:
        page.goto(server, wait_until="domcontentloaded")
    else:
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    if heading is not None:
        page.get_by_role("heading", name=heading).first.wait_for(timeout=300_000)
    _settle(page)
    _no_exception(page)


def _app_violations(found: list[dict]) -> list[dict]:
    return [v for v in found
            if not any(rule == v["rule"] and owner in (v["owner"] + v["target"] + v["html"])
                       for rule, owner in STREAMLIT_OWNED)]


def test_axe_finds_nothing_serious_from_the_app_on_any_page(a11y_server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    report, owned = {}, 0
    for i, (title, heading) in enumerate(NARROW_PAGES):
        _visit(page, a11y_server, i, title, heading)
        page.add_script_tag(path=str(AXE))
        found = page.evaluate(AXE_RUN)
        app = _app_violations(found)
        owned += len(found) - len(app)
        if app:
            report[title] = app
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe-report.json").write_text(json.dumps(report, indent=1))
    assert not report, json.dumps(report, indent=1)[:6000]
    assert owned <= 2
    context.close()


#: The focused element's name: its aria-label, its <label>, or a link's or button's text.
FOCUSED_NAME_JS = """() => { const e = document.activeElement; if (!e) return '';
  return e.getAttribute('aria-label') || (e.labels && e.labels[0] ? e.labels[0].innerText : '')
    || (['A', 'BUTTON'].includes(e.tagName) ? e.innerText : ''); }"""


#: The focused element's focus indicator: outline, box-shadow, and the background colours of it and
#: its ancestors (innermost first); where it sits (test id, inside a Gallery card).
FOCUS_JS = """() => { const e = document.activeElement; const s = getComputedStyle(e); const layers = [];
  for (let n = e; n && n.nodeType === 1; n = n.parentElement) layers.push(getComputedStyle(n).backgroundColor);
  return {tag: e.tagName, testid: e.closest('[data-testid]')?.dataset.testid || '',
          name: (e.getAttribute('aria-label') || e.innerText || '').trim().slice(0, 60),
          card: !!e.closest('[class*="st-key-CARD_KEY"]'), layers,
          outline: [s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor], shadow: s.boxShadow}; }""".replace(
    "CARD_KEY", styles.GALLERY_CARD_KEY)


def _rgba(css: str) -> tuple[float, float, float, float]:
    r, g, b, *a = (float(v) for v in re.findall(r"[\d.]+", css)[:4])
    return r, g, b, a[0] if a else 1.0


def _over(top: tuple[float, ...], below: tuple[float, float, float]) -> tuple[float, float, float]:
    return tuple(top[3] * t + (1 - top[3]) * b for t, b in zip(top[:3], below, strict=True))


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(v):02x}" for v in rgb)


def ring_contrast(info: dict) -> float:
    """Contrast of the focus indicator (an outline, or a box-shadow ring, at least 2 px) against the
    background it sits on (the page's white under every layer); 0 when there is none."""
    background = (255.0, 255.0, 255.0)
    for layer in reversed(info["layers"]):
        background = _over(_rgba(layer), background)
    rings = []
    style, width, colour = info["outline"]
    if style not in ("none", "hidden") and width >= 2:
        rings.append(colour)
    if (shadow := re.match(r"(rgba?\([^)]*\))\s+(-?[\d.]+)px\s+(-?[\d.]+)px\s+([\d.]+)px\s+([\d.]+)px",
                           info["shadow"])) and float(shadow[5]) >= 2:
        rings.append(shadow[1])
    return max((contrast_ratio(_hex(_over(_rgba(c), background)), _hex(background)) for c in rings), default=0.0)


def _tab_to(page, name: str, limit: int = 80, seen: list[dict] | None = None) -> None:
    """Press Tab until the focused element's accessible name is ``name`` (each stop's
    :data:`FOCUS_JS` goes to ``seen``)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if seen is not None:
            seen.append(page.evaluate(FOCUS_JS))
        label = " ".join(page.evaluate(FOCUSED_NAME_JS).split())
        link = page.evaluate("() => document.activeElement?.tagName === 'A'")
        if label == name or (link and label.endswith(" " + name)):  # a link's text starts with its icon's
            return
    pytest.fail(f"Tab never reached {name!r}")


#: The focused combobox's highlighted option (the one Enter would choose): [its id, its text], or null.
HIGHLIGHTED_JS = """() => { const id = document.activeElement?.getAttribute('aria-activedescendant');
  const option = id && document.getElementById(id); return option ? [id, option.innerText] : null; }"""
#: After Enter: a select's list has closed, or a multiselect has cleared what was typed (it stays open).
CHOSEN_JS = """() => document.querySelectorAll('[role=option]').length === 0 || document.activeElement?.value === ''"""


def _pick_option(page, typed: str) -> None:
    """In the focused searchable select: type, wait for the matches, arrow down to the first option
    that holds ``typed`` (a multiselect lists "Select all" first), Enter, and wait until it is chosen.

    Every step waits for the page, not a fixed time: under load a fixed 300 ms let Enter land on
    whatever was highlighted then ("Select all", or nothing), and the journey failed.
    """
    page.keyboard.type(typed)
    try:
        page.wait_for_function("() => document.querySelectorAll('[role=option]').length > 0", timeout=30_000)
        for _ in range(20):
            before = page.evaluate(HIGHLIGHTED_JS)
            page.keyboard.press("ArrowDown")
            try:  # a press that lands while the list is still drawn moves nothing: press again
                page.wait_for_function(f"(before) => {{ const now = ({HIGHLIGHTED_JS})(); "
                                       "return !!now && (!before || now[0] !== before[0]); }", arg=before,
                                       timeout=3_000)
            except PlaywrightTimeout:
                continue
            if typed in page.evaluate(HIGHLIGHTED_JS)[1]:
                break
        else:
            pytest.fail(f"no option holding {typed!r} highlighted within 20 arrow presses")
        page.keyboard.press("Enter")
        page.wait_for_function(CHOSEN_JS, timeout=30_000)
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"32-keyboard-pick-{typed.replace(' ', '-')}.png"))
        raise


def test_keyboard_only_selects_a_painting_on_the_map_and_opens_an_explanation(a11y_server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{a11y_server}/map", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Map of paintings").wait_for(timeout=300_000)
    _settle(page)
    seen: list[dict] = []
    _tab_to(page, "Select paintings by name", seen=seen)
    # the deck.gl map takes focus (its keyboard pan and zoom) and shows it
    deck = [stop for stop in seen if stop["testid"] == "stDeckGlJsonChart"]
    assert deck and all(ring_contrast(stop) >= 3 for stop in deck), [(s["outline"], s["shadow"], s["layers"][:3]) for s in deck]
    _pick_option(page, "Study 2")
    page.keyboard.press("Escape")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "31-keyboard-map-typed.png"))
    page.get_by_role("heading", name="1 selected").wait_for(timeout=60_000)
    _settle(page)
    assert "sel=" in page.url
    # the painting's large image carries its alt text
    assert "Study 2 by" in (page.locator('[data-testid="stImage"] img').first.get_attribute("alt") or "")

    page.goto(f"{a11y_server}/similarity", wait_until="domcontentloaded")
    page.get_by_role("heading", name="Similarity").wait_for(timeout=300_000)
    _settle(page)
    _tab_to(page, "Pair to explain")
    _pick_option(page, "Study 1")
    page.get_by_role("link", name="Why are these two similar?").wait_for(timeout=60_000)
    _settle(page)
    _tab_to(page, "Why are these two similar?")
    page.keyboard.press("Enter")
    page.wait_for_url("**/explain?**", timeout=60_000)
    page.get_by_role("heading", name="Why are these two similar?").wait_for(timeout=120_000)
    _no_exception(page)
    context.close()


def test_a_phone_scrolls_the_page_over_every_chart(a11y_server, browser):
    """390 x 844 with touch: a swipe that starts on a chart scrolls the page (never pans, zooms or rotates)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                   device_scale_factor=2, user_agent=PHONE_UA)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    stuck, checked = {}, 0

    def swipe(y: float, direction: int = 1) -> float:
        """Swipe 250 px (up: ``direction`` 1) with one finger from (195, y) (raw touch events); how far
        the page scrolled."""
        before = page.evaluate(SCROLLED_JS)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": 195, "y": y}]})
        for step in range(1, 11):
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove",
                                                  "touchPoints": [{"x": 195, "y": y - direction * 25 * step}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        page.wait_for_timeout(400)
        return page.evaluate(SCROLLED_JS) - before

    for title, heading in NARROW_PAGES:
        if title in ("Tour", "Add paintings"):
            continue  # no chart
        page.goto(f"{a11y_server}/{PATHS.get(title, title.lower())}", wait_until="domcontentloaded")
        if heading is not None:
            page.get_by_role("heading", name=heading).first.wait_for(timeout=300_000)
        _settle(page)
        _no_exception(page)
        if title == "Gallery":  # the method works: a swipe over text scrolls the page
            assert swipe(500) >= 50, "a touch swipe over text did not scroll: the measurement is broken"
            page.evaluate("() => document.querySelector('h1').scrollIntoView()")  # two or more thumbnails per row, each with its alt text
            tops = page.evaluate("() => [...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
                                 ".map(i => [Math.round(i.getBoundingClientRect().top), i.alt])")
            assert len(tops) >= 9 and all(alt for _, alt in tops), tops
            assert max(sum(t == top for t, _ in tops) for top, _ in tops) >= 2, tops
        for chart in page.evaluate(CHARTS_JS):
            if not 0 < chart["y"] < 844:
                page.evaluate(f"() => document.querySelector('[data-testid=\"stMain\"]')?.scrollBy(0, {chart['y'] - 400})")
                page.evaluate(f"() => window.scrollBy(0, {chart['y'] - 400})")
                chart = min(page.evaluate(CHARTS_JS), key=lambda c: abs(c["y"] - 400))
            checked += 1
            y = max(160, min(chart["y"], 700))
            moved = swipe(y)
            if moved < 50 and page.evaluate(AT_BOTTOM_JS):  # the end of the page: swipe back up instead
                # the finger starts on the chart and stays on the screen (250 px down from at most y = 584;
                # regression: a chart low on a short page was swiped from y = 700 to 950, off the screen)
                back = max(chart["top"] + 10, min(y, 844 - 260))
                moved = -swipe(back, -1)
            if moved < 50:
                stuck.setdefault(title, []).append(chart["kind"])
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"30-phone-{PATHS.get(title, title.lower())}.png"))
    assert checked >= 8 and not stuck, (checked, stuck)
    context.close()


#: The Gallery's Tab stops for the test collection (9 paintings, 3 artists, none with a "show all"):
#: "skip to main content" 1, the navigation 10, the sidebar's widgets 10 (help and select for the
#: model; help, 3 artist chips, the artists' input and "clear all"; "share", "export") and the
#: scrolling main area 1. Nothing per painting: Streamlit's Fullscreen button made it 30.
GALLERY_TAB_STOPS = 22


def test_focus_is_visible_and_the_gallery_has_no_tab_stop_per_painting(a11y_server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(a11y_server, wait_until="domcontentloaded")
    page.get_by_role("heading", name="Gallery").wait_for(timeout=300_000)
    _settle(page)
    stops = []
    for _ in range(GALLERY_TAB_STOPS + 40):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS_JS)
        if stop["tag"] == "BODY":  # round the page once
            break
        stops.append(stop)
    names = [f"{s['testid']}: {s['name'][:30]}" for s in stops]
    assert not [s for s in stops if s["card"]], names  # no Tab stop inside a painting's card
    assert len(stops) <= GALLERY_TAB_STOPS, names
    # a navigation link, the current page's and another, shows a ring of 3:1 or more
    nav = [s for s in stops if s["testid"] == "stSidebarNavLink"]
    assert len(nav) == 10, names
    for link in nav[:2]:
        assert ring_contrast(link) >= 3, link
    # the large view stays one click or tap away: a card's Fullscreen button shows under the pointer
    card = page.locator(f'[class*="st-key-{styles.GALLERY_CARD_KEY}"]').first
    assert not card.get_by_role("button").is_visible()
    card.locator("img").hover()
    card.get_by_role("button", name=re.compile("^Fullscreen")).wait_for(state="visible", timeout=5_000)
    assert all(img.get_attribute("alt") for img in page.locator('[data-testid="stImage"] img').all())
    context.close()
