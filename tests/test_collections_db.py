"""Collections in the database: ids, edit tokens, copy-on-write, images stored once, limits, rename, concurrency."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from artsim.inputs.collection import Painting
from artsim.store.collections import CollectionError, Collections, is_collection_id
from artsim.uploads.batch import read_uploads
from tests.app_fixtures import jpeg_bytes


def _jpeg(seed: int) -> bytes:
    return jpeg_bytes((seed * 7 % 255, 90, 160), (40 + seed, 30))


def _upload(tmp_path: Path, seeds, artist="Frida Kahlo"):
    outcomes = read_uploads([(f"p{s}.jpg", _jpeg(s)) for s in seeds], artist=artist,
                            store_dir=tmp_path / "incoming")
    return [(o.painting, o.data) for o in outcomes if o.status == "added"]


def test_ids_are_random_and_tokens_gate_edits(collections, tmp_path):
    a, token_a = collections.create("Class 3B")
    b, _ = collections.create("Class 3B")
    assert a.id != b.id and is_collection_id(a.id) and len(a.id) >= 16
    assert collections.get(a.id).name == "Class 3B"
    assert collections.get("nonexistent-id") is None and collections.get("x' OR '1'='1") is None
    assert collections.can_edit(a.id, token_a) and not collections.can_edit(a.id, "guess")
    assert not collections.can_edit(b.id, token_a)
    with pytest.raises(CollectionError, match="read-only"):
        collections.add(a.id, None, _upload(tmp_path, [1]))
    assert collections.add(a.id, token_a, _upload(tmp_path, [1, 2])) == 2
    assert collections.add(a.id, token_a, _upload(tmp_path, [2, 3])) == 1  # same bytes: one painting


def test_derived_collection_copies_and_never_modifies_its_parent(collections, tmp_path):
    base, token = collections.create("teacher")
    collections.add(base.id, token, _upload(tmp_path, [1, 2]))
    child, child_token = collections.create("student", parent=base.id)
    collections.add(child.id, child_token, _upload(tmp_path, [3], artist="Me"))
    assert {p.title for p in collections.paintings(base.id)} == {"p1", "p2"}
    assert {p.title for p in collections.paintings(child.id)} == {"p1", "p2", "p3"}
    with pytest.raises(CollectionError):
        collections.add(base.id, child_token, _upload(tmp_path, [4]))
    with pytest.raises(CollectionError):
        collections.create("x", parent="no-such-collection")


def test_files_come_back_from_the_database_after_a_restart_or_a_cache_wipe(tmp_path):
    first = Collections(str(tmp_path / "db"), uploads_dir=tmp_path / "uploads-a")
    info, token = first.create("durable")
    first.add(info.id, token, _upload(tmp_path, [5]))
    # A new process on a new machine: same database, empty local disk.
    again = Collections(str(tmp_path / "db"), uploads_dir=tmp_path / "uploads-b")
    (painting,) = again.paintings(info.id)
    assert Path(painting.path).read_bytes() == _jpeg(5)
    assert painting.artist == "Frida Kahlo" and painting.source == "upload"
    assert again.can_edit(info.id, token)
    Path(painting.path).unlink()  # the upload folder is only a cache
    (back,) = again.paintings(info.id)
    assert Path(back.path).read_bytes() == _jpeg(5)


def test_twenty_concurrent_sessions_each_upload_and_read_back(tmp_path):
    shared = Collections(str(tmp_path / "db"), uploads_dir=tmp_path / "uploads")
    errors: list[BaseException] = []
    made: dict[int, str] = {}

    def session(n: int) -> None:
        try:
            info, token = shared.create(f"session {n}")
            items = _upload(tmp_path / f"s{n}", [100 + 3 * n, 101 + 3 * n, 102 + 3 * n], artist=f"Student {n}")
            assert shared.add(info.id, token, items) == 3
            assert len(shared.paintings(info.id)) == 3
            made[n] = info.id
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    fresh = Collections(str(tmp_path / "db"), uploads_dir=tmp_path / "uploads2")
    for n, cid in made.items():
        paintings = fresh.paintings(cid)
        assert len(paintings) == 3 and {p.artist for p in paintings} == {f"Student {n}"}
    assert len(made) == 20


# ---------------------------------------------------------------- images once, limits, rename


def _blob(i: int, size: int) -> tuple[Painting, bytes]:
    data = bytes([i % 251]) * size
    sha = hashlib.sha256(data).hexdigest()
    return Painting(sha256=sha, path=f"/in/{sha}.jpg", artist="A", title=f"t{i}"), data


def _image_rows(tmp_path) -> list[str]:
    import lancedb

    return lancedb.connect(str(tmp_path / "db")).open_table("collection_images").to_arrow()["sha256"].to_pylist()


def test_images_are_stored_once_however_many_collections_hold_them(collections, tmp_path):
    a, ta = collections.create("a")
    collections.add(a.id, ta, [_blob(1, 100), _blob(2, 100)])
    child, tc = collections.create("child", parent=a.id)  # copy-on-write copies the list, not the bytes
    b, tb = collections.create("b")
    collections.add(b.id, tb, [_blob(2, 100), _blob(3, 100)])
    collections.add(child.id, tc, [_blob(3, 100)])
    assert sorted(_image_rows(tmp_path)) == sorted(_blob(i, 100)[0].sha256 for i in (1, 2, 3))
    assert collections.image_bytes() == 300
    assert {p.title for p in collections.paintings(child.id)} == {"t1", "t2", "t3"}


def test_limit_on_new_collections_per_hour(collections, monkeypatch):
    monkeypatch.setenv("ARTSIM_MAX_COLLECTIONS_PER_HOUR", "2")
    collections.create("one")
    collections.create("two")
    with pytest.raises(CollectionError, match="2 new collections in the last hour.*limit is 2"):
        collections.create("three")
    monkeypatch.setenv("ARTSIM_MAX_COLLECTIONS_PER_HOUR", "0")  # 0: no limit
    collections.create("three")


def test_limit_on_paintings_per_collection(collections, monkeypatch):
    monkeypatch.setenv("ARTSIM_MAX_COLLECTION_PAINTINGS", "3")
    info, token = collections.create("small")
    assert collections.add(info.id, token, [_blob(i, 10) for i in range(2)]) == 2
    with pytest.raises(CollectionError, match="at most 3 paintings; this one has 2, so 1 more fit"):
        collections.add(info.id, token, [_blob(i, 10) for i in range(2, 4)])
    assert collections.add(info.id, token, [_blob(0, 10), _blob(2, 10)]) == 1  # a duplicate does not count
    assert len(collections.paintings(info.id)) == 3


def test_limit_on_megabytes_per_collection(collections, monkeypatch):
    monkeypatch.setenv("ARTSIM_MAX_COLLECTION_MB", "1")
    info, token = collections.create("big")
    collections.add(info.id, token, [_blob(1, 600_000)])
    with pytest.raises(CollectionError, match="at most 1.0 MB of images; with this batch it would hold 1.2 MB"):
        collections.add(info.id, token, [_blob(2, 600_000)])
    assert collections.add(info.id, token, [_blob(3, 300_000)]) == 1


def test_store_quota_counts_each_image_once(collections, monkeypatch):
    monkeypatch.setenv("ARTSIM_STORE_QUOTA_MB", "1")
    a, ta = collections.create("a")
    b, tb = collections.create("b")
    collections.add(a.id, ta, [_blob(1, 700_000)])
    assert collections.add(b.id, tb, [_blob(1, 700_000)]) == 1  # already stored: costs nothing
    with pytest.raises(CollectionError, match="storage for uploads is full.*ARTSIM_STORE_QUOTA_MB"):
        collections.add(b.id, tb, [_blob(2, 400_000)])
    assert [p.title for p in collections.paintings(b.id)] == ["t1"]


def test_rename_is_for_the_owner_only_and_cleans_the_name(collections):
    info, token = collections.create("Class 3B")
    other, other_token = collections.create("other")
    with pytest.raises(CollectionError, match="only the owner"):
        collections.rename(info.id, other_token, "stolen")
    with pytest.raises(CollectionError, match="only the owner"):
        collections.rename(info.id, None, "stolen")
    assert collections.rename(info.id, token, "  Spring\u202e\n  term " + "x" * 200) == ("Spring term " + "x" * 200)[:80]
    assert collections.get(info.id).name == ("Spring term " + "x" * 200)[:80]
    assert collections.get(other.id).name == "other"
    with pytest.raises(CollectionError, match="give the collection a name"):
        collections.rename(info.id, token, " \x00 ")
    assert collections.can_edit(info.id, token)  # renaming keeps the edit right


def test_the_database_comes_from_config_or_a_store(tmp_path, monkeypatch):
    from artsim.store.vectors import EmbeddingStore

    monkeypatch.setenv("ARTSIM_DB", str(tmp_path / "fromenv"))
    assert Collections().db.uri == str(tmp_path / "fromenv")
    store = EmbeddingStore(str(tmp_path / "db"))
    assert Collections(store).db is store.db  # one handle shared with the vectors


@pytest.mark.filterwarnings("ignore:optimize.cleanup_older_than=0:UserWarning")
def test_collection_tables_are_compacted_as_they_are_written(tmp_path, monkeypatch):
    from artsim.store import database

    monkeypatch.setattr(database, "COMPACT_EVERY", 5)
    monkeypatch.setenv("ARTSIM_KEEP_VERSIONS_S", "0")
    collections = Collections(str(tmp_path / "db"), uploads_dir=tmp_path / "uploads")
    made = [collections.create(f"c{i}") for i in range(12)]
    for i, (info, token) in enumerate(made[:6]):
        collections.add(info.id, token, [_blob(i, 10)])
    data = {name: sum(1 for _ in (tmp_path / "db" / f"{name}.lance" / "data").iterdir())
            for name in ("collections", "collection_items")}
    assert all(n <= 3 for n in data.values()), data  # 12 and 6 files without compaction
    assert all(len(collections.paintings(info.id)) == 1 for info, _ in made[:6])
    assert [collections.get(info.id).name for info, _ in made] == [f"c{i}" for i in range(12)]
