"""Uploads from strangers: a batch of files and ZIPs into a private collection, every file reported.

:mod:`~artsim.uploads.batch` reads a batch (files and ZIP members, one row per
file: added, already present, or refused with the reason); ZIPs are opened by
:mod:`~artsim.uploads.zip_guard` within caps that do not trust declared sizes;
every image is decoded in a sandboxed worker process
(:mod:`~artsim.uploads.decode_worker`: address-space and CPU limits), so a
decoder bug costs that worker, not the server; :mod:`~artsim.uploads.flow`
puts what was added into a collection.

Imports: :mod:`artsim.inputs` (decoding, names), :mod:`artsim.store` (collections).
Imported by the Add paintings page.

Submodules are attached lazily (SPEC 1): ``from artsim import uploads`` imports
none of them until one is used.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submodules=["batch", "decode_worker", "flow", "zip_guard"])
