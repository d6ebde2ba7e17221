"""artsim.store: LanceDB vectors keyed by (sha256, fingerprint), caching, dedupe, concurrency."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import random
import threading

import lancedb
import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from artsim.collection import Painting
from artsim.errors import StoreError
from artsim.images import load_image, sha256_file
from artsim.pipeline import LOAD_MAX_SIDE
from artsim.store import EmbeddingStore, EmbedResult, table_name
from tests.helpers import TinyEmbedder

# ---------------------------------------------------------------- fixtures and helpers


def _key(i: int) -> str:
    return hashlib.sha256(f"painting {i}".encode()).hexdigest()


def _fake(i: int) -> Painting:
    return Painting(sha256=_key(i), path=f"/nowhere/{i}.jpg", artist=f"Artist {i % 4}", title=f"Title {i}")


def _vec(key: str, dim: int = 8) -> np.ndarray:
    """Deterministic vector of a key, so racing writers store identical values."""
    seed = int(key[:8], 16)
    return np.random.default_rng(seed).standard_normal(dim).astype(np.float32)


class _Dims:
    """Embedder identity only (for ``add``); vectors are given by the test."""

    def __init__(self, dim=8, fingerprint="feedbeef", name="fake"):
        self.dim, self.fingerprint, self.name, self.images_embedded = dim, fingerprint, name, 0


def _thumb(i: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 12), (i % 256, 40, 90)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture()
def images(tmp_path):
    """Eight small real image files -> Paintings."""
    rng = np.random.default_rng(7)
    folder = tmp_path / "imgs"
    folder.mkdir()
    out = []
    for i in range(8):
        im = Image.fromarray(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)).resize((140 + 10 * i, 100))
        path = folder / f"p{i}.{'jpg' if i % 2 else 'png'}"
        im.save(path)
        out.append(Painting(sha256=sha256_file(path), path=str(path), artist=f"A{i % 2}", title=f"T{i}"))
    return out


def _broken(tmp_path) -> Painting:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    return Painting(sha256=sha256_file(path), path=str(path), artist="B", title="broken")


def _raw_rows(uri: str, fingerprint: str) -> list[str]:
    return lancedb.connect(uri).open_table(table_name(fingerprint)).to_arrow()["sha256"].to_pylist()


# ---------------------------------------------------------------- add / get_vectors / thumbnails


def test_add_then_get_vectors_roundtrip(tmp_path):
    store = EmbeddingStore(str(tmp_path / "db"))
    ps = [_fake(i) for i in range(10)]
    vecs = np.stack([_vec(p.sha256) for p in ps])
    store.add(ps, vecs, _Dims(), [_thumb(i) for i in range(10)])
    asked = [ps[3].sha256, "0" * 64, ps[0].sha256, ps[3].sha256]
    got = store.get_vectors(asked, "feedbeef")
    assert set(got) == {ps[0].sha256, ps[3].sha256}
    np.testing.assert_array_equal(got[ps[3].sha256], vecs[3])
    np.testing.assert_array_equal(got[ps[0].sha256], vecs[0])
    assert got[ps[0].sha256].dtype == np.float32
    assert store.get_vectors([p.sha256 for p in ps], "otherfp") == {}
    # a fresh store object on the same folder sees the same data
    again = EmbeddingStore(str(tmp_path / "db")).get_vectors([p.sha256 for p in ps], "feedbeef")
    assert len(again) == 10
    np.testing.assert_array_equal(np.stack([again[p.sha256] for p in ps]), vecs)
    # metadata columns are stored
    rows = lancedb.connect(str(tmp_path / "db")).open_table(table_name("feedbeef")).to_pandas()
    row = rows.set_index("sha256").loc[ps[5].sha256]
    assert (row.artist, row.title, row.path, row.model, row.fingerprint) == (
        "Artist 1",
        "Title 5",
        "/nowhere/5.jpg",
        "fake",
        "feedbeef",
    )


def test_thumbnails_roundtrip_once_per_painting(tmp_path):
    store = EmbeddingStore(str(tmp_path / "db"))
    ps = [_fake(i) for i in range(4)]
    store.add(ps, np.stack([_vec(p.sha256) for p in ps]), _Dims(), [_thumb(i) for i in range(3)] + [b""])
    # another model embeds the same paintings: thumbnails are stored once, first wins
    store.add(ps[:2], np.ones((2, 3), np.float32), _Dims(3, "cafe01"), [b"other", b"other"])
    got = store.thumbnails([p.sha256 for p in ps] + ["f" * 64])
    assert got == {ps[i].sha256: _thumb(i) for i in range(3)}
    thumbs = lancedb.connect(str(tmp_path / "db")).open_table("thumbnails").to_arrow()
    assert thumbs.num_rows == 3


def test_add_never_writes_a_key_twice(tmp_path):
    store = EmbeddingStore(str(tmp_path / "db"))
    ps = [_fake(i) for i in range(5)]
    first = np.stack([_vec(p.sha256) for p in ps])
    store.add(ps[:3], first[:3], _Dims(), [b""] * 3)
    # overlapping add, and a key repeated inside one call
    store.add(ps[1:] + [ps[4]], np.full((5, 8), 7.0, np.float32), _Dims(), [b""] * 5)
    rows = _raw_rows(str(tmp_path / "db"), "feedbeef")
    assert sorted(rows) == sorted(p.sha256 for p in ps)
    got = store.get_vectors([p.sha256 for p in ps], "feedbeef")
    np.testing.assert_array_equal(got[ps[1].sha256], first[1])  # first vector wins
    np.testing.assert_array_equal(got[ps[4].sha256], np.full(8, 7.0, np.float32))
    assert store.count("feedbeef") == 5


def test_models_with_different_dims_live_side_by_side(tmp_path):
    store = EmbeddingStore(str(tmp_path / "db"))
    ps = [_fake(i) for i in range(3)]
    store.add(ps, np.stack([_vec(p.sha256, 8) for p in ps]), _Dims(8, "aaaa"), [b""] * 3)
    store.add(ps, np.stack([_vec(p.sha256, 2048) for p in ps]), _Dims(2048, "bbbb", "resnet50"), [b""] * 3)
    a = store.get_vectors([ps[1].sha256], "aaaa")[ps[1].sha256]
    b = store.get_vectors([ps[1].sha256], "bbbb")[ps[1].sha256]
    assert a.shape == (8,) and b.shape == (2048,)
    np.testing.assert_array_equal(b, _vec(ps[1].sha256, 2048))
    info = {d["table"]: d for d in store.info()}
    assert info[table_name("bbbb")] == {
        "table": table_name("bbbb"),
        "model": "resnet50",
        "dim": 2048,
        "rows": 3,
    }
    assert info[table_name("aaaa")]["dim"] == 8


def test_add_rejects_bad_input(tmp_path):
    store = EmbeddingStore(str(tmp_path / "db"))
    ps = [_fake(0), _fake(1)]
    with pytest.raises(ValueError, match="shape"):
        store.add(ps, np.zeros((2, 5), np.float32), _Dims(8), [b"", b""])
    with pytest.raises(ValueError, match="NaN"):
        store.add(ps, np.full((2, 8), np.nan, np.float32), _Dims(8), [b"", b""])
    with pytest.raises(ValueError, match="thumbnails"):
        store.add(ps, np.zeros((2, 8), np.float32), _Dims(8), [b""])


def test_table_names_are_safe_for_odd_fingerprints():
    assert table_name("0123abcd") == "embeddings_0123abcd"
    odd = table_name("resnet50/../x y")
    assert odd.startswith("embeddings_h") and odd.replace("_", "").isalnum()
    assert table_name("a/b") != table_name("a_b")
    with pytest.raises(ValueError):
        table_name("")


def test_duplicates_from_a_racing_writer_read_once_and_compact_away(tmp_path):
    uri = str(tmp_path / "db")
    store = EmbeddingStore(uri)
    ps = [_fake(i) for i in range(6)]
    vecs = np.stack([_vec(p.sha256) for p in ps])
    store.add(ps, vecs, _Dims(), [b""] * 6)
    # another writer appended rows for keys 1 and 4 (what a lost race leaves behind)
    table = lancedb.connect(uri).open_table(table_name("feedbeef"))
    extra = table.to_arrow().take([1, 4])
    extra = extra.set_column(
        extra.schema.get_field_index("vector"),
        "vector",
        pa.FixedSizeListArray.from_arrays(pa.array(np.full(16, 9.0, np.float32)), 8),
    )
    import datetime as dt

    later = pa.array([dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)] * 2, pa.timestamp("us", tz="UTC"))
    extra = extra.set_column(extra.schema.get_field_index("added"), "added", later)
    table.add(extra)
    assert len(_raw_rows(uri, "feedbeef")) == 8
    got = store.get_vectors([p.sha256 for p in ps], "feedbeef")
    assert len(got) == 6
    np.testing.assert_array_equal(got[ps[4].sha256], vecs[4])  # the earlier row wins
    store.compact()
    assert sorted(_raw_rows(uri, "feedbeef")) == sorted(p.sha256 for p in ps)
    got = EmbeddingStore(uri).get_vectors([p.sha256 for p in ps], "feedbeef")
    np.testing.assert_array_equal(np.stack([got[p.sha256] for p in ps]), vecs)


def test_stale_row_index_falls_back_to_a_filtered_read(tmp_path):
    """If rows were renumbered between reading the key index and the take (a concurrent
    compaction), the read notices the mismatch and filters by sha256 instead."""
    store = EmbeddingStore(str(tmp_path / "db"))
    ps = [_fake(i) for i in range(20)]
    vecs = np.stack([_vec(p.sha256) for p in ps])
    store.add(ps, vecs, _Dims(), [b""] * 20)
    name = table_name("feedbeef")
    version, index = store._index[name]
    store._index[name] = (version, {k: (v + 7) % 20 for k, v in index.items()})  # offsets now wrong
    got = store.get_vectors([p.sha256 for p in ps[::3]], "feedbeef")
    assert set(got) == {p.sha256 for p in ps[::3]}
    for p in ps[::3]:
        np.testing.assert_array_equal(got[p.sha256], _vec(p.sha256))


def test_many_rows_read_back_exactly(tmp_path):
    store = EmbeddingStore(str(tmp_path / "db"))
    ps = [_fake(i) for i in range(3000)]
    vecs = np.random.default_rng(0).standard_normal((3000, 64)).astype(np.float32)
    for start in range(0, 3000, 1000):
        store.add(ps[start : start + 1000], vecs[start : start + 1000], _Dims(64), [b""] * 1000)
    order = list(range(3000))
    random.Random(1).shuffle(order)
    want = [ps[i].sha256 for i in order[:2500]]
    got = store.get_vectors(want, "feedbeef")
    assert len(got) == 2500
    np.testing.assert_array_equal(np.stack([got[ps[i].sha256] for i in order[:2500]]), vecs[order[:2500]])


# ---------------------------------------------------------------- opening


def test_unusable_uri_raises_store_error_lazily(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    store = EmbeddingStore(str(blocker / "db"))  # constructing does not touch the disk
    with pytest.raises(StoreError, match="Cannot open the embedding store.*ARTSIM_DB"):
        store.get_vectors(["a" * 64], "feedbeef")


def test_default_uri_comes_from_config(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTSIM_DB", str(tmp_path / "fromenv"))
    assert EmbeddingStore().uri == str(tmp_path / "fromenv")


# ---------------------------------------------------------------- get_or_compute


def test_get_or_compute_embeds_once_then_reads_from_the_store(tmp_path, images):
    uri = str(tmp_path / "db")
    broken = _broken(tmp_path)
    given = images[:3] + [broken] + images[3:]
    emb = TinyEmbedder(dim=8, seed=2)
    calls = []
    res = EmbeddingStore(uri).get_or_compute(
        given, emb, batch_size=3, progress=lambda d, t: calls.append((d, t))
    )
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
    res2 = EmbeddingStore(uri).get_or_compute(shuffled, emb)
    assert emb.images_embedded == 8
    assert res2.new == 0 and res2.cached == 8 and res2.paintings == shuffled
    np.testing.assert_array_equal(res2.vectors, res.vectors[::-1])
    thumbs = EmbeddingStore(uri).thumbnails([p.sha256 for p in images])
    assert set(thumbs) == {p.sha256 for p in images}
    assert Image.open(io.BytesIO(thumbs[images[0].sha256])).format == "JPEG"

    # another model (new fingerprint) is computed separately
    other = TinyEmbedder(dim=5, seed=3)
    res3 = EmbeddingStore(uri).get_or_compute(images, other)
    assert res3.new == 8 and res3.vectors.shape == (8, 5) and other.images_embedded == 8


def test_get_or_compute_only_embeds_what_is_missing(tmp_path, images):
    store = EmbeddingStore(str(tmp_path / "db"))
    emb = TinyEmbedder()
    store.get_or_compute(images[:5], emb)
    calls = []
    res = store.get_or_compute(images, emb, progress=lambda d, t: calls.append((d, t)))
    assert emb.images_embedded == 8
    assert (res.new, res.cached) == (3, 5)
    assert calls[0] == (5, 8) and calls[-1] == (8, 8)
    # a painting given twice is embedded once and returned twice
    res = store.get_or_compute([images[0], images[0]], TinyEmbedder(seed=9))
    assert res.new == 1 and len(res.paintings) == 2
    np.testing.assert_array_equal(res.vectors[0], res.vectors[1])


def test_get_or_compute_keeps_work_done_before_a_crash(tmp_path, images):
    store = EmbeddingStore(str(tmp_path / "db"), write_every=2)
    emb = TinyEmbedder(fail_after=4)
    with pytest.raises(RuntimeError, match="simulated crash"):
        store.get_or_compute(images, emb, batch_size=2)
    kept = EmbeddingStore(str(tmp_path / "db")).get_vectors([p.sha256 for p in images], emb.fingerprint)
    assert set(kept) == {p.sha256 for p in images[:4]}
    # the rerun embeds only the rest
    healthy = TinyEmbedder()
    res = store.get_or_compute(images, healthy, batch_size=2)
    assert (res.new, res.cached, healthy.images_embedded) == (4, 4, 4)


def test_get_or_compute_of_nothing(tmp_path):
    res = EmbeddingStore(str(tmp_path / "db")).get_or_compute([], TinyEmbedder(dim=6))
    assert res.vectors.shape == (0, 6) and res.paintings == [] and res.skipped == []


# ---------------------------------------------------------------- concurrency


def _writer(uri: str, ids: list[int], fingerprint: str, chunk: int) -> None:
    store = EmbeddingStore(uri)
    dims = _Dims(8, fingerprint)
    for start in range(0, len(ids), chunk):
        part = [_fake(i) for i in ids[start : start + chunk]]
        store.add(
            part,
            np.stack([_vec(p.sha256) for p in part]),
            dims,
            [_thumb(i) for i in ids[start : start + chunk]],
        )


def _check_every_key_once(uri: str, all_ids: set[int], fingerprint: str) -> None:
    store = EmbeddingStore(uri)
    keys = [_key(i) for i in sorted(all_ids)]
    got = store.get_vectors(keys, fingerprint)
    assert set(got) == set(keys)
    for k in keys:
        np.testing.assert_array_equal(got[k], _vec(k))
    assert store.count(fingerprint) == len(keys)
    assert set(store.thumbnails(keys)) == set(keys)
    store.compact()
    rows = _raw_rows(uri, fingerprint)
    assert sorted(rows) == sorted(keys)  # duplicates from races are gone
    assert EmbeddingStore(uri).count(fingerprint) == len(keys)


def test_spawned_processes_writing_at_once(tmp_path):
    uri = str(tmp_path / "db")
    ctx = multiprocessing.get_context("spawn")
    jobs = [list(range(w * 15, w * 15 + 30)) for w in range(3)]  # each overlaps its neighbour by 15
    procs = [ctx.Process(target=_writer, args=(uri, ids, "abc123", 5)) for ids in jobs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    _check_every_key_once(uri, {i for ids in jobs for i in ids}, "abc123")


def test_twenty_threads_writing_at_once(tmp_path):
    uri = str(tmp_path / "db")
    shared = EmbeddingStore(uri)
    errors: list[BaseException] = []
    jobs = [list(range(w * 4, w * 4 + 10)) for w in range(20)]  # heavy overlap

    def run(w: int) -> None:
        try:
            if w % 2:  # half share one store object, half open their own
                dims = _Dims(8, "abc123")
                for i in jobs[w]:
                    shared.add([_fake(i)], _vec(_key(i))[None], dims, [_thumb(i)])
            else:
                _writer(uri, jobs[w], "abc123", 3)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    _check_every_key_once(uri, {i for ids in jobs for i in ids}, "abc123")


def test_all_cached_start_loads_no_model(tmp_path):
    """What the app does at start-up: a lazily built model is never loaded when every vector is cached."""
    from PIL import Image

    from artsim.collection import scan_folder
    from artsim.embedding import get_embedder

    for i, color in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        (tmp_path / "gallery" / "Ann").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48), color).save(tmp_path / "gallery" / "Ann" / f"{i}.png")
    paintings = scan_folder(tmp_path / "gallery").paintings
    store = EmbeddingStore(str(tmp_path / "db"))
    first = store.get_or_compute(paintings, get_embedder("efficientnet-lite0"))
    assert first.new == 3
    lazy = get_embedder("efficientnet-lite0", lazy=True)
    again = EmbeddingStore(str(tmp_path / "db")).get_or_compute(paintings, lazy)
    assert again.cached == 3 and again.new == 0
    assert not lazy.loaded and lazy.images_embedded == 0
    np.testing.assert_array_equal(again.vectors, first.vectors)
