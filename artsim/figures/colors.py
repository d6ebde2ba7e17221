"""Colours: one colour per artist everywhere, one per cluster.

An artist's colour depends on its name and on the artists that come before it
in the whole collection, never on the selection: :func:`artist_colors` hashes
each name to a slot of ``ARTIST_PALETTE`` and, when that slot is taken by an
artist earlier in the collection, takes the next free one (linear probing).
Adding an artist (an upload, a new folder) therefore never changes the colour
of an artist already there unless the palette is full; deselecting artists
changes nothing, since the colours are computed over the whole collection.
Cluster ``c`` (0-based, shown as "Cluster c+1") is ``CLUSTER_PALETTE[c % len]``
in the dendrogram and the 3-D map alike, with ``CLUSTER_SYMBOLS[c % len]`` as its
marker in the 3-D map. Every palette survives simulated colour blindness (see the
palette comments); contrast is checked with :func:`contrast_ratio`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

#: Colours for clusters (12, then they repeat with another marker symbol, :func:`cluster_symbol`).
#: Chosen by a max-min search over sRGB so that, together with ``ABOVE_CUT_COLOR``, the closest
#: pair stays CIEDE2000 >= 12 for normal vision and for simulated protanopia, deuteranopia and
#: tritanopia (Machado et al. 2009, full severity), and every colour has >= 3:1 contrast on
#: white. ``tests/test_palettes.py`` recomputes both.
CLUSTER_PALETTE: tuple[str, ...] = (
    "#964b00", "#5a2d96", "#3c78ff", "#005a3c", "#875a87", "#968700", "#00875a", "#002dff", "#78000f",
    "#691e4b", "#f02d69", "#c378b4",
)
#: Colours for artists (16; more artists share colours): the same search and checks, the
#: closest pair CIEDE2000 >= 10 under every simulation and >= 3:1 contrast on white.
ARTIST_PALETTE: tuple[str, ...] = (
    "#4ba500", "#5a0069", "#4b96e1", "#003c00", "#c34b78", "#3c00ff", "#786900", "#0f694b", "#873c78",
    "#a578a5", "#5a874b", "#690f3c", "#d27878", "#4b69e1", "#0000b4", "#960f2d",
)
#: Branches above the cut: a grey with 3.45:1 contrast on white, told from every cluster colour.
ABOVE_CUT_COLOR = "#8a8a8a"
#: Marker symbols for clusters in the 3-D map (a second cue beside colour). ``diamond`` is
#: left out: it marks uploads. 5 symbols x 12 colours: 60 distinct (colour, symbol) pairs.
CLUSTER_SYMBOLS: tuple[str, ...] = ("circle", "square", "cross", "x", "circle-open")


def _slot(name: str, size: int) -> int:
    digest = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % size


def artist_colors(
    artists: Iterable[str], palette: Sequence[str] = ARTIST_PALETTE, *, exclude: Iterable[str] = ()
) -> dict[str, str]:
    """Artist -> colour for a whole collection.

    Parameters
    ----------
    artists : the collection's artists (repeats allowed), in collection order:
        gallery first, then uploads in the order they were added. Pass the
        whole collection, not the selection.
    palette : colours to choose from.
    exclude : colours already in use (taken first).

    Returns
    -------
    dict from each artist to a colour; distinct artists get distinct colours
    while there are at most ``len(palette)`` of them.
    """
    colors: dict[str, str] = {}
    avoid = set(exclude)
    taken: set[int] = {i for i, c in enumerate(palette) if c in avoid}
    size = len(palette)
    for name in artists:
        name = str(name)
        if name in colors:
            continue
        slot = _slot(name, size)
        if len(taken) < size:
            while slot in taken:
                slot = (slot + 1) % size
        taken.add(slot)
        colors[name] = palette[slot]
    return colors


def cluster_color(c: int) -> str:
    """Colour of cluster ``c`` (0-based)."""
    return CLUSTER_PALETTE[int(c) % len(CLUSTER_PALETTE)]


def cluster_symbol(c: int) -> str:
    """Marker symbol of cluster ``c`` (0-based) in the 3-D map."""
    return CLUSTER_SYMBOLS[int(c) % len(CLUSTER_SYMBOLS)]


def relative_luminance(color: str) -> float:
    """WCAG 2.1 relative luminance of a ``#rrggbb`` colour (0 = black, 1 = white)."""
    rgb = np.array([int(color.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4)]) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(a: str, b: str = "#ffffff") -> float:
    """WCAG 2.1 contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    hi, lo = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def category_colors(values: Sequence[Any], known: Mapping[Any, str] | None = None) -> dict[Any, str]:
    """Category -> colour. Integers (cluster labels) map to :func:`cluster_color`;
    other values take ``known`` (e.g. :func:`artist_colors` of the collection)
    and, for names missing from it, :func:`artist_colors` of the values."""
    uniq = list(dict.fromkeys(values))
    if uniq and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in uniq):
        return {v: cluster_color(v) for v in uniq}
    colors = dict(known or {})
    missing = [v for v in uniq if v not in colors]
    if missing:
        fallback = artist_colors(map(str, missing), exclude=colors.values())
        colors.update({v: fallback[str(v)] for v in missing})
    return {v: colors[v] for v in uniq}
