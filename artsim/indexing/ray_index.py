"""``artsim index ... --ray [ADDRESS]``: embed on a Ray cluster, write into the same store.

The driver scans the sources (as :mod:`artsim.indexing.local` does), asks the store
which paintings it lacks, and builds a Ray Dataset of those (path, sha256,
artist, title). ``map_batches`` runs :class:`EmbedActor` over an actor pool:
each actor loads the model once (one GPU per actor when the cluster has GPUs)
and runs :func:`artsim.indexing.embed_stream.embed_paintings` on its batches, so decoding,
preprocessing, thumbnails and per-file failures are exactly the local path's and
the vectors are the same. The driver streams the results with ``iter_batches``
and writes them with :meth:`artsim.store.vectors.EmbeddingStore.add`, one append per
``chunk`` rows, into the store ``ARTSIM_DB`` names (a folder or an object store
such as ``s3://bucket/artsim``).

Why the driver writes and not ``Dataset.write_lance`` / ``lance-ray``: those
append plain rows; the store keys rows by (model fingerprint, sha256), skips
keys it has (no duplicate after a rerun or beside a concurrent local run),
keeps thumbnails in their own table, and compacts. A row is ~5 KB of vector
plus a ~5 KB thumbnail, so one writer keeps up with far more images per second
than the models produce. Files must be readable at the same path on every node
(a shared file system), as with any Ray job reading local paths.

Resumable like the local path: what was written before a kill stays; a rerun
sends only what is missing to the cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from artsim import lazy
from artsim.embedding import get_embedder
from artsim.indexing.embed_stream import embed_paintings
from artsim.indexing.local import IndexReport, local_paths, write_report
from artsim.indexing.pipeline import CHUNK, DEFAULT_BATCH_SIZE
from artsim.inputs.collection import Painting, scan_paths
from artsim.progress import progress_bar

ray = lazy.load("ray")  # and Ray Data, only for `artsim index --ray`

__all__ = ["EmbedActor", "index_ray"]


class EmbedActor:
    """One model per Ray actor: ``batch`` of (path, sha256, artist, title) -> vectors, thumbnails, reasons."""

    def __init__(self, model: str, weights: str | None, precision: str, fingerprint: str) -> None:
        self.embedder = get_embedder(model, weights=weights, precision=precision, lazy=False)
        if self.embedder.fingerprint != fingerprint:
            raise RuntimeError(
                f"this node's {model} has fingerprint {self.embedder.fingerprint}, the driver's {fingerprint}: "
                "install the same weights and artsim version on every node"
            )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        paintings = [
            Painting(sha256=str(s), path=str(p), artist=str(a), title=str(t))
            for p, s, a, t in zip(
                batch["path"], batch["sha256"], batch["artist"], batch["title"], strict=True
            )
        ]
        got: dict[str, tuple[np.ndarray, bytes]] = {}
        stream = embed_paintings(paintings, self.embedder, batch_size=max(1, len(paintings)))
        for done, vecs, thumbs in stream:
            for p, v, t in zip(done, vecs, thumbs, strict=True):
                got[p.sha256] = (np.asarray(v, np.float32), t)
        reasons = {path: reason for path, reason in stream.skipped}
        dim = int(self.embedder.dim)
        zero = np.zeros(dim, np.float32)
        return {
            "sha256": np.array([p.sha256 for p in paintings], dtype=object),
            "path": np.array([p.path for p in paintings], dtype=object),
            "vector": np.stack([got.get(p.sha256, (zero, b""))[0] for p in paintings]),
            "thumbnail": np.array([got.get(p.sha256, (zero, b""))[1] for p in paintings], dtype=object),
            "reason": np.array(
                ["" if p.sha256 in got else reasons.get(p.path, "not embedded") for p in paintings],
                dtype=object,
            ),
        }


def index_ray(
    sources: Sequence[str],
    model: str,
    store,
    *,
    address: str | None = None,
    weights: str | None = None,
    precision: str = "auto",
    batch_size: int = DEFAULT_BATCH_SIZE,
    actors: int | None = None,
    chunk: int = CHUNK,
    progress: bool = True,
) -> IndexReport:
    """Embed what ``store`` lacks under ``sources`` on a Ray cluster (see the module notes).

    Parameters
    ----------
    address : the cluster (``ray://host:10001``, ``auto``); None: an already
        initialised Ray, else a local one.
    actors : actor-pool size (default: one per GPU when the cluster has GPUs,
        else one per 4 CPUs, at least 1).
    """
    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True)
    report = IndexReport()
    paths = local_paths(sources, report, progress=progress)
    try:
        scan = scan_paths(paths)
        report.skipped.extend(scan.skipped)
        report.total = len(scan.paintings)
        handle = get_embedder(model, weights=weights, precision=precision)  # lazy: fingerprint only
        fingerprint = handle.fingerprint
        have = store.get_vectors([p.sha256 for p in scan.paintings], fingerprint)
        missing = list({p.sha256: p for p in scan.paintings if p.sha256 not in have}.values())
        report.cached = sum(1 for p in scan.paintings if p.sha256 in have)
        if missing:
            gpus = int(ray.cluster_resources().get("GPU", 0))
            cpus = int(ray.cluster_resources().get("CPU", 1))
            pool = actors or (gpus if gpus else max(1, cpus // 4))
            rows = [
                {"path": p.path, "sha256": p.sha256, "artist": p.artist, "title": p.title} for p in missing
            ]
            by_sha = {p.sha256: p for p in missing}
            ds = ray.data.from_items(rows).map_batches(
                EmbedActor,
                fn_constructor_kwargs={
                    "model": model,
                    "weights": weights,
                    "precision": precision,
                    "fingerprint": fingerprint,
                },
                batch_size=batch_size,
                concurrency=pool,
                num_gpus=1 if gpus else 0,
                batch_format="numpy",
            )
            pending: list[tuple[Painting, np.ndarray, bytes]] = []

            def flush() -> None:
                if pending:
                    report.new += store.add(
                        [p for p, _, _ in pending],
                        np.stack([v for _, v, _ in pending]),
                        handle,
                        [t for *_, t in pending],
                    )
                    pending.clear()

            with progress_bar(len(missing), "indexing on ray", enabled=progress) as bar:
                try:
                    for out in ds.iter_batches(batch_size=batch_size, batch_format="numpy"):
                        columns = ("sha256", "path", "vector", "thumbnail", "reason")
                        for sha, path, vec, thumb, reason in zip(*(out[c] for c in columns), strict=True):
                            if reason:
                                report.skipped.append((str(path), str(reason)))
                            else:
                                pending.append((by_sha[str(sha)], np.asarray(vec, np.float32), bytes(thumb)))
                        if len(pending) >= chunk:
                            flush()
                        bar.update(len(out["sha256"]))
                finally:  # also on Ctrl-C: keep what the cluster already embedded
                    flush()
            if report.new:
                store.compact(fingerprint)
    finally:
        report.report_path = write_report(report.skipped)
    return report
