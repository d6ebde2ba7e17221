"""Text that goes into Plotly figures: shown as text, never as markup.

Plotly renders a subset of HTML in titles, tick labels, legend names and hover
labels (``<a href>``, ``<span style>``, ``<b>``, ``<br>``...). Every string
that comes from outside (file names, metadata, uploads, URLs) passes through
:func:`plain` first: ``&``, ``<`` and ``>`` become entities, which Plotly shows
as the characters themselves. Our own markup (``<br>``, ``<b>``) is added
around escaped text only.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

#: Longest tick label before it is shortened with an ellipsis (the hover keeps the full name).
TICK_MAX_CHARS = 42


def plain(value: object) -> str:
    """``value`` as a string Plotly shows literally (``<``, ``>``, ``&`` escaped).

    Quotes are left alone: Plotly decodes only a few named entities, and a
    quote cannot open markup outside a tag.
    """
    return html.escape(str(value), quote=False)


def plain_all(values: Iterable[object]) -> list[str]:
    """:func:`plain` of each value."""
    return [plain(v) for v in values]


def shorten(label: str, max_chars: int = TICK_MAX_CHARS) -> str:
    """``label`` cut to ``max_chars`` characters with an ellipsis (for tick labels).

    Cuts the raw text, so call it before :func:`plain` (an entity is never split).
    """
    return label if len(label) <= max_chars else label[: max_chars - 1].rstrip() + "…"


def unique_labels(labels: Sequence[object]) -> list[str]:
    """Make repeated labels distinct ("X", "X (2)", ...) so categorical axes keep
    one row per painting (two copies of "The Starry Night" are two rows)."""
    seen: dict[str, int] = {}
    out = []
    for lab in map(str, labels):
        seen[lab] = seen.get(lab, 0) + 1
        out.append(lab if seen[lab] == 1 else f"{lab} ({seen[lab]})")
    # a generated "X (2)" could collide with a real label: repeat until unique
    return out if len(set(out)) == len(out) else unique_labels(out)
