"""Fast embedding of many paintings: decode in threads, infer in batches, memory flat, failures per file.

Decoding a JPEG, resizing it, the embedder's ``preprocess`` and the thumbnail
run in a small thread pool (Pillow and numpy release the GIL); the model runs
in the calling thread. At most ``PHASE_BATCHES * batch_size`` paintings (on a
GPU ``3 * batch_size + workers``) are decoded and not yet embedded, so memory
does not grow with the number of paintings.

Phases or overlap, whichever measured faster (benchmarks/README.md): on the
CPU both stages need every core (the model through OpenMP, decoding in one
thread per core), so the workers decode a phase of :data:`PHASE_BATCHES`
batches, then the model runs alone on them (a decode thread beside the model
made both slower on 2 cores: 64 against 78 img/s). A phase of several batches
leaves the cores idle less often than one of a single batch, since the
threads finish at most one image apart (84 against 78 img/s). A GPU runtime
leaves the cores to decoding, so there the workers keep decoding ahead while
the model runs.

Images are loaded with :func:`artsim.inputs.images.load_image` as the embedder says
(``load_max_side``, ``load_draft_side``, ``load_resample``; else
:data:`LOAD_MAX_SIDE` and Lanczos): JPEGs decode at a reduced DCT scale, no model
sees an upscaled image, and the thumbnail comes from the same decoded image.
These values change vectors, so they are part of each embedder's preprocessing
version (fingerprint), not tuning knobs.

A failure stays with its file. Any exception while decoding one painting
(``MemoryError`` included) skips that painting with a plain reason. If the
model raises on a batch, the batch is run again one painting at a time, so
only the culprit is skipped; so is a painting whose vector is not finite. Only
errors about the model itself (missing weights or runtime) end the stream.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from artsim import lazy
from artsim.indexing.failures import SETUP_ERRORS, decode_reason, model_reason
from artsim.inputs.images import load_image, thumbnail_jpeg

# cpu_threads only: storage modules import no model package (not even the registry) at import time
backends = lazy.load("artsim.embedding.runtimes.backends")

if TYPE_CHECKING:
    from artsim.embedding.base import Embedder
    from artsim.inputs.collection import Painting

__all__ = ["DEFAULT_BATCH_SIZE", "LOAD_MAX_SIDE", "THUMBNAIL_SIZE", "EmbedStream", "embed_batch", "embed_paintings"]

LOAD_MAX_SIDE = 256
"""Shorter side images are reduced to before ``preprocess`` (unless the embedder sets ``load_max_side``)."""

DEFAULT_BATCH_SIZE = 8
"""Images per forward pass: on a 2-core CPU the frozen bf16 graphs run in chunks of
8 (``TorchEmbedder.freeze_batch_size``; ResNet-50 about 165-200 img/s model-only)."""

PHASE_BATCHES = 4
"""Batches decoded per phase on the CPU (module notes): 32 images at batch 8 measured fastest,
ahead of 8, 16 and 64 (benchmarks/README.md)."""

THUMBNAIL_SIZE, THUMBNAIL_QUALITY = 160, 75
"""Longer side (pixels) and JPEG quality of the thumbnails made while decoding (hover previews)."""

Batch = tuple[list["Painting"], np.ndarray, list[bytes]]

def _prepare(painting: Painting, embedder: Embedder, max_side: int, thumbnails: bool) -> tuple[np.ndarray, bytes]:
    """Worker-thread job: file -> (model input array, thumbnail JPEG bytes or b'')."""
    resample = getattr(embedder, "load_resample", Image.Resampling.LANCZOS)
    draft = getattr(embedder, "load_draft_side", None)
    image = load_image(painting.path, name=painting.path, max_side=max_side, resample=resample, draft_side=draft)
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
        overlap: bool | None = None,
        phase: int | None = None,
    ) -> None:
        for what, value in (("batch_size", batch_size), ("workers", workers)):
            if value < 1:
                raise ValueError(f"{what} must be >= 1, got {value}")
        self.paintings = list(paintings)
        self.embedder = embedder
        self.batch_size = batch_size
        self.workers = workers
        self.progress = progress
        self.thumbnails = thumbnails
        self.max_side = int(max_side or getattr(embedder, "load_max_side", None) or LOAD_MAX_SIDE)
        self.overlap = _gpu_runtime(embedder) if overlap is None else overlap
        self.phase = max(batch_size, phase or PHASE_BATCHES * batch_size)
        self.skipped: list[tuple[str, str]] = []
        self.done = self.embedded = 0
        self._gen: Iterator[Batch | None] | None = None

    def start(self) -> EmbedStream:
        """Begin decoding now, before the first batch is asked for (the caller may work meanwhile)."""
        if self._gen is None:
            self._gen = self._run()
            next(self._gen)  # runs up to the first submission to the decode threads
        return self

    def __iter__(self) -> Iterator[Batch]:
        self.start()
        return self._gen  # type: ignore[return-value] - past its first (None) item

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

    def _run(self) -> Iterator[Batch | None]:
        total = len(self.paintings)
        if total == 0:
            self._report()
            yield None  # what start() waits for
            return
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
            submit(2 * self.batch_size + self.workers if self.overlap else self.phase)
            yield None  # what start() waits for
            yield from (self._overlapped(pending, submit) if self.overlap else self._phases(pending, submit))
            self._report()
        finally:
            for _, future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def _take(self, pending: deque, batch: list, arrays: list, thumbs: list) -> None:
        """Move the oldest decoded painting from ``pending`` into the batch, or skip it with its reason."""
        painting, future = pending.popleft()
        try:
            array, thumb = future.result()
        except SETUP_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure stays with its file
            self._skip(painting, decode_reason(exc))
            return
        batch.append(painting)
        arrays.append(array)
        thumbs.append(thumb)

    def _overlapped(self, pending: deque, submit: Callable[[int], None]) -> Iterator[Batch]:
        """A window of ``2 * batch_size + workers`` paintings keeps decoding while the model runs."""
        bs = self.batch_size
        while True:
            batch, arrays, thumbs = [], [], []  # paintings, model inputs, thumbnail bytes
            while len(batch) < bs:
                submit(2 * bs + self.workers)
                if not pending:
                    break
                self._take(pending, batch, arrays, thumbs)
            if not batch:
                return
            result = self._embed(batch, arrays, thumbs)
            if result[0]:
                yield result

    def _phases(self, pending: deque, submit: Callable[[int], None]) -> Iterator[Batch]:
        """Decode ``phase`` paintings on every core, then run the model alone on them, batch by batch.

        The decode threads finish a phase one image apart at worst, so longer phases
        leave the cores idle less often; the next phase starts before the last batch
        is handed to the caller.
        """
        bs = self.batch_size  # the first phase was submitted by _run
        while pending:
            wait([future for _, future in pending])  # the model never runs beside a decode
            decoded = deque(pending)
            pending.clear()
            while decoded:
                batch, arrays, thumbs = [], [], []
                while decoded and len(batch) < bs:
                    self._take(decoded, batch, arrays, thumbs)
                result = self._embed(batch, arrays, thumbs) if batch else None
                if not decoded:
                    submit(self.phase)  # decode the next phase while the caller handles this batch
                if result and result[0]:
                    yield result

    def _skip(self, painting: Painting, reason: str) -> None:
        self.skipped.append((painting.path, reason))
        self.done += 1

    def _embed(self, batch: list[Painting], arrays: list[np.ndarray], thumbs: list[bytes]) -> Batch:
        result, failed = embed_batch(self.embedder, batch, arrays, thumbs)
        arrays.clear()
        for painting, reason in failed:
            self._skip(painting, reason)
        self.done += len(result[0])
        self.embedded += len(result[0])
        self._report()
        return result


def _gpu_runtime(embedder: Embedder) -> bool:
    """Whether the model runs off the CPU, leaving its cores to the decode threads."""
    return "cuda" in str(getattr(embedder, "runtime", ""))


def _forward(embedder: Embedder, arrays: list[np.ndarray]) -> np.ndarray:
    """Stacked arrays through the model -> ``(n, dim)`` float32 (shape checked)."""
    vectors = np.asarray(embedder.embed_arrays(np.stack(arrays)), dtype=np.float32)
    if vectors.shape != (len(arrays), embedder.dim):
        raise ValueError(
            f"embedder {embedder.name!r} returned shape {vectors.shape}, expected {(len(arrays), embedder.dim)}"
        )
    return vectors


def embed_batch(
    embedder: Embedder, batch: list[Painting], arrays: list[np.ndarray], thumbs: list[bytes]
) -> tuple[Batch, list[tuple[Painting, str]]]:
    """One batch through the model; if it raises, again one painting at a time so only the culprit fails.

    ``batch`` holds ``n`` paintings, ``arrays`` their ``preprocess`` outputs, ``thumbs`` their thumbnails.

    Returns
    -------
    (paintings, vectors (m, dim) float32, thumbnails), [(painting, reason)]
        What was embedded (input order), and the ``n - m`` paintings that failed,
        including any whose vector is not finite. :data:`SETUP_ERRORS` propagate.
    """
    failed: list[tuple[Painting, str]] = []
    try:
        parts = [(batch, _forward(embedder, arrays), thumbs)]
    except SETUP_ERRORS:
        raise
    except Exception as exc:  # noqa: BLE001 - isolate the painting that caused it
        parts = []
        if len(batch) == 1:
            failed.append((batch[0], model_reason(exc, embedder.name)))
        else:
            for painting, array, thumb in zip(batch, arrays, thumbs, strict=True):
                try:
                    parts.append(([painting], _forward(embedder, [array]), [thumb]))
                except SETUP_ERRORS:
                    raise
                except Exception as one:  # noqa: BLE001
                    failed.append((painting, model_reason(one, embedder.name)))
    kept, vectors, kept_thumbs = [], [], []  # what is embedded: paintings, vectors, thumbnails
    for paintings, vecs, pics in parts:
        for painting, vec, thumb in zip(paintings, vecs, pics, strict=True):
            if np.isfinite(vec).all():
                kept.append(painting)
                vectors.append(vec)
                kept_thumbs.append(thumb)
            else:
                failed.append((painting, f"the {embedder.name} model gave a vector with NaN or infinity"))
    failed.sort(key=lambda item: next(i for i, p in enumerate(batch) if p is item[0]))  # input order
    matrix = np.stack(vectors) if vectors else np.zeros((0, embedder.dim), np.float32)
    return (kept, matrix, kept_thumbs), failed


def embed_paintings(
    paintings: Sequence[Painting],
    embedder: Embedder,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    thumbnails: bool = True,
    overlap: bool | None = None,
    phase: int | None = None,
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
    workers : int, optional
        Decode threads (default: one per core this process may use; at most twice that).
    progress : callable(done, total), optional
        Called after each batch with paintings handled so far (embedded + skipped).
    thumbnails : bool
        Also make a ~160 px JPEG thumbnail of each image (bytes; b'' if False).
    overlap : bool, optional
        Decode continuously while the model runs instead of in phases; default: only
        when the model runs on a GPU (see the module notes).

    Returns
    -------
    EmbedStream
        Iterate it for ``(paintings, vectors (n, dim) float32, thumbnails)`` batches
        in input order; ``.skipped`` lists ``(path, reason)`` of files that failed.
    """

    cores = backends.cpu_threads()
    workers = max(1, min(workers or cores, 2 * cores))
    return EmbedStream(paintings, embedder, batch_size=batch_size, workers=workers, progress=progress,
                       thumbnails=thumbnails, overlap=overlap, phase=phase)
