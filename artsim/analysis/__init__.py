"""The numbers behind each page, as pure functions of arrays and frames.

Similarity and its artist level, hierarchical clustering, 3-D projections (PCA,
UMAP with its numba kernels cached on disk), evaluation (leave-one-out artist
accuracy), bootstrap intervals, matching, k-NN graphs and walks, placement of
uploads in a fitted map, and the model comparison loop.

Imports: numpy, scipy, scikit-learn, umap-learn, pandas and :mod:`artsim` top-level
modules. Never the store, the models or Streamlit: callers pass vectors in.

Submodules are attached lazily (SPEC 1): ``from artsim import analysis`` imports
none of them until one is used.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submodules=["artist_bootstrap", "clustering", "comparison", "evaluation", "matching", "placement", "projection", "separation", "similarity", "umap_kernels"])
