"""``artsim index`` on N generated images: one uninterrupted run (the baseline) vs a run
SIGKILLed half way and rerun, in fresh stores, in one process tree.

Prints the rates and checks the resumed store: the same row set as the images and
no duplicate key. Ends with
``n=<N> index_img_s=<..> killed_at=<rows> rerun_new=<..> resumed_total_s=<..> duplicates=<..>``.

    .venv/bin/python benchmarks/index_resume.py --n 2000 [--model efficientnet-lite0] [--side 320]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from artsim.embedding import get_embedder  # noqa: E402
from artsim.store.database import Database  # noqa: E402
from artsim.store.vectors import table_name  # noqa: E402


def make_images(root: Path, n: int, side: int) -> None:
    """``n`` JPEGs of smooth random colour fields (decode cost like a small photo), 20 artists."""
    rng = np.random.default_rng(0)
    for i in range(n):
        small = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((side * 4 // 3, side), Image.Resampling.BICUBIC)
        path = root / f"Artist {i % 20:02d}" / f"img{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, quality=85)


def rows(db: str, fingerprint: str) -> list[str]:
    table = Database(db).open(table_name(fingerprint))
    return [] if table is None else table.to_arrow().column("sha256").to_pylist()


def run(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=REPO, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--side", type=int, default=320, help="image height in px (width 4/3 of it)")
    ap.add_argument("--model", default="efficientnet-lite0")
    ap.add_argument("--chunk", type=int, default=64)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="artsim-index-", ignore_cleanup_errors=True) as tmp:
        measure(args, Path(tmp))


def measure(args: argparse.Namespace, tmp: Path) -> None:
    make_images(tmp / "imgs", args.n, args.side)
    fingerprint = get_embedder(args.model).fingerprint
    env = {**os.environ, "ARTSIM_HOME": str(tmp / "home"), "PYTHONPATH": str(REPO)}

    def cmd(db: str) -> list[str]:
        return [sys.executable, "-m", "artsim.cli", "index", str(tmp / "imgs"), "--db", db,
                "--model", args.model, "--chunk", str(args.chunk)]

    base_s = run(cmd(str(tmp / "base")), env)
    assert len(rows(str(tmp / "base"), fingerprint)) == args.n, "baseline run did not finish"
    print(f"uninterrupted: {args.n} images in {base_s:.1f} s ({args.n / base_s:.1f} img/s, model load included)")

    db = str(tmp / "resumed")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd(db), env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while len(rows(db, fingerprint)) < args.n // 2 and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = len(rows(db, fingerprint))
    rerun_s = run(cmd(db), env)
    total_s = time.perf_counter() - t0
    final = rows(db, fingerprint)
    duplicates = len(final) - len(set(final))
    print(f"killed after {killed_at} rows; rerun embedded {len(final) - killed_at} in {rerun_s:.1f} s; "
          f"rows {len(set(final))}/{args.n}, duplicates {duplicates}")
    print(f"n={args.n} index_img_s={args.n / base_s:.1f} killed_at={killed_at} rerun_new={len(final) - killed_at} "
          f"resumed_total_s={total_s:.1f} duplicates={duplicates}")


if __name__ == "__main__":
    main()
