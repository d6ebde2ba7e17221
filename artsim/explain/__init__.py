"""Why are two paintings similar? Exact splits of a pair's cosine over image positions.

:mod:`artsim.explain.decompose` is the numpy maths, :mod:`artsim.explain.maps`
computes and caches the spatial feature maps of single paintings, and
:mod:`artsim.explain.figures` draws them over the paintings. Importing this
package loads no torch.
"""

from __future__ import annotations

from artsim.explain.decompose import (
    PairExplanation,
    block_mean,
    explain_pair,
    pair_contributions,
    pooled_cosine,
    position_contributions,
)
from artsim.explain.maps import ExplainUnavailable, MapCache, PaintingMap, explainable, painting_map

__all__ = [
    "ExplainUnavailable",
    "MapCache",
    "PairExplanation",
    "PaintingMap",
    "block_mean",
    "explain_pair",
    "explainable",
    "pair_contributions",
    "painting_map",
    "pooled_cosine",
    "position_contributions",
]
