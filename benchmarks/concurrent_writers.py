"""Two ``artsim embed`` runs on the same images into one store vs one run alone.

Makes ``--n`` distinct synthetic JPEG paintings (smooth colour fields, 640x480),
then times, each into a fresh database:

* one: a single ``artsim embed`` process;
* two: two ``artsim embed`` processes started together on the same folder.

Both include process start and model load, as a user would see them. The two
set-ups alternate ``--repeat`` times (other work on a shared machine shifts
both alike) and the fastest of each counts. Prints rows, distinct keys and kept
versions of the vector table after each run (target: every image once, a
handful of versions), then ``one_s=.. two_s=.. ratio=..`` (target: ratio <= 1.5).

Usage: ``.venv/bin/python benchmarks/concurrent_writers.py [--n 300] [--repeat 2] [--model efficientnet-lite0]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_images(folder: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(n):
        artist = folder / f"Artist {i % 5}"
        artist.mkdir(parents=True, exist_ok=True)
        base = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        Image.fromarray(base).resize((640, 480), Image.Resampling.BICUBIC).save(artist / f"{i:04d}.jpg", quality=88)


def run(folder: Path, db: str, model: str, writers: int) -> float:
    cmd = [sys.executable, "-m", "artsim.cli", "embed", str(folder), "--model", model, "--db", db]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(writers)]
    outs = [p.communicate() for p in procs]
    wall = time.perf_counter() - t0
    for p, (out, err) in zip(procs, outs, strict=True):
        if p.returncode != 0:
            raise SystemExit(f"artsim embed failed ({p.returncode}): {err.decode()[-800:]}")
        print(f"  writer: {out.decode().strip()}")
    return wall


def table_report(db: str) -> str:
    import lancedb

    conn = lancedb.connect(db)
    name = next(t for t in conn.list_tables().tables if t.startswith("embeddings_"))
    table = conn.open_table(name)
    keys = table.to_arrow()["sha256"].to_pylist()
    return f"rows={len(keys)} distinct={len(set(keys))} versions={len(table.list_versions())}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--model", default="efficientnet-lite0")
    args = ap.parse_args()
    ones, twos = [], []
    with tempfile.TemporaryDirectory(prefix="artsim-writers-") as tmp:
        folder = Path(tmp) / "images"
        make_images(folder, args.n)
        print(f"{args.n} images, model {args.model}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
        for r in range(args.repeat):
            one_db, two_db = str(Path(tmp) / f"one{r}"), str(Path(tmp) / f"two{r}")
            ones.append(run(folder, one_db, args.model, 1))
            print(f"  one writer:  {ones[-1]:.1f} s, {table_report(one_db)}")
            twos.append(run(folder, two_db, args.model, 2))
            print(f"  two writers: {twos[-1]:.1f} s, {table_report(two_db)}")
    one, two = min(ones), min(twos)
    print(f"one_s={one:.1f} two_s={two:.1f} ratio={two / one:.2f}")


if __name__ == "__main__":
    main()
