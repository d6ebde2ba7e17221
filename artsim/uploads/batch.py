"""Uploads: turn untrusted files from a browser into validated paintings.

Students upload self-portraits on a hosted dashboard, so every byte here is
hostile until proven otherwise. :func:`read_uploads` takes ``(name, bytes)``
pairs (plain images or ``.zip`` archives) and returns one
:class:`UploadOutcome` per file: ``"added"``, ``"duplicate"`` or
``"rejected"`` with a reason in plain words. One bad file never costs the
others, and every file gets a row.

What is defended, and where
---------------------------
* **Names** (:mod:`artsim.inputs.names`) are labels, never paths. Stored files are
  named by content, ``<store_dir>/<sha256><ext>``, with ``ext`` from the
  *decoded* format, so neither a file name nor a ZIP member name
  (``../../evil.jpg``) ever reaches the file system (no "zip slip").
* **Images** all go through :func:`artsim.inputs.images.load_image`, which decides by
  content (a JPEG without a suffix is a JPEG) and whose reasons (empty,
  truncated, decompression bomb, SVG, PDF, HEIC...) pass through unchanged. They
  are decoded in a worker process with OS limits on memory and CPU
  (:mod:`artsim.uploads.decode_worker`): a file that breaks a decoder costs that
  worker and gets the row "too costly to decode"; the batch goes on.
* **ZIP archives** (:mod:`artsim.uploads.zip_guard`) are recognised by their magic
  bytes and read within caps on entries, sizes, ratio and total. Nested
  archives are not opened. Every member gets a row: OS litter (``__MACOSX``,
  ``._x``, ``.DS_Store``, ``Thumbs.db``) is listed as a skipped system file;
  other hidden files (``.hidden.jpg``) are tried like any file.
* **Duplicates** are found by SHA-256 of the bytes, against ``known_shas`` (the
  collection) and earlier files of the same batch.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from artsim.errors import ImageError, StoreError
from artsim.files import atomic_write
from artsim.inputs.collection import Painting, title_from_stem
from artsim.inputs.formats import litter_reason, size_problem, sniff_suffix
from artsim.inputs.images import MAX_FILE_BYTES, load_image, sha256_bytes
from artsim.inputs.names import MAX_ARTIST_CHARS, MAX_NAME_CHARS, clean_artist, clean_title, sanitize_name
from artsim.uploads.decode_worker import check_image
from artsim.uploads.zip_guard import ZipCaps, ZipRefused, is_zip, member_problem, open_archive, read_member

__all__ = [
    "MAX_ARTIST_CHARS",
    "MAX_NAME_CHARS",
    "UploadLimits",
    "UploadOutcome",
    "clean_artist",
    "read_uploads",
    "sanitize_name",
]

_NESTED = "is a ZIP archive inside a ZIP archive; nested archives are not opened"

Status = Literal["added", "duplicate", "rejected"]


@dataclass(frozen=True)
class UploadLimits:
    """Caps on one batch of uploads; defaults suit a classroom dashboard.

    Attributes
    ----------
    max_files : int
        Files considered per call (plain uploads plus ZIP members); later files
        are rejected unread.
    max_file_bytes : int
        Largest single image (a plain upload or one unpacked ZIP member).
    max_zip_members : int
        Entries an archive may list (files, folders and litter alike), checked
        before the archive's directory is parsed.
    max_zip_total_bytes : int
        Largest ZIP upload, and the most its image members may unpack to in total.
    max_zip_ratio : float
        Members unpacking to more than 1 MiB may be at most this many times
        their compressed size (real photos compress about 1-3:1; zeros 1000:1).
    sandbox : bool
        Decode each file in a worker process with OS limits on memory and CPU
        (:mod:`artsim.uploads.decode_worker`), so a decoder bug costs the worker;
        False decodes in this process (the caps still apply).
    """

    max_files: int = 200
    max_file_bytes: int = MAX_FILE_BYTES
    max_zip_members: int = 1000
    max_zip_total_bytes: int = 500 * 1024 * 1024
    max_zip_ratio: float = 100.0
    sandbox: bool = True


@dataclass(frozen=True)
class UploadOutcome:
    """What happened to one uploaded file (or one member of an uploaded ZIP).

    Attributes
    ----------
    display_name : str
        Sanitised base name, safe to show (still render it as text, not markup).
    status : {"added", "duplicate", "rejected"}
    reason : str
        Plain words for "duplicate" and "rejected"; empty for "added".
    painting : Painting or None
        Set for "added". ``path`` is ``<store_dir>/<sha256><ext>``, or "" when
        nothing was stored (then use ``data``).
    data : bytes or None
        The validated file bytes, for "added" only.
    sha256 : str or None
        Hex digest of the bytes when they were read (added and duplicates).
    archive : str or None
        Sanitised name of the ZIP the file came from, if any.
    """

    display_name: str
    status: Status
    reason: str = ""
    painting: Painting | None = None
    data: bytes | None = None
    sha256: str | None = None
    archive: str | None = None


# ----------------------------------------------------------------------------- the batch


class _Batch:
    """State of one :func:`read_uploads` call."""

    def __init__(
        self,
        artist: str,
        titles: Mapping[str, str],
        known: Collection[str],
        limits: UploadLimits,
        store_dir: Path | None,
    ) -> None:
        self.artist = artist
        self.titles = titles
        self.known: Collection[str] = known if isinstance(known, Mapping) else frozenset(known)
        self.limits = limits
        self.store_dir = store_dir
        self.seen: dict[str, str] = {}  # sha256 -> display name of the first copy in this batch
        self.count = 0
        self.outcomes: list[UploadOutcome] = []

    def reject(self, display: str, reason: str, archive: str | None = None, sha: str | None = None) -> None:
        self.outcomes.append(UploadOutcome(display, "rejected", reason, sha256=sha, archive=archive))

    def take_slot(self, display: str, archive: str | None) -> bool:
        """Count a file against ``max_files``; rejects it (and returns False) past the cap."""
        self.count += 1
        if self.count > self.limits.max_files:
            self.reject(display, f"over the limit of {self.limits.max_files} files per upload; "
                                 "upload the rest separately", archive)
            return False
        return True

    # -- one image file (a plain upload or a ZIP member) -------------------------------

    def image(self, raw_name: str, display: str, data: bytes, archive: str | None) -> None:
        problem = size_problem(len(data), self.limits.max_file_bytes)
        if problem:
            self.reject(display, problem, archive)
            return
        if archive is not None and is_zip(data):
            self.reject(display, _NESTED, archive)
            return
        sha = sha256_bytes(data)
        if sha in self.known:
            other = self.known.get(sha) if isinstance(self.known, Mapping) else None
            what = f"same bytes as '{other}'" if other else "same bytes as a painting"
            self.outcomes.append(UploadOutcome(display, "duplicate", f"{what} already in this collection",
                                               sha256=sha, archive=archive))
            return
        if sha in self.seen:
            self.outcomes.append(UploadOutcome(display, "duplicate",
                                               f"same bytes as '{self.seen[sha]}' earlier in this upload",
                                               sha256=sha, archive=archive))
            return
        reason = _decode_problem(data, display, self.limits.sandbox)
        if reason is not None:
            if archive is None and _is_zip_name(raw_name) and reason.startswith("not an image"):
                reason = "is named .zip but is not a ZIP archive (damaged or incomplete upload?)"
            self.reject(display, reason, archive)
            return
        suffix = _detected_suffix(data)
        path = self.store(sha, suffix, data)
        title = clean_title(self.titles.get(raw_name) or self.titles.get(display) or "")
        painting = Painting(
            sha256=sha,
            path=path,
            artist=self.artist,
            title=title or title_from_stem(PurePosixPath(display).stem),
            source="upload",
        )
        self.seen[sha] = display
        self.outcomes.append(UploadOutcome(display, "added", "", painting, data, sha, archive))

    def store(self, sha: str, suffix: str, data: bytes) -> str:
        if self.store_dir is None:
            return ""
        target = self.store_dir / f"{sha}{suffix}"
        try:
            if target.is_file() and not target.is_symlink() and target.stat().st_size == len(data):
                if sha256_bytes(target.read_bytes()) == sha:
                    return str(target)
            atomic_write(target, data)
        except OSError as exc:
            raise StoreError(
                f"cannot save uploads in {self.store_dir} ({exc.strerror or exc}); "
                "check that the folder is writable and the disk is not full"
            ) from exc
        return str(target)

    # -- one ZIP upload ------------------------------------------------------------------

    def archive(self, display: str, data: bytes) -> None:
        lim = self.limits
        caps = ZipCaps(lim.max_zip_members, lim.max_zip_total_bytes, lim.max_file_bytes, lim.max_zip_ratio)
        try:
            zf, files = open_archive(data, caps)
        except ZipRefused as exc:
            self.reject(display, exc.reason)
            return
        with zf:
            budget = lim.max_zip_total_bytes
            for info, raw in files:
                budget -= self.member(zf, info, raw, display, caps, budget)

    def member(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, raw: str, archive: str, caps: ZipCaps,
               budget: int) -> int:
        """Handle one archive member; returns the bytes it unpacked."""
        member = sanitize_name(raw)
        litter = litter_reason(raw)
        if litter:
            self.reject(member, litter, archive)
            return 0
        if not self.take_slot(member, archive):
            return 0
        problem = member_problem(info, caps, budget)
        if problem:
            self.reject(member, problem, archive)
            return 0
        try:
            data = read_member(zf, info)
        except ZipRefused as exc:
            self.reject(member, exc.reason, archive)
            return 0
        self.image(raw, member, data, archive)
        return len(data)


def _decode_problem(data: bytes, display: str, sandbox: bool) -> str | None:
    """Why ``data`` does not decode (``load_image``'s reason), or None; in a sandboxed worker if asked."""
    if sandbox:
        return check_image(data, display, max_side=64)
    try:
        load_image(data, display, max_side=64)
    except ImageError as exc:
        return exc.reason
    return None


def _is_zip_name(name: str) -> bool:
    return PurePosixPath(sanitize_name(name)).suffix.lower() == ".zip"


def _detected_suffix(data: bytes) -> str:
    """Suffix of the format by magic bytes (``data`` has passed load_image, so it is one of ours)."""
    suffix = sniff_suffix(data[:16])
    if suffix is None:  # pragma: no cover - load_image opens only formats sniff_suffix knows
        raise ImageError("upload", "unexpected image format")
    return suffix


def _pairs(files: Sequence[tuple[str, bytes]]) -> Iterator[tuple[str, bytes]]:
    for item in files:
        name, data = item
        yield str(name), bytes(data)


def read_uploads(
    files: Sequence[tuple[str, bytes]],
    *,
    artist: str,
    titles: Mapping[str, str] | None = None,
    known_shas: Collection[str] = (),
    limits: UploadLimits = UploadLimits(),  # noqa: B008 - frozen dataclass, safe as a default
    store_dir: str | os.PathLike[str] | None = None,
) -> list[UploadOutcome]:
    """Validate uploaded files (images or ZIPs of images) and optionally store them.

    Parameters
    ----------
    files : sequence of (name, bytes)
        What the browser sent. Names are only labels; the bytes decide whether a
        file is a ZIP (magic bytes) and which image format it is.
    artist : str
        Who painted them; cleaned with :func:`clean_artist`.
    titles : mapping, optional
        Title per file, keyed by the uploaded name (or the sanitised display
        name); the default title comes from the sanitised file name.
    known_shas : collection of str
        SHA-256 digests already in the collection; a mapping ``sha -> name``
        lets duplicate reasons name the existing file.
    limits : UploadLimits
        Caps on counts and sizes.
    store_dir : path, optional
        Where valid images are written as ``<sha256><ext>`` (atomically; an
        existing identical file is kept). Without it nothing is written.

    Returns
    -------
    list of UploadOutcome
        In input order; a ZIP contributes one outcome per member (or a single
        rejection of the whole archive).

    Raises
    ------
    ValueError
        ``artist`` is empty.
    StoreError
        ``store_dir`` cannot be written.
    """
    batch = _Batch(
        clean_artist(artist),
        titles or {},
        known_shas,
        limits,
        Path(store_dir) if store_dir is not None else None,
    )
    for raw, data in _pairs(files):
        display = sanitize_name(raw)
        if is_zip(data):
            batch.archive(display, data)
        elif batch.take_slot(display, None):
            batch.image(raw, display, data, None)
    return batch.outcomes
