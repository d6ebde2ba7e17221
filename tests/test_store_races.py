"""Two replicas (spawned processes) with one edit token, writing at once: no lost edit, no cap crossed (issue 25.4).

Measured on main before the locks: two tabs kept 10-12 of 20 tour steps, and two
adds pushed a 10-painting cap to 16 in 2 of 3 runs.
"""

from __future__ import annotations

import multiprocessing as mp
import threading

import pytest

from artsim.store import locks
from artsim.store.collections import Collections
from artsim.store.tours import Step, Tours
from tests.store_race_worker import BLOB_BYTES, replica

STEPS, PAINTINGS, CAP, QUOTA_MB = 8, 8, 10, 2


def test_two_tabs_in_one_server_keep_every_step(tmp_path):
    uri = str(tmp_path / "db")
    tour, token = Tours(uri).create("t")
    tabs = [Tours(uri), Tours(uri)]  # two sessions, each with its own handle
    errors: list[BaseException] = []

    def tab(n: int) -> None:
        try:
            for i in range(STEPS):
                tabs[n].add(tour.id, token, Step("walk", {"tab": str(n), "i": str(i)}))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=tab, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    steps = Tours(uri).get(tour.id).steps
    assert sorted((s.params["tab"], int(s.params["i"])) for s in steps) == [(str(n), i) for n in "01" for i in range(STEPS)]
    for n in "01":  # each tab's steps in the order it added them
        assert [int(s.params["i"]) for s in steps if s.params["tab"] == n] == list(range(STEPS))


@pytest.mark.slow
def test_two_processes_with_one_token_lose_nothing_and_cross_no_cap(tmp_path, monkeypatch):
    uri, uploads = str(tmp_path / "db"), str(tmp_path / "uploads")
    monkeypatch.setenv("ARTSIM_MAX_COLLECTION_PAINTINGS", str(CAP))
    monkeypatch.setenv("ARTSIM_STORE_QUOTA_MB", "0")  # the replicas set 2 MB for the quota race
    collections = Collections(uri, uploads_dir=uploads)
    tour, tour_token = Tours(uri).create("shared")
    shared, shared_token = collections.create("shared")
    quota = [collections.create(f"replica {n}") for n in range(2)]
    plan = {
        "uri": uri, "uploads": uploads, "steps": STEPS, "paintings": PAINTINGS,
        "tour": tour.id, "tour_token": tour_token, "collection": shared.id, "collection_token": shared_token,
        "quota_collections": [(info.id, token) for info, token in quota], "quota_mb": QUOTA_MB,
    }
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=replica, args=(n, plan, barrier, results)) for n in range(2)]
    for p in procs:
        p.start()
    outs = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    assert all(not o["other"] and not o["tour_errors"] for o in outs), outs

    steps = Tours(uri).get(tour.id).steps  # no lost edit
    assert sorted((s.params["who"], int(s.params["i"])) for s in steps) == [
        (str(n), i) for n in "01" for i in range(STEPS)]

    fresh = Collections(uri, uploads_dir=tmp_path / "fresh")  # the cap is never crossed, and is reached
    assert len(fresh.paintings(shared.id)) == CAP
    assert sum(o["refused"] for o in outs) == 2 * PAINTINGS - CAP

    # The store quota (shared by every collection): the first phase stored CAP images, so exactly
    # QUOTA_MB - CAP images of 100 kB more fit; with the race, more were stored.
    fit = QUOTA_MB * 1_000_000 // BLOB_BYTES - CAP
    assert fresh.image_bytes() == (CAP + fit) * BLOB_BYTES
    assert sum(len(fresh.paintings(info.id)) for info, _ in quota) == fit
    assert sum(o["quota_refused"] for o in outs) == 2 * PAINTINGS - fit


def test_object_storage_locks_only_within_the_process():
    assert locks.lock_path("s3://bucket/db", "tour:x") is None
    assert locks.lock_path("/srv/db", "tour:x").parent.name == locks.LOCKS_DIR
    assert locks.lock_path("/srv/db", "images").name == "images.lock"
    with locks.held("s3://bucket/db", "tour:x"):
        pass
