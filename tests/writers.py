"""Light helpers for tests that spawn writer processes: a numpy-only real model and the writer job.

Kept apart from the test modules so a ``spawn``-ed child imports numpy, Pillow and
artsim's store, not torch (a child of a test module would re-import all of it).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from artsim.inputs.collection import Painting
from artsim.inputs.images import sha256_file


class PixelEmbedder:
    """A real, deterministic, numpy-only model: a fixed random projection of 8x8 RGB pixels -> ``dim``.

    It follows the :class:`artsim.embedding.base.Embedder` protocol and refuses (as a
    model running out of memory would) any image that is almost pure white, so a
    batch holding one white painting fails as a whole.
    """

    name = "pixels"

    def __init__(self, dim: int = 6, seed: int = 0, white_raises: type[BaseException] | None = MemoryError):
        self.dim, self.images_embedded, self.white_raises = dim, 0, white_raises
        self.weights = np.random.default_rng(seed).standard_normal((8 * 8 * 3, dim)).astype(np.float32)
        self.fingerprint = f"pixels{dim}s{seed}"

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """RGB image -> ``(192,)`` float32 in [0, 1]."""
        return np.asarray(image.convert("RGB").resize((8, 8)), np.float32).ravel() / 255.0

    def embed_arrays(self, batch: np.ndarray) -> np.ndarray:
        """``(n, 192)`` -> ``(n, dim)`` float32."""
        batch = np.asarray(batch, np.float32)
        if self.white_raises is not None and (batch.min(axis=1) > 0.97).any():
            raise self.white_raises("cannot allocate 21 GB")
        self.images_embedded += len(batch)
        return batch @ self.weights

    def embed(self, images, batch_size: int = 16) -> np.ndarray:
        """RGB images -> ``(n, dim)`` float32."""
        return self.embed_arrays(np.stack([self.preprocess(im) for im in images]))


def make_images(folder, n: int, seed: int = 0, size: tuple[int, int] = (90, 60)) -> list[Painting]:
    """``n`` distinct smooth colour images (JPEG and PNG) written to ``folder`` -> Paintings."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        base = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
        path = folder / (f"img{i:03d}.jpg" if i % 2 == 0 else f"img{i:03d}.png")
        Image.fromarray(base).resize(size, Image.Resampling.BICUBIC).save(path)
        out.append(Painting(sha256=sha256_file(path), path=str(path), artist=f"A{i % 3}", title=f"t{i}"))
    return out


def write(uri: str, paintings: list[Painting], chunk: int, out: str) -> None:
    """Writer process: embed ``paintings`` into the store at ``uri``; write ``new cached`` to ``out``.

    Native crashes print every thread's stack to stderr (one run in about twenty ended with SIGABRT,
    "terminate called without an active exception", after its work was done; not reproduced alone).
    """
    import faulthandler

    faulthandler.enable()
    from artsim.indexing.pipeline import embed_with_cache
    from artsim.store.vectors import EmbeddingStore

    res = embed_with_cache(EmbeddingStore(uri), paintings, PixelEmbedder(white_raises=None), chunk=chunk)
    with open(out, "w") as fh:
        fh.write(f"{res.new} {res.cached} {len(res.paintings)}")
