"""Chunked writes into the embedding store, as ``embed_with_cache`` makes them: the cost of a chunk
early and late in a long run, with the key index carried over each append against read anew.

Usage::

    .venv/bin/python benchmarks/store_writes.py --n 10000

For each chunk of 32 synthetic paintings (2048-d vectors, 5 KB thumbnails): ask the
store for the chunk's vectors (none stored yet), then append it, as the pipeline
does between two chunks. ``carried`` is artsim as it is: an append that is the only
commit since the cached key index extends it. ``reread`` is the same run with the
cached index dropped before each chunk, which is what every append caused before
(each read then scans every key of both tables). Both run here, in the same process,
on fresh stores. Ends with one line
``n=<..> carried_s=<..> reread_s=<..> ratio=<..> carried_last_ms=<..> reread_last_ms=<..>``
(``last_ms``: the mean cost of the last 10 chunks).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from artsim.inputs.collection import Painting  # noqa: E402
from artsim.store.vectors import EmbeddingStore  # noqa: E402

CHUNK = 32


class _Dims:
    """What the store needs of an embedder: a name, a fingerprint, a dimension."""

    name, fingerprint, dim = "bench", "bench-2048", 2048


def _run(folder: str, n: int, reread: bool) -> list[float]:
    """Seconds per chunk of ``n`` paintings written to a fresh store in ``folder``."""
    store = EmbeddingStore(folder)
    rng = np.random.default_rng(0)
    thumb = rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()
    times = []
    for start in range(0, n, CHUNK):
        part = [Painting(sha256=hashlib.sha256(str(i).encode()).hexdigest(), path=f"/p/{i}.jpg",
                         artist=f"A{i % 20}", title=str(i)) for i in range(start, min(n, start + CHUNK))]
        vectors = rng.standard_normal((len(part), _Dims.dim)).astype(np.float32)
        t0 = time.perf_counter()
        if reread:
            store.db._index.clear()  # as before the change: every append left the index to be read anew
        store.get_vectors([p.sha256 for p in part], _Dims.fingerprint)
        store.add(part, vectors, _Dims(), [thumb] * len(part))
        times.append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    args = ap.parse_args(argv)
    out = {}
    with tempfile.TemporaryDirectory(prefix="artsim-store-writes-") as tmp:
        _run(f"{tmp}/warm-up", 2 * CHUNK, False)  # LanceDB's import and first connection, timed by neither
        for name, reread in (("carried", False), ("reread", True)):
            times = _run(f"{tmp}/{name}", args.n, reread)
            out[name] = times
            print(f"{name:8s} {args.n} paintings in {len(times)} chunks: {sum(times):6.2f} s; "
                  f"first 10 chunks {1000 * np.mean(times[:10]):6.1f} ms each, "
                  f"last 10 {1000 * np.mean(times[-10:]):6.1f} ms each", flush=True)
    carried, reread = sum(out["carried"]), sum(out["reread"])
    print(f"n={args.n} carried_s={carried:.2f} reread_s={reread:.2f} ratio={reread / carried:.2f} "
          f"carried_last_ms={1000 * np.mean(out['carried'][-10:]):.1f} "
          f"reread_last_ms={1000 * np.mean(out['reread'][-10:]):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
