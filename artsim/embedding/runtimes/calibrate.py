"""Measure every faithful runtime of a model on this machine and keep the fastest (issue 22).

On a model's first use on a machine (or in the app's background, :mod:`dashboard.startup`),
:func:`ensure` builds each runtime the machine offers (:func:`candidates`), runs it on
synthetic images at the model's own batch shape (a few dozen in all), and times it:

- faithfulness and warm-up: :data:`IMAGES` synthetic pictures (smooth colour fields,
  shapes, grain) through the model's preprocessing; a runtime whose vectors fall
  below cosine :data:`~artsim.embedding.runtimes.choice.FAITHFUL_COSINE` of torch eager fp32's
  on any of them is dropped;
- speed: then that batch again, in rounds over all runtimes (:class:`BatchTimer`, which a
  test replaces with a table of rates); the rate is the batch size over the median batch time.

The choice is cached (:mod:`artsim.embedding.runtimes.choice`); a file lock lets one process
measure while the others wait for its answer. ``artsim models --measure
MODEL...`` measures in a child process (the app's background measurement).
"""

from __future__ import annotations

import fcntl
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from artsim import lazy
from artsim.embedding.runtimes import backends as rt
from artsim.embedding.runtimes import choice

torch = lazy.load("torch")  # the runtimes it times are torch's

#: Synthetic images for the faithfulness check and warm-up: one batch of the model's shape.
IMAGES = 8
#: Timing rounds (one batch of every runtime per round): at least ``MIN_ROUNDS``, until ``TIMED_S``
#: seconds per runtime have passed, at most ``MAX_ROUNDS``.
MIN_ROUNDS, MAX_ROUNDS, TIMED_S = 2, 6, 0.6
#: A runtime whose first timed batch runs below this share of the best one's is not timed further.
HOPELESS = 0.5

#: ``({runtime: run_one_batch}, batch_size) -> {runtime: img/s}``: how the runtimes are timed
#: (a test passes a table of rates instead).
Timer = Callable[[dict[str, Callable[[], Any]], int], dict[str, float]]


class BatchTimer:
    """The default :data:`Timer`: rounds of one batch of every runtime in turn, so that other work on
    a shared machine slows them all alike; img/s = batch size over each runtime's median batch time.

    At least ``min_rounds`` rounds and until ``timed_s`` seconds per runtime (at most
    ``max_rounds``). After the first round, runtimes below ``hopeless`` of the best one's
    rate drop out (they cannot win; the eager model often runs at a third of the others).
    """

    def __init__(self, min_rounds: int | None = None, max_rounds: int | None = None, timed_s: float | None = None,
                 hopeless: float | None = None) -> None:
        self.min_rounds = MIN_ROUNDS if min_rounds is None else min_rounds
        self.max_rounds = MAX_ROUNDS if max_rounds is None else max_rounds
        self.timed_s = TIMED_S if timed_s is None else timed_s
        self.hopeless = HOPELESS if hopeless is None else hopeless

    def __call__(self, runs: dict[str, Callable[[], Any]], batch_size: int) -> dict[str, float]:
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        active, rounds = list(runs), 0
        start = time.perf_counter()
        while active and rounds < self.max_rounds and (
            rounds < self.min_rounds or time.perf_counter() - start < self.timed_s * len(runs)
        ):
            for name in active:
                t0 = time.perf_counter()
                runs[name]()
                seconds[name].append(time.perf_counter() - t0)
            rounds += 1
            if rounds == 1:
                fastest = min(seconds[name][0] for name in active)
                active = [name for name in active if fastest / seconds[name][0] >= self.hopeless]
        return {name: batch_size / statistics.median(times) for name, times in seconds.items()}


def synthetic_images(n: int, seed: int = 0) -> list[Image.Image]:
    """``n`` RGB pictures with painting-like statistics: a smooth colour field, a few shapes, grain.

    Deterministic for a given ``seed``; sizes vary around 320 x 256 (portrait and landscape).
    """
    rng = np.random.default_rng(seed)
    images = []
    for i in range(n):
        w, h = (320, 256) if i % 2 else (256, 320)
        field = rng.integers(0, 256, size=(3, 4, 3), dtype=np.uint8)
        image = Image.fromarray(field).resize((w, h), Image.Resampling.BICUBIC)
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
            box = (x0, y0, x0 + int(rng.integers(10, w // 2)), y0 + int(rng.integers(10, h // 2)))
            colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
        pixels = np.asarray(image, dtype=np.int16) + rng.normal(0, 6, size=(h, w, 3)).astype(np.int16)
        images.append(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)))
    return images


def candidates() -> list[str]:
    """The runtimes this machine offers a torch model: CUDA where present, bf16 where the CPU has
    the instructions, ONNX Runtime where ``onnx`` is installed, frozen and eager torch fp32."""
    names = [rt.CUDA] if rt.cuda_present() else []
    if rt.cpu_has_native_bf16():
        names.append(rt.BF16_GRAPH)
    if rt.onnx_export_available():
        names.append(rt.ONNX_FP32)
    return [*names, rt.TORCH_FP32_FROZEN, rt.TORCH_FP32]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


def _runner(embedder: Any, chunk: np.ndarray) -> Callable[[], Any]:
    if embedder.runtime == rt.CUDA:
        return lambda: (embedder.embed_arrays(chunk), torch.cuda.synchronize())
    return lambda: embedder.embed_arrays(chunk)


def measure(
    embedder: Any,
    *,
    runtimes: Sequence[str] | None = None,
    images: int = IMAGES,
    inputs: np.ndarray | None = None,
    timer: Timer | None = None,
    log: Callable[[str], None] | None = None,
) -> choice.Measurement:
    """Time every runtime of ``embedder`` (a :class:`~artsim.embedding.runtimes.torch_embedder.TorchEmbedder`).

    Parameters
    ----------
    runtimes : sequence of str, optional
        Which to measure (default :func:`candidates`); torch eager fp32 is always measured:
        it is the reference.
    images : int
        Synthetic images for the faithfulness check (ignored with ``inputs``).
    inputs : ndarray, optional
        ``(n, 3, H, W)`` preprocessed inputs instead of synthetic ones (the benchmark's paintings).
    timer : callable, optional
        ``({runtime: run_one_batch}, batch_size) -> {runtime: img/s}``; default :class:`BatchTimer`.
    log : callable, optional
        Called with one line per runtime as it is measured.

    Returns
    -------
    Measurement
        Not saved (see :func:`ensure`). The runtimes built stay on the embedder
        (``embedder.built``): its ``load`` adopts the chosen one without building it again,
        and a second measurement reuses them.
    """
    t_start = time.perf_counter()
    timer = timer or BatchTimer()
    bs = int(embedder.freeze_batch_size)
    if inputs is None:
        inputs = np.stack([embedder.preprocess(im) for im in synthetic_images(images)])
    inputs = np.ascontiguousarray(inputs, dtype=np.float32)
    chunk = np.concatenate([inputs] * (-(-bs // len(inputs))))[:bs]
    names = list(dict.fromkeys([*(runtimes if runtimes is not None else candidates()), rt.TORCH_FP32]))
    t0 = time.perf_counter()
    eager = embedder.built.get(rt.TORCH_FP32) or embedder.sibling(rt.TORCH_FP32)
    reference = eager.embed_arrays(inputs)  # also builds the fp32 module the CPU siblings share
    embedder.built[rt.TORCH_FP32] = eager
    setup = {rt.TORCH_FP32: time.perf_counter() - t0}
    cosines: dict[str, float] = {}
    failed: dict[str, str] = {}
    runs: dict[str, Callable[[], Any]] = {}
    for name in names:
        try:
            t0 = time.perf_counter()
            other = embedder.built.get(name) or eager.sibling(name)
            other.load()
            if other.runtime != name:  # e.g. an ONNX export that failed fell back to eager
                failed[name] = f"not available: {other.runtime_reason}"
                continue
            vectors = other.embed_arrays(inputs)  # the faithfulness check is also the warm-up
        except Exception as exc:  # noqa: BLE001 - a runtime that cannot run here is not a candidate
            failed[name] = f"failed: {type(exc).__name__}: {str(exc)[:200]}"
            continue
        if name != rt.TORCH_FP32:
            setup[name] = time.perf_counter() - t0
        cosines[name] = float(_cosines(vectors, reference).min())
        runs[name] = _runner(other, chunk)
        embedder.built[name] = other
    rates = {name: float(rate) for name, rate in timer(runs, bs).items()}
    if log:
        for name in rates:
            log(f"{name:<20} {rates[name]:7.1f} img/s  min cos {cosines[name]:.5f}  setup {setup[name]:.1f} s")
    chosen, runner_up, dropped = choice.pick(rates, cosines)
    return choice.Measurement(
        model=embedder.name, weights_digest=embedder.weights_digest, rates=rates, cosines=cosines,
        dropped={**dropped, **failed}, chosen=chosen, runner_up=runner_up,
        setup={n: round(v, 2) for n, v in setup.items()}, seconds=round(time.perf_counter() - t_start, 2),
        batch_size=bs, images=len(inputs), key=choice.machine_key(),
    )


def ensure(embedder: Any, **kw: Any) -> choice.Measurement:
    """The cached measurement of ``embedder``'s model on this machine, measuring it first if there is none.

    One process measures at a time (a file lock beside the record); the others wait
    and read its answer. ``kw`` go to :func:`measure`.
    """
    found = choice.load(embedder.name, embedder.weights_digest)
    if found is not None:
        return found
    path = choice.record_path(embedder.name, embedder.weights_digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = choice.load(embedder.name, embedder.weights_digest)
        if found is not None:
            return found
        measured = measure(embedder, **kw)
        choice.save(measured)
        return measured
