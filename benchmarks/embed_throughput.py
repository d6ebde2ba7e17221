"""Embedding throughput: a naive per-image loop against artsim's pipeline, same weights, one process.

Usage::

    .venv/bin/python benchmarks/embed_throughput.py --images ../shared/gallery
    .venv/bin/python benchmarks/embed_throughput.py --images DIR --weights resnet50.pth --total 10000 --no-naive

(a) naive: for each file, PIL opens the whole file, ``convert("RGB")``, torchvision's
``ResNet50_Weights.IMAGENET1K_V2.transforms()``, one fp32 forward pass per image.
(b) artsim: ``pipeline.embed_with_cache`` into a temporary LanceDB: threaded
decode at reduced JPEG scale + preprocess + thumbnail, batched inference at the
embedder's precision, chunked writes, compaction.
(c) prototype (``--prototype``, resnet50 only): (b) with the model frozen to a
TorchScript graph with bf16 weights, to see what the embedder could gain.

The image list is repeated to ``--total`` entries (each repeat gets its own key,
so nothing is served from the cache) to amortise warm-up; each path is warmed
up once first. Ends with ``artsim_img_s=<x> naive_img_s=<y> speedup=<x/y>``.
Without ``--weights`` a freshly initialised ResNet-50 is saved to a temporary
file and used by both paths (throughput only; its vectors are meaningless).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import hashlib
import math
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artsim.collection import Painting, scan_folder  # noqa: E402
from artsim.embed_stream import DEFAULT_BATCH_SIZE, LOAD_MAX_SIDE, _prepare  # noqa: E402
from artsim.embedding import get_embedder  # noqa: E402
from artsim.store import EmbeddingStore  # noqa: E402


def _rss_mb() -> float:
    """Peak resident set size of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _line(label: str, n: int, seconds: float, extra: str = "") -> None:
    rate = n / seconds if seconds > 0 else float("inf")
    print(f"  {label:<34} {n:6d} img {seconds:8.2f} s {rate:8.1f} img/s {extra}")


def _expand(paintings: list[Painting], total: int) -> list[Painting]:
    """Repeat the list to ``total`` entries, each repeat with its own sha256 key."""
    out = []
    for i in range(total):
        p = paintings[i % len(paintings)]
        rep = i // len(paintings)
        key = p.sha256 if rep == 0 else hashlib.sha256(f"{p.sha256}:{rep}".encode()).hexdigest()
        out.append(dataclasses.replace(p, sha256=key))
    return out


# ---------------------------------------------------------------- (a) naive loop


def run_naive(paths: list[str], weights: str) -> float:
    import torch
    from PIL import Image
    from torchvision.models import ResNet50_Weights, resnet50

    model = resnet50(weights=None)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    model.fc = torch.nn.Identity()
    model.eval()
    transform = ResNet50_Weights.IMAGENET1K_V2.transforms()

    def one(path: str, times: list[float]) -> None:
        t0 = time.perf_counter()
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        t1 = time.perf_counter()
        x = transform(rgb).unsqueeze(0)
        t2 = time.perf_counter()
        with torch.no_grad():
            model(x)
        t3 = time.perf_counter()
        times += [t1 - t0, t2 - t1, t3 - t2]

    one(paths[0], [])  # warm-up
    times: list[float] = []
    t0 = time.perf_counter()
    for path in paths:
        one(path, times)
    wall = time.perf_counter() - t0
    t = np.asarray(times).reshape(-1, 3).sum(0)
    print("(a) naive loop: full decode, torchvision transforms, fp32, batch 1")
    _line("decode (PIL open + convert)", len(paths), t[0])
    _line("transforms", len(paths), t[1])
    _line("forward fp32 batch 1", len(paths), t[2])
    _line("end to end", len(paths), wall, f"peak RSS {_rss_mb():.0f} MB")
    return len(paths) / wall


# ---------------------------------------------------------------- (b) artsim pipeline


class _TimedStore(EmbeddingStore):
    """Adds up the time spent writing (benchmark bookkeeping only)."""

    write_s = 0.0
    compact_s = 0.0

    def __init__(self, uri: str, overlap: bool) -> None:
        super().__init__(uri)
        self.overlap = overlap

    def embed(self, paintings, embedder, **kwargs):
        import artsim.pipeline as pipeline

        original = pipeline.embed_paintings

        def embed(*a, **kw):
            return original(*a, overlap=self.overlap, **kw)

        pipeline.embed_paintings = embed  # benchmark-only switch for the overlap experiment
        try:
            return pipeline.embed_with_cache(self, paintings, embedder, **kwargs)
        finally:
            pipeline.embed_paintings = original

    def add(self, *args, **kwargs):
        t0 = time.perf_counter()
        written = super().add(*args, **kwargs)
        self.write_s += time.perf_counter() - t0
        return written

    def compact(self, *args, **kwargs):
        t0 = time.perf_counter()
        super().compact(*args, **kwargs)
        self.compact_s += time.perf_counter() - t0


def stage_figures(paintings: list[Painting], embedder, batch_size: int, workers: int) -> None:
    """Decode-only and model-only rates, each stage alone on the machine."""
    sample = paintings[: min(len(paintings), 90)]
    side = int(getattr(embedder, "load_max_side", 0) or LOAD_MAX_SIDE)
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda p: _prepare(p, embedder, side, True), sample[:workers]))  # warm-up
        t0 = time.perf_counter()
        arrays = [a for a, _ in pool.map(lambda p: _prepare(p, embedder, side, True), sample)]
        decode_s = time.perf_counter() - t0
    _line(f"decode+preprocess+thumb ({workers} threads)", len(sample), decode_s)
    t0 = time.perf_counter()
    for p in sample[:30]:
        _prepare(p, embedder, side, False)
    _line("decode+preprocess (1 thread)", min(30, len(sample)), time.perf_counter() - t0)
    batch = np.stack((arrays * math.ceil(batch_size / len(arrays)))[:batch_size])
    embedder.embed_arrays(batch)  # warm-up
    reps = max(2, 96 // batch_size)
    t0 = time.perf_counter()
    for _ in range(reps):
        embedder.embed_arrays(batch)
    _line(f"model only, batch {batch_size}", reps * batch_size, time.perf_counter() - t0)


def run_artsim(
    paintings: list[Painting], embedder, batch_size: int, workers: int, label: str, overlap: bool = False
) -> float:
    with tempfile.TemporaryDirectory(prefix="artsim-bench-db-") as tmp:
        # Warm-up on a separate store, so the timed run starts from an empty database but
        # not from a cold process (importing lancedb and building its schemas takes ~2 s once).
        warm = [dataclasses.replace(p, sha256="w" + p.sha256[1:]) for p in paintings[:batch_size]]
        _TimedStore(os.path.join(tmp, "warm"), overlap=overlap).embed(warm, embedder, batch_size=batch_size)
        store = _TimedStore(os.path.join(tmp, "db"), overlap=overlap)
        embedded_before = embedder.images_embedded
        t0 = time.perf_counter()
        result = store.embed(paintings, embedder, batch_size=batch_size)
        wall = time.perf_counter() - t0
        assert embedder.images_embedded - embedded_before == result.new
        t1 = time.perf_counter()
        again = store.embed(paintings, embedder, batch_size=batch_size)
        cached_s = time.perf_counter() - t1
        assert again.new == 0 and again.cached == len(paintings) - len(result.skipped)
        size_mb = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file()) / 1e6
    mode = "overlapped" if overlap else "in phases"
    print(
        f"{label}: embed_with_cache into a fresh LanceDB, batch {batch_size}, {workers} decode threads {mode}"
    )
    _line("store writes (inside end to end)", result.new, store.write_s)
    _line("compaction (inside end to end)", result.new, store.compact_s)
    _line("end to end", len(paintings), wall, f"peak RSS {_rss_mb():.0f} MB, db {size_mb:.1f} MB")
    _line("second call (all cached)", len(paintings), cached_s)
    if result.skipped:
        print(f"  skipped {len(result.skipped)}: {result.skipped[:3]}")
    return len(paintings) / wall


# ---------------------------------------------------------------- (c) TorchScript prototype


class Prototype:
    """An embedder wrapper trying two changes to the ResNet-50 embedder (benchmark only).

    ``numpy_preprocess``: the same IMAGENET1K_V2 transform (resize shorter side
    to 232 bilinear, centre crop 224, /255, ImageNet mean/std) done with PIL and
    numpy instead of torch tensors, so decode threads never start OpenMP teams
    that fight the model's threads for the two cores.
    ``frozen``: the model as a frozen TorchScript graph with bf16 weights
    (oneDNN fuses conv+bn+relu) instead of autocast.
    """

    MEAN = np.array([0.485, 0.456, 0.406], np.float32)
    STD = np.array([0.229, 0.224, 0.225], np.float32)

    def __init__(self, base, batch_size: int, *, numpy_preprocess: bool, frozen: bool) -> None:
        import torch

        self.base = base
        self.name, self.dim = base.name, base.dim
        self.fingerprint = base.fingerprint + ("n" if numpy_preprocess else "") + ("f" if frozen else "")
        self.images_embedded = 0
        self.numpy_preprocess = numpy_preprocess
        self.graph = None
        if frozen:
            model = copy.deepcopy(base.model).eval().to(torch.bfloat16).to(memory_format=torch.channels_last)
            example = torch.zeros(2, 3, 224, 224, dtype=torch.bfloat16).contiguous(
                memory_format=torch.channels_last
            )
            with torch.inference_mode():
                self.graph = torch.jit.freeze(torch.jit.trace(model, example))
                for _ in range(2):  # profiling runs
                    self.graph(
                        torch.zeros(batch_size, 3, 224, 224, dtype=torch.bfloat16).contiguous(
                            memory_format=torch.channels_last
                        )
                    )

    def preprocess(self, image) -> np.ndarray:
        if not self.numpy_preprocess:
            return self.base.preprocess(image)
        from PIL import Image

        image = image.convert("RGB")
        w, h = image.size
        short, long = (w, h) if w <= h else (h, w)
        if short != 232:
            new_long = int(232 * long / short)
            image = image.resize((232, new_long) if w <= h else (new_long, 232), Image.Resampling.BILINEAR)
        w, h = image.size
        top, left = int(round((h - 224) / 2.0)), int(round((w - 224) / 2.0))
        crop = image.crop((left, top, left + 224, top + 224))
        arr = np.asarray(crop, dtype=np.float32) / np.float32(255.0)
        arr = (arr - self.MEAN) / self.STD
        return np.ascontiguousarray(arr.transpose(2, 0, 1))

    def embed_arrays(self, batch: np.ndarray) -> np.ndarray:
        import torch

        if self.graph is None:
            out = self.base.embed_arrays(batch)
        else:
            with torch.inference_mode():
                x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(torch.bfloat16)
                out = self.graph(x.contiguous(memory_format=torch.channels_last)).float().numpy()
        self.images_embedded += len(batch)
        return out


def run_prototypes(paintings, embedder, args) -> None:
    from artsim.images import load_image

    probe_imgs = [load_image(p.path, max_side=LOAD_MAX_SIDE) for p in paintings[:45]]
    for numpy_pre, frozen in ((True, False), (True, True)):
        t0 = time.perf_counter()
        proto = Prototype(embedder, args.batch_size, numpy_preprocess=numpy_pre, frozen=frozen)
        label = "(c) prototype: " + " + ".join(
            x for x, on in (("numpy preprocess", numpy_pre), ("frozen bf16 graph", frozen)) if on
        )
        print(f"{label} (setup {time.perf_counter() - t0:.1f} s)")
        a = np.stack([embedder.preprocess(im) for im in probe_imgs])
        b = np.stack([proto.preprocess(im) for im in probe_imgs])
        va, vb = embedder.embed_arrays(a), proto.embed_arrays(b)
        cos = (va * vb).sum(1) / np.linalg.norm(va, axis=1) / np.linalg.norm(vb, axis=1)
        print(
            f"  preprocess max |diff| vs the embedder's: {np.abs(a - b).max():.2e}; "
            f"min cosine of vectors over {len(probe_imgs)} images: {cos.min():.5f}"
        )
        stage_figures(paintings, proto, args.batch_size, args.workers)
        rate = run_artsim(paintings, proto, args.batch_size, args.workers, label, args.overlap)
        print(f"prototype_img_s={rate:.1f} ({label.removeprefix('(c) prototype: ')})")


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", required=True, help="folder of <Artist>/<image> files")
    ap.add_argument("--weights", help="ResNet-50 state-dict file (default: a freshly initialised one)")
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--limit", type=int, help="use only the first N files")
    ap.add_argument(
        "--total", type=int, default=135, help="repeat the list to this many images (default 135)"
    )
    ap.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    ap.add_argument("--workers", type=int, default=2, help="decode threads")
    ap.add_argument("--torch-threads", type=int, help="torch intra-op threads (default: torch's choice)")
    ap.add_argument("--overlap", action="store_true", help="let decode threads run while the model runs")
    ap.add_argument(
        "--omp-passive", action="store_true", help="set OMP_WAIT_POLICY=PASSIVE before importing torch"
    )
    ap.add_argument("--no-naive", action="store_true", help="skip the naive loop")
    ap.add_argument(
        "--prototype", action="store_true", help="also run (c), the frozen TorchScript bf16 graph"
    )
    args = ap.parse_args(argv)

    if args.omp_passive:
        if "torch" in sys.modules:
            print("warning: torch already imported; OMP_WAIT_POLICY has no effect", file=sys.stderr)
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    import torch

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    scan = scan_folder(args.images)
    files = scan.paintings[: args.limit] if args.limit else scan.paintings
    if not files:
        print(f"no images found in {args.images}", file=sys.stderr)
        return 2
    paintings = _expand(files, max(args.total, len(files)))
    print(
        f"{len(files)} files from {args.images}, repeated to {len(paintings)} images; "
        f"{os.cpu_count()} cores, torch {torch.__version__} with {torch.get_num_threads()} threads; "
        f"load average {os.getloadavg()[0]:.2f}"
    )

    with tempfile.TemporaryDirectory(prefix="artsim-bench-w-") as wtmp:
        weights = args.weights
        if weights is None and args.model == "resnet50":
            from torchvision.models import resnet50

            torch.manual_seed(0)
            weights = os.path.join(wtmp, "resnet50-random.pth")
            torch.save(resnet50(weights=None).state_dict(), weights)
            print(
                f"weights: none given, using a freshly initialised ResNet-50 saved to {weights} "
                "(throughput only; vectors are meaningless)"
            )
        embedder = get_embedder(
            args.model, weights=weights if args.model == "resnet50" else None, precision=args.precision
        )
        print(
            f"model: {embedder.name}, dim {embedder.dim}, precision {getattr(embedder, 'precision', '?')}, "
            f"fingerprint {embedder.fingerprint}"
        )

        naive = float("nan")
        if not args.no_naive:
            if args.model != "resnet50":
                print("(a) skipped: the naive loop is defined for resnet50")
            else:
                naive = run_naive([p.path for p in paintings], weights)

        print("(b) stages, each alone:")
        stage_figures(paintings, embedder, args.batch_size, args.workers)
        fast = run_artsim(
            paintings, embedder, args.batch_size, args.workers, "(b) artsim pipeline", args.overlap
        )

        if args.prototype and args.model == "resnet50":
            run_prototypes(paintings, embedder, args)

    print(f"load average at the end {os.getloadavg()[0]:.2f}; peak RSS {_rss_mb():.0f} MB")
    print(f"artsim_img_s={fast:.1f} naive_img_s={naive:.1f} speedup={fast / naive:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
