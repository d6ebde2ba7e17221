"""Safe image loading: the front door for every untrusted file.

Uploads, folders and museum downloads all pass through :func:`load_image`,
which returns a plain RGB ``PIL.Image.Image`` (shorter side at most
``max_side``) or raises :class:`~artsim.errors.ImageError` naming the file and
saying in plain words what is wrong with it.

Memory is bounded by what a decode allocates, not by what a header claims
-------------------------------------------------------------------------
Every check below runs on the header, before a pixel is decoded:

* **Files** up to ``MAX_FILE_BYTES`` (250 MB, the size of the largest museum
  scans); a path is ``stat``-ed first and decoded from the open file, never
  read whole into memory.
* **Proportions**: the longer side at most ``MAX_ASPECT`` (20) times the
  shorter. A 1x100,000 strip is not a painting, and models that resize the
  shorter side would blow it up to gigabytes.
* **JPEG** (baseline) decodes in draft mode at 1/2, 1/4 or 1/8 scale in the
  DCT domain, so its cost follows the *decoded* size: files up to
  ``MAX_JPEG_PIXELS`` (600 MP) are welcome (a 300 MP file decodes to 4.7 MP
  for a 232 px model). Progressive and multi-scan JPEGs make libjpeg hold every
  DCT coefficient of the full image (about 2-6 bytes per pixel), so that buffer
  must fit ``MAX_DECODE_BYTES``.
* **Other formats** (PNG, TIFF, WebP, GIF, BMP) decode in full: at most
  ``MAX_PIXELS`` (89.5 MP, Pillow's own default) and at most
  ``MAX_DECODE_BYTES`` (192 MB) for the decoded pixels, counted with the bytes
  per pixel of the file's mode (RGB and RGBA 4, float and 32-bit 4, 16-bit 2,
  8-bit grey 1), so a 16-bit or float scan gets fewer pixels than an 8-bit one.
  TIFF also counts the strip or tile libtiff buffers (a whole image for one strip).
* **After decoding** (draft included) the same pixel and byte caps hold again
  (a GIF frame may enlarge its canvas).
* **Reduction never builds a big intermediate**: modes other than RGB
  (16-bit, float, RGBA, palette, grey...) are converted and box-reduced strip
  by strip into an image at most a few times ``max_side``, and the one final
  resample goes from there. High-bit-depth images are scaled to 8 bits with
  the whole image's range, computed strip by strip.

We check sizes ourselves rather than lowering ``Image.MAX_IMAGE_PIXELS``, which
is global; Pillow's own bomb errors and warnings are caught and reported the
same way. Truncated files must decode completely (``LOAD_TRUNCATED_IMAGES`` is
never set). Only :data:`artsim.formats.OPEN_FORMATS` are tried on untrusted
bytes; anything else gets a reason naming what it is (SVG, PDF, HEIC...).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import stat
import threading
import warnings
from typing import BinaryIO

import numpy as np
from PIL import (
    BmpImagePlugin,
    ExifTags,
    GifImagePlugin,
    Image,
    JpegImagePlugin,
    MpoImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from artsim.errors import ImageError
from artsim.files import sha256_file  # re-exported: the one file hash
from artsim.formats import IMAGE_SUFFIXES, OPEN_FORMATS, human_size, size_problem, sniff_unsupported

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_ASPECT",
    "MAX_DECODE_BYTES",
    "MAX_FILE_BYTES",
    "MAX_JPEG_PIXELS",
    "MAX_PIXELS",
    "file_size_problem",
    "load_image",
    "sha256_bytes",
    "sha256_file",
    "thumbnail_jpeg",
]

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

_PLUGINS = (BmpImagePlugin, GifImagePlugin, JpegImagePlugin, MpoImagePlugin, PngImagePlugin,
            TiffImagePlugin, WebPImagePlugin)  # importing them registers them for Image.open
_STRIP_PIXELS = 1 << 20  # pixels converted at a time on the strip path
_FULL_CONVERT_PIXELS = 8_000_000  # up to this, non-RGB images convert whole, then resample once
_WHITE = (255, 255, 255)
_JPEG_MAGIC = b"\xff\xd8\xff"
_HIGH_BIT = ("I", "F")  # mode prefixes scaled to 8 bits (I, I;16, I;16B, F)
# warnings.catch_warnings() swaps process-wide state; serialise our own use of it.
_OPEN_LOCK = threading.Lock()


def file_size_problem(size: int) -> str | None:
    """Plain-words reason a file of ``size`` bytes is refused, or None if it is fine."""
    return size_problem(size, MAX_FILE_BYTES)


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


def _declared_problem(im: Image.Image, fp: BinaryIO) -> str | None:
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
    return _decoded_problem(im, _tiff_buffer_bytes(im) if im.format == "TIFF" else 0)


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


def _decoded_problem(im: Image.Image, extra: int = 0) -> str | None:
    """Why ``im`` at its current size and mode (plus ``extra`` decoder bytes) is too big, or None."""
    w, h = im.size
    if w * h > MAX_PIXELS:
        return f"image is {w}x{h} pixels; the limit is {_mp(MAX_PIXELS)} (JPEG may be larger)"
    cost = w * h * _pixel_bytes(im.mode) + extra
    if cost > MAX_DECODE_BYTES:
        return (f"image of {w}x{h} pixels in mode {im.mode} needs {human_size(cost)} to decode; the limit is "
                f"{human_size(MAX_DECODE_BYTES)} (save it as an 8-bit RGB JPEG or with fewer pixels)")
    return None


def _bomb_reason(exc: Exception) -> str:
    """Reason for Pillow's own decompression-bomb error, which states only a pixel count."""
    m = re.search(r"\((\d+) pixels\)", str(exc))
    size = _mp(int(m.group(1))) if m else "too large"
    return f"image is {size}; the limit is {_mp(MAX_PIXELS)} (JPEG may be larger)"


def _open(fp: BinaryIO, head: bytes, name: str) -> Image.Image:
    """Open headers only (no decoding) with the allowed formats."""
    try:
        if head.startswith(_JPEG_MAGIC):
            # Our own JPEG caps apply; Image.open would refuse over 2x Pillow's global bomb limit.
            return JpegImagePlugin.jpeg_factory(fp)
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(fp, formats=OPEN_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(name, _bomb_reason(exc)) from None
    except UnidentifiedImageError:
        raise ImageError(name, sniff_unsupported(head, name)) from None
    except Exception:  # noqa: BLE001 - a plugin choking on a crafted header
        raise ImageError(name, "truncated or corrupt image data") from None


def _high_bit_range(im: Image.Image) -> tuple[float, float]:
    """(low, high) of the finite values of an I/I;16/F image (NaN/inf: read strip by strip)."""
    lo, hi = im.getextrema()
    if math.isfinite(lo) and math.isfinite(hi):
        return float(lo), float(hi)
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


def _to_rgb(im: Image.Image, high_bit: tuple[float, float] | None = None) -> Image.Image:
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


def _strips(im: Image.Image, rows_multiple: int = 1):
    """Horizontal crops of ``im`` of about ``_STRIP_PIXELS`` each (rows a multiple of ``rows_multiple``)."""
    w, h = im.size
    rows = max(rows_multiple, (_STRIP_PIXELS // max(w, 1)) // rows_multiple * rows_multiple)
    for y in range(0, h, rows):
        yield im.crop((0, y, w, min(h, y + rows)))


def _shrink_to_rgb(im: Image.Image, max_side: int) -> Image.Image:
    """Convert a non-RGB image to RGB, box-reduced strip by strip (no full-size RGB copy).

    The result's shorter side stays at least ``2 * max_side`` (or the original
    size), so the final resample has margin; the largest allocation is one strip
    plus the result.
    """
    w, h = im.size
    high_bit = _high_bit_range(im) if im.mode.startswith(_HIGH_BIT) else None
    if w * h <= _FULL_CONVERT_PIXELS:
        return _to_rgb(im, high_bit)
    f = max(1, min(w, h) // (2 * max_side))
    out = Image.new("RGB", (math.ceil(w / f), math.ceil(h / f)))
    y = 0
    for strip in _strips(im, f):
        if f > 1 and strip.mode in ("I", "F"):  # reduce 32-bit samples before scaling them
            small = _to_rgb(strip.reduce(f), high_bit)
        else:
            rgb = _to_rgb(strip, high_bit)
            small = rgb.reduce(f) if f > 1 else rgb
        out.paste(small, (0, y))
        y += small.size[1]
    return out


def _reduce(
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


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:  # noqa: BLE001 - a broken EXIF block should not cost the picture
        return 1


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}  # EXIF orientation -> transpose, as ImageOps.exif_transpose (applied here to the reduced image)


def _decode(im: Image.Image, fp: BinaryIO, name: str, max_side: int, draft_side: int,
            resample: Image.Resampling) -> Image.Image:
    problem = _declared_problem(im, fp)
    if problem:
        raise ImageError(name, problem)
    orientation = _orientation(im)
    if im.format in ("JPEG", "MPO"):
        # Decode at 1/2, 1/4 or 1/8 scale while both sides stay >= draft_side.
        im.draft("RGB", (draft_side, draft_side))
        problem = _decoded_problem(im)
        if problem:
            raise ImageError(name, problem)
    try:
        im.load()
    except Image.DecompressionBombError as exc:
        raise ImageError(name, _bomb_reason(exc)) from None
    except MemoryError:
        raise ImageError(name, "not enough memory to decode this image; try a smaller file") from None
    except Exception:  # noqa: BLE001 - OSError, SyntaxError, ValueError... from decoders
        raise ImageError(name, "truncated or corrupt image data") from None
    problem = _decoded_problem(im)  # a GIF frame may enlarge the canvas on load
    if problem:
        raise ImageError(name, problem)
    try:
        rgb = im if im.mode == "RGB" and "transparency" not in im.info else _shrink_to_rgb(im, max_side)
    except Exception:  # noqa: BLE001 - e.g. LAB without a colour profile
        raise ImageError(name, f"colour mode {im.mode} is not supported; save it as RGB") from None
    out = _reduce(rgb, max_side, resample)
    if orientation in _TRANSPOSE:
        out = out.transpose(_TRANSPOSE[orientation])
    return im.copy() if out is im else out


def load_image(
    source: str | os.PathLike[str] | bytes,
    name: str | None = None,
    *,
    max_side: int = 512,
    resample: Image.Resampling = Image.Resampling.LANCZOS,
    draft_side: int | None = None,
) -> Image.Image:
    """Decode an untrusted image file into an RGB image ready for a model.

    Parameters
    ----------
    source : path or bytes
        A file path (decoded from the open file, never read whole), or the
        file's bytes (an upload, a download).
    name : str, optional
        How to name the file in errors; defaults to the path (or "uploaded image").
    max_side : int
        The shorter side of the result is at most this; images are never enlarged.
    resample : PIL.Image.Resampling
        Filter of the one final reduction to ``max_side`` (antialiased; reductions
        over 3x box-reduce first). Lanczos by default; the pipeline passes an
        embedder's ``load_resample`` (ResNet-50: bilinear, as torchvision).
    draft_side : int, optional
        JPEG draft decoding keeps both sides at least this (default ``max_side``);
        ask for e.g. ``2 * max_side`` to leave a margin before the final resample.

    Returns
    -------
    PIL.Image.Image
        Mode "RGB", shorter side <= ``max_side``, EXIF orientation applied, first
        frame of animations and multi-page files, transparency composited on white.

    Raises
    ------
    ImageError
        The file is not a usable image or is over a limit (module docstring);
        ``reason`` says why in plain words.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    draft = max(max_side, draft_side or max_side)
    if isinstance(source, (bytes, bytearray, memoryview)):
        name = name or "uploaded image"
        problem = file_size_problem(len(source))
        if problem:
            raise ImageError(name, problem)
        return _load_from(io.BytesIO(source), name, max_side, draft, resample)
    path = os.fspath(source)
    name = name or path
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise ImageError(name, "not a regular file")
        problem = file_size_problem(st.st_size)
        if problem:
            raise ImageError(name, problem)
        with open(path, "rb") as fh:
            return _load_from(fh, name, max_side, draft, resample)
    except FileNotFoundError:
        raise ImageError(name, "file not found") from None
    except OSError as exc:
        raise ImageError(name, f"cannot read file ({exc.strerror or exc})") from None


def _load_from(fp: BinaryIO, name: str, max_side: int, draft: int, resample: Image.Resampling) -> Image.Image:
    head = fp.read(4096)
    if not head:
        raise ImageError(name, "file is empty")
    fp.seek(0)
    im = _open(fp, head, name)
    try:
        return _decode(im, fp, name, max_side, draft, resample)
    finally:
        im.close()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def thumbnail_jpeg(image: Image.Image, size: int = 160, quality: int = 80) -> bytes:
    """JPEG bytes of ``image`` fitted inside ``size`` x ``size`` (aspect kept, never enlarged).

    Made for ~160 px previews, so cheaply: antialiased bilinear (box-reduced first
    when shrinking more than 2x) and no Huffman optimisation pass; about 0.5 ms
    from a 232 px image instead of 1.3 ms with Lanczos and ``optimize=True``.
    """
    thumb = _to_rgb(image)
    if thumb is image:
        thumb = image.copy()
    thumb.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    thumb.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
