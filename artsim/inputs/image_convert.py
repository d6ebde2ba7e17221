"""Mode conversion and reduction with bounded intermediates, for :func:`artsim.inputs.images.load_image`.

Any Pillow mode becomes RGB (transparency on white; 16-bit, 32-bit and float
scaled to 8 bits with the whole image's range). Large non-RGB images are
converted and box-reduced strip by strip, so no full-size RGB copy is ever
made; the one final resample then goes to the size the caller asked for.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from PIL import ExifTags, Image

__all__ = ["TRANSPOSE", "orientation", "reduce_to", "shrink_to_rgb", "to_rgb"]

_STRIP_PIXELS = 1 << 20  # pixels converted at a time on the strip path
_FULL_CONVERT_PIXELS = 8_000_000  # up to this, non-RGB images convert whole, then resample once
_WHITE = (255, 255, 255)
_HIGH_BIT = ("I", "F")  # mode prefixes scaled to 8 bits (I, I;16, I;16B, F)


def _high_bit_range(im: Image.Image) -> tuple[float, float]:
    """(low, high) of the finite values of an I/I;16/F image (NaN/inf: read strip by strip)."""
    try:
        lo, hi = im.getextrema()  # one pass in C (I;16B and other byte orders are not supported)
        if math.isfinite(lo) and math.isfinite(hi):
            return float(lo), float(hi)
    except (ValueError, TypeError):
        pass
    lo, hi = math.inf, -math.inf
    for strip in _strips(im):
        a = np.asarray(strip)
        a = a[np.isfinite(a)] if a.dtype.kind == "f" else a
        if a.size:
            lo, hi = min(lo, float(a.min())), max(hi, float(a.max()))
    return (0.0, 0.0) if lo > hi else (lo, hi)


def _high_bit_to_l(im: Image.Image, lo: float, hi: float) -> Image.Image:
    """Scale an I/I;16/F image (or strip) to 8-bit L; ``lo``/``hi`` are the whole image's range."""
    arr = np.asarray(im)
    if im.mode == "F":
        a = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        if hi <= 1.0:  # a [0, 1] float image
            a *= 255.0
        elif hi > 255.0:  # a 16-bit range stored as float
            a *= 255.0 / 65535.0
        out = np.clip(np.rint(a), 0, 255)
    elif im.mode == "I" and lo >= 0 and hi <= 255:
        out = arr  # an 8-bit range stored in a 32-bit mode
    else:  # I;16* always, I holding 16-bit values (clipped to 16 bits)
        a = np.clip(arr.astype(np.int64), 0, 65535)
        out = (a * 255 + 32767) // 65535
    return Image.fromarray(np.ascontiguousarray(out.astype(np.uint8)), mode="L")


def to_rgb(im: Image.Image, high_bit: tuple[float, float] | None = None) -> Image.Image:
    """Any Pillow mode -> RGB; transparency is composited on white."""
    mode = im.mode
    if mode.startswith(_HIGH_BIT):
        return _high_bit_to_l(im, *(high_bit or _high_bit_range(im))).convert("RGB")
    if mode == "1":
        im = im.convert("L")
        mode = "L"
    if mode in ("P", "L", "RGB") and "transparency" in im.info:
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode in ("PA", "LA", "La", "RGBa"):
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode == "RGBA":
        background = Image.new("RGB", im.size, _WHITE)
        background.paste(im, mask=im.getchannel("A"))
        return background
    if mode != "RGB":
        return im.convert("RGB")
    return im


def _strips(im: Image.Image, rows_multiple: int = 1) -> Iterator[Image.Image]:
    """Horizontal crops of ``im`` of about ``_STRIP_PIXELS`` each (rows a multiple of ``rows_multiple``)."""
    w, h = im.size
    rows = max(rows_multiple, (_STRIP_PIXELS // max(w, 1)) // rows_multiple * rows_multiple)
    for y in range(0, h, rows):
        yield im.crop((0, y, w, min(h, y + rows)))


def shrink_to_rgb(im: Image.Image, max_side: int) -> Image.Image:
    """Convert a non-RGB image to RGB, box-reduced strip by strip (no full-size RGB copy).

    The result's shorter side stays at least ``2 * max_side`` (at least
    ``max_side`` when that would exceed 8 MP; never more than the original), so
    the final resample has margin; the largest allocation is one strip plus the
    result.
    """
    w, h = im.size
    high_bit = _high_bit_range(im) if im.mode.startswith(_HIGH_BIT) else None
    if w * h <= _FULL_CONVERT_PIXELS:
        return to_rgb(im, high_bit)
    f = max(1, min(w, h) // (2 * max_side))
    if (w // f) * (h // f) > _FULL_CONVERT_PIXELS:  # a large max_side: trade the 2x margin for memory
        f = max(1, min(w, h) // max_side)
    out = Image.new("RGB", (math.ceil(w / f), math.ceil(h / f)))
    y = 0
    for strip in _strips(im, f):
        if f > 1 and strip.mode in ("I", "F"):  # reduce 32-bit samples before scaling them
            small = to_rgb(strip.reduce(f), high_bit)
        else:
            rgb = to_rgb(strip, high_bit)
            small = rgb.reduce(f) if f > 1 else rgb
        out.paste(small, (0, y))
        y += small.size[1]
    return out


def reduce_to(
    im: Image.Image, max_side: int, resample: Image.Resampling = Image.Resampling.LANCZOS
) -> Image.Image:
    """Shrink so the shorter side is ``max_side`` (never enlarge)."""
    w, h = im.size
    short = min(w, h)
    if short <= max_side:
        return im
    if w <= h:
        size = (max_side, max(1, round(h * max_side / w)))
    else:
        size = (max(1, round(w * max_side / h)), max_side)
    return im.resize(size, resample, reducing_gap=3.0)


def orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:  # noqa: BLE001 - a broken EXIF block should not cost the picture
        return 1


TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}  # EXIF orientation -> transpose, as ImageOps.exif_transpose (applied here to the reduced image)


