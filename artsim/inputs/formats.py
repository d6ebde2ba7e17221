"""What an untrusted file is: format lists, OS litter, size words, in one place.

Shared by :mod:`artsim.inputs.images` (decoding), :mod:`artsim.inputs.collection` (folder
scans) and the upload modules, so a suffix, a litter name or a size message is
written once. Standard library only.
"""

from __future__ import annotations

import re

__all__ = [
    "IMAGE_SUFFIXES",
    "LITTER_DIRS",
    "LITTER_FILES",
    "OPEN_FORMATS",
    "human_size",
    "litter_reason",
    "size_problem",
    "sniff_suffix",
    "sniff_unsupported",
]

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
)
"""Lower-case file suffixes a folder scan picks up (uploads are sniffed by content)."""

OPEN_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "DIB", "TIFF")
"""Pillow formats tried on untrusted bytes (JPEG also opens MPO, multi-picture JPEGs from
phones); other plugins (EPS runs Ghostscript, for one) are never tried."""

LITTER_FILES: frozenset[str] = frozenset({".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db", "icon\r"})
"""Lower-case file names operating systems leave behind (never paintings)."""

LITTER_DIRS: frozenset[str] = frozenset({"__macosx", "$recycle.bin", "@eadir", ".trashes", ".spotlight-v100"})
"""Lower-case folder names operating systems leave behind."""

# Magic bytes of formats people do try to upload, to say what the file is.
_KNOWN_UNSUPPORTED: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "PDF documents are not images; export the page as PNG or JPEG"),
    (b"8BPS", "Photoshop (PSD) files are not supported; export it as PNG or JPEG"),
    (b"%!PS", "PostScript/EPS files are not supported; export it as PNG or JPEG"),
    (b"\x00\x00\x01\x00", "icon (ICO) files are not supported; export it as PNG or JPEG"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000 is not supported; export it as PNG or JPEG"),
    (b"\xff\x4f\xff\x51", "JPEG 2000 is not supported; export it as PNG or JPEG"),
    (b"PK\x03\x04", "this is a ZIP archive, not an image; unpack it first"),
    (b"\x1f\x8b", "this is a gzip-compressed file, not an image"),
)
SVG_REASON = "SVG is a vector drawing, not a painting image; export it as PNG or JPEG"
_HEIF_BRANDS = (b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"heim", b"heis")


_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", ".jpg"), (b"\x89PNG\r\n\x1a\n", ".png"), (b"GIF87a", ".gif"), (b"GIF89a", ".gif"),
    (b"II*\x00", ".tif"), (b"MM\x00*", ".tif"), (b"II+\x00", ".tif"), (b"MM\x00+", ".tif"), (b"BM", ".bmp"),
)


def sniff_suffix(head: bytes) -> str | None:
    """Suffix of an allowed image format recognised from the first bytes (>= 12) of a file, or None.

    Only the magic numbers: whether the file really decodes is :func:`artsim.inputs.images.load_image`'s job.
    """
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    for magic, suffix in _IMAGE_MAGIC:
        if head.startswith(magic):
            return suffix
    return None


def sniff_unsupported(head: bytes, name: str = "") -> str:
    """Plain-words reason for bytes that none of :data:`OPEN_FORMATS` opened.

    Parameters
    ----------
    head : bytes
        The first few KB of the file.
    name : str
        Its name, used only to recognise compressed SVG (``.svgz``).
    """
    if name.lower().endswith(".svgz"):
        return SVG_REASON
    for magic, reason in _KNOWN_UNSUPPORTED:
        if head.startswith(magic):
            return reason
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "HEIC/HEIF photos are not supported; export it as JPEG or PNG"
        if brand in (b"avif", b"avis"):
            return "AVIF is not supported; export it as PNG or JPEG"
        return "not an image file (looks like a video or other media file)"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith((b"<?xml", b"<svg", b"<!doctype svg", b"<!--")) and b"<svg" in text:
        return SVG_REASON
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text[:512]:
        return "not an image file (it is a web page; the download probably failed)"
    if name.lower().endswith(".svg"):
        return SVG_REASON
    return "not an image file"


def litter_reason(path: str) -> str | None:
    """``"system file"`` (with what it is) when a ``/``- or ``\\``-separated path is OS litter.

    ``__MACOSX/...``, AppleDouble ``._x`` files, ``.DS_Store``, ``Thumbs.db`` and
    the like; other hidden files (``.hidden.jpg``) are not litter: they are tried
    like any file.
    """
    parts = [p for p in re.split(r"[/\\]", path) if p]
    if not parts:
        return None
    if any(p.lower() in LITTER_DIRS for p in parts[:-1]):
        return "system file (a folder the operating system adds), skipped"
    last = parts[-1]
    if last.lower() in LITTER_FILES:
        return f"system file ({last.strip()}), skipped"
    if last.startswith("._"):
        return "system file (macOS resource fork), skipped"
    return None


def human_size(n: int) -> str:
    """``n`` bytes in words: "512 bytes", "38 KB", "2.5 MB" (1 MB = 1024 * 1024 bytes)."""
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1024 * 1024):.1f}".rstrip("0").rstrip(".") + " MB"


def size_problem(size: int, limit: int) -> str | None:
    """Plain-words reason a file of ``size`` bytes is refused under ``limit``, or None."""
    if size == 0:
        return "file is empty"
    if size > limit:
        have, cap = human_size(size), human_size(limit)
        if have == cap:
            return f"file is over the limit of {cap}"
        return f"file is {have}; the limit is {cap}"
    return None
