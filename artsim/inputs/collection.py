"""Who painted what: turn a folder of files into a list of paintings.

A collection is laid out as ``<root>/<Artist Name>/<image>``. An optional
``<root>/metadata.csv`` with a ``file`` column (the path relative to the root,
``/``-separated) and any of ``artist, title, year, work, source, license,
museum`` overrides the names taken from folders and file names; other columns
are ignored.

A painting is its bytes: each file is hashed (SHA-256) and byte-identical
files count once, the first in sorted path order winning. Scanning never
decodes an image (that is the embedding step's job) and never raises for a
bad file: unreadable, empty, oversized or non-image files are reported in
``ScanResult.skipped`` as ``(path, reason)``. Dotfiles, hidden folders,
``metadata.csv`` and OS litter (``Thumbs.db``, ``desktop.ini``, ``__MACOSX``)
are ignored silently.
"""

from __future__ import annotations

import csv
import os
import re
import stat
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from artsim import lazy
from artsim.errors import ArtsimError
from artsim.inputs.file_hashes import HashKey, file_key
from artsim.inputs.formats import IMAGE_SUFFIXES, LITTER_DIRS, LITTER_FILES, sniff_suffix
from artsim.inputs.images import file_size_problem, sha256_file

pd = lazy.load("pandas")  # only for to_frame: a scan alone (``artsim embed``) needs no pandas

__all__ = ["METADATA_FILE", "Painting", "ScanResult", "scan_folder", "scan_paths", "to_frame"]

METADATA_FILE = "metadata.csv"
_META_FIELDS = ("artist", "title", "year", "work", "source", "license", "museum")


@dataclass(frozen=True)
class Painting:
    """One image file in a collection; ``sha256`` of its bytes is its identity."""

    sha256: str
    path: str
    artist: str
    title: str
    year: str = ""
    work: str = ""
    source: str = ""
    license: str = ""
    museum: str = ""


@dataclass
class ScanResult:
    """Paintings found (sorted, one per distinct content) and files left out with why."""

    paintings: list[Painting] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def title_from_stem(stem: str) -> str:
    """A readable title from a file name: underscores and dashes become spaces."""
    return re.sub(r"\s+", " ", re.sub(r"[_\-]+", " ", stem)).strip() or stem


def _ignorable(name: str) -> bool:
    return name.startswith(".") or name.lower() in LITTER_FILES


def _walk(root: Path, recursive: bool, skipped: list[tuple[str, str]]) -> list[Path]:
    """Candidate files under root (relative paths), sorted, hidden folders pruned."""
    found: list[Path] = []

    def onerror(exc: OSError) -> None:
        if exc.filename is not None and Path(exc.filename) != root:
            skipped.append((str(exc.filename), f"cannot read folder ({exc.strerror or exc})"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
        rel_dir = Path(dirpath).relative_to(root)
        depth = len(rel_dir.parts)
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and d.lower() not in LITTER_DIRS
        )
        if not recursive and depth >= 1:
            dirnames[:] = []
        for name in filenames:
            if _ignorable(name) or (depth == 0 and name.lower() == METADATA_FILE):
                continue
            found.append(rel_dir / name)
    return sorted(found, key=lambda p: p.parts)


def _read_metadata(path: Path, skipped: list[tuple[str, str]]) -> dict[str, dict[str, str]]:
    """``metadata.csv`` rows keyed by their ``file`` column (normalised to ``/``)."""
    rows: dict[str, dict[str, str]] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip().lower() for c in (reader.fieldnames or [])]
            if "file" not in columns:
                skipped.append((str(path), "metadata.csv has no 'file' column; names taken from folders"))
                return rows
            reader.fieldnames = columns
            for row in reader:
                key = _norm_rel((row.get("file") or "").strip())
                if key:
                    rows[key] = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        skipped.append((str(path), f"metadata.csv could not be read ({exc}); names taken from folders"))
        return {}
    return rows


def _norm_rel(rel: str) -> str:
    return "/".join(p for p in rel.replace("\\", "/").split("/") if p not in ("", "."))


HashCache = MutableMapping[HashKey, str]
"""Known digests by (path, size, mtime_ns, ctime_ns, inode) (:func:`artsim.inputs.file_hashes.file_key`),
so a rescan reads only new or changed files."""


def _hash(path: Path, skipped: list[tuple[str, str]], cache: HashCache | None = None) -> str | None:
    """SHA-256 of a file, or None (and a skipped entry) if it cannot be used."""
    try:
        st = os.stat(path)
    except OSError as exc:
        skipped.append((str(path), f"cannot read file ({exc.strerror or exc})"))
        return None
    if not stat.S_ISREG(st.st_mode):
        skipped.append((str(path), "not a regular file"))
        return None
    problem = file_size_problem(st.st_size)
    if problem:
        skipped.append((str(path), problem))
        return None
    key = file_key(path, st)
    known = cache.get(key) if cache is not None else None
    if known is not None:
        return known
    try:
        digest = sha256_file(path)
    except OSError as exc:
        skipped.append((str(path), f"cannot read file ({exc.strerror or exc})"))
        return None
    if cache is not None:
        cache[key] = digest
    return digest


def _looks_like_image(path: Path) -> bool:
    """A regular file whose first bytes are an allowed image format's (a JPEG saved without a suffix)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as fh:
            return sniff_suffix(fh.read(16)) is not None
    except OSError:
        return False


def _add(
    result: ScanResult,
    seen: dict[str, str],
    path: Path,
    artist: str,
    meta: dict[str, str] | None,
    cache: HashCache | None = None,
) -> None:
    """Hash ``path`` and append it as a painting unless it is a duplicate or unreadable."""
    if path.suffix.lower() not in IMAGE_SUFFIXES and not _looks_like_image(path):
        kind = f"'{path.suffix}'" if path.suffix else "no suffix"
        result.skipped.append((str(path), f"not an image file type ({kind})"))
        return
    sha = _hash(path, result.skipped, cache)
    if sha is None:
        return
    if sha in seen:
        result.skipped.append((str(path), f"same bytes as {seen[sha]}"))
        return
    seen[sha] = str(path)
    values = {k: (meta or {}).get(k, "") for k in _META_FIELDS}
    result.paintings.append(
        Painting(
            sha256=sha,
            path=str(path),
            artist=values.pop("artist") or artist,
            title=values.pop("title") or title_from_stem(path.stem),
            **values,
        )
    )


def _scan_into(
    result: ScanResult, seen: dict[str, str], root: Path, recursive: bool, cache: HashCache | None = None
) -> None:
    if not root.is_dir():
        raise ArtsimError(f"{root}: folder not found" if not root.exists() else f"{root}: not a folder")
    meta_path = root / METADATA_FILE
    meta = _read_metadata(meta_path, result.skipped) if meta_path.is_file() else {}
    used: set[str] = set()
    for rel in _walk(root, recursive, result.skipped):
        key = rel.as_posix()
        # Files directly in the root belong to the artist the root is named after.
        artist = rel.parts[0] if len(rel.parts) > 1 else (root.resolve().name or str(root))
        row = meta.get(key)
        if row is not None:
            used.add(key)
        _add(result, seen, root / rel, artist, row, cache)
    for key in sorted(set(meta) - used):
        result.skipped.append((str(meta_path), f"lists '{key}', which is not in the folder"))


def scan_folder(
    root: str | os.PathLike[str], *, recursive: bool = True, hash_cache: HashCache | None = None
) -> ScanResult:
    """Find the paintings in a ``<root>/<Artist Name>/<image>`` folder.

    Parameters
    ----------
    root : path
        The collection folder. Files directly in it are attributed to the artist
        the folder is named after (so an artist's own folder works too).
    recursive : bool
        Look into sub-folders of artist folders as well (the artist is always
        the first folder level below ``root``).
    hash_cache : mutable mapping, optional
        Digests by (path, size, mtime_ns), read and extended: a long-running app
        passes the same mapping to every rescan so only new or changed files are read.

    Returns
    -------
    ScanResult
        Paintings in sorted path order, one per distinct file content, and the
        skipped files with reasons. Images are hashed, never decoded.

    Raises
    ------
    ArtsimError
        ``root`` does not exist or is not a folder.
    """
    result = ScanResult()
    _scan_into(result, {}, Path(root), recursive, hash_cache)
    return result


def scan_paths(paths: Sequence[str | os.PathLike[str]], *, hash_cache: HashCache | None = None) -> ScanResult:
    """Paintings from files and folders given on a command line.

    A folder is scanned like :func:`scan_folder`; a file's artist is the name of
    the folder it is in. Paths are taken in the given order; byte-identical
    files count once (the first one wins); missing paths are skipped with a
    reason. ``hash_cache`` as in :func:`scan_folder` (the CLI passes
    :func:`artsim.inputs.file_hashes.load_hashes`).
    """
    result = ScanResult()
    seen: dict[str, str] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            _scan_into(result, seen, path, True, hash_cache)
        elif path.exists() or path.is_symlink():
            artist = path.resolve().parent.name or "Unknown artist"
            _add(result, seen, path, artist, None, hash_cache)
        else:
            result.skipped.append((str(path), "no such file or folder"))
    return result


def to_frame(paintings: Iterable[Painting]) -> pd.DataFrame:
    """One row per painting; columns are the :class:`Painting` fields, in order."""
    columns = [f.name for f in fields(Painting)]
    return pd.DataFrame([asdict(p) for p in paintings], columns=columns)
