"""Compare models on one selection: the numbers behind the Compare models page.

For every model that embedded the selection, :func:`compare_models` computes
leave-one-out nearest-neighbour artist accuracy, the same-artist vs
different-artist similarity pairs (only where the painting-level matrix may be
built, see :data:`artsim.analysis.similarity.PAINTING_LEVEL_MAX_N`) and the cluster
labels at one linkage and k, whose agreement is the adjusted Rand index.
The page lays the result out; nothing here knows about Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from artsim.analysis import clustering, evaluation, similarity


@dataclass(frozen=True)
class ModelComparison:
    """What the Compare page shows, per model name.

    accuracy : model -> (accuracy, chance) of leave-one-out nearest neighbour.
    pairs : model -> long frame of pair similarities (``evaluation.within_between``);
        empty when the selection is above ``similarity.PAINTING_LEVEL_MAX_N``.
    labels : model -> (n,) cluster labels at ``k``.
    agreement : models x models adjusted Rand index (empty with fewer than two models).
    k : the number of clusters actually cut (clamped to [2, n]).
    """

    accuracy: dict[str, tuple[float, float]] = field(default_factory=dict)
    pairs: dict[str, pd.DataFrame] = field(default_factory=dict)
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    agreement: pd.DataFrame = field(default_factory=pd.DataFrame)
    k: int = 2

    @property
    def painting_level(self) -> bool:
        """Whether the pairwise (n x n) figures were computed."""
        return bool(self.pairs)


def comparable(artists: Sequence[str]) -> bool:
    """A comparison needs at least three paintings by two or more artists."""
    return len(artists) >= 3 and len(set(artists)) >= 2


def compare_models(
    vectors: Mapping[str, np.ndarray],
    artists: Sequence[str],
    works: Sequence[str] | None = None,
    *,
    linkage: str = "average",
    k: int = 2,
    center: bool = False,
) -> ModelComparison:
    """Accuracy, pair similarities and clusterings of several models on the same paintings.

    Parameters
    ----------
    vectors : model name -> (n, d_model) vectors, rows in the same painting order
        for every model (models that could not embed every painting are left
        out by the caller).
    artists : n artist names; works : optional n work names (copies never count).
    linkage : one of ``clustering.LINKAGES``; k : clusters to cut (clamped to [2, n]).
    center : mean-centre each model's vectors first.

    Returns
    -------
    :class:`ModelComparison`.
    """
    n = len(artists)
    k = int(min(max(k, 2), max(n, 2)))
    out = ModelComparison(k=k)
    for model, X in vectors.items():
        X = np.asarray(X)
        if X.shape[0] != n:
            raise ValueError(f"{model}: {X.shape[0]} vectors for {n} paintings")
        out.accuracy[model] = evaluation.loo_nn_accuracy(X, artists, works, center=center)
        if n <= similarity.PAINTING_LEVEL_MAX_N:
            S = similarity.cosine_similarity_matrix(X, center=center)
            out.pairs[model] = evaluation.within_between(S, artists, works=works)
        if n >= 2:
            out.labels[model] = clustering.cluster_collection(X, linkage, k, center=center).labels
    if len(out.labels) >= 2:
        out = replace(out, agreement=evaluation.clustering_agreement(out.labels))
    return out
