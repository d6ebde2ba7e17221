"""artsim.indexing.embed_stream and artsim.indexing.pipeline: threaded decode, batched model, failures per file, store cache."""

from __future__ import annotations

import io
import os
import threading
import time

import numpy as np
import pytest
from PIL import Image

from artsim.errors import StoreError
from artsim.indexing.embed_stream import LOAD_MAX_SIDE, PHASE_BATCHES, THUMBNAIL_SIZE, embed_paintings
from artsim.indexing.pipeline import EmbedResult, embed_with_cache
from artsim.inputs.collection import Painting
from artsim.inputs.images import load_image, sha256_file
from artsim.store.vectors import EmbeddingStore
from tests.helpers import TinyEmbedder
from tests.writers import PixelEmbedder, make_images, write


def _make_images(folder, n, seed=0, size=(600, 420)):
    """n smooth random colour images (alternating JPEG/PNG) -> Paintings."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        w, h = size if i % 3 else size[::-1]
        base = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        im = Image.fromarray(base).resize((w, h), Image.Resampling.BICUBIC)
        path = folder / (f"img{i:03d}.jpg" if i % 2 == 0 else f"img{i:03d}.png")
        im.save(path, quality=90) if path.suffix == ".jpg" else im.save(path)
        out.append(Painting(sha256=sha256_file(path), path=str(path), artist=f"A{i % 3}", title=f"t{i}"))
    return out


def _broken(folder):
    good = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 10, 10)).save(good, format="JPEG")
    trunc = folder / "truncated.jpg"
    trunc.write_bytes(good.getvalue()[:400])
    text = folder / "notes.png"
    text.write_text("not an image at all")
    missing = folder / "gone.jpg"
    return [
        Painting(sha256="b" * 64, path=str(trunc), artist="X", title="trunc"),
        Painting(sha256="c" * 64, path=str(text), artist="X", title="text"),
        Painting(sha256="d" * 64, path=str(missing), artist="X", title="missing"),
    ]


def _reference(embedder, paintings):
    return embedder.embed([load_image(p.path, max_side=LOAD_MAX_SIDE) for p in paintings])


@pytest.mark.parametrize("overlap", [False, True])
def test_batches_in_input_order_and_equal_to_direct_embedding(tmp_path, overlap):
    paintings = _make_images(tmp_path / "imgs", 11)
    emb = TinyEmbedder(dim=8, seed=1)
    stream = embed_paintings(paintings, emb, batch_size=4, workers=2, overlap=overlap)
    batches = list(stream)
    assert [len(b[0]) for b in batches] == [4, 4, 3]
    got_p = [p for b in batches for p in b[0]]
    assert got_p == paintings
    got = np.concatenate([b[1] for b in batches])
    assert got.dtype == np.float32 and got.shape == (11, 8)
    ref = TinyEmbedder(dim=8, seed=1)
    np.testing.assert_allclose(got, _reference(ref, paintings), rtol=1e-5, atol=1e-6)
    assert emb.images_embedded == 11
    assert stream.skipped == [] and stream.done == 11


@pytest.mark.parametrize("overlap", [False, True])
def test_skips_bad_files_with_reasons_and_keeps_the_rest(tmp_path, overlap):
    good = _make_images(tmp_path / "imgs", 5)
    bad = _broken(tmp_path)
    mixed = [good[0], bad[0], good[1], good[2], bad[1], good[3], bad[2], good[4]]
    emb = TinyEmbedder()
    calls = []
    stream = embed_paintings(
        mixed, emb, batch_size=2, workers=2, progress=lambda d, t: calls.append((d, t)), overlap=overlap
    )
    batches = list(stream)
    assert [p for b in batches for p in b[0]] == good
    assert all(len(b[0]) == 2 for b in batches[:-1])
    reasons = dict(stream.skipped)
    assert list(reasons) == [bad[0].path, bad[1].path, bad[2].path]
    assert reasons[bad[0].path] == "truncated or corrupt image data"
    assert reasons[bad[1].path] == "not an image file"
    assert reasons[bad[2].path] == "file not found"
    assert emb.images_embedded == 5
    # progress: non-decreasing, total is the input length, ends at done == total
    assert all(t == len(mixed) for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert calls[-1] == (len(mixed), len(mixed))


def test_thumbnails_are_small_jpegs_of_the_image(tmp_path):
    paintings = _make_images(tmp_path / "imgs", 3)
    (batch,) = list(embed_paintings(paintings, TinyEmbedder(), batch_size=8))
    for p, thumb in zip(batch[0], batch[2], strict=True):
        im = Image.open(io.BytesIO(thumb))
        assert im.format == "JPEG"
        assert max(im.size) == THUMBNAIL_SIZE
        src = Image.open(p.path)
        # aspect ratio kept (to rounding)
        assert abs(im.size[0] / im.size[1] - src.size[0] / src.size[1]) < 0.02
        # same picture: mean colour close to the source's
        diff = np.abs(
            np.asarray(im.convert("RGB"), float).mean((0, 1))
            - np.asarray(src.convert("RGB"), float).mean((0, 1))
        )
        assert diff.max() < 6
    (nothumb,) = list(embed_paintings(paintings, TinyEmbedder(), batch_size=8, thumbnails=False))
    assert nothumb[2] == [b"", b"", b""]


class _CountingEmbedder(TinyEmbedder):
    """Records how far decoding runs ahead of the model."""

    def __init__(self):
        super().__init__()
        self.preprocessed = 0
        self.max_ahead = 0
        self.first_call_preprocessed = None
        self.decoding = self.decoding_beside_model = 0
        self._lock = threading.Lock()

    def preprocess(self, image):
        with self._lock:
            self.preprocessed += 1
            self.decoding += 1
        time.sleep(0.001)
        try:
            return super().preprocess(image)
        finally:
            with self._lock:
                self.decoding -= 1

    def embed_arrays(self, batch):
        with self._lock:
            self.decoding_beside_model = max(self.decoding_beside_model, self.decoding)
            ahead = self.preprocessed - self.images_embedded
            self.max_ahead = max(self.max_ahead, ahead)
            if self.first_call_preprocessed is None:
                self.first_call_preprocessed = self.preprocessed
        return super().embed_arrays(batch)


@pytest.mark.parametrize("overlap", [False, True])
def test_prefetch_is_bounded_so_memory_stays_flat(tmp_path, overlap):
    paintings = _make_images(tmp_path / "imgs", 6, size=(64, 48))
    many = paintings * 20  # 120 items; decoding everything first would show up below
    emb = _CountingEmbedder()
    bs, workers = 4, 2
    n = sum(len(b[0]) for b in embed_paintings(many, emb, batch_size=bs, workers=workers, overlap=overlap))
    assert n == 120 and emb.images_embedded == 120
    if overlap:  # the current batch plus a window of 2*bs+workers read ahead
        limit = 3 * bs + workers
    else:  # phases: one phase decoded, then the model runs alone on it
        limit = PHASE_BATCHES * bs
        assert emb.decoding_beside_model == 0
    assert emb.max_ahead <= limit
    assert emb.first_call_preprocessed <= limit


def test_phases_decode_several_batches_then_leave_the_cores_to_the_model(tmp_path):
    """On the CPU a phase decodes PHASE_BATCHES batches on every core (the threads finish a longer
    phase closer together), then the model runs on them with no decode beside it."""
    paintings = _make_images(tmp_path / "imgs", 6, size=(64, 48)) * 10
    emb = _CountingEmbedder()
    stream = embed_paintings(paintings, emb, batch_size=4, workers=2, overlap=False, phase=12)
    sizes = [len(b[0]) for b in stream]
    assert sizes == [4] * 15 and emb.images_embedded == 60
    assert emb.first_call_preprocessed == 12 and emb.max_ahead == 12
    assert emb.decoding_beside_model == 0


def test_start_decodes_the_first_phase_before_any_batch_is_asked_for(tmp_path):
    """``start()`` lets the caller work (the pipeline writes the previous chunk) while the first phase decodes."""
    paintings = _make_images(tmp_path / "imgs", 6, size=(64, 48)) * 2
    emb = _CountingEmbedder()
    with embed_paintings(paintings, emb, batch_size=4, workers=2, overlap=False, phase=8) as stream:
        assert stream.start() is stream
        deadline = time.monotonic() + 30
        while emb.preprocessed < 8 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert emb.preprocessed == 8 and emb.images_embedded == 0  # decoded, not embedded, nothing asked yet
        assert [len(b[0]) for b in stream] == [4, 4, 4]
    assert emb.images_embedded == 12


def test_closing_early_stops_decode_threads(tmp_path):
    paintings = _make_images(tmp_path / "imgs", 4, size=(64, 48)) * 10
    emb = TinyEmbedder()
    stream = embed_paintings(paintings, emb, batch_size=2, workers=2)
    with stream:
        first = next(iter(stream))
        assert len(first[0]) == 2
    assert not [t for t in threading.enumerate() if t.name.startswith("artsim-decode")]
    assert emb.images_embedded == 2


def test_an_interruption_propagates_and_stops_the_threads(tmp_path):
    paintings = _make_images(tmp_path / "imgs", 6, size=(64, 48))
    emb = Interrupting(after=2)
    stream = embed_paintings(paintings, emb, batch_size=2)
    it = iter(stream)
    assert len(next(it)[0]) == 2
    with pytest.raises(KeyboardInterrupt):
        next(it)
    assert not [t for t in threading.enumerate() if t.name.startswith("artsim-decode")]


def test_empty_input_and_bad_arguments():
    calls = []
    stream = embed_paintings([], TinyEmbedder(), progress=lambda d, t: calls.append((d, t)))
    assert list(stream) == [] and stream.skipped == []
    assert calls == [(0, 0)]
    with pytest.raises(ValueError, match="batch_size"):
        embed_paintings([], TinyEmbedder(), batch_size=0)


def test_large_jpeg_is_decoded_reduced(tmp_path):
    """A 2400x1600 JPEG reaches the embedder with its shorter side at LOAD_MAX_SIDE."""
    seen = []

    class Spy(TinyEmbedder):
        def preprocess(self, image):
            seen.append(image.size)
            return super().preprocess(image)

    path = tmp_path / "big.jpg"
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (8, 12, 3), dtype=np.uint8)).resize((2400, 1600)).save(path)
    p = Painting(sha256=sha256_file(path), path=str(path), artist="A", title="big")
    list(embed_paintings([p], Spy(), batch_size=1))
    assert seen == [(round(2400 * LOAD_MAX_SIDE / 1600), LOAD_MAX_SIDE)]


# ---------------------------------------------------------------- real test models with faults


class Interrupting(PixelEmbedder):
    """Raises ``KeyboardInterrupt`` (a crash, not a painting's fault) once ``after`` images are done."""

    def __init__(self, after: int):
        super().__init__()
        self.after = after

    def embed_arrays(self, batch):
        if self.images_embedded + len(batch) > self.after:
            raise KeyboardInterrupt
        return super().embed_arrays(batch)


def _white(folder, name="white.png"):
    path = folder / name
    Image.new("RGB", (90, 60), (255, 255, 255)).save(path)
    return Painting(sha256=sha256_file(path), path=str(path), artist="W", title="white")


@pytest.mark.parametrize("error", [MemoryError, RuntimeError, ValueError])
def test_a_model_failure_stays_with_its_painting(tmp_path, error):
    good = _make_images(tmp_path / "imgs", 7, size=(90, 60))
    bad = _white(tmp_path)
    given = good[:3] + [bad] + good[3:]
    emb = PixelEmbedder(white_raises=error)
    store = EmbeddingStore(str(tmp_path / "db"))
    res = embed_with_cache(store, given, emb, batch_size=4)
    assert res.paintings == good and res.new == 7
    ((path, reason),) = res.skipped
    assert path == bad.path and reason.startswith("too large" if error is MemoryError else "the pixels model failed")
    ref = PixelEmbedder().embed([load_image(p.path, max_side=LOAD_MAX_SIDE) for p in good])
    np.testing.assert_allclose(res.vectors, ref, rtol=1e-5)
    stored = store.get_vectors([p.sha256 for p in given], emb.fingerprint)
    assert set(stored) == {p.sha256 for p in good}


def test_a_decode_failure_of_any_kind_stays_with_its_file(tmp_path):
    good = _make_images(tmp_path / "imgs", 3, size=(90, 60))
    emb = PixelEmbedder(white_raises=None)

    class Fussy(PixelEmbedder):
        def preprocess(self, image):
            if image.size[0] < image.size[1]:  # portrait images overflow this model's preprocessing
                raise OverflowError("portrait")
            return super().preprocess(image)

    fussy = Fussy(white_raises=None)
    stream = embed_paintings(good, fussy, batch_size=2)
    kept = [p for b in stream for p in b[0]]
    assert kept == [good[1], good[2]] and stream.skipped == [(good[0].path, "could not be decoded (OverflowError)")]
    assert len([p for b in embed_paintings(good, emb) for p in b[0]]) == 3


def test_non_finite_vectors_are_skipped_not_stored(tmp_path):
    good = _make_images(tmp_path / "imgs", 3, size=(90, 60))

    class NaNOnWhite(PixelEmbedder):
        def embed_arrays(self, batch):
            out = super().embed_arrays(batch)
            out[np.asarray(batch).min(axis=1) > 0.97] = np.nan
            return out

    bad = _white(tmp_path)
    res = embed_with_cache(EmbeddingStore(str(tmp_path / "db")), [bad, *good], NaNOnWhite(white_raises=None))
    assert res.paintings == good and res.skipped == [(bad.path, "the pixels model gave a vector with NaN or infinity")]


# ---------------------------------------------------------------- embed_with_cache


@pytest.fixture()
def images(tmp_path):
    """Eight small real image files (JPEG and PNG) -> Paintings."""
    return _make_images(tmp_path / "imgs8", 8, size=(140, 100))


def _broken_one(tmp_path) -> Painting:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    return Painting(sha256=sha256_file(path), path=str(path), artist="B", title="broken")


def test_embed_with_cache_embeds_once_then_reads_from_the_store(tmp_path, images):
    uri = str(tmp_path / "db")
    broken = _broken_one(tmp_path)
    given = images[:3] + [broken] + images[3:]
    emb = TinyEmbedder(dim=8, seed=2)
    calls = []
    res = embed_with_cache(EmbeddingStore(uri), given, emb, batch_size=3, progress=lambda d, t: calls.append((d, t)))
    assert isinstance(res, EmbedResult)
    assert res.paintings == images and res.new == 8 and res.cached == 0
    assert res.skipped == [(broken.path, "truncated or corrupt image data")]
    assert res.vectors.shape == (8, 8) and res.vectors.dtype == np.float32
    ref = TinyEmbedder(dim=8, seed=2).embed([load_image(p.path, max_side=LOAD_MAX_SIDE) for p in images])
    np.testing.assert_allclose(res.vectors, ref, rtol=1e-5, atol=1e-6)
    assert emb.images_embedded == 8
    assert calls[0] == (0, 9) and calls[-1] == (9, 9)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)

    # second call, new store object (a new session): no forward pass at all
    shuffled = images[::-1]
    res2 = embed_with_cache(EmbeddingStore(uri), shuffled, emb)
    assert emb.images_embedded == 8
    assert res2.new == 0 and res2.cached == 8 and res2.paintings == shuffled
    np.testing.assert_array_equal(res2.vectors, res.vectors[::-1])
    thumbs = EmbeddingStore(uri).thumbnails([p.sha256 for p in images])
    assert set(thumbs) == {p.sha256 for p in images}
    assert Image.open(io.BytesIO(thumbs[images[0].sha256])).format == "JPEG"

    # another model (new fingerprint) is computed separately
    other = TinyEmbedder(dim=5, seed=3)
    res3 = embed_with_cache(EmbeddingStore(uri), images, other)
    assert res3.new == 8 and res3.vectors.shape == (8, 5) and other.images_embedded == 8


def test_embed_with_cache_only_embeds_what_is_missing(tmp_path, images):
    store = EmbeddingStore(str(tmp_path / "db"))
    emb = PixelEmbedder()
    embed_with_cache(store, images[:5], emb)
    calls = []
    res = embed_with_cache(store, images, emb, chunk=2, progress=lambda d, t: calls.append((d, t)))
    assert emb.images_embedded == 8
    assert (res.new, res.cached) == (3, 5)
    assert calls[0] == (5, 8) and calls[-1] == (8, 8)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    # a painting given twice is embedded once and returned twice
    res = embed_with_cache(store, [images[0], images[0]], PixelEmbedder(seed=9))
    assert res.new == 1 and len(res.paintings) == 2
    np.testing.assert_array_equal(res.vectors[0], res.vectors[1])


def test_embed_with_cache_keeps_work_done_before_an_interruption(tmp_path, images):
    store = EmbeddingStore(str(tmp_path / "db"))
    emb = Interrupting(after=4)
    with pytest.raises(KeyboardInterrupt):
        embed_with_cache(store, images, emb, batch_size=2, chunk=2)
    kept = EmbeddingStore(str(tmp_path / "db")).get_vectors([p.sha256 for p in images], emb.fingerprint)
    assert len(kept) == 4
    # the rerun embeds only the rest
    healthy = PixelEmbedder()
    res = embed_with_cache(store, images, healthy, batch_size=2)
    assert (res.new, res.cached, healthy.images_embedded) == (4, 4, 4)


class _BreakingStore(EmbeddingStore):
    """A real store that stops working at its ``breaks_at``-th read or write (a lost disk or bucket)."""

    def __init__(self, uri: str, breaks_at: int):
        super().__init__(uri)
        self.calls, self.breaks_at = 0, breaks_at

    def _call(self):
        self.calls += 1
        if self.calls >= self.breaks_at:
            raise StoreError("the disk is gone")

    def get_vectors(self, *args, **kwargs):
        self._call()
        return super().get_vectors(*args, **kwargs)

    def add(self, *args, **kwargs):
        self._call()
        return super().add(*args, **kwargs)


@pytest.mark.parametrize("breaks_at", [3, 4, 5, 6])
def test_a_store_failing_mid_run_leaves_no_claim_behind(tmp_path, images, breaks_at):
    """Regression: the store fails while a chunk waits for its write and the next is in hand (call 3
    is the second chunk's look at the store, with the first chunk unwritten); no claim is left held
    (a writer in this process would wait on it), what was stored stays, a rerun embeds the rest."""
    from artsim.indexing.claims import claim_dir

    store = _BreakingStore(str(tmp_path / "db"), breaks_at)
    emb = PixelEmbedder()
    with pytest.raises(StoreError, match="disk is gone"):
        embed_with_cache(store, images, emb, batch_size=2, chunk=2)
    folder = claim_dir(store.uri)
    left = [p.name for p in folder.iterdir() if p.name != "work.lock"] if folder.is_dir() else []
    assert left == []
    kept = EmbeddingStore(str(tmp_path / "db")).get_vectors([p.sha256 for p in images], emb.fingerprint)
    res = embed_with_cache(EmbeddingStore(str(tmp_path / "db")), images, PixelEmbedder())
    assert res.new == len(images) - len(kept) and len(res.paintings) == len(images)


def test_embed_with_cache_of_nothing(tmp_path):
    res = embed_with_cache(EmbeddingStore(str(tmp_path / "db")), [], PixelEmbedder(dim=6))
    assert res.vectors.shape == (0, 6) and res.paintings == [] and res.skipped == []


# ---------------------------------------------------------------- two writer processes


def test_two_writer_processes_split_the_work_and_leave_one_compact_copy(tmp_path):
    """Two spawned processes embed the same 48 images into one store: every row once, few versions."""
    import multiprocessing

    import lancedb

    from artsim.store.vectors import table_name

    paintings = make_images(tmp_path / "imgs", 48, seed=5)
    uri = str(tmp_path / "db")
    ctx = multiprocessing.get_context("spawn")  # never fork after opening LanceDB
    outs = [tmp_path / f"out{i}" for i in range(2)]
    procs = [ctx.Process(target=write, args=(uri, paintings, 8, str(out))) for out in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    counts = [tuple(map(int, out.read_text().split())) for out in outs]
    assert all(n == 48 for _, _, n in counts)  # each run returns every vector
    assert sum(new for new, _, _ in counts) == 48  # claims: no painting embedded twice
    fp = PixelEmbedder().fingerprint
    EmbeddingStore(uri).compact()  # what the last writer to finish does; a no-op when it already did
    table = lancedb.connect(uri).open_table(table_name(fp))
    keys = table.to_arrow()["sha256"].to_pylist()
    assert sorted(keys) == sorted(p.sha256 for p in paintings)  # none lost, none duplicated
    # one append per chunk of 8 and per writer, plus creation and compactions: not one per batch
    assert len(table.list_versions()) <= 2 * (48 // 8) + 6
    got = EmbeddingStore(uri).get_vectors(keys, fp)
    ref = PixelEmbedder().embed([load_image(p.path, max_side=LOAD_MAX_SIDE) for p in paintings])
    np.testing.assert_allclose(np.stack([got[p.sha256] for p in paintings]), ref, rtol=1e-5)


@pytest.mark.slow
def test_all_cached_start_loads_no_model(tmp_path):
    """What the app does at start-up: a lazily built model is never loaded when every vector is cached."""
    from artsim.embedding import get_embedder
    from artsim.inputs.collection import scan_folder

    for i, color in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        (tmp_path / "gallery" / "Ann").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48), color).save(tmp_path / "gallery" / "Ann" / f"{i}.png")
    paintings = scan_folder(tmp_path / "gallery").paintings
    first = embed_with_cache(EmbeddingStore(str(tmp_path / "db")), paintings, get_embedder("efficientnet-lite0"))
    assert first.new == 3
    lazy = get_embedder("efficientnet-lite0", lazy=True)
    again = embed_with_cache(EmbeddingStore(str(tmp_path / "db")), paintings, lazy)
    assert again.cached == 3 and again.new == 0
    assert not lazy.loaded and lazy.images_embedded == 0
    np.testing.assert_array_equal(again.vectors, first.vectors)


def test_claims_exclude_a_live_owner_and_expire_with_a_dead_one(tmp_path):
    from artsim.indexing.claims import Claim, claim_dir

    mine = Claim(tmp_path, ["fp", "a", "b"])
    assert mine.acquire() and mine.path.exists()
    # another process holds the same chunk: spawn-free check with the parent's pid as the owner
    import os

    mine.path.write_text(str(os.getppid()))
    assert not Claim(tmp_path, ["fp", "a", "b"]).acquire()
    assert Claim(tmp_path, ["fp", "a", "c"]).acquire()  # another chunk is free
    mine.path.write_text("999999999")  # an owner that has exited
    other = Claim(tmp_path, ["fp", "a", "b"])
    assert other.acquire() and other.path.read_text() == str(os.getpid())
    other.release()
    assert not other.path.exists()
    assert claim_dir("s3://bucket/db") != claim_dir("/data/db")


def test_work_lock_lets_one_holder_in_at_a_time(tmp_path):
    from artsim.indexing.claims import work_lock

    outcome = []

    def other(timeout=0.3):
        with work_lock(tmp_path, timeout=timeout) as held:
            outcome.append(held)

    with work_lock(tmp_path / "another-db") as held:  # another database's lock is independent
        assert held
    with work_lock(tmp_path) as held:
        assert held
        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert outcome == [False]  # it waited, gave up, and ran without the lock
    t = threading.Thread(target=other, args=(5,))
    t.start()
    t.join()
    assert outcome == [False, True]


def test_an_all_cached_folder_is_known_without_lancedb_and_a_changed_file_is_embedded_again(tmp_path):
    """``all_stored`` answers from the key list a run leaves; new bytes under the same name miss it."""
    from artsim.indexing.pipeline import all_stored
    from artsim.inputs.collection import scan_paths
    from artsim.inputs.file_hashes import load_hashes, save_hashes

    folder = tmp_path / "paintings" / "A0"
    make_images(folder, 4, size=(40, 30))
    store, emb = EmbeddingStore(str(tmp_path / "db")), PixelEmbedder(white_raises=None)
    hashes: dict = {}
    scan = scan_paths([tmp_path / "paintings"], hash_cache=hashes).paintings
    assert not all_stored(store, scan, emb.fingerprint)  # nothing stored yet
    assert embed_with_cache(store, scan, emb).new == 4
    assert all_stored(EmbeddingStore(store.uri), scan, emb.fingerprint)  # a new process: from the key list
    save_hashes(hashes, tmp_path / "hashes.json", now_ns=time.time_ns() + 10**11)
    changed = folder / "img001.png"
    st = os.stat(changed)
    Image.new("RGB", (40, 30), (250, 10, 10)).save(changed)  # same path, new bytes, mtime put back
    os.utime(changed, ns=(st.st_atime_ns, st.st_mtime_ns))
    rescan = scan_paths([tmp_path / "paintings"], hash_cache=load_hashes(tmp_path / "hashes.json")).paintings
    assert {p.sha256 for p in rescan} - {p.sha256 for p in scan} == {sha256_file(changed)}
    assert not all_stored(EmbeddingStore(store.uri), rescan, emb.fingerprint)
    again = embed_with_cache(EmbeddingStore(store.uri), rescan, emb)
    assert (again.new, again.cached) == (1, 3)
    assert all_stored(EmbeddingStore(store.uri), rescan, emb.fingerprint)  # the run left the list current
