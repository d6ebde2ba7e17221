"""Where paintings come from: the gallery manifest, the HTTP client, museum IIIF manifests.

:mod:`~artsim.sources.http` is the one HTTP client (retries, probes, capped and
hash-checked downloads); :mod:`~artsim.sources.manifest` and
:mod:`~artsim.sources.dispatch` read the default gallery manifest and turn a row
into a URL; :mod:`~artsim.sources.fetch` downloads a gallery;
:mod:`~artsim.sources.iiif` imports museum collections. Each writes a folder
that :func:`artsim.inputs.collection.scan_folder` reads.

Imports: requests/urllib3, :mod:`artsim.inputs` (to validate what arrives).

Submodules are attached lazily (SPEC 1): ``from artsim import sources`` imports
none of them until one is used.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submodules=["dispatch", "fetch", "gallery", "http", "iiif", "manifest"])
