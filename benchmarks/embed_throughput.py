"""Embedding throughput on this machine: the naive loop, artsim's measurement of its runtimes, each
runtime model-only, and artsim end to end.

Usage::

    .venv/bin/python benchmarks/embed_throughput.py --images ../shared/gallery
    .venv/bin/python benchmarks/embed_throughput.py --images ../shared/gallery --precision fp32
    .venv/bin/python benchmarks/embed_throughput.py --images DIR --model efficientnet-lite0 --total 500

(a) naive: per file, PIL opens the whole file, ``convert("RGB")``, the model's
reference preprocessing (for ResNet-50 bit-identical to torchvision's
``IMAGENET1K_V2`` transform), one eager fp32 forward pass per image.
(b) artsim's own measurement (:mod:`artsim.embedding.runtimes.calibrate`), as on a model's
first use on a machine: every runtime timed briefly on synthetic images, the
fastest faithful one chosen; its cost (``measure_s``, once per machine) and the
cost of reading the choice back on a later start (``lookup_ms``).
(c) each runtime this machine offers, model only, batch ``--batch-size``, timed for
longer on preprocessed gallery inputs, with the cosine of its vectors to eager torch
fp32 (faithful: >= 0.995). The ceiling is the fastest faithful model-only rate
measured here, whatever ``--precision`` asks of artsim; artsim's runtime should be
that one or within 5% of it (``runtime_of_ceiling``).
(d) artsim: :func:`artsim.indexing.pipeline.embed_with_cache` into a fresh LanceDB with the
runtime artsim chose in (b) for ``--precision``: threaded decode (JPEG draft to 2x the
input side, one resample) + preprocess + thumbnails, batched inference, writes,
compaction; decode alone (1 thread, and ``--workers`` threads); and the
decode/model stream alone, in phases and overlapped.

Decode and inference share the cores: the model uses all of them, and so do the
decode threads. End to end is then bounded by ``1 / (1/decode + 1/model)``
(``decode`` with ``--workers`` threads, ``model`` the chosen runtime's model-only
rate), printed as ``bound_img_s`` with ``of_bound``, artsim's share of it.

The image list is repeated to ``--total`` entries (each repeat its own key, so
nothing is served from the cache). Without ``--weights`` ResNet-50 runs with its
real ImageNet weights (Keras', fetched and converted once into ``ARTSIM_HOME``);
``--random-weights`` uses a freshly initialised one instead (same cost, no fetch);
``--model efficientnet-lite0`` uses its real weights. ONNX exports and the
measurement go to a temporary ``ARTSIM_HOME``. Ends with one line
``artsim_img_s=<..> naive_img_s=<..> ceiling_img_s=<..> of_ceiling=<..> bound_img_s=<..> of_bound=<..>
speedup=<..> runtime=<..> runtime_img_s=<..> runtime_of_ceiling=<..> ceiling_runtime=<..> runner_up=<..>
measure_s=<..> lookup_ms=<..>``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artsim.embedding import get_embedder  # noqa: E402
from artsim.embedding.runtimes import backends as rt  # noqa: E402
from artsim.embedding.runtimes import calibrate, choice  # noqa: E402
from artsim.indexing.embed_stream import DEFAULT_BATCH_SIZE, _prepare, embed_paintings  # noqa: E402
from artsim.inputs.collection import Painting, scan_folder  # noqa: E402


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _line(label: str, n: int, seconds: float, extra: str = "") -> float:
    rate = n / seconds if seconds > 0 else float("inf")
    print(f"  {label:<44} {n:6d} img {seconds:8.2f} s {rate:8.1f} img/s {extra}", flush=True)
    return rate


def _expand(paintings: list[Painting], total: int) -> list[Painting]:
    """Repeat the list to ``total`` entries, each repeat with its own sha256 key."""
    out = []
    for i in range(total):
        p = paintings[i % len(paintings)]
        rep = i // len(paintings)
        key = p.sha256 if rep == 0 else hashlib.sha256(f"{p.sha256}:{rep}".encode()).hexdigest()
        out.append(dataclasses.replace(p, sha256=key))
    return out


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def run_naive(paths: list[str], make) -> float:
    """(a) full decode, reference preprocessing, eager fp32 at batch 1."""
    import torch
    from PIL import Image

    embedder = make(runtime=rt.TORCH_FP32, reference=True)
    model = embedder.model

    def one(path: str) -> None:
        with Image.open(path) as im:
            x = embedder.preprocess(im.convert("RGB"))
        with torch.inference_mode():
            embedder._features(model, torch.from_numpy(x[None]))

    one(paths[0])  # warm-up
    t0 = time.perf_counter()
    for path in paths:
        one(path)
    print("(a) naive loop: full decode, reference preprocessing, eager fp32, batch 1")
    return _line("end to end", len(paths), time.perf_counter() - t0)


def run_measurement(chosen, make, precision: str) -> tuple[choice.Measurement, float]:
    """(b) artsim's measurement of this machine, as on a model's first use; and a later start's lookup."""
    print("(b) artsim's measurement of this machine (once per machine; synthetic images, "
          f"batch {chosen.freeze_batch_size})", flush=True)
    t0 = time.perf_counter()
    measured = calibrate.ensure(chosen)
    wall = time.perf_counter() - t0
    for line in measured.table():
        print(f"  {line}")
    t0 = time.perf_counter()
    later = make(precision=precision)  # a later start: the handle reads the cached choice
    runtime, why = later.runtime, later.runtime_reason
    lookup_ms = 1000 * (time.perf_counter() - t0)
    print(f"  measured in {wall:.1f} s; a later start reads it back in {lookup_ms:.1f} ms: {runtime} ({why})")
    return measured, lookup_ms


def run_runtimes(chosen, batch: np.ndarray, bs: int) -> choice.Measurement:
    """(c) model-only rate and faithfulness of each runtime available here, timed for longer on paintings."""
    print(f"(c) model only, batch {bs}, {len(batch)} preprocessed paintings; cosine to eager fp32", flush=True)
    timer = calibrate.BatchTimer(min_rounds=4, max_rounds=24, timed_s=3.0, hopeless=0.0)
    measured = calibrate.measure(chosen, inputs=batch, timer=timer)  # reuses the runtimes (b) built
    for line in measured.table():
        print(f"  {line}")
    return measured


def run_artsim(paintings: list[Painting], embedder, bs: int, workers: int) -> tuple[float, float]:
    """(d) embed_with_cache into a fresh store; decode alone; the stream alone, in phases and overlapped.

    Returns (end-to-end rate, decode rate with ``workers`` threads).
    """
    from concurrent.futures import ThreadPoolExecutor

    from artsim.indexing.pipeline import embed_with_cache
    from artsim.store.vectors import EmbeddingStore

    print(f"(d) artsim, runtime {embedder.runtime} ({embedder.runtime_reason}), batch {bs}, {workers} threads")
    sample = paintings[: min(len(paintings), 180)]  # about a second of decoding: a steadier rate
    t0 = time.perf_counter()
    embedder.load()  # build the runtime (freeze or export) outside the timed runs, then warm it up
    embedder.embed_arrays(np.stack([_prepare(p, embedder, embedder.load_max_side, False)[0] for p in sample[:bs]]))
    print(f"  runtime built and warmed up in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    for p in sample:
        _prepare(p, embedder, embedder.load_max_side, True)
    _line("decode+preprocess+thumb (1 thread)", len(sample), time.perf_counter() - t0)
    with ThreadPoolExecutor(workers) as pool:
        t0 = time.perf_counter()
        list(pool.map(lambda p: _prepare(p, embedder, embedder.load_max_side, True), sample))
        decode = _line(f"decode+preprocess+thumb ({workers} threads)", len(sample), time.perf_counter() - t0)
    for overlap in (False, True):
        t0 = time.perf_counter()
        with embed_paintings(sample, embedder, batch_size=bs, workers=workers, overlap=overlap) as stream:
            n = sum(len(b) for b, _, _ in stream)
        _line(f"stream only, {'overlapped' if overlap else 'in phases'}", n, time.perf_counter() - t0)
    with tempfile.TemporaryDirectory(prefix="artsim-bench-db-") as tmp:
        warm = [dataclasses.replace(p, sha256="w" + p.sha256[1:]) for p in paintings[:bs]]
        embed_with_cache(EmbeddingStore(os.path.join(tmp, "warm")), warm, embedder, batch_size=bs)
        store = EmbeddingStore(os.path.join(tmp, "db"))
        t0 = time.perf_counter()
        result = embed_with_cache(store, paintings, embedder, batch_size=bs)
        wall = time.perf_counter() - t0
        t1 = time.perf_counter()
        again = embed_with_cache(store, paintings, embedder, batch_size=bs)
        cached_s = time.perf_counter() - t1
        assert again.new == 0
    rate = _line("end to end (store writes, compaction)", len(paintings), wall, f"peak RSS {_rss_mb():.0f} MB")
    _line("second call (all cached)", len(paintings), cached_s)
    if result.skipped:
        print(f"  skipped {len(result.skipped)}: {result.skipped[:3]}")
    return rate, decode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", required=True, help="folder of <Artist>/<image> files")
    ap.add_argument("--weights", help="ResNet-50 state-dict file (default: the real ImageNet weights)")
    ap.add_argument("--random-weights", action="store_true", help="a freshly initialised ResNet-50 instead")
    ap.add_argument("--model", default="resnet50", choices=["resnet50", "efficientnet-lite0"])
    ap.add_argument("--total", type=int, default=135, help="repeat the list to this many images")
    ap.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    ap.add_argument("--workers", type=int, default=rt.cpu_threads(), help="decode threads (default: the cores)")
    ap.add_argument("--naive-images", type=int, default=45, help="images through the naive loop")
    args = ap.parse_args(argv)

    files = scan_folder(args.images).paintings
    if not files:
        print(f"no images found in {args.images}", file=sys.stderr)
        return 2
    paintings = _expand(files, max(args.total, len(files)))
    flags = rt.cpu_flags()
    print(
        f"{len(files)} files from {args.images}, repeated to {len(paintings)}; {choice.machine_key()['cpu']}, "
        f"{os.cpu_count()} cores, "
        f"avx512_bf16 {'avx512_bf16' in flags}, amx_bf16 {'amx_bf16' in flags}, avx2 {'avx2' in flags}, "
        f"GPU {rt.cuda_present()}; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    weights = args.weights
    if weights is None and args.model == "resnet50" and not args.random_weights:
        from artsim.embedding.weights import resolve_resnet50_weights

        weights = resolve_resnet50_weights().path  # before ARTSIM_HOME moves below
        print(f"weights: {weights} (real ImageNet weights)")
    with tempfile.TemporaryDirectory(prefix="artsim-bench-") as tmp:
        os.environ["ARTSIM_HOME"] = os.path.join(tmp, "home")  # ONNX exports: measured, not reused
        if weights is None and args.model == "resnet50":
            import torch
            from torchvision.models import resnet50

            torch.manual_seed(0)
            weights = os.path.join(tmp, "resnet50-random.pth")
            torch.save(resnet50(weights=None).state_dict(), weights)
            print("weights: a freshly initialised ResNet-50 (throughput only)")

        def make(**kw):
            extra = {"weights": weights} if args.model == "resnet50" else {}
            return get_embedder(args.model, **extra, **kw)

        naive = run_naive([p.path for p in paintings[: args.naive_images]], make)
        chosen = make(precision=args.precision)
        measured, lookup_ms = run_measurement(chosen, make, args.precision)
        sample = files[: min(len(files), 16)]
        batch = np.stack([_prepare(p, chosen, chosen.load_max_side, False)[0] for p in sample])
        bench = run_runtimes(chosen, batch, args.batch_size)
        ceiling_name = bench.chosen
        ceiling = bench.rates[ceiling_name]
        model = bench.rates.get(chosen.runtime, float("nan"))
        print(f"  ceiling: {ceiling_name} {ceiling:.1f} img/s (the fastest faithful runtime here); artsim runs "
              f"{chosen.runtime} at {model:.1f} img/s = {model / ceiling:.2f} of it", flush=True)
        fast, decode = run_artsim(paintings, chosen, args.batch_size, args.workers)
    if "cuda" in chosen.runtime:  # the model leaves the cores to decoding: the slower stage bounds
        bound, why = min(decode, model), f"min({decode:.1f}, {model:.1f}): decode on the CPU, the model on the GPU"
    else:
        bound = 1 / (1 / decode + 1 / model)
        why = f"decode and {chosen.runtime} share the {rt.cpu_threads()} cores: 1 / (1/{decode:.1f} + 1/{model:.1f})"
    print(f"load average at the end {os.getloadavg()[0]:.2f}; peak RSS {_rss_mb():.0f} MB")
    print(f"bound: {why}")
    print(
        f"artsim_img_s={fast:.1f} naive_img_s={naive:.1f} ceiling_img_s={ceiling:.1f} "
        f"of_ceiling={fast / ceiling:.2f} bound_img_s={bound:.1f} of_bound={fast / bound:.2f} "
        f"speedup={fast / naive:.2f} runtime={chosen.runtime} runtime_img_s={model:.1f} "
        f"runtime_of_ceiling={model / ceiling:.2f} ceiling_runtime={ceiling_name} "
        f"runner_up={measured.runner_up} measure_s={measured.seconds:.1f} lookup_ms={lookup_ms:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
