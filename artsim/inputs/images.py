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
* **Records** that drive a parser's work (JPEG segments and scans, PNG chunks,
  TIFF tags and offset tables, GIF blocks, WebP chunks) are counted by a
  structural pre-scan of the file's framing before Pillow parses anything
  (:mod:`artsim.inputs.prescan`).
* **WebP** is counted as libwebp's animation decoder and Pillow spend it, 16
  bytes per canvas pixel (``MAX_WEBP_DECODE_BYTES``), not by its small file.
* **Pyramidal TIFF and BigTIFF** are read at the smallest level whose shorter
  side is still ``draft_side``; the caps apply to that level.
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
never set). Only :data:`artsim.inputs.formats.OPEN_FORMATS` are tried on untrusted
bytes; anything else gets a reason naming what it is (SVG, PDF, HEIC...).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import threading
import warnings
from typing import BinaryIO

from PIL import (
    BmpImagePlugin,
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
from artsim.inputs.formats import IMAGE_SUFFIXES, OPEN_FORMATS, size_problem, sniff_unsupported
from artsim.inputs.image_convert import TRANSPOSE, orientation, reduce_to, shrink_to_rgb, to_rgb
from artsim.inputs.image_limits import (
    MAX_ASPECT,
    MAX_DECODE_BYTES,
    MAX_JPEG_PIXELS,
    MAX_PIXELS,
    bomb_reason,
    declared_problem,
    decoded_problem,
)
from artsim.inputs.prescan import structure_problem, tiff_pages

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

_PLUGINS = (BmpImagePlugin, GifImagePlugin, JpegImagePlugin, MpoImagePlugin, PngImagePlugin,
            TiffImagePlugin, WebPImagePlugin)  # importing them registers them for Image.open
MAX_FILE_BYTES: int = 250 * 1024 * 1024
"""Largest file accepted, in bytes (Streamlit's ``maxUploadSize`` matches)."""
_JPEG_MAGIC = b"\xff\xd8\xff"
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
# warnings.catch_warnings() swaps process-wide state; serialise our own use of it.
_OPEN_LOCK = threading.Lock()


def file_size_problem(size: int) -> str | None:
    """Plain-words reason a file of ``size`` bytes is refused, or None if it is fine."""
    return size_problem(size, MAX_FILE_BYTES)


def _open(fp: BinaryIO, head: bytes, name: str) -> Image.Image:
    """Open headers only (no decoding) with the allowed formats."""
    try:
        if head.startswith(_JPEG_MAGIC):
            # Our own JPEG caps apply; Image.open would refuse over 2x Pillow's global bomb limit.
            return JpegImagePlugin.jpeg_factory(fp)
        if head[:4] in _TIFF_MAGIC:
            # Our own caps apply to the pyramid level read (a museum master's first page may be huge).
            return TiffImagePlugin.TiffImageFile(fp)
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(fp, formats=OPEN_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(name, bomb_reason(exc)) from None
    except UnidentifiedImageError:
        raise ImageError(name, sniff_unsupported(head, name)) from None
    except Exception:  # noqa: BLE001 - a plugin choking on a crafted header
        raise ImageError(name, "truncated or corrupt image data") from None


def _pyramid_level(im: Image.Image, fp: BinaryIO, side: int) -> None:
    """Seek a pyramidal TIFF to its smallest level whose shorter side is still >= ``side``.

    Levels are the later pages marked reduced-resolution (NewSubfileType bit 0) with the first page's
    proportions (within 2%), as libvips, ImageMagick and slide scanners write them; SubIFD pyramids
    (OME-TIFF) are not followed. At most ``prescan.CAPS["tiff_pages"]`` pages are looked at.
    """
    pages = tiff_pages(fp)
    if len(pages) < 2:
        return
    w0, h0 = im.size
    best, area = 0, w0 * h0
    for k, tags in enumerate(pages[1:], 1):
        w, h = tags.get(256, 0), tags.get(257, 0)
        if not (tags.get(254, 0) & 1) or not w or not h or abs(w * h0 - h * w0) > 0.02 * w0 * h:
            continue
        if min(w, h) >= side and w * h < area:
            best, area = k, w * h
    if best:
        im.seek(best)


def _decode(im: Image.Image, fp: BinaryIO, name: str, max_side: int, draft_side: int,
            resample: Image.Resampling) -> Image.Image:
    if im.format == "TIFF":
        try:
            _pyramid_level(im, fp, draft_side)
        except Exception:  # noqa: BLE001 - a crafted later page: its decoder would fail the same way
            raise ImageError(name, "truncated or corrupt image data") from None
    problem = declared_problem(im, fp)
    if problem:
        raise ImageError(name, problem)
    turn = orientation(im)
    if im.format in ("JPEG", "MPO"):
        # Decode at 1/2, 1/4 or 1/8 scale while both sides stay >= draft_side.
        im.draft("RGB", (draft_side, draft_side))
        problem = decoded_problem(im)
        if problem:
            raise ImageError(name, problem)
    try:
        im.load()
    except Image.DecompressionBombError as exc:
        raise ImageError(name, bomb_reason(exc)) from None
    except MemoryError:
        raise ImageError(name, "not enough memory to decode this image; try a smaller file") from None
    except Exception:  # noqa: BLE001 - OSError, SyntaxError, ValueError... from decoders
        raise ImageError(name, "truncated or corrupt image data") from None
    problem = decoded_problem(im)  # a GIF frame may enlarge the canvas on load
    if problem:
        raise ImageError(name, problem)
    try:
        rgb = im if im.mode == "RGB" and "transparency" not in im.info else shrink_to_rgb(im, max_side)
    except Exception:  # noqa: BLE001 - e.g. LAB without a colour profile
        raise ImageError(name, f"colour mode {im.mode} is not supported; save it as RGB") from None
    out = reduce_to(rgb, max_side, resample)
    if turn in TRANSPOSE:
        out = out.transpose(TRANSPOSE[turn])
    if out is im and (getattr(im, "fp", None) is not None or getattr(im, "n_frames", 1) > 1):
        return im.copy()  # still tied to the file (frames to seek): a standalone copy outlives it
    return out


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
        JPEG draft decoding keeps both sides at least this (default ``max_side``).
        It may be smaller than ``max_side``: the embedders draft to the side
        their one resample needs and keep ``max_side`` as a memory cap.

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
    draft = draft_side or max_side
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
    problem = structure_problem(fp, head)
    if problem:
        raise ImageError(name, problem)
    im = _open(fp, head, name)
    out = None
    try:
        out = _decode(im, fp, name, max_side, draft, resample)
        return out
    finally:
        if out is not im:  # a decoded single frame, loaded and detached from the file, is the result itself
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
    thumb = to_rgb(image)
    width, height = thumb.size
    # Image.thumbnail's size without first copying the whole image (it works in place);
    # ImageOps.contain has no reducing_gap, which keeps a large reduction cheap
    if max(width, height) > size:
        scale = size / max(width, height)
        fitted = (max(1, round(width * scale)), max(1, round(height * scale)))
        thumb = thumb.resize(fitted, Image.Resampling.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    thumb.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
