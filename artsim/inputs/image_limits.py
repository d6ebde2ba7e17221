"""What one decode may cost: the caps of :func:`artsim.inputs.images.load_image`, checked on headers.

See :mod:`artsim.inputs.images` for why each limit is what it is. Every check here
reads only what Pillow parsed from the header (size, mode, JPEG frame and scan
layout, TIFF strip or tile size), never pixels.
"""

from __future__ import annotations

import math
import os
import re
from typing import BinaryIO

from PIL import Image

from artsim.inputs.formats import human_size

__all__ = ["MAX_ASPECT", "MAX_DECODE_BYTES", "MAX_JPEG_PIXELS", "MAX_PIXELS", "MAX_WEBP_DECODE_BYTES",
           "WEBP_BYTES_PER_PIXEL", "bomb_reason",
           "declared_problem", "decoded_problem"]

MAX_FILE_BYTES: int = 250 * 1024 * 1024
"""Largest file accepted, in bytes (Streamlit's ``maxUploadSize`` matches)."""

MAX_PIXELS: int = 89_478_485
"""Most pixels decoded in full (non-JPEG formats, and any image after draft decoding)."""

MAX_JPEG_PIXELS: int = 600_000_000
"""Most pixels a baseline JPEG may declare (it decodes at up to 1/8 scale)."""

MAX_DECODE_BYTES: int = 192 * 1024 * 1024
"""Most bytes a decode may allocate for pixels (or a progressive JPEG for coefficients)."""

MAX_ASPECT: float = 20.0
"""Longest side over shortest side accepted."""

WEBP_BYTES_PER_PIXEL: int = 16
"""What decoding a WebP really costs per canvas pixel: Pillow always goes through libwebp's animation
decoder, which keeps two RGBA canvases, then copies the frame into a ``bytes`` and into the image
(measured with Pillow 13: 15.3-16 bytes per pixel; a 1.4 KB WebP declaring a 48 MP canvas cost 750 MB)."""

MAX_WEBP_DECODE_BYTES: int = 256 * 1024 * 1024
"""Most a WebP decode may cost counted as above: 16.7 megapixels (4096 x 4096)."""
def _mp(n: float) -> str:
    return f"{n / 1e6:,.1f}".replace(".0", "") + " megapixels"


def _pixel_bytes(mode: str) -> int:
    """Bytes Pillow allocates per pixel of ``mode`` (RGB is stored in 4 bytes)."""
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4


def _jpeg_coefficient_bytes(im: Image.Image) -> int:
    """Bytes libjpeg holds for the DCT coefficients of a whole JPEG (16 bits each)."""
    w, h = im.size
    layers = getattr(im, "layer", None) or [(0, 1, 1, 0)] * len(im.getbands())
    hmax = max(int(c[1]) for c in layers) or 1
    vmax = max(int(c[2]) for c in layers) or 1
    total = 0
    for _, hs, vs, _ in layers:
        total += math.ceil(math.ceil(w * int(hs) / hmax) / 8) * math.ceil(math.ceil(h * int(vs) / vmax) / 8)
    return total * 128


def _jpeg_first_scan_components(fp: BinaryIO) -> int | None:
    """Components in the first scan (SOS) of a JPEG, walking marker segments; None if unclear."""
    pos = fp.tell()
    try:
        fp.seek(2)
        for _ in range(1000):
            head = fp.read(4)
            if len(head) < 4 or head[0] != 0xFF:
                return None
            marker, length = head[1], int.from_bytes(head[2:4], "big")
            if marker == 0xDA:
                ns = fp.read(1)
                return ns[0] if ns else None
            fp.seek(length - 2, os.SEEK_CUR)
        return None
    finally:
        fp.seek(pos)


def declared_problem(im: Image.Image, fp: BinaryIO) -> str | None:
    """Why the header alone rules the file out, or None."""
    w, h = im.size
    if w <= 0 or h <= 0:
        return f"image declares an empty size ({w}x{h} pixels)"
    if max(w, h) > MAX_ASPECT * min(w, h):
        return (f"image is {w}x{h} pixels (1:{max(w, h) / min(w, h):,.0f}); a painting is at most "
                f"1:{MAX_ASPECT:g}, so crop it to the painting")
    if im.format in ("JPEG", "MPO"):
        if w * h > MAX_JPEG_PIXELS:
            return f"image is {w}x{h} pixels; the limit for JPEG is {_mp(MAX_JPEG_PIXELS)}"
        whole = bool(im.info.get("progressive") or im.info.get("progression"))
        if not whole:
            ns = _jpeg_first_scan_components(fp)
            whole = ns is None or ns < len(im.getbands())
        if whole and _jpeg_coefficient_bytes(im) > MAX_DECODE_BYTES:
            return (f"progressive JPEG of {w}x{h} pixels needs {human_size(_jpeg_coefficient_bytes(im))} "
                    f"to decode; the limit is {human_size(MAX_DECODE_BYTES)} (save it as baseline JPEG)")
        return None
    if im.format == "WEBP":
        cost = w * h * WEBP_BYTES_PER_PIXEL
        if cost > MAX_WEBP_DECODE_BYTES:
            return (f"WebP of {w}x{h} pixels needs {human_size(cost)} to decode; the limit is "
                    f"{human_size(MAX_WEBP_DECODE_BYTES)}, {_mp(MAX_WEBP_DECODE_BYTES // WEBP_BYTES_PER_PIXEL)} "
                    "(save it as JPEG or PNG)")
    return decoded_problem(im, _tiff_buffer_bytes(im) if im.format == "TIFF" else 0)


def _tiff_buffer_bytes(im: Image.Image) -> int:
    """Bytes libtiff buffers besides the image: one strip or tile of raw samples."""
    w, h = im.size
    tags = getattr(im, "tag_v2", {})
    bits = tags.get(258, (8,))
    sample_bytes = sum(math.ceil(int(b) / 8) for b in (bits if isinstance(bits, tuple) else (bits,)))
    sample_bytes *= 1 if isinstance(bits, tuple) and len(bits) > 1 else int(tags.get(277, 1))
    if 322 in tags and 323 in tags:
        return int(tags[322]) * int(tags[323]) * sample_bytes
    return min(h, int(tags.get(278, h))) * w * sample_bytes


def decoded_problem(im: Image.Image, extra: int = 0) -> str | None:
    """Why ``im`` at its current size and mode (plus ``extra`` decoder bytes) is too big, or None."""
    w, h = im.size
    if w * h > MAX_PIXELS:
        return f"image is {w}x{h} pixels; the limit is {_mp(MAX_PIXELS)} (JPEG may be larger)"
    cost = w * h * _pixel_bytes(im.mode) + extra
    if cost > MAX_DECODE_BYTES:
        return (f"image of {w}x{h} pixels in mode {im.mode} needs {human_size(cost)} to decode; the limit is "
                f"{human_size(MAX_DECODE_BYTES)} (save it as an 8-bit RGB JPEG or with fewer pixels)")
    return None


def bomb_reason(exc: Exception) -> str:
    """Reason for Pillow's own decompression-bomb error, which states only a pixel count."""
    m = re.search(r"\((\d+) pixels\)", str(exc))
    size = _mp(int(m.group(1))) if m else "too large"
    return f"image is {size}; the limit is {_mp(MAX_PIXELS)} (JPEG may be larger)"

