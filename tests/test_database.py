"""artsim.store.database: the one LanceDB handle (open, create, list, keyed reads, compaction) and light imports."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pyarrow as pa
import pytest

from artsim.errors import StoreError
from artsim.store.database import Database, quote

SCHEMA = pa.schema([pa.field("sha256", pa.string()), pa.field("n", pa.int64()), pa.field("added", pa.timestamp("us"))])


def _rows(keys, n=0, added=0):
    import datetime as dt

    when = dt.datetime(2026, 1, 1) + dt.timedelta(seconds=added)
    return pa.table({"sha256": keys, "n": [n] * len(keys), "added": [when] * len(keys)}, schema=SCHEMA)


def test_open_create_list_and_keyed_reads(tmp_path):
    db = Database(str(tmp_path / "db"))
    assert not (tmp_path / "db").exists()  # nothing touched before first use
    assert db.open("things") is None and db.table_names() == []
    table = db.open_or_create("things", SCHEMA)
    assert db.open_or_create("things", SCHEMA) is table and db.open("things") is table
    table.add(_rows(["a", "b"], n=1))
    table.add(_rows(["b", "c"], n=2, added=5))  # "b" again: a lost race
    assert db.table_names() == ["things"]
    assert db.first_rows("things", ["b", "c", "zz", "b"], "n") == {"b": 1, "c": 2}
    assert db.first_rows("nothing", ["a"], "n") == {} and db.first_rows("things", [], "n") == {}
    assert set(db.key_index("things", table)) == {"a", "b", "c"}
    db.drop_duplicates("things")
    assert sorted(Database(db.uri).open("things").to_arrow()["sha256"].to_pylist()) == ["a", "b", "c"]
    assert db.first_rows("things", ["b"], "n") == {"b": 1}  # the earliest row survived


@pytest.mark.filterwarnings("ignore:optimize.cleanup_older_than=0:UserWarning")
def test_compaction_merges_appends_and_prunes_versions(tmp_path):
    db = Database(str(tmp_path / "db"))
    table = db.open_or_create("things", SCHEMA)
    for i in range(6):
        table.add(_rows([f"k{i}"], n=i))
    assert db.versions("things") == 7
    # keep nothing older than now (regression: with keep=1 ms a loaded machine left the version
    # committed within that millisecond, 2 versions instead of 1, in a few runs out of ten)
    assert db.compact("things", keep=timedelta(0))
    assert db.versions("things") == 1
    assert len(table.to_arrow()) == 6 and table.stats()["fragment_stats"]["num_fragments"] == 1
    assert not db.compact("missing") and db.versions("missing") == 0


def test_unusable_uri_raises_a_store_error_naming_the_setting(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="Cannot open the database.*ARTSIM_DB"):
        Database(str(blocker / "db")).table_names()


def test_default_uri_and_quoting(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTSIM_DB", str(tmp_path / "fromenv"))
    assert Database().uri == str(tmp_path / "fromenv")
    assert quote("it's") == "'it''s'"


def test_storage_modules_import_no_model_runtime():
    """The app reaches a first view with every vector cached: no torch, timm, onnxruntime or model module."""
    code = (
        "import sys, artsim.store.database, artsim.store.vectors, artsim.indexing.pipeline, artsim.store.collections;"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('torch', 'timm', 'onnxruntime', 'torchvision')"
        " or m.startswith('artsim.embedding')];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_key_list_beside_a_table_is_used_only_while_the_table_is_unchanged(tmp_path):
    db = Database(str(tmp_path / "db"))
    table = db.open_or_create("things", SCHEMA)
    table.add(_rows(["a", "b"]))
    assert db.stored_keys("things") is None  # no list yet: nothing known without LanceDB
    assert db.first_rows("things", ["a"], "n") == {"a": 0}  # a read alone leaves no list (3 MB at 50,000)
    assert db.stored_keys("things") is None
    assert db.save_keys("things")  # the end of an embedding run
    assert db.stored_keys("things") == {"a", "b"}
    assert Database(db.uri).stored_keys("things") == {"a", "b"}  # another process reads the same list
    Database(db.uri).open("things").add(_rows(["c"]))  # another writer commits
    assert db.stored_keys("things") is None  # stale: the caller must ask the table
    assert db.save_keys("things") and db.stored_keys("things") == {"a", "b", "c"}
    db.compact("things", keep=timedelta(milliseconds=1))  # compaction commits too
    assert db.stored_keys("things") is None
    assert Database("s3://bucket/db").stored_keys("things") is None  # object storage: never from a list
    assert not db.save_keys("nothing")


def test_a_damaged_key_list_reads_as_unknown(tmp_path):
    db = Database(str(tmp_path / "db"))
    db.open_or_create("things", SCHEMA).add(_rows(["a"]))
    db.save_keys("things")
    path = tmp_path / "db" / ".artsim-keys" / "things.json"
    assert path.is_file() and db.table_names() == ["things"]  # the list is no table
    path.write_text("{not json")
    assert db.stored_keys("things") is None
