"""The default gallery manifest (``data/gallery.csv``): reading, validating, deriving columns.

One row per painting to download: who painted it, what it is, where it lives,
where to get it (``source_type`` + ``source_id``) and where it is stored
(``file``, relative ``<Artist>/<file name>`` under the gallery folder). The
columns ``file``, ``credit`` and ``source_url`` are derived from the others by
the functions here, so the CSV and the code cannot drift apart (the tests check
it). Network code lives in :mod:`artsim.sources.fetch`; this module never downloads.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from artsim.errors import ArtsimError

SOURCE_TYPES: tuple[str, ...] = ("commons", "met", "nga", "aic")
"""Where an image can come from: Wikimedia Commons or a museum's open-access API."""

COLUMNS: tuple[str, ...] = (
    "artist",
    "title",
    "year",
    "museum",
    "license",
    "source_type",
    "source_id",
    "verified",
    "file",
    "credit",
    "source_url",
    "note",
)
"""Columns of ``data/gallery.csv``, in order. ``note`` may be empty."""

REQUIRED: tuple[str, ...] = tuple(c for c in COLUMNS if c != "note")

_MUSEUM_NAMES = {
    "met": "The Metropolitan Museum of Art, Open Access",
    "nga": "National Gallery of Art, Washington, Open Access",
    "aic": "Art Institute of Chicago, CC0",
}
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_WINDOWS_RESERVED = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}
_MAX_NAME = 150


class ManifestError(ArtsimError):
    """The manifest file is missing, unreadable or has bad rows; the message names the row."""


@dataclass(frozen=True)
class ManifestRow:
    """One painting of the manifest (all fields are the CSV's strings, ``verified`` a bool)."""

    artist: str
    title: str
    year: str
    museum: str
    license: str
    source_type: str
    source_id: str
    verified: bool
    file: str
    credit: str
    source_url: str
    note: str = ""

    @property
    def key(self) -> str:
        """Unique id of the row: ``<source_type>:<source_id>``."""
        return f"{self.source_type}:{self.source_id}"

    @property
    def label(self) -> str:
        """Short human label for reports: ``Artist: Title [key]``."""
        return f"{self.artist}: {self.title} [{self.key}]"


def default_manifest_path() -> Path:
    """``data/gallery.csv`` of the source tree (beside the ``artsim`` package)."""
    return Path(__file__).resolve().parents[2] / "data" / "gallery.csv"


# --------------------------------------------------------------------------- derivations


def safe_component(name: str) -> str:
    """A file or folder name safe on Linux, macOS and Windows, as close to ``name`` as possible.

    Unicode is kept (NFC-normalised); path separators, ``: * ? " < > |`` and
    control characters become ``_``; runs of whitespace become one space;
    leading/trailing dots and spaces are dropped; the result is at most 150
    characters with its extension kept.
    """
    text = unicodedata.normalize("NFC", name)
    text = _UNSAFE.sub("_", text)
    text = " ".join(text.split())
    text = text.strip(" .")
    if not text:
        return "_"
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    if stem.upper() in _WINDOWS_RESERVED:
        stem += "_"
    if len(stem) + len(dot) + len(ext) > _MAX_NAME:
        stem = stem[: max(1, _MAX_NAME - len(dot) - len(ext))].rstrip(" .")
    return f"{stem}{dot}{ext}" if dot else stem


def derive_file(artist: str, source_type: str, source_id: str, title: str) -> str:
    """Relative storage path ``<Artist>/<file name>`` for a row.

    Commons files keep their Commons name (extension lower-cased); museum
    images are named after the title and the museum id, e.g.
    ``Self-Portrait (met 436158).jpg``.
    """
    if source_type == "commons":
        name = safe_component(source_id)
        stem, dot, ext = name.rpartition(".")
        name = f"{stem}.{ext.lower()}" if dot and stem else name
    else:
        name = safe_component(f"{title} ({source_type} {source_id}).jpg")
    return f"{safe_component(artist)}/{name}"


def commons_page_url(file_name: str) -> str:
    """The Commons description page of a file (``File:`` page, spaces as underscores)."""
    return "https://commons.wikimedia.org/wiki/File:" + quote(file_name.replace(" ", "_"), safe="()',!")


def derive_source_url(source_type: str, source_id: str) -> str:
    """The public web page of the image's source (for credits and for manual download)."""
    if source_type == "commons":
        return commons_page_url(source_id)
    if source_type == "met":
        return f"https://www.metmuseum.org/art/collection/search/{source_id}"
    if source_type == "nga":
        return f"https://www.nga.gov/collection/art-object-page.{source_id}.html"
    if source_type == "aic":
        return f"https://www.artic.edu/artworks/{source_id}"
    raise ManifestError(f"unknown source_type {source_type!r}; expected one of {', '.join(SOURCE_TYPES)}")


def derive_credit(artist: str, title: str, year: str, museum: str, source_type: str, source_id: str) -> str:
    """One-line credit: work, holding museum, and where the image file comes from."""
    if source_type == "commons":
        image = f"image: Wikimedia Commons, File:{source_id}"
    else:
        image = f"image: {_MUSEUM_NAMES[source_type]} (object {source_id})"
    return f"{artist}, {title}, {year}. {museum}; {image}"


# --------------------------------------------------------------------------- reading


def _bool(text: str) -> bool | None:
    low = text.strip().lower()
    if low in {"yes", "true", "1"}:
        return True
    if low in {"no", "false", "0"}:
        return False
    return None


def row_problems(row: ManifestRow) -> list[str]:
    """Everything wrong with one row (empty list if it is fine)."""
    problems = []
    for name in ("artist", "title", "source_type", "source_id", "file"):
        if not getattr(row, name).strip():
            problems.append(f"{name} is empty")
    if row.source_type not in SOURCE_TYPES:
        problems.append(f"source_type {row.source_type!r} is not one of {', '.join(SOURCE_TYPES)}")
    elif row.source_type in {"met", "aic"} and not row.source_id.isdigit():
        problems.append(f"{row.source_type} source_id {row.source_id!r} is not a numeric object id")
    if row.file and not is_safe_relpath(row.file):
        problems.append(f"file {row.file!r} is not a safe relative '<Artist>/<name>' path")
    return problems


def is_safe_relpath(path: str) -> bool:
    """True for ``<Artist>/<name>``: two safe components, no ``..``, not absolute, no backslash."""
    if "\\" in path or path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return False
    parts = PurePosixPath(path).parts
    return len(parts) == 2 and all(p not in {".", ".."} and p == safe_component(p) for p in parts)


def read_manifest(path: str | Path | None = None, *, include_unverified: bool = True) -> list[ManifestRow]:
    """Read and validate a gallery manifest.

    Parameters
    ----------
    path : the CSV (default :func:`default_manifest_path`).
    include_unverified : keep rows with ``verified=no``.

    Returns
    -------
    The rows in file order. Raises :class:`ManifestError` naming the line of
    the first bad row, a missing column, or a duplicate ``key`` / ``file``.
    """
    path = Path(path) if path is not None else default_manifest_path()
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise ManifestError(f"{path}: missing column(s) {', '.join(missing)}")
            raw = list(reader)
    except OSError as exc:
        raise ManifestError(f"cannot read gallery manifest {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ManifestError(f"{path} is not a UTF-8 CSV file: {exc}") from exc

    rows: list[ManifestRow] = []
    keys: dict[str, int] = {}
    files: dict[str, int] = {}
    for line, rec in enumerate(raw, start=2):
        values = {c: (rec.get(c) or "").strip() for c in COLUMNS}
        verified = _bool(values["verified"])
        if verified is None:
            raise ManifestError(f"{path} line {line}: verified must be yes or no, not {values['verified']!r}")
        row = ManifestRow(**{**values, "verified": verified})
        problems = row_problems(row)
        if problems:
            raise ManifestError(f"{path} line {line}: {'; '.join(problems)}")
        for seen, value, what in ((keys, row.key, "source"), (files, row.file.casefold(), "file")):
            if value in seen:
                raise ManifestError(f"{path} line {line}: same {what} as line {seen[value]} ({value})")
            seen[value] = line
        if verified or include_unverified:
            rows.append(row)
    return rows


def write_manifest(rows: Iterable[ManifestRow], path: str | Path) -> None:
    """Write rows as a manifest CSV (``verified`` as yes/no), columns :data:`COLUMNS`."""
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow(
                [
                    r.artist,
                    r.title,
                    r.year,
                    r.museum,
                    r.license,
                    r.source_type,
                    r.source_id,
                    "yes" if r.verified else "no",
                    r.file,
                    r.credit,
                    r.source_url,
                    r.note,
                ]
            )


def make_row(
    *,
    artist: str,
    title: str,
    year: str,
    museum: str,
    license: str,
    source_type: str,
    source_id: str,
    verified: bool,
    note: str = "",
) -> ManifestRow:
    """A row with ``file``, ``credit`` and ``source_url`` derived from the other fields."""
    return ManifestRow(
        artist=artist,
        title=title,
        year=year,
        museum=museum,
        license=license,
        source_type=source_type,
        source_id=source_id,
        verified=verified,
        file=derive_file(artist, source_type, source_id, title),
        credit=derive_credit(artist, title, year, museum, source_type, source_id),
        source_url=derive_source_url(source_type, source_id),
        note=note,
    )


def rows_by_key(rows: Sequence[ManifestRow]) -> dict[str, ManifestRow]:
    """Rows indexed by :attr:`ManifestRow.key`."""
    return {r.key: r for r in rows}
