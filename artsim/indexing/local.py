"""Bulk indexing: many paintings into the store, resumable, with a progress bar and a skip report.

``artsim index PATH|MANIFEST_URL`` scans folders (or first imports a IIIF manifest
or collection with :func:`artsim.sources.iiif.import_iiif`), then hands the paintings to
:func:`artsim.indexing.pipeline.embed_with_cache`, which asks the store what it already
has and embeds the rest in chunks, one append per chunk.

Why it is safe to interrupt and rerun:

- **SIGKILL**: each chunk is one LanceDB commit, and a commit is atomic (data
  files first, then the manifest that makes them visible), so a killed run loses
  at most the chunk in flight, and the rerun embeds only what the store lacks.
- **SIGINT** (Ctrl-C): the chunk in flight is stored before the interrupt goes on.
- **No duplicate rows**: rows are keyed by (model fingerprint, sha256); the store
  skips keys it has, and a run that wrote ends with a compaction that drops
  duplicates a lost race between two writers could leave.

Every run writes its skipped items (unreadable files, files that fail to
decode or embed, IIIF items that could not be imported) to
``$ARTSIM_HOME/index-reports/<UTC time>-<pid>.csv`` (``path,reason``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from artsim import config, lazy
from artsim.files import atomic_write
from artsim.indexing.pipeline import CHUNK, DEFAULT_BATCH_SIZE, embed_with_cache
from artsim.inputs.collection import scan_paths
from artsim.progress import progress_bar

iiif = lazy.load("artsim.sources.iiif")  # and its HTTP client, only for a manifest URL

__all__ = ["IndexReport", "import_url", "index", "is_url", "report_dir", "write_report"]


@dataclass
class IndexReport:
    """What one ``index`` run did."""

    total: int = 0
    """Image files found (a broken one counts here and in ``skipped``)."""
    new: int = 0
    cached: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    report_path: Path | None = None

    def summary(self) -> str:
        """One line: counts and where the skip report is."""
        where = f"; skipped items in {self.report_path}" if self.report_path else ""
        return f"indexed {self.new} new, {self.cached} already in the store, {len(self.skipped)} skipped{where}"


def is_url(source: str) -> bool:
    """True for an ``http(s)://`` source (a IIIF manifest or collection)."""
    return source.startswith(("http://", "https://"))


def report_dir() -> Path:
    """``$ARTSIM_HOME/index-reports``: one CSV of skipped items per run."""
    return config.home() / "index-reports"


def write_report(skipped: Sequence[tuple[str, str]]) -> Path:
    """Write ``path,reason`` rows to a new CSV under :func:`report_dir`; returns its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = report_dir() / f"{stamp}-{os.getpid()}.csv"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["path", "reason"])
    writer.writerows(skipped)
    atomic_write(path, out.getvalue().encode("utf-8"))
    return path


def import_url(url: str, *, progress: bool) -> tuple[Path, list[tuple[str, str]]]:
    """Import a IIIF manifest or collection into ``$ARTSIM_HOME/iiif/<id>``; the folder and its skips."""
    dest = config.home() / "iiif" / hashlib.sha256(url.encode()).hexdigest()[:12]
    report = iiif.import_iiif(url, dest, progress=progress)
    return dest, list(report.skipped)


def local_paths(sources: Sequence[str], report: IndexReport, *, progress: bool) -> list[str]:
    """Folders and files to scan for ``sources``: manifest URLs are imported first (their
    skipped items go into ``report``), paths pass through."""
    paths: list[str] = []
    for source in sources:
        if is_url(source):
            folder, skipped = import_url(source, progress=progress)
            paths.append(str(folder))
            report.skipped.extend(skipped)
        else:
            paths.append(source)
    return paths


def index(
    sources: Sequence[str],
    embedder,
    store,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    chunk: int = CHUNK,
    progress: bool = True,
) -> IndexReport:
    """Embed every painting under ``sources`` that the store lacks, and report what was skipped.

    Parameters
    ----------
    sources : folders, image files, or IIIF manifest/collection URLs (imported first
        into ``$ARTSIM_HOME/iiif/<id>``; artist = folder name, as for ``artsim embed``).
    embedder : the model (:func:`artsim.embedding.get_embedder`); loaded only if
        something is missing.
    store : :class:`artsim.store.vectors.EmbeddingStore`.
    chunk : paintings per store write: a SIGKILL loses at most this much work.
    progress : a bar on stderr (files done, rate, ETA), hidden when not a terminal.

    Returns
    -------
    IndexReport, its skip report already written (also when nothing was skipped).
    """
    report = IndexReport()
    paths = local_paths(sources, report, progress=progress)
    scan = scan_paths(paths)
    report.skipped.extend(scan.skipped)
    report.total = len(scan.paintings)
    try:
        with progress_bar(report.total, "indexing", enabled=progress, smoothing=0.1) as bar:
            result = embed_with_cache(
                store,
                scan.paintings,
                embedder,
                batch_size=batch_size,
                chunk=chunk,
                progress=lambda done, _total: bar.update(done - bar.n),
            )
        report.new, report.cached = result.new, result.cached
        report.skipped.extend(result.skipped)
    finally:
        report.report_path = write_report(report.skipped)
    return report
