"""Where a gallery manifest row's image lives: one dispatch over the source types.

Images come from Wikimedia Commons (``Special:FilePath``, 960 px wide) or a
museum's open-access API (The Met, NGA IIIF, Art Institute of Chicago). Each
source type is one :class:`Source` in :data:`SOURCES`: the first URL a row
needs (the image itself, or an API record) and, for API sources, how the record
names the image. The fetch probes the first URL and follows the record; nothing
here opens a connection itself.

Base URLs are in :data:`BASES` (module-level, may be changed) and can be
overridden by ``ARTSIM_FETCH_BASE`` (one URL for every source, or
``commons=URL,met=URL,...``) or by a ``bases`` argument, so tests and mirrors
can point the fetcher at another server.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from artsim.errors import FetchError
from artsim.sources.manifest import ManifestRow

DEFAULT_BASES: dict[str, str] = {
    "commons": "https://commons.wikimedia.org",
    "met": "https://collectionapi.metmuseum.org",
    "nga": "https://api.nga.gov",
    "aic": "https://api.artic.edu",
    "aic_iiif": "https://www.artic.edu",
}
"""Where each source's API lives (the public services)."""

BASES: dict[str, str] = dict(DEFAULT_BASES)
"""The bases used when neither ``ARTSIM_FETCH_BASE`` nor ``bases=`` says otherwise; may be edited."""

ENV_BASE = "ARTSIM_FETCH_BASE"
COMMONS_WIDTH = 960
"""Width asked of Commons: plenty for 224-px models and the app's views, ~100-500 kB a file.

Must be one of Wikimedia's standard thumbnail steps (20, 40, 60, 120, 250,
330, 500, 960, 1280, 1920, 3840 px): since 2025-26 other widths are refused
at the edge with HTTP 429 ("Use thumbnail steps"), see
https://www.mediawiki.org/wiki/Common_thumbnail_sizes.
"""
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

Record = Mapping[str, object]


def resolve_bases(bases: Mapping[str, str] | None = None) -> dict[str, str]:
    """Effective base URLs: :data:`BASES`, then ``ARTSIM_FETCH_BASE``, then ``bases``.

    ``ARTSIM_FETCH_BASE`` is either one URL used for every source or a comma
    list ``name=URL`` (names as in :data:`DEFAULT_BASES`).
    """
    out = dict(BASES)
    env = os.environ.get(ENV_BASE, "").strip()
    if env:
        if "=" in env:
            for item in env.split(","):
                name, _, url = item.partition("=")
                if name.strip() not in DEFAULT_BASES or not url.strip():
                    raise FetchError(
                        f"{ENV_BASE}: bad entry {item!r}; use one URL or name=URL with names "
                        f"{', '.join(DEFAULT_BASES)}"
                    )
                out[name.strip()] = url.strip()
        else:
            out = dict.fromkeys(DEFAULT_BASES, env)
    if bases:
        out.update(bases)
    return {k: v.rstrip("/") for k, v in out.items()}


def commons_url(file_name: str, base: str) -> str:
    """``Special:FilePath`` URL of a Commons file, scaled to :data:`COMMONS_WIDTH` px."""
    quoted = quote(file_name.replace(" ", "_"), safe="()',!")
    return f"{base}/wiki/Special:FilePath/{quoted}?width={COMMONS_WIDTH}"


def met_api_url(object_id: str, base: str) -> str:
    """The Met collection API record of an object (JSON with ``primaryImageSmall``)."""
    return f"{base}/public/collection/v1/objects/{quote(object_id, safe='')}"


def nga_iiif_url(uuid: str, base: str) -> str:
    """NGA IIIF image, fitted in 1024x1024."""
    return f"{base}/iiif/{quote(uuid, safe='')}/full/!1024,1024/0/default.jpg"


def aic_api_url(object_id: str, base: str) -> str:
    """Art Institute of Chicago API record of an artwork, only its ``image_id``."""
    return f"{base}/api/v1/artworks/{quote(object_id, safe='')}?fields=image_id"


def aic_iiif_url(image_id: str, base: str) -> str:
    """Art Institute of Chicago IIIF image, 843 px wide (the size AIC recommends)."""
    return f"{base}/iiif/2/{quote(image_id, safe='')}/full/843,/0/default.jpg"


def _met_image(row: ManifestRow, record: Record, bases: Mapping[str, str]) -> str:
    if record.get("isPublicDomain") is False:
        raise FetchError(f"The Met does not mark object {row.source_id} public domain (no open-access image)")
    url = record.get("primaryImageSmall") or record.get("primaryImage")
    if not isinstance(url, str) or not url:
        raise FetchError(f"The Met API gives no image for object {row.source_id}; see {row.source_url}")
    return url


def _aic_image(row: ManifestRow, record: Record, bases: Mapping[str, str]) -> str:
    data = record.get("data") if isinstance(record.get("data"), dict) else {}
    image_id = data.get("image_id")
    if not isinstance(image_id, str) or not image_id:
        raise FetchError(f"the Art Institute of Chicago API gives no image for artwork {row.source_id}")
    return aic_iiif_url(image_id, bases["aic_iiif"])


def _nga_problem(row: ManifestRow) -> str | None:
    if UUID.match(row.source_id):
        return None
    return (
        f"the manifest gives NGA object id {row.source_id}, but NGA serves images by IIIF image uuid, "
        f"which only its open-data CSV maps (github.com/NationalGalleryOfArt/opendata, "
        f"published_images.csv); put that uuid in source_id, or save the image from {row.source_url} "
        f"as {row.file}"
    )


@dataclass(frozen=True)
class Source:
    """One source type: its first URL and, for API sources, the image named by the record."""

    base: str
    """Key of :data:`DEFAULT_BASES` holding the first URL's base."""
    first: Callable[[str, str], str]
    """``(source_id, base) -> URL`` of the first request."""
    image: Callable[[ManifestRow, Record, Mapping[str, str]], str] | None = None
    """``(row, record, bases) -> image URL`` when the first URL is an API record; None: it is the image."""
    problem: Callable[[ManifestRow], str | None] | None = None
    """Why a row cannot be fetched at all (checked before any request)."""


SOURCES: dict[str, Source] = {
    "commons": Source("commons", commons_url),
    "met": Source("met", met_api_url, _met_image),
    "nga": Source("nga", nga_iiif_url, problem=_nga_problem),
    "aic": Source("aic", aic_api_url, _aic_image),
}
"""The dispatch over :data:`artsim.sources.manifest.SOURCE_TYPES`."""


def first_url(row: ManifestRow, bases: Mapping[str, str]) -> str:
    """URL of the first request a row needs (its image, or its API record).

    Raises :class:`FetchError` when the row cannot be fetched (unknown source
    type, an id the source cannot serve).
    """
    source = SOURCES.get(row.source_type)
    if source is None:
        raise FetchError(f"unknown source_type {row.source_type!r}")
    problem = source.problem(row) if source.problem else None
    if problem:
        raise FetchError(problem)
    return source.first(row.source_id, bases[source.base])


def image_url(row: ManifestRow, bases: Mapping[str, str], get_record: Callable[[str], object]) -> str:
    """URL of the row's image, reading its API record with ``get_record(url)`` where needed."""
    url = first_url(row, bases)
    source = SOURCES[row.source_type]
    if source.image is None:
        return url
    record = get_record(url)
    if not isinstance(record, dict):
        raise FetchError(f"unexpected JSON at {url}")
    return source.image(row, record, bases)
