"""artsim.uploads.flow: where a batch goes (own collection, or a new copy) and the report rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from artsim.store.collections import CollectionError
from artsim.uploads.batch import read_uploads
from artsim.uploads.flow import (
    DEFAULT_NAME,
    add_uploads,
    new_collection_name,
    rename_collection,
    result_rows,
    summary,
)
from tests.app_fixtures import jpeg_bytes


def _jpeg(seed: int) -> bytes:
    return jpeg_bytes((seed * 7 % 255, 90, 160), (40 + seed, 30))


def _outcomes(tmp_path: Path, seeds, broken: bool = False):
    files = [(f"p{s}.jpg", _jpeg(s)) for s in seeds] + ([("bad.jpg", b"\xff\xd8 nope")] if broken else [])
    return read_uploads(files, artist="Frida Kahlo", store_dir=tmp_path / "incoming")


def test_gallery_visitor_gets_a_new_collection_then_adds_to_it(collections, tmp_path):
    first = add_uploads(collections, _outcomes(tmp_path, [1, 2], broken=True), current=None, token=None,
                        name="  Class   3B ")
    assert first.created and first.added == 2 and first.collection.name == "Class 3B"
    assert collections.can_edit(first.collection.id, first.token)
    again = add_uploads(collections, _outcomes(tmp_path, [3]), current=first.collection, token=first.token)
    assert not again.created and again.collection.id == first.collection.id and again.token == first.token
    assert len(collections.paintings(first.collection.id)) == 3


def test_a_shared_collection_is_copied_not_changed(collections, tmp_path):
    mine = add_uploads(collections, _outcomes(tmp_path, [1]), current=None, token=None)
    assert mine.collection.name == DEFAULT_NAME
    theirs = add_uploads(collections, _outcomes(tmp_path, [2]), current=mine.collection, token="not-the-token")
    assert theirs.created and theirs.collection.id != mine.collection.id
    assert theirs.collection.name == f"{DEFAULT_NAME} + uploads"
    assert len(collections.paintings(mine.collection.id)) == 1
    assert len(collections.paintings(theirs.collection.id)) == 2  # the parent's painting is copied


def test_nothing_added_creates_nothing(collections, tmp_path):
    assert add_uploads(collections, _outcomes(tmp_path, [], broken=True), current=None, token=None) is None


def test_session_cap_on_new_collections(collections, tmp_path, monkeypatch):
    with pytest.raises(CollectionError, match="limit is 2"):
        add_uploads(collections, _outcomes(tmp_path, [1]), current=None, token=None, created_so_far=2, max_new=2)
    monkeypatch.setenv("ARTSIM_MAX_SESSION_COLLECTIONS", "1")
    with pytest.raises(CollectionError, match="limit is 1"):
        add_uploads(collections, _outcomes(tmp_path, [1]), current=None, token=None, created_so_far=1)
    monkeypatch.setenv("ARTSIM_MAX_SESSION_COLLECTIONS", "0")  # no limit
    assert add_uploads(collections, _outcomes(tmp_path, [1]), current=None, token=None, created_so_far=99).created
    # the owner adding to their own collection is never capped
    mine = add_uploads(collections, _outcomes(tmp_path, [2]), current=None, token=None, max_new=1)
    assert add_uploads(collections, _outcomes(tmp_path, [3]), current=mine.collection, token=mine.token,
                       created_so_far=9, max_new=1).added == 1


def test_names_and_report_rows(tmp_path):
    assert new_collection_name("", None) == DEFAULT_NAME
    assert new_collection_name("x" * 200, None) == "x" * 80
    rows = result_rows(_outcomes(tmp_path, [1, 1], broken=True))
    assert [r["result"] for r in rows] == ["added", "duplicate", "rejected"]
    assert rows[0]["file"] == "p1.jpg" and len(rows[0]["sha256"]) == 64 and rows[2]["sha256"] == ""
    assert summary(rows) == "1 added, 1 duplicate, 1 rejected"


def test_rename_needs_a_name_and_the_owner(collections, tmp_path):
    mine = add_uploads(collections, _outcomes(tmp_path, [1]), current=None, token=None)
    with pytest.raises(CollectionError, match="give the collection a name"):
        rename_collection(collections, mine.collection, mine.token, "  \n ")
    if not hasattr(collections, "rename"):
        with pytest.raises(CollectionError, match="not available"):
            rename_collection(collections, mine.collection, mine.token, "Class 3B")
        return
    assert rename_collection(collections, mine.collection, mine.token, " Class\n3B ") == "Class 3B"
    assert collections.get(mine.collection.id).name == "Class 3B"
    with pytest.raises(CollectionError):
        rename_collection(collections, mine.collection, "not-the-token", "Hijacked")
    assert collections.get(mine.collection.id).name == "Class 3B"
