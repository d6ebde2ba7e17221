"""A page's element code fetched with Streamlit's own bundle, not after the first messages (issue 23.5).

Streamlit's front end loads the code of each kind of element (a select box, a
multiselect, an image list: a few JS files each) only when the first element of
that kind arrives over the websocket. On a new visitor's first view that is a
second round of downloads after the script's first messages (measured here:
Selectbox, Multiselect and ImageList, 24 files in all, fetched 1.55-1.77 s after the
navigation started, the first thumbnail waiting for them).

The app already answers each page's URL with Streamlit's ``index.html``
(:mod:`dashboard.previews`). :func:`links` adds ``<link rel="modulepreload">``
tags for the element code that page shows at once (:data:`ELEMENTS`) and
everything it imports, so the browser fetches it alongside the main bundle and
the elements render as soon as their messages arrive. The file names carry a
content hash; they are read from the installed Streamlit, so an upgrade keeps
working (an element that is not found is skipped).

Standard library and Streamlit's own files only.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from artsim import lazy

streamlit = lazy.load("streamlit")  # where its built files are (the server has imported it already)
#: Element code (Streamlit's chunk names) each page shows on its first view; "*" = every page (the sidebar).
ELEMENTS: dict[str, tuple[str, ...]] = {
    "*": ("Selectbox", "Multiselect"),
    "": ("ImageList",),
    # Plotly's chart code (4.7 MB) is left to load on demand: compiling it beside the main bundle is unmeasured
    "similarity": ("Radio", "Checkbox"),
    "clustering": ("Slider", "Checkbox", "Metric"),
    "projection": ("Radio", "Checkbox"),
}
_IMPORT = re.compile(r'(?:from|import)\s*"\./([\w.\-]+\.js)"')
_PRELOADED = re.compile(r'(?:src|href)="\./static/js/([\w.\-]+\.js)"')


def static_js() -> Path:
    """Streamlit's built JS files."""
    return Path(streamlit.__file__).parent / "static" / "static" / "js"


@cache
def _chunk(folder: Path, name: str) -> str | None:
    """The hashed file of chunk ``name`` (e.g. ``ImageList`` -> ``ImageList.uI_663gL.js``), or None."""
    found = sorted(p.name for p in folder.glob(f"{name}.*.js") if re.fullmatch(rf"{re.escape(name)}\.[\w\-]+\.js", p.name))
    return found[0] if len(found) == 1 else None


@cache
def _imports(folder: Path, file: str) -> tuple[str, ...]:
    try:
        return tuple(dict.fromkeys(_IMPORT.findall((folder / file).read_text(encoding="utf-8"))))
    except OSError:
        return ()


def closure(folder: Path, roots: tuple[str, ...], known: frozenset[str] = frozenset()) -> list[str]:
    """``roots`` (file names) and every file they import statically, in discovery order, minus ``known``."""
    seen: dict[str, None] = {}
    stack = list(reversed(roots))
    while stack:
        file = stack.pop()
        if file in seen or file in known:
            continue
        seen[file] = None
        stack.extend(reversed(_imports(folder, file)))
    return list(seen)


@cache
def links(page: str, index_html: str) -> str:
    """``<link rel="modulepreload">`` tags for ``page``'s first-view elements not already in ``index_html``."""
    folder = static_js()
    known = frozenset(_PRELOADED.findall(index_html))
    roots = tuple(f for name in (*ELEMENTS["*"], *ELEMENTS.get(page, ())) if (f := _chunk(folder, name)))
    return "".join(f'<link rel="modulepreload" crossorigin href="./static/js/{f}">\n    '
                   for f in closure(folder, roots, known))
