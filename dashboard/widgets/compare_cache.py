"""The Compare page's numbers, cached by content (model fingerprints, paintings, parameters).

:func:`artsim.analysis.comparison.compare_models` is O(n^2 d) per model (nearest
neighbours, pair similarities, a tree), so a rerun that changes nothing it
reads (another widget, a page switch and back) must not pay it again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import streamlit as st

from artsim.analysis.comparison import ModelComparison, compare_models
from dashboard import cache


@st.cache_data(show_spinner="Comparing models…", max_entries=8)
def _comparison(
    keys: tuple[str, ...],
    artists: tuple[str, ...],
    works: tuple[str, ...] | None,
    linkage: str,
    k: int,
    center: bool,
    _vectors: Mapping[str, np.ndarray],
) -> ModelComparison:
    return compare_models(_vectors, artists, works, linkage=linkage, k=k, center=center)


def model_comparison(
    vectors: Mapping[str, np.ndarray],
    shas: Sequence[str],
    artists: Sequence[str],
    works: Sequence[str] | None,
    *,
    linkage: str,
    k: int,
    center: bool,
) -> ModelComparison:
    """``compare_models`` keyed by each model's content key over ``shas`` (same order as ``vectors``)."""
    keys = tuple(f"{model}:{cache.content_key(model, list(shas))}" for model in vectors)
    return _comparison(
        keys, tuple(map(str, artists)), tuple(map(str, works)) if works is not None else None,
        linkage, int(k), bool(center), dict(vectors),
    )
