"""What a new painting looks like to the network: its nearest paintings and artists.

After an upload the app answers "whose paintings does this look like?". The
rule is the **best match**: an artist's score is the cosine similarity of that
artist's single closest painting (the nearest-neighbour rule, extended to a
ranking). A teacher would call it fair because

* an artist is not penalised for range: averaging over all of an artist's
  paintings let one similar Schiele outrank Van Gogh, whose 17 varied works
  included the very painting uploaded (0.95 similar) but averaged 0.10;
* the first artist is always the artist of the nearest painting, so the ranking
  and the nearest paintings shown beside it tell the same story.

Its bias: an artist with many paintings has more chances of a close one, so
read the score as "closest single work", never as attribution or influence.
(A k-nearest-neighbour vote was the alternative; with 1-3 paintings for most
artists it degenerates to counting how many works an artist has.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from artsim.analysis.similarity import artist_codes, similarity_to


def nearest_paintings(
    X: np.ndarray, Y: np.ndarray, k: int = 5, *, center: bool = False
) -> list[pd.DataFrame]:
    """For each new vector, the ``k`` most similar paintings of the collection.

    Parameters
    ----------
    X : (n, d) the collection's vectors; Y : (m, d) new vectors.
    k : paintings per new vector (fewer when n < k).
    center : compare in the collection's mean-centred frame (see ``similarity_to``).

    Returns
    -------
    m DataFrames with columns ``j`` (row of ``X``) and ``similarity``, most
    similar first (ties: smaller j first).
    """
    S = similarity_to(X, Y, center=center)
    k = max(0, min(int(k), S.shape[1]))
    out = []
    for row in S:
        best = np.argsort(-row, kind="stable")[:k]
        out.append(pd.DataFrame({"j": best, "similarity": row[best]}))
    return out


def nearest_artists(
    X: np.ndarray, artists: Sequence[str], Y: np.ndarray, k: int = 3, *, center: bool = False
) -> list[pd.DataFrame]:
    """For each new vector, the ``k`` artists whose closest painting is most similar to it.

    Parameters
    ----------
    X : (n, d) the collection's vectors; artists : n names; Y : (m, d) new vectors.
    k : artists per new vector (fewer when there are fewer artists).
    center : compare in the collection's mean-centred frame.

    Returns
    -------
    m DataFrames with columns ``artist``, ``similarity`` (of the artist's best
    match, see the module docstring) and ``painting`` (row of ``X`` of that
    match; the smallest row on ties), best first (ties: artist name order).
    O(m n) after the (m, n) similarities; no per-artist loop.
    """
    S = similarity_to(X, Y, center=center)
    n = S.shape[1]
    names, codes = artist_codes(artists, n)
    if n == 0:
        return [pd.DataFrame({"artist": [], "similarity": [], "painting": []}) for _ in range(S.shape[0])]
    order = np.argsort(codes, kind="stable")  # paintings grouped by artist, row order kept inside
    starts = np.flatnonzero(np.r_[True, codes[order][1:] != codes[order][:-1]])
    Ss = S[:, order]
    best = np.maximum.reduceat(Ss, starts, axis=1)  # (m, artists): each artist's best match
    segment = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
    position = np.where(Ss == best[:, segment], np.arange(n), n)
    first = np.minimum.reduceat(position, starts, axis=1)  # first best painting in each segment
    out = []
    for row, where in zip(best, first, strict=True):
        top = np.argsort(-row, kind="stable")[: max(0, int(k))]
        out.append(pd.DataFrame({
            "artist": [names[a] for a in top], "similarity": row[top], "painting": order[where[top]],
        }))
    return out


@dataclass(frozen=True)
class UploadMatch:
    """The answer for one uploaded painting, in rows of the caller's frame.

    row : the upload's row.
    artists : columns ``artist``, ``similarity`` (best match) and ``painting``
        (row of that best match), best first.
    paintings : columns ``j`` (row) and ``similarity``, most similar first.
    """

    row: int
    artists: pd.DataFrame
    paintings: pd.DataFrame


def match_uploads(
    X: np.ndarray,
    artists: Sequence[str],
    new: np.ndarray,
    reference: np.ndarray,
    *,
    k_artists: int = 3,
    k_paintings: int = 4,
    center: bool = False,
) -> list[UploadMatch]:
    """Nearest artists and paintings of the ``new`` rows among the ``reference`` rows.

    Parameters
    ----------
    X : (n, d) vectors of every painting shown; artists : n names.
    new : (n,) bool, the uploads to answer for; reference : (n,) bool, the
        paintings they are compared with (the collection without uploads).
    k_artists, k_paintings : how many of each to return; center : compare in the
        reference's mean-centred frame.

    Returns
    -------
    One :class:`UploadMatch` per ``new`` row, in row order (none without reference rows).
    """
    X = np.asarray(X)
    new, reference = np.asarray(new, dtype=bool), np.asarray(reference, dtype=bool)
    rows, ref = np.flatnonzero(new), np.flatnonzero(reference)
    if rows.size == 0 or ref.size == 0:
        return []
    ref_artists = [artists[i] for i in ref]
    by_artist = nearest_artists(X[ref], ref_artists, X[rows], k=k_artists, center=center)
    by_painting = nearest_paintings(X[ref], X[rows], k=k_paintings, center=center)
    out = []
    for row, a, p in zip(rows, by_artist, by_painting, strict=True):
        a = a.assign(painting=ref[a["painting"].to_numpy(dtype=np.intp)])
        p = p.assign(j=ref[p["j"].to_numpy(dtype=np.intp)])
        out.append(UploadMatch(int(row), a, p))
    return out
