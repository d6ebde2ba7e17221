"""Structural pre-scan: count the records that drive a parser's work before any parser runs.

A small image wrapped in millions of empty records (JPEG APP/COM segments, PNG
private chunks, TIFF strip offsets, WebP frames) is a valid file that Pillow
accepts, but its parsers spend Python objects, memory and seconds per record:
an 8 MB JPEG of empty APP segments cost 1 GB, a 24 MB TIFF offset table 1.5 GB
and 33 s, a progressive JPEG repeating one scan 1,000 times 40 s of CPU. So
:func:`structure_problem` walks the file's own framing (segment lengths, chunk
lengths, IFD entry counts) with caps far above what cameras, scanners and
museum masters write, and stops at the first cap it crosses: its cost is a
bounded number of Python steps plus, for JPEG, one C-speed regex pass over the
entropy-coded data. Standard library only.

The caps (see README, "Limits"):

=====================  ==========  ===========================================
What                   Cap         What real files have
=====================  ==========  ===========================================
JPEG marker segments   1,000       a few dozen (EXIF, XMP, up to 255 ICC parts)
JPEG scans             100         1 baseline, ~10 progressive (mozjpeg ~20)
JPEG scans x pixels    6e9         10 scans of the largest allowed progressive
PNG chunks (non-data)  1,000       10-50 (text, colour, time, physical size)
PNG data chunks        1,024 + 1 per KB of image data (libpng writes 8 KB chunks)
TIFF tags per page     1,000       20-60
TIFF values per tag    131,072     strips of a 42,000-row image, tiles of 8 GP
TIFF pages walked      64          levels of a pyramid (more pages: not read)
GIF blocks before the  256 / 4,096 a few extensions (loop, XMP, comment) of at
first frame                        most a few hundred sub-blocks
WebP chunks            1,000       3-10 still, one per frame when animated
=====================  ==========  ===========================================
"""

from __future__ import annotations

import contextlib
import io
import mmap
import re
import struct
from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["CAPS", "structure_problem", "tiff_pages"]

CAPS: dict[str, int] = {
    "jpeg_segments": 1000,
    "jpeg_scans": 100,
    "jpeg_scan_pixels": 6_000_000_000,
    "png_chunks": 1000,
    "png_data_chunks": 1024,
    "tiff_tags": 1000,
    "tiff_values": 1 << 17,
    "tiff_pages": 64,
    "gif_blocks": 256,
    "gif_subblocks": 4096,
    "webp_chunks": 1000,
}
"""Caps on structural records (module docstring); tests may lower them."""

_FILL = re.compile(rb"\xff+")
_NEXT_MARKER = re.compile(rb"\xff(?=[^\x00\xd0-\xd7\xff])")  # entropy data: FF00 stuffing, RSTn inside
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# TIFF field types whose values Pillow unpacks into tuples of Python numbers (not bytes).
_NUMERIC_SIZE = {3: 2, 4: 4, 5: 8, 6: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}


@contextlib.contextmanager
def _view(fp: BinaryIO) -> Iterator[memoryview | mmap.mmap]:
    """The whole file as a buffer without copying it: a BytesIO's own buffer, or a read-only mmap."""
    if isinstance(fp, io.BytesIO):
        view = fp.getbuffer()
        try:
            yield view
        finally:
            view.release()
        return
    try:
        mm = mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pos = fp.tell()
        fp.seek(0)
        data = fp.read()
        fp.seek(pos)
        yield memoryview(data)
        return
    try:
        yield mm
    finally:
        mm.close()


def _more(n: int, what: str, typical: str) -> str:
    return f"{what} has more than {n:,} {typical}; this looks built to overload the decoder"


def _jpeg(buf: memoryview | mmap.mmap) -> str | None:
    n = len(buf)
    pos, segments, scans, pixels = 2, 0, 0, 0
    while pos < n:
        fill = _FILL.match(buf, pos)
        if fill is None:
            return None  # not at a marker: the decoder reports the damage
        pos = fill.end()
        if pos >= n:
            break
        marker = buf[pos]
        pos += 1
        if marker == 0xD9:  # EOI (an MPO's second picture follows; it is never decoded)
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue
        if pos + 2 > n:
            break
        length = (buf[pos] << 8) | buf[pos + 1]
        segments += 1
        if segments > CAPS["jpeg_segments"]:
            return _more(CAPS["jpeg_segments"], "JPEG", "marker segments (cameras write a few dozen)")
        if marker in _SOF and pos + 7 <= n and not pixels:
            pixels = ((buf[pos + 3] << 8) | buf[pos + 4]) * ((buf[pos + 5] << 8) | buf[pos + 6])
        pos += max(length, 2)
        if marker == 0xDA:
            scans += 1
            if scans > CAPS["jpeg_scans"]:
                return _more(CAPS["jpeg_scans"], "JPEG", "scans (a progressive JPEG has about 10)")
            if scans * pixels > CAPS["jpeg_scan_pixels"]:
                return (f"JPEG of {pixels / 1e6:,.0f} megapixels in {scans} or more scans costs too much to "
                        "decode; save it as baseline JPEG")
            nxt = _NEXT_MARKER.search(buf, pos)
            if nxt is None:
                break
            pos = nxt.start()
    return None


def _png(buf: memoryview | mmap.mmap) -> str | None:
    n, pos = len(buf), 8
    chunks = data_chunks = data_bytes = 0
    while pos + 8 <= n:
        length, kind = struct.unpack_from(">I4s", buf, pos)
        if kind in (b"IDAT", b"fdAT"):
            data_chunks += 1
            data_bytes += length
            if data_chunks > CAPS["png_data_chunks"] + data_bytes // 1024:
                return (f"PNG splits its image data into more than {data_chunks:,} tiny chunks; "
                        "this looks built to overload the decoder")
        else:
            chunks += 1
            if chunks > CAPS["png_chunks"]:
                return _more(CAPS["png_chunks"], "PNG", "chunks besides image data (real files have a few dozen)")
            if kind == b"IEND":
                break
        pos += 12 + length
    return None


def _tiff_layout(buf: memoryview | mmap.mmap) -> tuple[str, bool] | None:
    """(byte order for struct, is BigTIFF) from the header, or None."""
    if len(buf) < 16:
        return None
    order = {b"II": "<", b"MM": ">"}.get(bytes(buf[:2]))
    if order is None:
        return None
    (version,) = struct.unpack_from(order + "H", buf, 2)
    return (order, version == 43) if version in (42, 43) else None


def _ifds(buf: memoryview | mmap.mmap) -> Iterator[tuple[int, list[tuple[int, int, int, int]]] | str]:
    """Each page's (offset, entries (tag, type, count, value-or-offset)), or a reason string, then stop."""
    layout = _tiff_layout(buf)
    if layout is None:
        return
    order, big = layout
    entry, count_fmt, off_fmt = (20, "Q", "Q") if big else (12, "H", "I")
    (offset,) = struct.unpack_from(order + off_fmt, buf, 8 if big else 4)
    seen: set[int] = set()
    n = len(buf)
    while offset and offset not in seen and len(seen) < CAPS["tiff_pages"]:
        seen.add(offset)
        csize = struct.calcsize(count_fmt)
        if offset + csize > n:
            return
        (count,) = struct.unpack_from(order + count_fmt, buf, offset)
        if count > CAPS["tiff_tags"]:
            yield _more(CAPS["tiff_tags"], "TIFF page", "tags (real files have 20-60)")
            return
        start = offset + csize
        if start + count * entry + struct.calcsize(off_fmt) > n:
            return
        fmt = order + ("HHQQ" if big else "HHII")
        entries = [struct.unpack_from(fmt, buf, start + i * entry) for i in range(count)]
        yield offset, entries
        (offset,) = struct.unpack_from(order + off_fmt, buf, start + count * entry)


def _tiff(buf: memoryview | mmap.mmap) -> str | None:
    for page in _ifds(buf):
        if isinstance(page, str):
            return page
        for tag, typ, count, _ in page[1]:
            if typ in _NUMERIC_SIZE and count > CAPS["tiff_values"]:
                what = {273: "strip offsets", 279: "strip sizes", 324: "tile offsets", 325: "tile sizes"}
                return (f"TIFF lists {count:,} {what.get(tag, f'values in tag {tag}')}; the limit is "
                        f"{CAPS['tiff_values']:,}, far above what scanners write")
    return None


def tiff_pages(fp: BinaryIO) -> list[dict[int, int]]:
    """Single values of each walked TIFF page's tags (tag -> value, for count-1 numeric tags).

    Used to pick a pyramid level; at most ``CAPS["tiff_pages"]`` pages, [] for other files.
    """
    out = []
    with _view(fp) as buf:
        layout = _tiff_layout(buf)
        if layout is None:
            return []
        order, big = layout
        for page in _ifds(buf):
            if isinstance(page, str):
                break
            tags = {}
            for tag, typ, count, value in page[1]:
                if count == 1 and typ in (3, 4, 16):
                    raw = struct.pack(order + ("Q" if big else "I"), value)
                    fmt = {3: "H", 4: "I", 16: "Q"}[typ]
                    tags[tag] = struct.unpack_from(order + fmt, raw, 0)[0]
            out.append(tags)
    return out


def _gif(buf: memoryview | mmap.mmap) -> str | None:
    n = len(buf)
    if n < 13:
        return None
    flags = buf[10]
    pos = 13 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
    blocks = subblocks = 0
    while pos < n and buf[pos] == 0x21:  # extensions before the first image descriptor
        blocks += 1
        if blocks > CAPS["gif_blocks"]:
            return _more(CAPS["gif_blocks"], "GIF", "extension blocks before its first picture")
        pos += 2
        while pos < n and buf[pos]:
            subblocks += 1
            if subblocks > CAPS["gif_subblocks"]:
                return _more(CAPS["gif_subblocks"], "GIF", "metadata sub-blocks before its first picture")
            pos += 1 + buf[pos]
        pos += 1
    return None


def _webp(buf: memoryview | mmap.mmap) -> str | None:
    n, pos, chunks = len(buf), 12, 0
    while pos + 8 <= n:
        (size,) = struct.unpack_from("<I", buf, pos + 4)
        chunks += 1
        if chunks > CAPS["webp_chunks"]:
            return _more(CAPS["webp_chunks"], "WebP", "chunks (frames and metadata)")
        pos += 8 + size + (size & 1)
    return None


def structure_problem(fp: BinaryIO, head: bytes) -> str | None:
    """Why the file's structure is too costly to parse, or None; ``fp`` is left where it was.

    Parameters
    ----------
    fp : binary file
        Seekable; a ``BytesIO`` is viewed in place, a real file through ``mmap``.
    head : bytes
        Its first bytes (>= 16), to tell the format.
    """
    if head.startswith(b"\xff\xd8\xff"):
        scan = _jpeg
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        scan = _png
    elif head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        scan = _tiff
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        scan = _gif
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        scan = _webp
    else:
        return None
    pos = fp.tell()
    try:
        with _view(fp) as buf:
            return scan(buf)
    except struct.error:
        return None  # cut short: the decoder reports the damage
    finally:
        fp.seek(pos)
