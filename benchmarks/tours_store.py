"""Tours and collections in the store stay cheap (issue 25.4): one read after many edits, a lookup after many creates.

Two measurements, each against a baseline built in the same run:

- **edits**: a tour of 40 large steps edited ``--edits`` times. Baseline: the layout
  before the fix (every save appended the whole list as a new version row, a read
  loaded every version). Now: one row per tour, and a read reads the version numbers
  first and then one list. Reported: one ``get``'s time, the steps text it decoded,
  and its peak RSS growth (``VmHWM`` reset through ``/proc/self/clear_refs``).
- **creates**: ``--creates`` new tours, then ``get`` of a few. Baseline: no compaction
  (as before); now: :meth:`Database.wrote` compacts every ``COMPACT_EVERY`` writes.
  Reported: lookup time, files and megabytes of the tours table on disk.

Usage: ``python benchmarks/tours_store.py [--edits 300] [--creates 3000]`` (defaults are a short mode).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa  # noqa: E402

from artsim.store import database  # noqa: E402
from artsim.store.tours import MAX_STEPS, STEPS_SCHEMA, STEPS_TABLE, TOURS_TABLE, Step, Tours, _decode  # noqa: E402


def _kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def peak_growth_mb(fn) -> tuple[float, float, object]:
    """(seconds, peak RSS growth in MB, result) of ``fn()``; the peak is reset first (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    before = _kb("VmRSS")
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    return seconds, (_kb("VmHWM") - before) / 1024, out


def big_steps(n: int = MAX_STEPS) -> list[Step]:
    """Steps as large as a tour keeps: a 600-character caption and 24 parameters of 300 characters."""
    return [Step("walk", {f"p{j}": f"{i}-{j}-" + "v" * 300 for j in range(24)}, "c" * 600) for i in range(n)]


def legacy_get(tours: Tours, tour_id: str) -> tuple:
    """The read before the fix: every version's steps, then the highest."""
    rows = tours._rows(STEPS_TABLE, f"tour = '{tour_id}'", ["version", "steps", "added"])
    last = max(rows, key=lambda r: (r["version"], r["added"]))
    return _decode(last["steps"]), sum(len(r["steps"]) for r in rows)


def bench_edits(root: Path, edits: int) -> dict:
    steps = big_steps()
    payload = json.dumps([{"page": s.page, "params": s.params, "caption": s.caption} for s in steps])
    # Baseline: what `edits` saves left before the fix (a full list per version, nothing deleted).
    old = Tours(str(root / "legacy"))
    tour, _ = old.create("legacy")
    table = old.db.open_or_create(STEPS_TABLE, STEPS_SCHEMA)
    for start in range(0, edits, 50):  # written in batches: the layout matters here, not the write path
        table.add(pa.Table.from_pylist([
            {"tour": tour.id, "version": v + 1, "steps": payload, "added": datetime.now(UTC)}
            for v in range(start, min(edits, start + 50))], schema=STEPS_SCHEMA))
    legacy_get(old, tour.id)  # warm
    t_old, mb_old, (got, text_old) = peak_growth_mb(lambda: legacy_get(old, tour.id))
    assert len(got) == MAX_STEPS
    # Now: the same number of edits through the API (each a save of the whole list).
    new = Tours(str(root / "new"))
    made, token = new.create("new")
    start = time.perf_counter()
    for i in range(edits):
        new.save(made.id, token, steps[: MAX_STEPS - (i % 2)])  # alternate 40 and 39 steps: a real change
    edit_s = (time.perf_counter() - start) / edits
    new.get(made.id)
    t_new, mb_new, back = peak_growth_mb(lambda: new.get(made.id))
    assert back.version == edits
    text_new = len(json.dumps([{"page": s.page, "params": s.params, "caption": s.caption} for s in back.steps]))
    return {"edits": edits, "legacy_get_s": t_old, "legacy_get_peak_mb": mb_old, "legacy_text_mb": text_old / 1e6,
            "get_s": t_new, "get_peak_mb": mb_new, "text_mb": text_new / 1e6, "edit_s": edit_s}


def _disk(folder: Path) -> tuple[int, float]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files) / 1e6


def bench_creates(root: Path, creates: int, compact: bool) -> dict:
    database.COMPACT_EVERY = 50 if compact else 10**9
    tours = Tours(str(root / ("compacted" if compact else "never")))
    ids = []
    start = time.perf_counter()
    for i in range(creates):
        ids.append(tours.create(f"t{i}", max_new=0)[0].id)
    create_s = (time.perf_counter() - start) / creates
    fresh = Tours(tours.db.uri)
    fresh.get(ids[0])
    times = []
    for tid in ids[:: max(1, creates // 20)]:
        t0 = time.perf_counter()
        assert fresh.get(tid) is not None
        times.append(time.perf_counter() - t0)
    files, mb = _disk(Path(tours.db.uri) / f"{TOURS_TABLE}.lance")
    return {"creates": creates, "compact": compact, "lookup_ms": statistics.median(times) * 1e3,
            "create_ms": create_s * 1e3, "files": files, "disk_mb": mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--creates", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("ARTSIM_MAX_TOURS_PER_HOUR", "0")
    os.environ.setdefault("ARTSIM_KEEP_VERSIONS_S", "5")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        e = bench_edits(root, args.edits)
        print(f"edits={e['edits']}: one get before {e['legacy_get_s']:.3f} s, {e['legacy_text_mb']:.1f} MB of steps "
              f"read, peak +{e['legacy_get_peak_mb']:.0f} MB | now {e['get_s']:.3f} s, {e['text_mb']:.2f} MB, "
              f"peak +{e['get_peak_mb']:.0f} MB ({e['legacy_get_s'] / e['get_s']:.0f}x faster); "
              f"one edit {e['edit_s'] * 1e3:.0f} ms")
        never = bench_creates(root, args.creates, compact=False)
        compacted = bench_creates(root, args.creates, compact=True)
        for c in (never, compacted):
            print(f"creates={c['creates']} {'compacted' if c['compact'] else 'never compacted'}: lookup "
                  f"{c['lookup_ms']:.1f} ms, create {c['create_ms']:.1f} ms, tours table {c['files']} files, "
                  f"{c['disk_mb']:.1f} MB")
        print(f"edits={e['edits']} get_s_before={e['legacy_get_s']:.3f} get_s={e['get_s']:.3f} "
              f"get_peak_mb_before={e['legacy_get_peak_mb']:.0f} get_peak_mb={e['get_peak_mb']:.0f} "
              f"creates={args.creates} lookup_ms_before={never['lookup_ms']:.1f} lookup_ms={compacted['lookup_ms']:.1f} "
              f"files_before={never['files']} files={compacted['files']}")


if __name__ == "__main__":
    main()
