"""The front door for untrusted files: decoding, limits, uploads and folder scans.

Images are decoded with caps checked before and during decoding (a structural
pre-scan bounds the records that drive a parser's work); names are cleaned; folders are scanned into
:class:`~artsim.inputs.collection.Painting` values (sha256 = identity) with
their credits, and a selection cuts a collection to some artists.

Imports: Pillow, numpy, pathvalidate and :mod:`artsim` top-level modules.
Imported by every layer above.

Submodules are attached lazily (SPEC 1): ``from artsim import inputs`` imports
none of them until one is used.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submodules=["collection", "file_hashes", "formats", "image_convert", "image_limits", "images", "listing", "names", "prescan", "selection"])
