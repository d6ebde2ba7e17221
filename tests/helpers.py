"""Test helpers shared by test modules: a tiny, fast, deterministic real embedder.

``TinyEmbedder`` is a genuine torch model (a fixed random 3x3 convolution, ReLU
and global average pooling) that follows the :class:`artsim.embedding.base.Embedder`
protocol. It runs in microseconds per image, so tests of caching, the pipeline,
the store and the app can push real images through a real forward pass without
loading ResNet-50.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

INPUT_SIDE = 32


class TinyEmbedder:
    """Fixed random conv + ReLU + global mean pool: RGB image -> ``(dim,)`` float32.

    Parameters
    ----------
    dim : int
        Vector length (number of conv output channels).
    seed : int
        Seeds the conv weights; same seed -> same weights -> same fingerprint.
    name : str
        Model name stored with the vectors.
    fail_after : int, optional
        Raise ``RuntimeError`` in ``embed_arrays`` once this many images have been
        embedded (to test that work done before a crash is kept).
    """

    def __init__(
        self, dim: int = 8, seed: int = 0, *, name: str = "tiny", fail_after: int | None = None
    ) -> None:
        self.name = name
        self.dim = dim
        self.images_embedded = 0
        self.fail_after = fail_after
        gen = torch.Generator().manual_seed(seed)
        conv = torch.nn.Conv2d(3, dim, kernel_size=3, padding=1)
        with torch.no_grad():
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen))
            conv.bias.copy_(torch.randn(conv.bias.shape, generator=gen) * 0.1)
        self.model = torch.nn.Sequential(
            conv, torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
        )
        self.model.eval()
        digest = hashlib.sha256(f"{name}|{dim}|{INPUT_SIDE}|v1".encode())
        for tensor in self.model.state_dict().values():
            digest.update(tensor.numpy().tobytes())
        self.fingerprint = digest.hexdigest()[:16]

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """RGB image -> ``(3, 32, 32)`` float32 in [0, 1]."""
        small = image.convert("RGB").resize((INPUT_SIDE, INPUT_SIDE), Image.Resampling.BILINEAR)
        return np.ascontiguousarray(np.asarray(small, dtype=np.float32).transpose(2, 0, 1) / 255.0)

    def embed_arrays(self, batch: np.ndarray) -> np.ndarray:
        """``(n, 3, 32, 32)`` float32 -> ``(n, dim)`` float32."""
        n = len(batch)
        if self.fail_after is not None and self.images_embedded + n > self.fail_after:
            raise RuntimeError("TinyEmbedder: simulated crash")
        with torch.inference_mode():
            out = self.model(torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)))
        self.images_embedded += n
        return out.numpy().astype(np.float32, copy=False)

    def embed(self, images: Sequence[Image.Image], batch_size: int = 16) -> np.ndarray:
        """RGB images -> ``(n, dim)`` float32, in batches of ``batch_size``."""
        parts = [
            self.embed_arrays(np.stack([self.preprocess(im) for im in images[i : i + batch_size]]))
            for i in range(0, len(images), batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)


#: ``../shared/`` beside the repo (data for tests; never copied in). Tests that need it skip without it.
SHARED = Path(__file__).resolve().parents[2] / "shared"
#: The 45 real paintings (``ARTSIM_TEST_GALLERY`` overrides).
SHARED_GALLERY = Path(os.environ.get("ARTSIM_TEST_GALLERY") or SHARED / "gallery")
