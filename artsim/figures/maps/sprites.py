"""One sprite atlas image for many thumbnails (issue 14.1): the map's thousands of icons in one request.

A WebGL map (deck.gl's IconLayer) draws every icon from one texture plus a
mapping of where each icon sits in it. Packing the paintings' stored
thumbnails into a grid of square cells turns 5,000 image requests into one,
which the browser caches under a content-addressed name (:func:`atlas_name`).

Each thumbnail is fitted inside its cell with its aspect kept and placed at
the cell's top-left corner; the returned boxes say which part of the cell it
covers, so nothing is letterboxed on the map. A thumbnail that is missing or
does not decode leaves its cell empty and its box zero-sized (the map skips it).

Thumbnails come from the store (our own JPEGs), but are still decoded with
Pillow's draft mode and a pixel cap, so a bad row costs one empty cell.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from artsim.files import atomic_write

__all__ = ["CELL", "MAX_SIDE", "SpriteAtlas", "atlas_for", "atlas_name", "cell_size", "pack", "write_atlas"]

#: Cell side in pixels (a thumbnail is drawn at most this large before the texture is magnified).
CELL = 64
#: Largest atlas side: WebGL's usual MAX_TEXTURE_SIZE floor on desktop (SwiftShader included).
MAX_SIDE = 8192
#: Pixel budget of an atlas: past it cells shrink. The browser decodes the atlas and uploads
#: it as one texture; at 5,000 paintings 64 px cells (21 MP) took ~1.9 s of the first draw in
#: software WebGL, 40 px cells (8 MP) keep a thumbnail sharp up to ~6x zoom at that density.
MAX_PIXELS = 8_000_000
#: Largest thumbnail decoded (pixels): stored thumbnails are ~160 px, far under it.
MAX_THUMB_PIXELS = 1024 * 1024
#: JPEG quality of the atlas (thumbnails are small: artefacts would show first on flat paint).
QUALITY = 82


@dataclass(frozen=True)
class SpriteAtlas:
    """A packed atlas.

    Attributes
    ----------
    image : (H, W, 3) uint8 pixels; cell ``i`` is at row ``i // columns``, column ``i % columns``.
    boxes : (n, 4) int32 ``x, y, width, height`` of each thumbnail inside the image (0 width = none).
    cell : the cell side in pixels.
    """

    image: np.ndarray
    boxes: np.ndarray
    cell: int

    @property
    def columns(self) -> int:
        """Cells per row."""
        return self.image.shape[1] // self.cell

    def jpeg(self, quality: int = QUALITY) -> bytes:
        """The atlas as JPEG bytes (what the browser downloads once)."""
        buf = io.BytesIO()
        Image.fromarray(self.image).save(buf, format="JPEG", quality=quality)
        return buf.getvalue()


def cell_size(n: int, cell: int = CELL, max_side: int = MAX_SIDE, max_pixels: int = MAX_PIXELS) -> int:
    """The cell side for ``n`` thumbnails: ``cell``, smaller when a square grid would pass
    ``max_side`` or the atlas ``max_pixels``."""
    columns = max(1, math.ceil(math.sqrt(max(n, 1))))
    return max(1, min(cell, max_side // columns, math.isqrt(max_pixels // max(n, 1))))


def _decode(data: bytes | None, cell: int) -> np.ndarray | None:
    """The thumbnail fitted inside ``cell`` x ``cell`` as (h, w, 3) uint8, or None when it does not decode."""
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_THUMB_PIXELS:
                return None
            img.draft("RGB", (cell, cell))
            rgb = img.convert("RGB")
            rgb.thumbnail((cell, cell), Image.Resampling.BILINEAR, reducing_gap=2.0)
            return np.asarray(rgb)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def pack(thumbnails: Sequence[bytes | None], cell: int = CELL) -> SpriteAtlas:
    """Pack thumbnails (encoded image bytes, in map order) into one grid image.

    Parameters
    ----------
    thumbnails : n encoded thumbnails (None or b'' = missing).
    cell : the wanted cell side; smaller when ``n`` cells would pass :data:`MAX_SIDE` or :data:`MAX_PIXELS`.

    Returns
    -------
    SpriteAtlas with an (rows * cell, columns * cell, 3) image and (n, 4) boxes.
    """
    n = len(thumbnails)
    cell = cell_size(n, cell)
    columns = max(1, math.ceil(math.sqrt(max(n, 1))))
    rows = max(1, math.ceil(n / columns))
    image = np.full((rows * cell, columns * cell, 3), 255, dtype=np.uint8)
    boxes = np.zeros((n, 4), dtype=np.int32)
    for i, data in enumerate(thumbnails):
        pixels = _decode(data, cell)
        if pixels is None:
            continue
        h, w = pixels.shape[:2]
        y, x = (i // columns) * cell, (i % columns) * cell
        image[y:y + h, x:x + w] = pixels
        boxes[i] = (x, y, w, h)
    return SpriteAtlas(image=image, boxes=boxes, cell=cell)


def atlas_name(shas: Sequence[str], cell: int = CELL) -> str:
    """Content-addressed file name of the atlas of ``shas`` (in order) at ``cell``: same paintings, same URL."""
    digest = hashlib.sha256(f"{cell}\n{QUALITY}\n".encode() + "\n".join(shas).encode()).hexdigest()[:24]
    return f"{digest}.jpg"


def write_atlas(folder: str | os.PathLike[str], name: str, atlas: SpriteAtlas) -> Path:
    """Write ``atlas`` as JPEG to ``folder/name`` atomically (a reader never sees half a file)."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, atlas.jpeg())
    return path


def atlas_for(
    folder: str | os.PathLike[str], shas: Sequence[str], fetch: Callable[[list[str]], dict[str, bytes]],
    cell: int = CELL,
) -> tuple[str, np.ndarray]:
    """The atlas of ``shas`` under ``folder``: built and written once, then read back.

    Parameters
    ----------
    folder : where atlases live (the web server serves them by name).
    shas : the paintings in map order.
    fetch : sha256 list -> {sha256: thumbnail bytes} (e.g. ``EmbeddingStore.thumbnails``); called only
        when the atlas is not on disk yet.

    Returns
    -------
    (file name, (n, 4) int32 boxes); the boxes are kept beside the image as ``<name>.npy``.
    """
    name = atlas_name(shas, cell)
    image, boxes_path = Path(folder) / name, Path(folder) / f"{name}.npy"
    if image.is_file() and boxes_path.is_file():
        boxes = np.load(boxes_path, allow_pickle=False)
        if boxes.shape == (len(shas), 4):
            return name, boxes.astype(np.int32)
    thumbs = fetch(list(shas))
    atlas = pack([thumbs.get(s) for s in shas], cell)
    buf = io.BytesIO()
    np.save(buf, atlas.boxes, allow_pickle=False)
    write_atlas(folder, name, atlas)
    atomic_write(boxes_path, buf.getvalue())
    return name, atlas.boxes
