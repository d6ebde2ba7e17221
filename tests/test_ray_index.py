"""artsim index --ray against a local Ray (2 CPUs): same vectors and rows as the local path, no duplicates."""

from __future__ import annotations

import numpy as np
import pytest

from artsim.indexing.local import index
from artsim.store.database import Database
from artsim.store.vectors import EmbeddingStore, table_name
from tests.test_index import make_images

ray = pytest.importorskip("ray")


def rows(db: str, fingerprint: str) -> dict[str, np.ndarray]:
    table = Database(db).open(table_name(fingerprint)).to_arrow()
    shas = table.column("sha256").to_pylist()
    assert len(shas) == len(set(shas)), "duplicate rows"
    return dict(zip(shas, np.asarray(table.column("vector").to_pylist(), np.float32), strict=True))


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_ray_path_matches_local_path_and_reruns_add_nothing(local_ray, tmp_path, monkeypatch):
    from artsim.embedding import get_embedder
    from artsim.indexing.ray_index import index_ray

    monkeypatch.setenv("ARTSIM_HOME", str(tmp_path / "home"))
    shas = make_images(tmp_path / "imgs", 10)
    embedder = get_embedder("efficientnet-lite0", precision="fp32")
    local_db, ray_db = str(tmp_path / "local"), str(tmp_path / "ray")
    local = index([str(tmp_path / "imgs")], embedder, EmbeddingStore(local_db), progress=False)
    assert local.new == 10

    kw = {"precision": "fp32", "batch_size": 4, "actors": 1, "chunk": 3, "progress": False}
    first = index_ray([str(tmp_path / "imgs")], "efficientnet-lite0", EmbeddingStore(ray_db), **kw)
    assert (first.new, first.cached) == (10, 0)
    assert [p.rsplit("/", 1)[-1] for p, _ in first.skipped] == ["broken.jpg"]
    want, got = rows(local_db, embedder.fingerprint), rows(ray_db, embedder.fingerprint)
    assert set(got) == set(want) == shas
    for sha in shas:
        a, b = want[sha], got[sha]
        assert float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))) >= 0.999

    again = index_ray([str(tmp_path / "imgs")], "efficientnet-lite0", EmbeddingStore(ray_db), **kw)
    assert (again.new, again.cached) == (0, 10)
    assert set(rows(ray_db, embedder.fingerprint)) == shas
