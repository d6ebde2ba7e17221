"""IIIF import: museum collections in, through the standard museums publish them with.

:mod:`artsim.sources.iiif.parse` reads Presentation 2 and 3 manifests and collections as
plain JSON; :mod:`artsim.sources.iiif.importer` walks them and downloads each painting at
model size through its IIIF Image service.

Why plain JSON and not a IIIF library (evaluated: ``iiif-prezi3`` 3.1.1, ``piffle`` 0.9.0):

- ``iiif-prezi3`` builds and validates Presentation **3** with pydantic models; it does
  not read Presentation 2, and validation is all-or-nothing, so one malformed canvas in
  a museum's manifest would reject the whole manifest, where we must import the rest and
  report the one. It would add pydantic model construction for fields we never read.
- ``piffle`` generates and parses Image API URLs (the one URL we build is a format
  string) and its presentation reader fetches manifests itself, outside artsim's HTTP
  client (no byte cap, retries or offline probe).
- What we read is small and stable across both versions: types, ids, labels and
  metadata (language maps), canvases, painting annotations and their Image service.
  About 200 lines, tested on the IIIF Cookbook's own manifests.
"""

from artsim.sources.iiif.importer import ImportReport, import_iiif
from artsim.sources.iiif.parse import IMAGE_SIDE, Painting, Problem, paintings

__all__ = ["IMAGE_SIDE", "ImportReport", "Painting", "Problem", "import_iiif", "paintings"]
