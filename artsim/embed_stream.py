"""Fast embedding of many paintings: decode in threads, infer in batches, memory flat.

Decoding a JPEG, resizing it, the embedder's ``preprocess`` and the thumbnail
run in a small thread pool (Pillow and numpy release the GIL); the model runs
in the calling thread. At most ``2 * batch_size + workers`` paintings are in
flight, so memory does not grow with the number of paintings.

Phases, not overlap (the default). On this 2-core machine both stages are
CPU-bound and the model already uses both cores through OpenMP. Decoding while
the model runs takes a core from one OpenMP thread and the others spin at the
next barrier, so the model slows more than decoding gains. By default the
pipeline therefore alternates: the workers decode the next batch while the
caller handles the current one, then the model runs alone. Measured on 135
gallery images (img/s in phases vs overlapped): ResNet-50 with a numpy
preprocess and a frozen bf16 graph at batch 8, 52 vs 45; EfficientNet-Lite0,
55 vs 54; style, 73 vs 70. With the oneDNN Graph (LLGA) fused graph, loading
at 232 px and cheaper thumbnails: ResNet-50 about 83 vs 68; one decode thread
overlapped with a 1-thread model, about 63. ``overlap=True`` keeps the
continuous read-ahead.
It wins only when ``preprocess`` runs torch ops in the worker threads, as
torchvision's transforms do (each worker thread then starts its own OpenMP
team): ResNet-50 as shipped, about 31 vs 36.

Images are loaded with :func:`artsim.images.load_image` at ``max_side`` equal
to the embedder's ``load_max_side`` if it has one, else :data:`LOAD_MAX_SIDE`,
and reduced to it with the embedder's ``load_resample`` filter if it has one,
else Lanczos. JPEG draft mode then decodes a 1-2 MP file at 1/4 scale instead
of 1/2, which costs 8 ms per image rather than 13 ms. Draft mode scales in the
DCT domain and ``load_image`` finishes with an antialiased filter, so no 2x
margin is needed. 256 px is the largest model input here (style), so no model
sees an upscaled image. ResNet-50 asks for 232 px, bilinear (its own resize),
so its ``preprocess`` only crops and normalises. These values change vectors
slightly, and vectors are cached by fingerprint, so they are part of each
embedder's preprocessing version rather than tuning knobs.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from artsim.errors import ImageError
from artsim.images import load_image, thumbnail_jpeg

if TYPE_CHECKING:
    from artsim.collection import Painting
    from artsim.embedding.base import Embedder

__all__ = ["DEFAULT_BATCH_SIZE", "LOAD_MAX_SIDE", "THUMBNAIL_SIZE", "EmbedStream", "embed_paintings"]

LOAD_MAX_SIDE = 256
"""Shorter side (pixels) images are reduced to before the embedder's ``preprocess``
(unless the embedder sets ``load_max_side``)."""

DEFAULT_BATCH_SIZE = 8
"""Images per forward pass: on a 2-core CPU the frozen bf16 graphs run in chunks of
8 (``TorchEmbedder.freeze_batch_size``; ResNet-50 about 165-180 img/s model-only), and
smaller phases keep the decode/model hand-off short (benchmarks/README.md)."""

THUMBNAIL_SIZE = 160
"""Longer side of the JPEG thumbnails made while decoding (pixels)."""

THUMBNAIL_QUALITY = 75
"""JPEG quality of those thumbnails (hover previews: 75 is plenty, and smaller)."""

Batch = tuple[list["Painting"], np.ndarray, list[bytes]]


def _prepare(
    painting: Painting, embedder: Embedder, max_side: int, thumbnails: bool
) -> tuple[np.ndarray, bytes]:
    """Worker-thread job: file -> (model input array, thumbnail JPEG bytes or b'')."""
    resample = getattr(embedder, "load_resample", Image.Resampling.LANCZOS)
    image = load_image(painting.path, name=painting.path, max_side=max_side, resample=resample)
    array = embedder.preprocess(image)
    thumb = thumbnail_jpeg(image, THUMBNAIL_SIZE, quality=THUMBNAIL_QUALITY) if thumbnails else b""
    return array, thumb


class EmbedStream:
    """Iterator over embedded batches ``(paintings, vectors (n, dim) float32, thumbnails)``.

    Batches come in the order of the input, without the paintings that could not
    be loaded; those are in :attr:`skipped` as ``(path, reason)`` once iteration
    has passed them. :attr:`done` counts paintings handled so far (embedded or
    skipped). Closing the stream (or leaving a ``with`` block, or dropping a
    half-consumed iteration) stops the decode threads.
    """

    def __init__(
        self,
        paintings: Sequence[Painting],
        embedder: Embedder,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        workers: int = 2,
        progress: Callable[[int, int], None] | None = None,
        thumbnails: bool = True,
        max_side: int | None = None,
        overlap: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.paintings = list(paintings)
        self.embedder = embedder
        self.batch_size = batch_size
        self.workers = workers
        self.progress = progress
        self.thumbnails = thumbnails
        self.max_side = int(max_side or getattr(embedder, "load_max_side", None) or LOAD_MAX_SIDE)
        self.overlap = overlap
        self.skipped: list[tuple[str, str]] = []
        self.done = 0
        self.embedded = 0
        self._gen: Iterator[Batch] | None = None

    def __iter__(self) -> Iterator[Batch]:
        if self._gen is None:
            self._gen = self._run()
        return self._gen

    def __next__(self) -> Batch:
        return next(iter(self))

    def __enter__(self) -> EmbedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop decoding and release the worker threads."""
        if self._gen is not None:
            self._gen.close()  # runs the generator's finally: cancels pending work

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.done, len(self.paintings))

    def _run(self) -> Iterator[Batch]:
        total = len(self.paintings)
        if total == 0:
            self._report()
            return
        bs = self.batch_size
        ahead = 2 * bs + self.workers
        pool = ThreadPoolExecutor(max_workers=min(self.workers, total), thread_name_prefix="artsim-decode")
        pending: deque[tuple[Painting, Future[tuple[np.ndarray, bytes]]]] = deque()
        todo = iter(self.paintings)

        def submit(limit: int) -> None:
            """Keep up to ``limit`` paintings queued or decoding."""
            while len(pending) < limit:
                p = next(todo, None)
                if p is None:
                    return
                pending.append((p, pool.submit(_prepare, p, self.embedder, self.max_side, self.thumbnails)))

        try:
            while True:
                batch: list[Painting] = []
                arrays: list[np.ndarray] = []
                thumbs: list[bytes] = []
                while len(batch) < bs:
                    # overlap: keep a window decoding ahead; phases: only what this batch still needs
                    submit(ahead if self.overlap else bs - len(batch))
                    if not pending:
                        break
                    painting, future = pending.popleft()
                    try:
                        array, thumb = future.result()
                    except ImageError as exc:
                        self.skipped.append((painting.path, exc.reason))
                        self.done += 1
                        continue
                    except OSError as exc:  # e.g. the disk went away mid-read
                        self.skipped.append((painting.path, f"cannot read file ({exc.strerror or exc})"))
                        self.done += 1
                        continue
                    batch.append(painting)
                    arrays.append(array)
                    thumbs.append(thumb)
                if not batch:
                    break
                result = self._embed(batch, arrays, thumbs)
                if not self.overlap:
                    submit(bs)  # decode the next batch while the caller handles this one
                yield result
            self._report()
        finally:
            for _, future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def _embed(self, batch: list[Painting], arrays: list[np.ndarray], thumbs: list[bytes]) -> Batch:
        stacked = np.stack(arrays)
        arrays.clear()
        vectors = np.asarray(self.embedder.embed_arrays(stacked), dtype=np.float32)
        if vectors.shape != (len(batch), self.embedder.dim):
            raise ValueError(
                f"embedder {self.embedder.name!r} returned shape {vectors.shape}, "
                f"expected {(len(batch), self.embedder.dim)}"
            )
        self.done += len(batch)
        self.embedded += len(batch)
        self._report()
        return batch, vectors, thumbs


def embed_paintings(
    paintings: Sequence[Painting],
    embedder: Embedder,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
    thumbnails: bool = True,
    overlap: bool = False,
) -> EmbedStream:
    """Embed paintings in batches, decoding ahead in ``workers`` threads.

    Parameters
    ----------
    paintings : sequence of Painting
        Files to embed (``path`` is read).
    embedder : Embedder
        ``preprocess`` runs in the worker threads, ``embed_arrays`` in the caller's.
    batch_size : int
        Images per forward pass (the last batch may be smaller).
    workers : int
        Decode threads; ``min(workers, os.cpu_count())`` is a sensible bound.
    progress : callable(done, total), optional
        Called after each batch with paintings handled so far (embedded + skipped).
    thumbnails : bool
        Also make a ~160 px JPEG thumbnail of each image (bytes; b'' if False).
    overlap : bool
        Decode continuously while the model runs instead of in phases (see the module notes).

    Returns
    -------
    EmbedStream
        Iterate it for ``(paintings, vectors (n, dim) float32, thumbnails)`` batches
        in input order; ``.skipped`` lists ``(path, reason)`` of files that failed.
    """
    return EmbedStream(
        paintings,
        embedder,
        batch_size=batch_size,
        workers=max(1, min(workers, (os.cpu_count() or 1) * 2)),
        progress=progress,
        thumbnails=thumbnails,
        overlap=overlap,
    )
