"""ZIP guarding: read an untrusted archive's members within caps, or say why not.

Archives are recognised by their magic bytes and read in memory. Before the
central directory is parsed, the entry count is read from the
end-of-central-directory record (so a crafted directory of millions of entries
is refused before it is parsed); then the entry count, each member's declared
size and compression ratio and the archive's declared total are checked. While
a member is read, a hard byte budget is enforced too, so a header that lies
about sizes cannot blow memory. Only stored and deflated members are read:
Python's ``zipfile`` inflates deflate in bounded steps (``max_length``) but
hands bzip2 and LZMA data to their decompressors whole, so a 904-byte bzip2
member could unpack to gigabytes before any check; such members get a row
asking for a standard ZIP (every zipper's default is deflate). Member names are returned for display only:
nothing here writes a file, so a ``../../evil.jpg`` member cannot escape
anywhere (no "zip slip").
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

from artsim.inputs.formats import human_size

__all__ = ["READ_METHODS", "ZipCaps", "ZipRefused", "declared_entries", "is_zip", "member_name", "member_problem",
           "open_archive", "read_member"]

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_RATIO_FLOOR = 1024 * 1024  # the ratio cap applies to members that unpack to more than this
_CHUNK = 1024 * 1024
READ_METHODS: frozenset[int] = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
"""Compression methods whose members are read (bounded inflation); others are refused unread."""
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "Deflate64", 93: "Zstandard",
                 95: "XZ", 98: "PPMd", 99: "AES encryption"}


@dataclass(frozen=True)
class ZipCaps:
    """Caps on one archive (see :class:`artsim.uploads.batch.UploadLimits` for the defaults)."""

    max_members: int
    max_total_bytes: int
    max_member_bytes: int
    max_ratio: float


class ZipRefused(Exception):
    """The archive, or one member of it, cannot be read; ``reason`` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_zip(data: bytes) -> bool:
    """True if ``data`` starts like a ZIP archive (its name is not trusted)."""
    return data[:4] in _ZIP_MAGIC


def declared_entries(data: bytes) -> int | None:
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


def member_name(info: zipfile.ZipInfo) -> str:
    """Member name; names from old Windows zippers (no UTF-8 flag) re-decoded when they are UTF-8."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def open_archive(data: bytes, caps: ZipCaps) -> tuple[zipfile.ZipFile, list[tuple[zipfile.ZipInfo, str]]]:
    """Open an archive after the whole-archive checks; returns it and its files (not folders) in order.

    Raises
    ------
    ZipRefused
        Too big, too many entries, damaged, empty, or unpacking to too much.
    """
    if len(data) > caps.max_total_bytes:
        raise ZipRefused(f"archive is {human_size(len(data))}; the limit is {human_size(caps.max_total_bytes)}")
    declared = declared_entries(data)
    if declared is not None and declared > caps.max_members:
        raise ZipRefused(f"archive lists {declared} entries; the limit is {caps.max_members}")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception:  # noqa: BLE001 - BadZipFile, struct/Value/OSError from crafted directories
        raise ZipRefused("damaged or incomplete ZIP archive; create it again and re-upload") from None
    if len(infos) > caps.max_members:
        zf.close()
        raise ZipRefused(f"archive lists {len(infos)} entries; the limit is {caps.max_members}")
    files = [(info, member_name(info)) for info in infos if not info.is_dir()]
    if not files:
        zf.close()
        raise ZipRefused("archive has no files in it")
    total = sum(info.file_size for info, _ in files)
    if total > caps.max_total_bytes:
        zf.close()
        raise ZipRefused(f"archive unpacks to {human_size(total)}; the limit is {human_size(caps.max_total_bytes)}")
    return zf, files


def member_problem(info: zipfile.ZipInfo, caps: ZipCaps, budget: int) -> str | None:
    """Why a member is refused from its directory entry alone (before inflating), or None.

    ``budget`` is what the archive may still unpack to.
    """
    if info.flag_bits & 0x1 or info.compress_type == 99:
        return "is password-protected; make the ZIP without a password"
    if info.compress_type not in READ_METHODS:
        method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
        return (f"uses the {method} compression method, which is not read here; re-create the ZIP with "
                "standard settings (deflate, every zipper's default)")
    if info.file_size == 0:
        return "file is empty"
    if info.file_size > caps.max_member_bytes:
        return f"file is {human_size(info.file_size)}; the limit is {human_size(caps.max_member_bytes)}"
    if info.file_size > _RATIO_FLOOR and info.file_size > caps.max_ratio * max(info.compress_size, 1):
        ratio = info.file_size / max(info.compress_size, 1)
        return (f"compressed {ratio:,.0f}:1 ({human_size(info.compress_size)} unpacking to "
                f"{human_size(info.file_size)}), which looks like a ZIP bomb; the limit is {caps.max_ratio:g}:1")
    if info.file_size > budget:
        return f"the archive unpacks to more than {human_size(caps.max_total_bytes)}; upload fewer images at a time"
    return None


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Inflate a member, never more than its declared size (+1 byte to catch a lie).

    Raises
    ------
    ZipRefused
        Damaged, encrypted, a compression method other than stored or deflate, or
        more data than declared.
    """
    if info.compress_type not in READ_METHODS:  # zipfile would inflate bzip2/LZMA without a bound
        raise ZipRefused("uses a compression method that cannot be read here; "
                         "re-create the ZIP with standard settings")
    budget = info.file_size
    out = bytearray()
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(min(_CHUNK, budget + 1 - len(out))):
                out += chunk
                if len(out) > budget:
                    raise ZipRefused("unpacks to more than the archive says (damaged or malicious archive)")
    except ZipRefused:
        raise
    except NotImplementedError:
        raise ZipRefused("uses a compression method that cannot be read here; "
                         "re-create the ZIP with standard settings") from None
    except RuntimeError as exc:
        if "encrypt" in str(exc).lower() or "password" in str(exc).lower():
            raise ZipRefused("is password-protected; make the ZIP without a password") from None
        raise ZipRefused("is damaged in the archive (its data is cut short or corrupt)") from None
    except zipfile.BadZipFile:
        raise ZipRefused("is damaged in the archive (it failed its integrity check)") from None
    except (ValueError, EOFError, OSError, zlib.error):
        raise ZipRefused("is damaged in the archive (its data is cut short or corrupt)") from None
    return bytes(out)
