"""Fast load path candidates: fidelity to each model's reference preprocessing, and decode rate.

Usage::

    .venv/bin/python benchmarks/preprocess_candidates.py --images ../shared/gallery

For every painting of ``--images`` (plus ``--enlarged`` of them enlarged 2x, JPEG q95:
museum-size files), each candidate loads the file and runs the model's ``preprocess``;
its vectors (eager fp32, so only the preprocessing differs) are compared with the
reference path (``reference=True``: full decode, the model's own transform). Rates:
load + preprocess + 160 px thumbnail from the same decoded image, one thread, per model.

Candidates:

* ``full``: full decode, one resample (the reference's pixels; rate only).
* ``full-reduce``: full decode, ``resize(reducing_gap=2)``: ``Image.reduce`` by an
  integer factor (a box filter), then the antialiased resample.
* ``draft2x``: JPEG DCT draft to both sides >= 2x the model's resize side, one antialiased resample.
* ``draft1x``: draft to the smallest DCT scale that still covers the resize side, one resample.

Rates are CPU time of the calling thread (``time.thread_time``), best of ``--reps``
passes, so that other jobs on the machine disturb them less than wall-clock time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artsim.embedding import get_embedder  # noqa: E402
from artsim.embedding.runtimes.backends import TORCH_FP32  # noqa: E402
from artsim.inputs.collection import scan_folder  # noqa: E402
from artsim.inputs.images import load_image, thumbnail_jpeg  # noqa: E402

CANDIDATES = {"full": None, "full-reduce": None, "draft2x": 2, "draft1x": 1}
FINE = ["adele_bloch_bauer_i", "the_kiss", "stacks_of_wheat", "water_lilies"]


@contextlib.contextmanager
def reducing_gap(gap: float | None):
    """Within the block, ``Image.resize`` calls without a ``reducing_gap`` use ``gap`` (benchmark only)."""
    original = Image.Image.resize

    def resize(self, size, resample=None, box=None, reducing_gap=None):
        return original(self, size, resample, box, reducing_gap if reducing_gap is not None else gap)

    Image.Image.resize = resize if gap else original
    try:
        yield
    finally:
        Image.Image.resize = original


def load(embedder, path: str, factor: int | None) -> Image.Image:
    draft = 1 << 16 if factor is None else factor * embedder.input_side
    cap = 1 << 16 if factor is None else embedder.load_max_side
    return load_image(path, max_side=cap, draft_side=draft, resample=embedder.load_resample)


def inputs(embedder, paths, factor, gap=None) -> np.ndarray:
    with reducing_gap(gap):
        return np.stack([embedder.preprocess(load(embedder, p, factor)) for p in paths])


def cpu_ms(embedder, paths, factor, gap=None, reps: int = 3) -> float:
    """CPU milliseconds per painting (load + preprocess + thumbnail), best of ``reps`` passes."""
    best = float("inf")
    with reducing_gap(gap):
        for _ in range(reps):
            t0 = time.thread_time()
            for p in paths:
                image = load(embedder, p, factor)
                embedder.preprocess(image)
                thumbnail_jpeg(image, 160, quality=75)
            best = min(best, time.thread_time() - t0)
    return 1000 * best / len(paths)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", required=True)
    ap.add_argument("--models", default="efficientnet-lite0,resnet50,style")
    ap.add_argument("--no-fidelity", action="store_true", help="rates only")
    ap.add_argument("--reps", type=int, default=3, help="timed passes over the gallery (best kept)")
    args = ap.parse_args(argv)
    gallery = [p.path for p in scan_folder(args.images).paintings]
    with tempfile.TemporaryDirectory(prefix="artsim-cand-") as tmp:
        paths = list(gallery)
        for i, path in enumerate(p for p in gallery if any(f in p for f in FINE)):
            with Image.open(path) as im:
                big = im.convert("RGB").resize((im.width * 2, im.height * 2), Image.Resampling.LANCZOS)
            big.save(os.path.join(tmp, f"{i}.jpg"), quality=95)
            paths.append(os.path.join(tmp, f"{i}.jpg"))
        weights = None
        if "resnet50" in args.models:
            import torch
            from torchvision.models import resnet50

            torch.manual_seed(0)
            weights = os.path.join(tmp, "resnet50-seed0.pth")
            torch.save(resnet50(weights=None).state_dict(), weights)
        print(f"{len(gallery)} gallery files + {len(paths) - len(gallery)} enlarged 2x; "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"{'model':<20} {'candidate':<12} {'min cos':>9} {'mean cos':>9} {'worst':<36} "
              f"{'CPU ms/img':>10} {'img/s/core':>10}")
        for name in args.models.split(","):
            kw = {"weights": weights} if name == "resnet50" else {}
            kw.update({"runtime": TORCH_FP32} if name != "style" else {})
            fast = get_embedder(name, **kw)
            ref = get_embedder(name, reference=True, **kw) if not args.no_fidelity else None
            want = ref.embed_arrays(inputs(ref, paths, None)) if ref else None
            for cand, factor in CANDIDATES.items():
                gap = 2.0 if cand.endswith("reduce") else None
                ms = cpu_ms(fast, gallery, factor, gap, args.reps)
                if want is None or cand == "full":
                    lo = mean = float("nan")
                    worst = ""
                else:
                    cos = cosines(fast.embed_arrays(inputs(fast, paths, factor, gap)), want)
                    lo, mean, worst = float(cos.min()), float(cos.mean()), Path(paths[int(cos.argmin())]).name
                print(f"{name:<20} {cand:<12} {lo:9.5f} {mean:9.5f} {worst[:36]:<36} {ms:10.2f} {1000 / ms:10.1f}",
                      flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
