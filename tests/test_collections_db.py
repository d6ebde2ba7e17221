"""Collections in the store: ids, edit tokens, copy-on-write, persistence, concurrent sessions."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from PIL import Image

from artsim.collections_db import CollectionError, Collections, is_collection_id
from artsim.store import EmbeddingStore
from artsim.uploads import read_uploads


def _jpeg(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40 + seed, 30), (seed * 7 % 255, 90, 160)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture()
def collections(tmp_path: Path) -> Collections:
    return Collections(EmbeddingStore(str(tmp_path / "db")), uploads_dir=tmp_path / "uploads")


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


def test_files_come_back_from_the_database_after_a_restart(tmp_path):
    first = Collections(EmbeddingStore(str(tmp_path / "db")), uploads_dir=tmp_path / "uploads-a")
    info, token = first.create("durable")
    first.add(info.id, token, _upload(tmp_path, [5]))
    # A new process on a new machine: same database, empty local disk.
    again = Collections(EmbeddingStore(str(tmp_path / "db")), uploads_dir=tmp_path / "uploads-b")
    (painting,) = again.paintings(info.id)
    assert Path(painting.path).read_bytes() == _jpeg(5)
    assert painting.artist == "Frida Kahlo" and painting.source == "upload"
    assert again.can_edit(info.id, token)


def test_twenty_concurrent_sessions_each_upload_and_read_back(tmp_path):
    store = EmbeddingStore(str(tmp_path / "db"))
    shared = Collections(store, uploads_dir=tmp_path / "uploads")
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
    fresh = Collections(EmbeddingStore(str(tmp_path / "db")), uploads_dir=tmp_path / "uploads2")
    for n, cid in made.items():
        paintings = fresh.paintings(cid)
        assert len(paintings) == 3 and {p.artist for p in paintings} == {f"Student {n}"}
    assert len(made) == 20
