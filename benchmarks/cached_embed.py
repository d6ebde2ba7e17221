"""All-cached ``artsim embed``: wall time of the whole command on N paintings whose vectors are stored.

Usage::

    .venv/bin/python benchmarks/cached_embed.py --n 1000

Writes N small JPEGs (seeded noise, 20 artist folders) to a temporary folder,
stores a vector for each under ``efficientnet-lite0``'s fingerprint (through a
handle: no model is loaded), runs ``python -m artsim.cli embed`` on the folder
once (the run a user made before: it leaves the file digests under ``ARTSIM_HOME``
and the key list beside the table), then ``--repeats`` times in fresh
interpreters, timing each (interpreter start, imports, folder scan with the
saved digests, the stored-key check). Also prints the command run
in-process once with the heavy modules it imported (there must be none), and
the time of ``python -c pass`` as the floor. Target (issue #12): < 2 s for 1,000.
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

HEAVY = ("torch", "torchvision", "timm", "onnxruntime", "lancedb")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="artsim-cached-") as tmp:
        env = {**os.environ, "ARTSIM_HOME": os.path.join(tmp, "home"), "PYTHONPATH": str(ROOT)}
        os.environ.update(env)
        from artsim.embedding import get_embedder
        from artsim.inputs.collection import scan_paths
        from artsim.store.vectors import EmbeddingStore

        folder, db = Path(tmp, "paintings"), os.path.join(tmp, "db")
        rng = np.random.default_rng(0)
        for i in range(args.n):
            path = folder / f"Artist {i % 20:02d}" / f"p{i:05d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path, quality=80)
        handle = get_embedder("efficientnet-lite0")
        paintings = scan_paths([str(folder)]).paintings
        vectors = rng.normal(size=(len(paintings), handle.dim)).astype(np.float32)
        EmbeddingStore(db).add(paintings, vectors, handle, [b""] * len(paintings))
        command = [sys.executable, "-m", "artsim.cli", "embed", "--model", "efficientnet-lite0", "--db", db, str(folder)]
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
        floor = time.perf_counter() - t0
        t0 = time.perf_counter()  # the run a user made before: leaves the file digests and the key list
        subprocess.run(command, check=True, env=env, capture_output=True, text=True)
        first = time.perf_counter() - t0
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            out = subprocess.run(command, check=True, env=env, capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
        check = (
            "import sys; from artsim.cli import main;"
            f" rc = main(['embed', '--model', 'efficientnet-lite0', '--db', {db!r}, {str(folder)!r}]);"
            f" print(sorted(set({HEAVY!r}) & set(sys.modules)))"
        )
        heavy = subprocess.run([sys.executable, "-c", check], check=True, env=env, capture_output=True, text=True)
    print(f"{args.n} paintings, all cached: {out.stdout.strip()}")
    print(f"  python -c pass: {floor:.2f} s")
    print(f"  first run (hashes every file, reads the store with LanceDB): {first:.2f} s")
    print(f"  artsim embed wall: {', '.join(f'{t:.2f}' for t in times)} s (best {min(times):.2f} s)")
    print(f"  heavy modules imported: {heavy.stdout.strip().splitlines()[-1]}")
    print(f"cached_embed_s={min(times):.2f} n={args.n} load_average={os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
