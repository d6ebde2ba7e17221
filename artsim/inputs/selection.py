"""Which paintings a view works on: the gallery plus a collection's additions, cut to some artists.

The router calls these; they hold no state and import nothing from Streamlit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from artsim.viewstate import match_names

if TYPE_CHECKING:
    from artsim.inputs.collection import Painting


def merge_paintings(base: Sequence[Painting], added: Iterable[Painting]) -> list[Painting]:
    """``base`` followed by the paintings of ``added`` whose bytes (sha256) it does not hold yet.

    A collection is copy-on-write over the gallery: an upload of a gallery
    painting's exact bytes adds nothing, and one file uploaded twice counts once.
    """
    seen = {p.sha256 for p in base}
    out = list(base)
    for painting in added:
        if painting.sha256 not in seen:
            seen.add(painting.sha256)
            out.append(painting)
    return out


def artists_of(paintings: Iterable[Painting]) -> tuple[str, ...]:
    """The distinct artists of ``paintings``, sorted."""
    return tuple(sorted({p.artist for p in paintings}))


def split_artists(
    wanted: Sequence[str] | None, known: Sequence[str]
) -> tuple[tuple[str, ...] | None, list[str]]:
    """``wanted`` cut to the ``known`` artists, and the names that were not known.

    ``None`` (all artists) stays ``None``; a selection left empty by the cut
    becomes ``None`` too, so a stale link shows everything rather than nothing.
    Pieces of a name with commas from an old link are joined back
    (:func:`artsim.viewstate.match_names`).
    """
    if wanted is None:
        return None, []
    kept, unknown = match_names(wanted, known)
    return (tuple(dict.fromkeys(kept)) or None), unknown


def artist_pair_rows(artists: Sequence[str], a: str, b: str, limit: int) -> np.ndarray:
    """Rows of the paintings by artists ``a`` and ``b`` (a drill-down from the artist heatmap).

    Parameters
    ----------
    artists : n artist names, one per painting.
    a, b : the two artists (the same name twice: one artist's paintings).
    limit : most rows returned; past it each artist keeps an equal share of its
        paintings, evenly spaced in collection order (deterministic, so a share
        link shows the same ones).

    Returns
    -------
    (m,) sorted row indices, m <= limit; empty when neither artist is present.
    """
    names = np.asarray([str(x) for x in artists], dtype=object)
    groups = [np.flatnonzero(names == name) for name in dict.fromkeys((str(a), str(b)))]
    share = max(1, int(limit) // max(1, len(groups)))
    kept = [g if len(g) <= share else g[np.linspace(0, len(g) - 1, share).round().astype(int)] for g in groups]
    return np.sort(np.concatenate(kept)) if kept else np.zeros(0, dtype=np.intp)
