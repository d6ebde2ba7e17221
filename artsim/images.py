"""Safe image loading: the front door for every untrusted file.

Uploads, folders and museum downloads all pass through :func:`load_image`,
which returns a plain RGB ``PIL.Image.Image`` (shorter side at most
``max_side``) or raises :class:`~artsim.errors.ImageError` naming the file and
saying in plain words what is wrong with it.

Why the limits are what they are
--------------------------------
``MAX_PIXELS`` (40 megapixels) is checked against the size the file *declares*
in its header, before any pixel is decoded. Museum downloads of paintings run
up to about 30 MP, while every model here looks at about 224 px, so 40 MP
leaves room for real files and refuses decompression bombs (a few kilobytes of
PNG that claim 20000x20000 pixels) long before Pillow's own ~89 MP warning.
We check the size ourselves rather than lowering ``Image.MAX_IMAGE_PIXELS``,
which is global and would change behaviour for all other code in the process.
Pillow's own ``DecompressionBombError``/``DecompressionBombWarning`` are caught
too and reported the same way.

``MAX_FILE_BYTES`` (50 MB) is checked with ``stat`` before a file is read, so
a huge file is refused without reading it.

Truncated files must decode completely: ``ImageFile.LOAD_TRUNCATED_IMAGES`` is
never set, and a decode error becomes "truncated or corrupt image data".

Only the formats a painting is likely to come in are opened (JPEG/MPO, PNG,
GIF, WebP, BMP, TIFF); other Pillow plugins (EPS runs Ghostscript, for one)
are never tried on untrusted bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import threading
import warnings

import numpy as np
from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageOps,
    JpegImagePlugin,
    MpoImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from artsim.errors import ImageError

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "file_size_problem",
    "load_image",
    "sha256_bytes",
    "sha256_file",
    "thumbnail_jpeg",
]

MAX_PIXELS: int = 40_000_000
"""Largest declared width*height accepted (see the module docstring)."""

MAX_FILE_BYTES: int = 50 * 1024 * 1024
"""Largest file accepted, in bytes."""

IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
)
"""Lower-case file suffixes a folder scan picks up."""

# Pillow format names tried on untrusted bytes (JPEG also opens MPO, multi-picture JPEGs from phones).
# Importing the plugin modules registers them, so Image.open(formats=...) finds them.
_PLUGINS = (BmpImagePlugin, GifImagePlugin, JpegImagePlugin, MpoImagePlugin, PngImagePlugin,
            TiffImagePlugin, WebPImagePlugin)
_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "DIB", "TIFF")

_CHUNK = 1024 * 1024
_WHITE = (255, 255, 255)

# warnings.catch_warnings() swaps process-wide state; serialise our own use of it
# (only around Image.open, which reads headers, never around decoding).
_OPEN_LOCK = threading.Lock()

# Magic bytes of formats people do try to upload, to say what the file is.
_KNOWN_UNSUPPORTED: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "PDF documents are not supported; export the page as PNG or JPEG"),
    (b"8BPS", "Photoshop (PSD) files are not supported; export it as PNG or JPEG"),
    (b"%!PS", "PostScript/EPS files are not supported; export it as PNG or JPEG"),
    (b"\x00\x00\x01\x00", "icon (ICO) files are not supported; export it as PNG or JPEG"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000 is not supported; export it as PNG or JPEG"),
    (b"\xff\x4f\xff\x51", "JPEG 2000 is not supported; export it as PNG or JPEG"),
    (b"PK\x03\x04", "this is a ZIP archive, not an image; unpack it first"),
    (b"\x1f\x8b", "this is a gzip-compressed file, not an image"),
)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f}".rstrip("0").rstrip(".")


def file_size_problem(size: int) -> str | None:
    """Plain-words reason a file of ``size`` bytes is refused, or None if it is fine."""
    if size == 0:
        return "file is empty"
    if size > MAX_FILE_BYTES:
        have, limit = _mb(size), _mb(MAX_FILE_BYTES)
        if have == limit:
            return f"file is over the limit of {limit} MB"
        return f"file is {have} MB; the limit is {limit} MB"
    return None


def _pixels_problem(size: tuple[int, int]) -> str | None:
    w, h = size
    if w <= 0 or h <= 0:
        return f"image declares an empty size ({w}x{h} pixels)"
    if w * h > MAX_PIXELS:
        return f"image is {w}x{h} pixels; the limit is {MAX_PIXELS / 1e6:g} megapixels"
    return None


def _bomb_reason(exc: Exception) -> str:
    """Reason for Pillow's own decompression-bomb error, which states only a pixel count."""
    m = re.search(r"\((\d+) pixels\)", str(exc))
    size = f"{int(m.group(1)) / 1e6:,.0f} megapixels" if m else "too large"
    return f"image is {size}; the limit is {MAX_PIXELS / 1e6:g} megapixels"


def _sniff_unsupported(head: bytes, name: str) -> str:
    """Reason for bytes that none of the allowed formats opened."""
    if name.lower().endswith((".svg", ".svgz")):
        return "SVG is not supported; export it as PNG or JPEG"
    for magic, reason in _KNOWN_UNSUPPORTED:
        if head.startswith(magic):
            return reason
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"heim", b"heis"):
            return "HEIC/HEIF photos are not supported; export it as JPEG or PNG"
        if brand in (b"avif", b"avis"):
            return "AVIF is not supported; export it as PNG or JPEG"
        return "not an image file (looks like a video or other media file)"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith((b"<?xml", b"<svg", b"<!doctype svg", b"<!--")) and b"<svg" in text:
        return "SVG is not supported; export it as PNG or JPEG"
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text[:512]:
        return "not an image file (it is a web page; the download probably failed)"
    return "not an image file"


def _read_source(source: str | os.PathLike[str] | bytes, name: str) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        problem = file_size_problem(len(data))
        if problem:
            raise ImageError(name, problem)
        return data
    path = os.fspath(source)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ImageError(name, "file not found") from None
    except OSError as exc:
        raise ImageError(name, f"cannot read file ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise ImageError(name, "not a regular file")
    problem = file_size_problem(st.st_size)
    if problem:
        raise ImageError(name, problem)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ImageError(name, f"cannot read file ({exc.strerror or exc})") from None
    problem = file_size_problem(len(data))  # the file may have changed since stat
    if problem:
        raise ImageError(name, problem)
    return data


def _open(data: bytes, name: str) -> Image.Image:
    """Open headers only (no decoding) with the allowed formats; bomb checks included."""
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(name, _bomb_reason(exc)) from None
    except UnidentifiedImageError:
        raise ImageError(name, _sniff_unsupported(data[:4096], name)) from None
    except Exception:  # noqa: BLE001 - a plugin choking on a crafted header
        raise ImageError(name, "truncated or corrupt image data") from None
    return im


def _sixteen_bit_to_l(im: Image.Image) -> Image.Image:
    """Scale integer/float single-band images (I;16*, I, F) to 8-bit L without clipping."""
    arr = np.asarray(im)
    if im.mode == "F":
        a = np.nan_to_num(arr.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        hi = float(a.max()) if a.size else 0.0
        if hi <= 1.0:  # a [0, 1] float image
            a = a * 255.0
        elif hi > 255.0:  # a 16-bit range stored as float
            a = a * (255.0 / 65535.0)
        out = np.clip(np.rint(a), 0, 255)
    elif im.mode == "I" and arr.size and int(arr.max()) <= 255 and int(arr.min()) >= 0:
        out = arr  # an 8-bit range stored in a 32-bit mode
    else:  # I;16* always, I holding 16-bit values (clipped to 16 bits)
        a = np.clip(arr.astype(np.int64), 0, 65535)
        out = (a * 255 + 32767) // 65535
    return Image.fromarray(np.ascontiguousarray(out.astype(np.uint8)), mode="L")


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB; transparency is composited on white."""
    mode = im.mode
    if mode.startswith("I") or mode == "F":
        return _sixteen_bit_to_l(im).convert("RGB")
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


def load_image(
    source: str | os.PathLike[str] | bytes,
    name: str | None = None,
    *,
    max_side: int = 512,
    resample: Image.Resampling = Image.Resampling.LANCZOS,
) -> Image.Image:
    """Decode an untrusted image file into an RGB image ready for a model.

    Parameters
    ----------
    source : path or bytes
        A file path, or the file's bytes (an upload, a download).
    name : str, optional
        How to name the file in errors; defaults to the path (or "uploaded image").
    max_side : int
        The shorter side of the result is at most this (JPEGs decode at a reduced
        scale first); images are never enlarged.
    resample : PIL.Image.Resampling
        Filter of the final reduction to ``max_side`` (antialiased when shrinking;
        reductions over 3x box-reduce first). Lanczos by default; the pipeline
        passes an embedder's ``load_resample`` (ResNet-50: bilinear, as torchvision).

    Returns
    -------
    PIL.Image.Image
        Mode "RGB", EXIF orientation applied, first frame of animations and
        multi-page files, transparency composited on white.

    Raises
    ------
    ImageError
        The file is not a usable image; ``reason`` says why in plain words.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    if name is None:
        name = "uploaded image" if isinstance(source, (bytes, bytearray, memoryview)) else os.fspath(source)
    data = _read_source(source, name)
    im = _open(data, name)
    try:
        problem = _pixels_problem(im.size)
        if problem:
            raise ImageError(name, problem)
        if im.format in ("JPEG", "MPO"):
            # Decode at 1/2, 1/4 or 1/8 scale while both sides stay >= max_side.
            im.draft("RGB", (max_side, max_side))
        try:
            im.load()
        except Image.DecompressionBombError as exc:
            raise ImageError(name, _bomb_reason(exc)) from None
        except Exception:  # noqa: BLE001 - OSError, SyntaxError, ValueError... from decoders
            raise ImageError(name, "truncated or corrupt image data") from None
        problem = _pixels_problem(im.size)  # a GIF frame may enlarge the canvas on load
        if problem:
            raise ImageError(name, problem)
        try:
            oriented = ImageOps.exif_transpose(im)
        except Exception:  # noqa: BLE001 - a broken EXIF block should not cost the picture
            oriented = im
        try:
            rgb = _to_rgb(oriented)
        except Exception:  # noqa: BLE001 - e.g. LAB without a colour profile
            raise ImageError(name, f"colour mode {oriented.mode} is not supported; save it as RGB") from None
        out = _reduce(rgb, max_side, resample)
        if out is im:
            out = im.copy()
        return out
    finally:
        im.close()


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read once in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


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
