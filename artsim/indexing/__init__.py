"""Embedding jobs: what the store lacks goes through a model, back into the store.

:mod:`~artsim.indexing.pipeline` (``embed_with_cache``), the decode/model stream
(:mod:`~artsim.indexing.embed_stream`), per-file failures, claims that let
concurrent writers split a job, and ``artsim index`` locally
(:mod:`~artsim.indexing.local`) or on a Ray cluster (:mod:`~artsim.indexing.ray_index`).

Imports: :mod:`artsim.inputs`, :mod:`artsim.store`, :mod:`artsim.embedding`.
Imported by the CLI and the dashboard"s background embedding.

Submodules are attached lazily (SPEC 1): ``from artsim import indexing`` imports
none of them until one is used.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submodules=["claims", "embed_stream", "failures", "local", "pipeline", "ray_index"])
