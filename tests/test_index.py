"""artsim index: resumable bulk indexing, a skip report per run, no duplicate rows after a SIGKILL."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artsim.files import sha256_file
from artsim.indexing.local import index, report_dir
from artsim.store.database import Database
from artsim.store.vectors import EmbeddingStore, table_name
from tests.helpers import TinyEmbedder

REPO = Path(__file__).resolve().parents[1]


def make_images(root: Path, n: int) -> set[str]:
    """``n`` tiny noise JPEGs under ``root/Artist k/`` plus one broken file; returns the good files' sha256."""
    rng = np.random.default_rng(7)
    shas = set()
    for i in range(n):
        path = root / f"Artist {i % 4}" / f"p{i:03d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(path, quality=80)
        shas.add(sha256_file(path))
    (root / "Artist 0" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    return shas


def stored_shas(db: str, fingerprint: str) -> list[str]:
    table = Database(db).open(table_name(fingerprint))
    return [] if table is None else table.to_arrow().column("sha256").to_pylist()


def read_report(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_index_reports_skips_and_a_rerun_embeds_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTSIM_HOME", str(tmp_path / "home"))
    shas = make_images(tmp_path / "imgs", 12)
    db = str(tmp_path / "db")
    embedder = TinyEmbedder()
    first = index([str(tmp_path / "imgs")], embedder, EmbeddingStore(db), chunk=5, progress=False)
    assert (first.total, first.new, first.cached) == (13, 12, 0)  # 13 files, one broken
    assert [Path(p).name for p, _ in first.skipped] == ["broken.jpg"]
    assert first.report_path.parent == report_dir() and first.report_path.is_file()
    assert [Path(r["path"]).name for r in read_report(first.report_path)] == ["broken.jpg"]
    assert sorted(stored_shas(db, embedder.fingerprint)) == sorted(shas)

    second = index([str(tmp_path / "imgs")], embedder, EmbeddingStore(db), chunk=5, progress=False)
    assert (second.new, second.cached, len(second.skipped)) == (0, 12, 1)
    assert embedder.images_embedded == 12  # nothing embedded twice
    assert sorted(stored_shas(db, embedder.fingerprint)) == sorted(shas)


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_finishes_without_duplicates(tmp_path):
    """A real model (EfficientNet-Lite0, fp32) in a subprocess, killed after its first stored chunk."""
    from artsim.embedding import get_embedder

    shas = make_images(tmp_path / "imgs", 32)
    db = str(tmp_path / "db")
    fingerprint = get_embedder("efficientnet-lite0", precision="fp32").fingerprint
    env = {**os.environ, "ARTSIM_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "artsim.cli", "index", str(tmp_path / "imgs"), "--db", db]
    cmd += ["--model", "efficientnet-lite0", "--precision", "fp32", "--chunk", "4", "--batch-size", "2"]

    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while len(stored_shas(db, fingerprint)) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    partial = stored_shas(db, fingerprint)
    assert 4 <= len(partial) < len(shas), "the kill must land mid-run"
    assert len(set(partial)) == len(partial)

    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr  # 1: one file skipped
    assert f"indexed {len(shas) - len(partial)} new, {len(partial)} already in the store, 1 skipped" in done.stdout
    rows = stored_shas(db, fingerprint)
    assert len(rows) == len(set(rows)) and set(rows) == shas
    (report,) = sorted((tmp_path / "home" / "index-reports").glob("*.csv"))  # the killed run wrote none
    assert [Path(r["path"]).name for r in read_report(report)] == ["broken.jpg"]
