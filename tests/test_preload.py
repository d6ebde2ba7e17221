"""dashboard.preload: each page's HTML preloads the element code its first view needs (issue 23.5)."""

from __future__ import annotations

import re

from starlette.requests import Request

from dashboard import preload, previews

HREF = re.compile(r'<link rel="modulepreload" crossorigin href="\./static/js/([^"]+)">')


def _index() -> str:
    return previews._index_html()


def test_every_named_element_is_one_file_of_the_installed_streamlit():
    # a Streamlit upgrade that renames a chunk fails here (ELEMENTS needs the new name), not silently
    folder = preload.static_js()
    for names in preload.ELEMENTS.values():
        for name in names:
            assert preload._chunk(folder, name), f"{name}: no single {name}.<hash>.js in Streamlit's build"


def test_the_gallery_preloads_its_elements_and_all_they_import_and_nothing_twice():
    folder, index = preload.static_js(), _index()
    files = HREF.findall(preload.links("", index))
    assert len(files) == len(set(files))
    assert all((folder / f).is_file() for f in files)
    for name in ("Selectbox", "Multiselect", "ImageList"):
        assert preload._chunk(folder, name) in files
    already = set(re.findall(r'(?:src|href)="\./static/js/([^"]+)"', index))
    assert not already & set(files)  # what index.html preloads itself is not repeated
    for f in files:  # closed under static imports: nothing left for a second round trip
        assert set(preload._imports(folder, f)) <= set(files) | already, f


def test_closure_follows_imports_through_a_cycle_and_skips_known_files(tmp_path):
    (tmp_path / "A.1.js").write_text('import{x}from"./B.2.js";import"./C.3.js";')
    (tmp_path / "B.2.js").write_text('import{y as z}from"./A.1.js";export const x=1')
    (tmp_path / "C.3.js").write_text('import"./D.4.js"')
    (tmp_path / "D.4.js").write_text("")
    assert preload.closure(tmp_path, ("A.1.js",)) == ["A.1.js", "B.2.js", "C.3.js", "D.4.js"]
    assert preload.closure(tmp_path, ("A.1.js",), frozenset({"C.3.js"})) == ["A.1.js", "B.2.js"]


def test_the_share_page_carries_the_preloads_in_its_head_and_boots_streamlit_unchanged():
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"artists=Bo%20Red",
             "headers": [(b"host", b"127.0.0.1:8501")], "scheme": "http", "server": ("127.0.0.1", 8501)}
    page = previews.page_html(Request(scope), "", "Gallery", "The paintings.")
    head, body = page.split("</head>", 1)
    links = preload.links("", _index()).strip()
    assert links and links in head and head.index(links) > head.index("index.")  # after Streamlit's own
    assert body == _index().split("</head>", 1)[1]
    assert 'og:title" content="Gallery"' in head
