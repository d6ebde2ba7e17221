"""artsim.pipeline: threaded decode overlapped with batched inference, in order, memory bounded."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image

from artsim.collection import Painting
from artsim.images import load_image, sha256_file
from artsim.pipeline import LOAD_MAX_SIDE, THUMBNAIL_SIZE, embed_paintings
from tests.helpers import TinyEmbedder


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
        self._lock = threading.Lock()

    def preprocess(self, image):
        with self._lock:
            self.preprocessed += 1
        return super().preprocess(image)

    def embed_arrays(self, batch):
        with self._lock:
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
    else:  # phases: the model runs on a full batch with nothing else decoded
        limit = bs
    assert emb.max_ahead <= limit
    assert emb.first_call_preprocessed <= limit


def test_closing_early_stops_decode_threads(tmp_path):
    paintings = _make_images(tmp_path / "imgs", 4, size=(64, 48)) * 10
    emb = TinyEmbedder()
    stream = embed_paintings(paintings, emb, batch_size=2, workers=2)
    with stream:
        first = next(iter(stream))
        assert len(first[0]) == 2
    assert not [t for t in threading.enumerate() if t.name.startswith("artsim-decode")]
    assert emb.images_embedded == 2


def test_model_errors_propagate(tmp_path):
    paintings = _make_images(tmp_path / "imgs", 6, size=(64, 48))
    emb = TinyEmbedder(fail_after=2)
    stream = embed_paintings(paintings, emb, batch_size=2)
    it = iter(stream)
    assert len(next(it)[0]) == 2
    with pytest.raises(RuntimeError, match="simulated crash"):
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
