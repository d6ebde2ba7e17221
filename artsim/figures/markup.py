"""Outside text inside Streamlit markdown: shown as the characters it is, never as markup.

Artist names, titles, file names, collection names, reasons and URL values come
from strangers. Streamlit renders markdown (GitHub-flavoured, plus its own
``:color[...]`` and ``:material/...:`` directives and ``$`` maths) in
``st.markdown``, ``st.caption``, ``st.subheader``, ``st.info``... and in widget
and expander labels. :func:`md` backslash-escapes every ASCII punctuation
character (CommonMark shows ``\\x`` as ``x`` for any of them), so no link,
image, emphasis, HTML tag, directive, maths or bare-URL autolink
(``https\\://``, ``www\\.``) can form, and it folds line breaks and runs of
spaces into one space so no heading, list or code block can start. Our own
markup goes *around* escaped text. Plotly labels use
:func:`artsim.figures.text.plain` instead (HTML entities).
"""

from __future__ import annotations

import string

#: Longest outside value shown inline before it is cut with an ellipsis.
MAX_INLINE_CHARS = 200

_ESCAPES = str.maketrans({c: "\\" + c for c in string.punctuation})


def md(value: object, max_chars: int | None = MAX_INLINE_CHARS) -> str:
    """``value`` as markdown that renders as exactly its text (whitespace folded).

    Parameters
    ----------
    value : anything; ``None`` is ''.
    max_chars : cut longer text (before escaping) with an ellipsis; None keeps all.
    """
    text = " ".join(str("" if value is None else value).split())
    if max_chars is not None and len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text.translate(_ESCAPES)


def md_join(values: object, sep: str = ", ", max_chars: int | None = MAX_INLINE_CHARS) -> str:
    """:func:`md` of each value, joined by ``sep`` (our own separator, not escaped)."""
    return sep.join(md(v, max_chars) for v in values)
