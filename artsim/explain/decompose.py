"""Where a pair's cosine similarity comes from: an exact split over image positions.

A pooled CNN vector is the mean of its last feature map over positions,
``a = mean_i F_a[i]`` with ``F_a`` of shape ``(h*w, d)``. Because the mean is
linear, the cosine of two paintings splits exactly::

    cos(a, b) = a . b / (|a| |b|)
              = sum_i  F_a[i] . b / (h_a w_a |a| |b|)            (positions of A)
              = sum_ij F_a[i] . F_b[j] / (h_a w_a h_b w_b |a| |b|)   (pairs of positions)

so each position of A gets a share of the similarity (positive: it pushes the
pair together; negative: apart), and each pair of positions ``(i, j)`` gets
one too (Stylianou et al., "Visualizing Deep Similarity Networks", WACV 2019).

Mean-centring (the app's "Mean-centre vectors") subtracts the collection mean
``m`` from every vector. Since ``a - m = mean_i (F_a[i] - m)``, the same split
holds with ``F_a[i] - m`` and ``b - m``: the centred maps still sum exactly to
the centred cosine. Centring moves every position by the same vector, so a
position counts for how it differs from the collection's average painting.

All functions are plain numpy, computed in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _prepare(F: np.ndarray, mean: np.ndarray | None) -> np.ndarray:
    F = np.asarray(F, dtype=np.float64)
    if F.ndim != 2 or F.shape[0] == 0:
        raise ValueError(f"expected a feature map of shape (positions, features), got {F.shape}")
    if mean is not None:
        mean = np.asarray(mean, dtype=np.float64)
        if mean.shape != (F.shape[1],):
            raise ValueError(f"mean has shape {mean.shape}, expected ({F.shape[1]},)")
        F = F - mean
    return F


def pooled_cosine(Fa: np.ndarray, Fb: np.ndarray, *, mean: np.ndarray | None = None) -> float:
    """Cosine of the mean-pooled vectors of two feature maps (0 when either is a zero vector).

    Parameters
    ----------
    Fa, Fb : (h_a*w_a, d), (h_b*w_b, d) feature maps, positions in rows.
    mean : (d,) vector subtracted from both pooled vectors (mean-centring), optional.
    """
    a, b = _prepare(Fa, mean).mean(axis=0), _prepare(Fb, mean).mean(axis=0)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


def position_contributions(Fa: np.ndarray, b: np.ndarray, *, mean: np.ndarray | None = None) -> np.ndarray:
    """Each position's share of ``cos(mean(Fa), b)``; the shares sum to that cosine.

    Parameters
    ----------
    Fa : (h*w, d) feature map of painting A, positions in rows.
    b : (d,) pooled vector of painting B (the mean of its map).
    mean : (d,) collection mean to subtract (mean-centring), optional. The shares are then
        ``(Fa[i] - m) . (b - m) / (h w |a - m| |b - m|)`` and sum to the centred cosine.

    Returns
    -------
    (h*w,) float64. All zero when ``a`` or ``b`` is a zero vector (cosine undefined; the
    app shows 0 for it).
    """
    F = _prepare(Fa, mean)
    b = np.asarray(b, dtype=np.float64)
    if b.shape != (F.shape[1],):
        raise ValueError(f"b has shape {b.shape}, expected ({F.shape[1]},)")
    if mean is not None:
        b = b - np.asarray(mean, dtype=np.float64)
    na, nb = np.linalg.norm(F.mean(axis=0)), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return np.zeros(F.shape[0])
    return F @ b / (F.shape[0] * na * nb)


def pair_contributions(Fa: np.ndarray, Fb: np.ndarray, *, mean: np.ndarray | None = None) -> np.ndarray:
    """Each pair of positions' share of the pooled cosine (Stylianou's point-to-point view).

    Parameters
    ----------
    Fa, Fb : (n_a, d), (n_b, d) feature maps (``n = h*w`` positions in rows).
    mean : (d,) collection mean to subtract from every position (mean-centring), optional.

    Returns
    -------
    (n_a, n_b) float64: ``P[i, j] = Fa[i] . Fb[j] / (n_a n_b |a| |b|)`` (centred when ``mean``
    is given). ``P.sum()`` is the cosine, row sums are :func:`position_contributions` of A and
    column sums those of B. All zero when a pooled vector is zero.
    """
    A, B = _prepare(Fa, mean), _prepare(Fb, mean)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"feature maps differ in depth: {A.shape[1]} vs {B.shape[1]}")
    na, nb = np.linalg.norm(A.mean(axis=0)), np.linalg.norm(B.mean(axis=0))
    if na == 0 or nb == 0:
        return np.zeros((A.shape[0], B.shape[0]))
    return A @ B.T / (A.shape[0] * B.shape[0] * na * nb)


def block_mean(F: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor x factor`` blocks of a ``(h, w, d)`` map -> ``(h/f, w/f, d)``.

    The pooled vector is unchanged (every block has the same size), so the
    decomposition of a coarser map still sums exactly; used to keep the
    position-pair matrix small for early, large maps. ``h`` and ``w`` must be
    multiples of ``factor``.
    """
    F = np.asarray(F)
    h, w, d = F.shape
    if factor < 1 or h % factor or w % factor:
        raise ValueError(f"a {h}x{w} map cannot be cut into {factor}x{factor} blocks")
    return F.reshape(h // factor, factor, w // factor, factor, d).mean(axis=(1, 3))


@dataclass(frozen=True)
class PairExplanation:
    """Why two paintings are alike, split over positions.

    Attributes
    ----------
    cosine : float
        Cosine of the pooled vectors (centred if ``centered``); equals ``map_a.sum()``,
        ``map_b.sum()`` and the sum of all pair shares.
    map_a, map_b : (h_a, w_a), (h_b, w_b) float64
        Each position's share of ``cosine``.
    pairs : (k, 5) float64
        The ``k`` pairs of positions that add most: rows ``(ya, xa, yb, xb, share)``, in
        the coordinates of the (possibly block-averaged) pair grid ``pair_grid_a/b``.
    pair_grid_a, pair_grid_b : (int, int)
        Grid sizes the pair coordinates refer to.
    centered : bool
        Whether the collection mean was subtracted.
    """

    cosine: float
    map_a: np.ndarray
    map_b: np.ndarray
    pairs: np.ndarray
    pair_grid_a: tuple[int, int]
    pair_grid_b: tuple[int, int]
    centered: bool


#: Pair grids are block-averaged down to at most this many positions per side.
PAIR_GRID_MAX = 14


def _coarsen(F: np.ndarray) -> np.ndarray:
    factor = 1
    h, w = F.shape[:2]
    while max(h, w) // factor > PAIR_GRID_MAX and h % (2 * factor) == 0 and w % (2 * factor) == 0:
        factor *= 2
    return block_mean(F, factor) if factor > 1 else np.asarray(F)


def explain_pair(
    Fa: np.ndarray, Fb: np.ndarray, *, mean: np.ndarray | None = None, k: int = 5
) -> PairExplanation:
    """Both position maps and the ``k`` strongest position pairs of two feature maps.

    Parameters
    ----------
    Fa, Fb : (h_a, w_a, d), (h_b, w_b, d) feature maps.
    mean : (d,) collection mean for mean-centring, optional.
    k : number of position pairs to return (fewer if the grids are smaller).
    """
    Fa, Fb = np.asarray(Fa), np.asarray(Fb)
    if Fa.ndim != 3 or Fb.ndim != 3:
        raise ValueError(f"expected (h, w, d) maps, got {Fa.shape} and {Fb.shape}")
    d = Fa.shape[2]
    flat_a, flat_b = Fa.reshape(-1, d), Fb.reshape(-1, Fb.shape[2])
    b = flat_b.mean(axis=0, dtype=np.float64)
    a = flat_a.mean(axis=0, dtype=np.float64)
    map_a = position_contributions(flat_a, b, mean=mean).reshape(Fa.shape[:2])
    map_b = position_contributions(flat_b, a, mean=mean).reshape(Fb.shape[:2])
    Ca, Cb = _coarsen(Fa), _coarsen(Fb)
    P = pair_contributions(Ca.reshape(-1, d), Cb.reshape(-1, d), mean=mean)
    k = max(0, min(int(k), P.size))
    top = np.argsort(P, axis=None)[::-1][:k]
    ia, ib = np.unravel_index(top, P.shape)
    wa, wb = Ca.shape[1], Cb.shape[1]
    pairs = np.column_stack([ia // wa, ia % wa, ib // wb, ib % wb, P.ravel()[top]]).astype(np.float64)
    return PairExplanation(
        cosine=pooled_cosine(flat_a, flat_b, mean=mean),
        map_a=map_a,
        map_b=map_b,
        pairs=pairs.reshape(-1, 5),
        pair_grid_a=(Ca.shape[0], Ca.shape[1]),
        pair_grid_b=(Cb.shape[0], Cb.shape[1]),
        centered=mean is not None,
    )
