"""artsim.store.vectors: LanceDB vectors and thumbnails keyed by (sha256, fingerprint), dedupe, concurrent writers."""

from __future__ import annotations

import hashlib
import io
import random
import threading
from datetime import UTC, datetime

import lancedb
import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from artsim.errors import StoreError
from artsim.inputs.collection import Painting
from artsim.store.database import Database
from artsim.store.vectors import EmbeddingStore, table_name, vector_rows

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
    version, index, rows = store.db._index[name]
    store.db._index[name] = (version, {k: (v + 7) % 20 for k, v in index.items()}, rows)  # offsets now wrong
    got = store.get_vectors([p.sha256 for p in ps[::3]], "feedbeef")
    assert set(got) == {p.sha256 for p in ps[::3]}
    for p in ps[::3]:
        np.testing.assert_array_equal(got[p.sha256], _vec(p.sha256))


def test_appends_carry_the_key_index_over_and_match_a_fresh_read(tmp_path):
    """Each append extends the cached key index (no re-read of every key per chunk); the carried
    index equals the one a fresh read builds, duplicates keep their first offset."""
    store = EmbeddingStore(str(tmp_path / "db"))
    ps = [_fake(i) for i in range(40)]
    vecs = np.stack([_vec(p.sha256) for p in ps])
    name = table_name("feedbeef")
    for start in range(0, 40, 8):
        store.add(ps[start : start + 8], vecs[start : start + 8], _Dims(), [b""] * 8)
        version, carried, rows = store.db._index[name]
        table = store.db.open(name)
        assert version == table.version and rows == start + 8
    fresh = Database(str(tmp_path / "db"))
    assert carried == fresh.key_index(name, fresh.open(name))
    got = store.get_vectors([p.sha256 for p in ps[::5]], "feedbeef")
    for p in ps[::5]:
        np.testing.assert_array_equal(got[p.sha256], _vec(p.sha256))


def test_an_append_racing_another_writers_commit_reads_the_keys_again(tmp_path):
    """Another process commits between the cached version and this append: the offsets are not
    guessed, the index is read again, and every vector reads back."""
    store = EmbeddingStore(str(tmp_path / "db"))
    other = EmbeddingStore(str(tmp_path / "db"))  # a second process's handle
    ps = [_fake(i) for i in range(12)]
    vecs = np.stack([_vec(p.sha256) for p in ps])
    name = table_name("feedbeef")
    store.add(ps[:4], vecs[:4], _Dims(), [b""] * 4)
    table = store.db.open(name)
    before = store.db._index[name][0]

    class Racing:  # the other writer's append lands just before ours
        version = property(lambda self: table.version)

        def add(self, rows):
            other.add(ps[4:8], vecs[4:8], _Dims(), [b""] * 4)
            table.add(rows)

    with store.db.lock:
        store.db.append(name, Racing(), vector_rows(ps[8:], vecs[8:], _Dims(), datetime.now(UTC)))
    assert store.db._index[name][0] == before  # not carried over to a version it does not describe
    got = store.get_vectors([p.sha256 for p in ps], "feedbeef")
    assert set(got) == {p.sha256 for p in ps}
    for p in ps:
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
    with pytest.raises(StoreError, match="Cannot open the database.*ARTSIM_DB"):
        store.get_vectors(["a" * 64], "feedbeef")


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
