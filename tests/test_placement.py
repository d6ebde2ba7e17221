"""artsim.analysis.placement: uploads placed into a fitted map without moving it."""

from __future__ import annotations

import numpy as np

from artsim.analysis.placement import MIN_FIT, fit_rows, place
from artsim.analysis.projection import fit_projection


def test_fit_rows_leaves_uploads_out_unless_refit_or_too_few():
    uploaded = np.array([False, False, False, True, True])
    np.testing.assert_array_equal(fit_rows(uploaded, refit=False), ~uploaded)
    assert fit_rows(uploaded, refit=True).all()
    assert fit_rows(np.zeros(4, bool), refit=False).all()
    too_few = np.array([False] * (MIN_FIT - 1) + [True, True])
    assert fit_rows(too_few, refit=False).all()


def test_place_keeps_fitted_rows_and_transforms_the_rest():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 6))
    uploaded = np.zeros(10, bool)
    uploaded[[2, 7]] = True
    rows = fit_rows(uploaded, refit=False)
    proj = fit_projection(X[rows], "pca", seed=0)
    coords = place(proj, X, rows)
    assert coords.shape == (10, 3)
    np.testing.assert_array_equal(coords[rows], proj.coords)
    np.testing.assert_allclose(coords[uploaded], proj.transform(X[uploaded]))
    # same map as a PCA fitted without the uploads: placing never moves the others
    np.testing.assert_allclose(coords[rows], fit_projection(X[~uploaded], "pca", seed=0).coords)
