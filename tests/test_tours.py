"""Tours in the database: round trip, owner-only edits, hostile text stays bounded text."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from artsim.store.database import Database
from artsim.store.tours import (
    MAX_CAPTION_CHARS,
    MAX_PARAM_VALUE_CHARS,
    MAX_PARAMS,
    MAX_STEPS,
    STEPS_SCHEMA,
    STEPS_TABLE,
    TOURS_TABLE,
    Step,
    TourError,
    Tours,
    clean_step,
)


@pytest.fixture
def tours(tmp_path):
    return Tours(str(tmp_path / "db"))


def test_round_trip_in_order(tours):
    tour, token = tours.create("Impressionists, week 3")
    steps = [
        Step("similarity", {"level": "artists", "seed": "7", "ci": "1"}, "Which artists look alike?"),
        Step("walk", {"walk_from": "abc", "walk_to": "def"}, "Why does the walk pass here?\nDiscuss."),
        Step("", {}, ""),
    ]
    for step in steps:
        tours.add(tour.id, token, step)
    back = Tours(tours.db.uri).get(tour.id)  # a fresh handle: read from disk
    assert back.title == "Impressionists, week 3" and back.steps == tuple(steps) and back.version == 3
    assert tours.get("nonexistent-id") is None and tours.get("x'; drop") is None


def test_reorder_and_remove(tours):
    tour, token = tours.create("t")
    for name in ("a", "b", "c", "d"):
        tours.add(tour.id, token, Step(name))
    assert [s.page for s in tours.move(tour.id, token, 0, 2).steps] == ["b", "c", "a", "d"]
    assert [s.page for s in tours.move(tour.id, token, 3, 1).steps] == ["b", "c", "a", "d"]  # clamped at the end
    assert [s.page for s in tours.move(tour.id, token, 1, -5).steps] == ["c", "b", "a", "d"]
    assert [s.page for s in tours.remove(tour.id, token, 2).steps] == ["c", "b", "d"]
    with pytest.raises(TourError):
        tours.remove(tour.id, token, 3)


def test_only_the_owner_edits(tours):
    tour, token = tours.create("t")
    other, other_token = tours.create("u")
    tours.add(tour.id, token, Step("gallery"))
    assert tours.can_edit(tour.id, token) and not tours.can_edit(tour.id, other_token)
    for bad in (None, "", other_token, token + "x", token[:-1]):
        with pytest.raises(TourError):
            tours.add(tour.id, bad, Step("walk"))
        with pytest.raises(TourError):
            tours.save(tour.id, bad, [])
        with pytest.raises(TourError):
            tours.remove(tour.id, bad, 0)
    assert [s.page for s in tours.get(tour.id).steps] == ["gallery"]
    # the stored token is a hash: the token itself is nowhere in the table
    rows = tours.db.open("tours").search().limit(None).to_arrow().to_pylist()
    assert all(token not in str(row) for row in rows)


def test_hostile_text_stays_bounded_text(tours):
    tour, token = tours.create("<script>alert(1)</script>\x00" + "T" * 500)
    assert len(tour.title) == 80 and "\x00" not in tour.title
    caption = "<img src=x onerror=alert(1)> **bold** [link](javascript:alert(1))\u202e\x1b[31m" + "x" * 5000
    params = {f"p{i}": "v" for i in range(100)}
    params.update({"edit": "secret", "tour_edit": "secret", "a b": "1", "k" * 100: "1"})
    stored = tours.add(tour.id, token, Step("walk", {"walk_from": "y" * 20000, **params}, caption)).steps[0]
    assert len(stored.caption) == MAX_CAPTION_CHARS
    assert stored.caption.startswith("<img src=x onerror=alert(1)> **bold** [link](javascript:alert(1))")  # kept as text
    assert "\u202e" not in stored.caption and "\x1b" not in stored.caption
    assert len(stored.params) == MAX_PARAMS and len(stored.params["walk_from"]) == MAX_PARAM_VALUE_CHARS
    assert not {"edit", "tour_edit", "a b"} & set(stored.params)
    for page in ("../etc/passwd", "Walk", "x" * 41, "java script:"):
        with pytest.raises(TourError):
            clean_step(page)


def test_bounds_on_steps(tours):
    tour, token = tours.create("t")
    tours.save(tour.id, token, [Step("gallery")] * MAX_STEPS)
    with pytest.raises(TourError):
        tours.add(tour.id, token, Step("gallery"))
    assert len(tours.get(tour.id).steps) == MAX_STEPS


# ----------------------------------------------------------------------------- cheap and bounded (issue 25.4)
def _files(db_dir, table: str) -> int:
    return sum(1 for _ in (db_dir / f"{table}.lance" / "data").iterdir())


def test_a_read_reads_only_the_latest_version(tours, monkeypatch):
    tour, token = tours.create("t")
    big = "x" * MAX_CAPTION_CHARS
    for i in range(12):
        tours.add(tour.id, token, Step("walk", {"i": str(i)}, big))
    table = tours.db.open(STEPS_TABLE)
    assert table.count_rows(f"tour = '{tour.id}'") == 1  # one row per tour: older versions deleted on save
    # A store written before this kept every version: a read still decodes only the latest one.
    table.add(pa.Table.from_pylist([
        {"tour": tour.id, "version": v, "steps": json.dumps([{"page": "walk", "caption": big}] * v),
         "added": datetime.now(UTC)} for v in range(1, 12)], schema=STEPS_SCHEMA))
    read: list[list[str]] = []
    rows = Database.rows

    def counting(self, name, where="", columns=None):  # a spy on every read, the real read underneath
        out = rows(self, name, where, columns)
        read.append([c for c in columns or [] if out and c == "steps"] * len(out))
        return out

    monkeypatch.setattr(Database, "rows", counting)
    back = tours.get(tour.id)
    assert back.version == 12 and len(back.steps) == 12 and [s.params["i"] for s in back.steps] == [
        str(i) for i in range(12)]
    assert sum(len(r) for r in read) == 1  # one list of steps read, not 12


@pytest.mark.filterwarnings("ignore:optimize.cleanup_older_than=0:UserWarning")
def test_tables_are_compacted_as_they_are_written(tmp_path, monkeypatch):
    from artsim.store import database

    monkeypatch.setattr(database, "COMPACT_EVERY", 10)
    monkeypatch.setenv("ARTSIM_KEEP_VERSIONS_S", "0")
    tours = Tours(str(tmp_path / "db"))
    for _ in range(25):
        tours.create("t")
    made, token = tours.create("u")
    for i in range(19):
        tours.add(made.id, token, Step("walk", {"i": str(i)}))
    # 26 appends, 38 commits: without compaction 26 and 19 data files, and every version kept
    assert _files(tmp_path / "db", TOURS_TABLE) <= 10 and _files(tmp_path / "db", STEPS_TABLE) <= 12
    assert tours.db.versions(TOURS_TABLE) <= 10
    assert len(Tours(str(tmp_path / "db")).get(made.id).steps) == 19


def test_caps_on_new_tours_per_hour_and_per_session(tours, monkeypatch):
    monkeypatch.setenv("ARTSIM_MAX_TOURS_PER_HOUR", "3")
    for _ in range(3):
        tours.create("t")
    with pytest.raises(TourError, match="3 new tours in the last hour"):
        tours.create("t")
    monkeypatch.setenv("ARTSIM_MAX_TOURS_PER_HOUR", "0")  # 0: no limit
    tours.create("t")
    monkeypatch.setenv("ARTSIM_MAX_SESSION_TOURS", "2")
    tours.create("t", created_so_far=1)
    with pytest.raises(TourError, match="this session has already made 2 tours"):
        tours.create("t", created_so_far=2)
    tours.create("t", created_so_far=2, max_new=0)  # 0: no cap
