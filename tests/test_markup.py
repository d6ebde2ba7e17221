"""artsim.figures.markup.md: outside text renders as itself in Streamlit markdown (checked with a
CommonMark renderer: markdown-it-py, which Streamlit's remark follows for escapes)."""

from __future__ import annotations

import html
import string

import pytest
from markdown_it import MarkdownIt

from artsim.figures.markup import md, md_join

HOSTILE = [
    "![pixel](https://evil.example/track.png)",
    "[Your session expired - sign in again](https:evil.example)",
    "<a href='https://evil.example'>CLICK</a>",
    '<span style="font-size:90px">big</span>',
    "# heading",
    "- list",
    "    indented code",
    "**bold** _it_ `code` ~~del~~ $x^2$ :red[colour] :material/home:",
    "https://evil.example www.evil.example a@b.example",
    "line\nbreak\r\n\ttab  spaces",
    "back\\slash [x]: https://evil.example",
]


def _html(markdown: str) -> str:
    return MarkdownIt("gfm-like").render(markdown)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_renders_as_plain_text(text):
    out = _html(md(text))
    assert "<a" not in out and "<img" not in out and "<span" not in out and "<h1" not in out
    assert "<li" not in out and "<code" not in out and "<strong" not in out and "<em" not in out
    assert "<s>" not in out and "<pre" not in out
    assert out.startswith("<p>") and out.count("<p>") == 1


def test_escaping_is_exact_and_folds_whitespace():
    assert md("Van Gogh") == "Van Gogh"
    assert md("a\n\n  b\tc") == "a b c"
    assert md(None) == "" and md(3) == "3"
    # every ASCII punctuation character is escaped, so the text round-trips literally
    raw = string.punctuation
    assert md(raw) == "".join("\\" + c for c in raw)
    assert _html(md(raw)).strip() == "<p>" + html.escape(raw) .replace("&#x27;", "'") + "</p>"


def test_long_values_are_cut_before_escaping():
    assert md("x" * 500) == "x" * 199 + "…"
    assert md("[" * 10, max_chars=4) == "\\[\\[\\[…"
    assert md_join(["[a]", "b"]) == "\\[a\\], b"
