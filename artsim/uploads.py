"""Uploads: turn untrusted files from a browser into validated paintings.

Students upload self-portraits on a hosted dashboard, so every byte here is
hostile until proven otherwise. :func:`read_uploads` takes ``(name, bytes)``
pairs (plain images or ``.zip`` archives) and returns one
:class:`UploadOutcome` per file: ``"added"``, ``"duplicate"`` or
``"rejected"`` with a reason in plain words. One bad file never costs the
others.

What is defended, and how
-------------------------
* **Names** are labels, never paths. :func:`sanitize_name` keeps only the last
  path component (``/`` and ``\\``), drops control and format characters
  (NUL, newlines, right-to-left overrides), leading dots and surrounding
  spaces, and caps the length. Stored files are named by content,
  ``<store_dir>/<sha256><ext>``, with ``ext`` from the *decoded* format, so
  neither a file name nor a ZIP member name (``../../evil.jpg``) ever reaches
  the file system (no "zip slip").
* **Images** all go through :func:`artsim.images.load_image`, whose reasons
  (empty, truncated, corrupt, decompression bomb, SVG, PDF, HEIC...) pass
  through unchanged.
* **ZIP archives** are recognised by their magic bytes (not their suffix) and
  read in memory. Before anything is inflated, the entry count is read from the
  end-of-central-directory record (so a crafted directory of millions of
  entries is refused before it is parsed), then each member's declared size,
  compression ratio and the archive's declared total are checked. While a
  member is read, a hard byte budget is enforced too, so a header that lies
  about sizes cannot blow memory. Nested archives are not opened; encrypted
  members are refused; folders, dotfiles and ``__MACOSX`` litter are skipped
  silently.
* **Duplicates** are found by SHA-256 of the bytes, against ``known_shas`` (the
  collection) and earlier files of the same batch.
"""

from __future__ import annotations

import io
import os
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from PIL import Image

from artsim.collection import Painting, title_from_stem
from artsim.errors import ImageError, StoreError
from artsim.files import atomic_write
from artsim.images import IMAGE_SUFFIXES, MAX_FILE_BYTES, load_image, sha256_bytes

__all__ = [
    "MAX_ARTIST_CHARS",
    "MAX_NAME_CHARS",
    "UploadLimits",
    "UploadOutcome",
    "clean_artist",
    "read_uploads",
    "sanitize_name",
]

MAX_NAME_CHARS = 120
"""Longest display name kept (the extension is preserved when cutting)."""

MAX_ARTIST_CHARS = 80
"""Longest artist name accepted (longer names are cut)."""

_MAX_TITLE_CHARS = 200
_MAX_SUFFIX_CHARS = 10
_RATIO_FLOOR = 1024 * 1024  # the ratio cap applies to members that unpack to more than this
_CHUNK = 1024 * 1024
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_LITTER = frozenset({"__macosx", "thumbs.db", "desktop.ini", "ehthumbs.db", "icon\r"})
_SPACES = re.compile(r"\s+")
# Pillow format -> stored suffix (all in IMAGE_SUFFIXES, so a folder scan finds them again).
_FORMAT_SUFFIX = {
    "JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp",
    "BMP": ".bmp", "DIB": ".bmp", "TIFF": ".tif",
}
_OPEN_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "DIB", "TIFF")  # as load_image; JPEG also opens MPO

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
    """

    max_files: int = 200
    max_file_bytes: int = MAX_FILE_BYTES
    max_zip_members: int = 1000
    max_zip_total_bytes: int = 500 * 1024 * 1024
    max_zip_ratio: float = 100.0


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


# ----------------------------------------------------------------------------- names


def _clean_text(text: str) -> str:
    """NFC, no control/format/surrogate/private characters, single spaces, stripped."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if ch.isspace() else ch for ch in text if ch.isspace() or unicodedata.category(ch)[0] != "C")
    return _SPACES.sub(" ", text).strip()


def _cap(name: str, limit: int) -> str:
    """Cut ``name`` to ``limit`` characters, keeping a short extension."""
    if len(name) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) < _MAX_SUFFIX_CHARS and len(ext) + 2 <= limit:
        return stem[: limit - len(ext) - 1].rstrip(" .") + "." + ext
    return name[:limit].rstrip(" .")


def sanitize_name(name: str) -> str:
    """A file name that is safe to display and can never act as a path.

    Keeps the last component after ``/`` or ``\\``; removes control and format
    characters (NUL, newlines, bidi overrides), leading dots and spaces and
    trailing dots and spaces; collapses whitespace; keeps letters of any script;
    caps the length at :data:`MAX_NAME_CHARS` keeping the extension. An empty
    result becomes ``"upload"``.

    >>> sanitize_name("../../etc/.passwd\\x00.jpg")
    'passwd.jpg'
    """
    name = _clean_text(str(name))
    name = re.split(r"[/\\]", name)[-1]
    name = name.strip().lstrip(". ").rstrip(". ")
    name = _cap(name, MAX_NAME_CHARS)
    return name or "upload"


def clean_artist(name: str) -> str:
    """Validate an artist name typed by a user; returns the cleaned name.

    Removes control characters, collapses spaces, replaces ``/`` and ``\\`` with
    ``-`` and strips leading dots (artist names become folder-like labels), and
    cuts to :data:`MAX_ARTIST_CHARS`.

    Raises
    ------
    ValueError
        Nothing printable is left; the message says what to type.
    """
    text = _clean_text(str(name))
    text = re.sub(r"\s*[/\\]+\s*", "-", text)
    text = text.lstrip(". -").rstrip(" ")
    text = text[:MAX_ARTIST_CHARS].rstrip(" ")
    if not any(ch.isalnum() for ch in text):
        raise ValueError("artist name is empty: type the name of the person in the portraits")
    return text


def _clean_title(title: str) -> str:
    return _clean_text(title)[:_MAX_TITLE_CHARS].rstrip()


# ----------------------------------------------------------------------------- sizes


def _mb(n: int) -> str:
    if n < 1024 * 1024:
        return f"{max(n, 1) / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"
    return f"{n / (1024 * 1024):.1f}".rstrip("0").rstrip(".") + " MB"


def _size_problem(size: int, limit: int) -> str | None:
    if size == 0:
        return "file is empty"
    if size > limit:
        return f"file is {_mb(size)}; the limit is {_mb(limit)}"
    return None


# ----------------------------------------------------------------------------- zip helpers


def _is_zip(data: bytes) -> bool:
    return data[:4] in _ZIP_MAGIC


def _declared_entries(data: bytes) -> int | None:
    """Entry count from the end-of-central-directory record (ZIP64 aware), or None."""
    tail_start = max(0, len(data) - (22 + 65535))
    pos = data.rfind(b"PK\x05\x06", tail_start)
    if pos < 0 or pos + 22 > len(data):
        return None
    (total,) = struct.unpack_from("<H", data, pos + 10)
    if total != 0xFFFF:
        return total
    loc = pos - 20  # ZIP64 end-of-central-directory locator
    if loc < 0 or data[loc : loc + 4] != b"PK\x06\x07":
        return None
    (rec,) = struct.unpack_from("<Q", data, loc + 8)
    if rec + 56 > len(data) or data[rec : rec + 4] != b"PK\x06\x06":
        return None
    (total64,) = struct.unpack_from("<Q", data, rec + 32)
    return total64


def _member_name(info: zipfile.ZipInfo) -> str:
    """Member name; names from old Windows zippers (no UTF-8 flag) re-decoded when they are UTF-8."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def _is_litter(raw: str) -> bool:
    """Folders, dotfiles and OS litter, skipped without a word."""
    parts = re.split(r"[/\\]", raw)
    if not parts or parts[-1] == "":
        return True  # a folder entry (or a name ending in a separator)
    for part in parts:
        if part.lower() in _LITTER:
            return True
        if part.startswith(".") and part not in (".", ".."):
            return True
    return False


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """Read at most ``budget`` bytes of a member; raises ValueError if there is more."""
    out = bytearray()
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(min(_CHUNK, budget + 1 - len(out)))
            if not chunk:
                break
            out += chunk
            if len(out) > budget:
                raise ValueError("larger than declared")
    return bytes(out)


def _zip_read_reason(exc: BaseException) -> str:
    if isinstance(exc, NotImplementedError):
        return "uses a compression method that cannot be read here; re-create the ZIP with standard settings"
    if isinstance(exc, RuntimeError) and "encrypt" in str(exc).lower():
        return "is password-protected; make the ZIP without a password"
    if isinstance(exc, ValueError) and str(exc) == "larger than declared":
        return "unpacks to more than the archive says (damaged or malicious archive)"
    if isinstance(exc, zipfile.BadZipFile):
        return "is damaged in the archive (it failed its integrity check)"
    return "is damaged in the archive (its data is cut short or corrupt)"


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
        problem = _size_problem(len(data), self.limits.max_file_bytes)
        if problem:
            self.reject(display, problem, archive)
            return
        if archive is not None and _is_zip(data):
            self.reject(display, "is a ZIP archive inside a ZIP archive; nested archives are not opened", archive)
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
        try:
            load_image(data, display, max_side=64)
            suffix = _detected_suffix(data)
        except ImageError as exc:
            reason = exc.reason
            if archive is None and _is_zip_name(raw_name) and reason.startswith("not an image"):
                reason = "is named .zip but is not a ZIP archive (damaged or incomplete upload?)"
            self.reject(display, reason, archive)
            return
        path = self.store(sha, suffix, data)
        title = _clean_title(self.titles.get(raw_name) or self.titles.get(display) or "")
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
        if len(data) > lim.max_zip_total_bytes:
            self.reject(display, f"archive is {_mb(len(data))}; the limit is {_mb(lim.max_zip_total_bytes)}")
            return
        declared = _declared_entries(data)
        if declared is not None and declared > lim.max_zip_members:
            self.reject(display, f"archive lists {declared} entries; the limit is {lim.max_zip_members}")
            return
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            infos = zf.infolist()
        except Exception:  # noqa: BLE001 - BadZipFile, struct/Value/OSError from crafted directories
            self.reject(display, "damaged or incomplete ZIP archive; create it again and re-upload")
            return
        with zf:
            if len(infos) > lim.max_zip_members:
                self.reject(display, f"archive lists {len(infos)} entries; the limit is {lim.max_zip_members}")
                return
            members = [(info, _member_name(info)) for info in infos]
            members = [(info, raw) for info, raw in members if not info.is_dir() and not _is_litter(raw)]
            if not members:
                self.reject(display, "archive has no files in it")
                return
            wanted = [info for info, raw in members if _suffix(raw) in IMAGE_SUFFIXES]
            total = sum(info.file_size for info in wanted)
            if total > lim.max_zip_total_bytes:
                self.reject(display, f"archive unpacks to {_mb(total)} of images; "
                                     f"the limit is {_mb(lim.max_zip_total_bytes)}")
                return
            budget = lim.max_zip_total_bytes
            for info, raw in members:
                budget -= self.member(zf, info, raw, display, budget)

    def member(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, raw: str, archive: str, budget: int) -> int:
        """Handle one archive member; returns the bytes it unpacked."""
        lim = self.limits
        member = sanitize_name(raw)
        if not self.take_slot(member, archive):
            return 0
        suffix = _suffix(raw)
        if suffix not in IMAGE_SUFFIXES:
            if suffix == ".zip":
                self.reject(member, "is a ZIP archive inside a ZIP archive; nested archives are not opened",
                            archive)
            else:
                kind = f"'{suffix}'" if suffix else "no suffix"
                self.reject(member, f"not an image file type ({kind})", archive)
            return 0
        if info.flag_bits & 0x1:
            self.reject(member, "is password-protected; make the ZIP without a password", archive)
            return 0
        problem = _size_problem(info.file_size, lim.max_file_bytes)
        if problem:
            self.reject(member, problem, archive)
            return 0
        if info.file_size > _RATIO_FLOOR and info.file_size > lim.max_zip_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            self.reject(member, f"compressed {ratio:,.0f}:1 ({_mb(info.compress_size)} unpacking to "
                                f"{_mb(info.file_size)}), which looks like a ZIP bomb; the limit is "
                                f"{lim.max_zip_ratio:g}:1", archive)
            return 0
        if info.file_size > budget:
            self.reject(member, f"the archive unpacks to more than {_mb(lim.max_zip_total_bytes)}; "
                                "upload fewer images at a time", archive)
            return 0
        try:
            data = _read_member(zf, info, info.file_size)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, EOFError,
                OSError, zlib.error) as exc:
            self.reject(member, _zip_read_reason(exc), archive)
            return 0
        self.image(raw, member, data, archive)
        return len(data)


def _suffix(name: str) -> str:
    return PurePosixPath(sanitize_name(name)).suffix.lower()


def _is_zip_name(name: str) -> bool:
    return _suffix(name) == ".zip"


def _detected_suffix(data: bytes) -> str:
    """Suffix of the decoded format (headers only; ``data`` has passed load_image)."""
    with Image.open(io.BytesIO(data), formats=_OPEN_FORMATS) as im:
        fmt = im.format or ""
    try:
        return _FORMAT_SUFFIX[fmt]
    except KeyError:  # pragma: no cover - load_image opens the same formats
        raise ImageError("upload", f"unexpected image format {fmt!r}") from None




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
        if _is_zip(data):
            batch.archive(display, data)
        elif batch.take_slot(display, None):
            batch.image(raw, display, data, None)
    return batch.outcomes
