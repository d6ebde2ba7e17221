"""A small synthetic collection and an isolated artsim home for app tests (AppTest and browser)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

# Three "artists" whose paintings differ in palette and texture, so a real model separates them.
ARTISTS = {
    "Ada Blue": ((40, 70, 200), "stripes"),
    "Bo Red": ((210, 50, 40), "checks"),
    "Cy Green": ((40, 160, 60), "noise"),
}


def _painting(base: tuple[int, int, int], pattern: str, seed: int, size: int = 96) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    if pattern == "stripes":
        mask = ((x + seed * 3) // 8) % 2
    elif pattern == "checks":
        mask = ((x // 12) + (y // 12) + seed) % 2
    else:
        mask = rng.integers(0, 2, (size, size))
    pixels = np.array(base, dtype=float)[None, None, :] * (0.55 + 0.45 * mask[..., None])
    pixels += rng.normal(0, 12, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def make_collection(root: Path, per_artist: int = 3) -> Path:
    """Write ``per_artist`` JPEGs for each artist under ``root/<Artist>/`` and a metadata.csv."""
    rows = ["file,artist,title,year"]
    for a, (artist, (base, pattern)) in enumerate(ARTISTS.items()):
        (root / artist).mkdir(parents=True, exist_ok=True)
        for i in range(per_artist):
            name = f"{artist.split()[0].lower()}_{i}.jpg"
            _painting(base, pattern, seed=10 * a + i).save(root / artist / name, quality=92)
            rows.append(f"{artist}/{name},{artist},Study {i + 1},{1880 + i}")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")
    return root


def app_environment(root: Path) -> dict[str, str]:
    """Environment of an isolated app under ``root``: its own home, store and synthetic gallery."""
    return {
        "ARTSIM_HOME": str(root / "home"),
        "ARTSIM_DB": str(root / "db"),
        "ARTSIM_GALLERY": str(make_collection(root / "gallery")),
        "ARTSIM_MODEL": "efficientnet-lite0",
        "TORCH_HOME": str(root / "torch"),
    }


def jpeg_bytes(color: tuple[int, int, int], size: tuple[int, int] = (80, 64)) -> bytes:
    """A plain-colour JPEG, as a browser would upload it."""
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


#: Background work that a server or CLI started by a test never does unless the test asks for it:
#: fetching ResNet-50's weights (95 MB) and measuring the runtimes (tests/conftest.py sets the same
#: for this process). Without these, every server a test starts spends its first minutes on them.
QUIET_BACKGROUND = {"ARTSIM_FETCH_WEIGHTS": "0", "ARTSIM_MEASURE": "0"}
#: Settings a clean environment keeps: the run's shared folder of ONNX exports (tests/conftest.py).
RUN_CACHES = ("ARTSIM_EXPORTS",)


def clean_environment(**values: str) -> dict[str, str]:
    """This process's environment with no ARTSIM_ setting but :data:`QUIET_BACKGROUND` and
    :data:`RUN_CACHES`, plus ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTSIM_") or k in RUN_CACHES}
    return {**env, **QUIET_BACKGROUND, **values}


#: Debian's chromium, never a browser a tool downloads itself.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]

