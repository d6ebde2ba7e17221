"""Everything kept in the embedded vector database (LanceDB at ``ARTSIM_DB``).

:mod:`~artsim.store.database` is the one handle (open, keyed reads, compaction);
:mod:`~artsim.store.vectors` the embedding store (vectors per model fingerprint, thumbnails);
:mod:`~artsim.store.collections` and :mod:`~artsim.store.tours` what teachers and
students make; :mod:`~artsim.store.ann_index` and :mod:`~artsim.store.ann` the
approximate-nearest-neighbour index of a large table and its queries.

Imports: LanceDB and pyarrow (declared lazily), :mod:`artsim.inputs` for paintings.
Imported by :mod:`artsim.indexing`, the CLI and the dashboard.

Submodules are attached lazily (SPEC 1): ``from artsim import store`` imports
none of them until one is used.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submodules=["ann", "ann_index", "collections", "database", "locks", "tours", "vectors"])
