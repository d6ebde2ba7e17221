"""Uploads in the 3-D map: which paintings a projection is fitted on, and where the rest go.

By default the map is fitted on the collection without the uploads and the
uploads are *placed* into it with the fitted model's ``transform``, so adding
a painting never moves the others (a teacher's map stays the map the class
saw). "Re-fit with uploads" fits on everything. With fewer than
``MIN_FIT`` other paintings there is no map to place into, so everything is fitted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from artsim.analysis.projection import Projection

#: Fewest paintings a projection is fitted on before uploads can be placed into it.
MIN_FIT = 3


def fit_rows(uploaded: np.ndarray, refit: bool) -> np.ndarray:
    """(n,) bool: the paintings the projection is fitted on.

    Parameters
    ----------
    uploaded : (n,) bool, True for uploaded paintings.
    refit : fit on every painting, uploads included.
    """
    uploaded = np.asarray(uploaded, dtype=bool)
    if refit or not uploaded.any() or int((~uploaded).sum()) < MIN_FIT:
        return np.ones(uploaded.shape[0], dtype=bool)
    return ~uploaded


def place(projection: Projection, vectors: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """(n, 3) coordinates of every painting: fitted rows from the fit, others transformed.

    Parameters
    ----------
    projection : fitted on ``vectors[fitted]`` (same rows, same order).
    vectors : (n, d) vectors of every painting.
    fitted : (n,) bool from :func:`fit_rows`.
    """
    fitted = np.asarray(fitted, dtype=bool)
    coords = np.zeros((fitted.shape[0], 3))
    coords[fitted] = projection.coords
    if (~fitted).any():
        coords[~fitted] = projection.transform(np.asarray(vectors)[~fitted])
    return coords
