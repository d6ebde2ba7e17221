"""Colours: one colour per artist everywhere, one per cluster.

An artist's colour depends on its name and on the artists that come before it
in the whole collection, never on the selection: :func:`artist_colors` hashes
each name to a slot of ``ARTIST_PALETTE`` and, when that slot is taken by an
artist earlier in the collection, takes the next free one (linear probing).
Adding an artist (an upload, a new folder) therefore never changes the colour
of an artist already there unless the palette is full; deselecting artists
changes nothing, since the colours are computed over the whole collection.
Cluster ``c`` (0-based, shown as "Cluster c+1") is ``CLUSTER_PALETTE[c % len]``
in the dendrogram and the 3-D map alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from plotly.colors import qualitative

#: Colours for clusters: 10 distinct, then 24 more.
CLUSTER_PALETTE: tuple[str, ...] = tuple(qualitative.Plotly) + tuple(qualitative.Dark24)
#: Colours for artists, clear on white and told apart at a glance: matplotlib's tab10 without
#: its grey (grey means "above the cut"), their light tab20 partners, and five dark tab20b tones.
ARTIST_PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
    "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
)
ABOVE_CUT_COLOR = "#9a9a9a"


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
