"""The large-collection views (#15.5) through AppTest on 300 paintings, with ``ARTSIM_LARGE_N=200``.

The store holds synthetic vectors (artist structure) for 300 tiny generated JPEGs under the
default model's fingerprint, so the app embeds nothing; ``ARTSIM_LARGE_N`` (a documented
setting, :func:`artsim.config.large_n`) moves the large-collection thresholds down to 200.
Checked against references computed here: scipy's truncated dendrogram of the same sampled
tree, and the walk over the exact k-NN graph (the ANN index over 300 rows has one partition
and re-ranks every candidate on the full vectors, so its graph is the exact one).
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from PIL import Image
from scipy.cluster.hierarchy import dendrogram, to_tree

from artsim.analysis.clustering import TOP_LEVELS_P, cluster_collection
from artsim.analysis.separation import DEFAULT_K, knn_graph, shortest_chain
from artsim.embedding import get_embedder
from artsim.inputs.collection import scan_folder
from artsim.store import ann
from artsim.store.vectors import EmbeddingStore
from tests.test_app import open_in

N, LARGE_N, ARTISTS = 300, 200, 6


def _jpeg(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(scope="module")
def scale_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    gallery = root / "gallery"
    rows = ["file,artist,title,year"]
    for i in range(N):
        artist = f"Painter {i % ARTISTS}"
        (gallery / artist).mkdir(parents=True, exist_ok=True)
        (gallery / artist / f"p{i:03d}.jpg").write_bytes(_jpeg(i))
        rows.append(f"{artist}/p{i:03d}.jpg,{artist},Work {i},1900")
    (gallery / "metadata.csv").write_text("\n".join(rows) + "\n")
    paintings = scan_folder(gallery).paintings
    assert len(paintings) == N
    model = get_embedder("efficientnet-lite0", lazy=True)  # its fingerprint only: no network is built
    rng = np.random.default_rng(0)
    centres = np.abs(rng.standard_normal((ARTISTS, model.dim)))
    codes = np.array([int(p.artist.split()[-1]) for p in paintings])
    X = (centres[codes] + 2.0 * rng.standard_normal((N, model.dim))).astype(np.float32)
    store = EmbeddingStore(str(root / "db"))
    store.add(paintings, X, model, [_jpeg(0)] * N)
    assert ann.ensure_index(store, model.fingerprint, min_rows=256)
    env = {
        "ARTSIM_HOME": str(root / "home"), "ARTSIM_DB": str(root / "db"), "ARTSIM_GALLERY": str(gallery),
        "ARTSIM_MODEL": "efficientnet-lite0", "TORCH_HOME": str(root / "torch"), "ARTSIM_LARGE_N": str(LARGE_N),
    }
    return env, {p.sha256: x for p, x in zip(paintings, X, strict=True)}


def _vectors(at, vectors: dict) -> tuple[np.ndarray, list[str]]:
    frame = at.session_state["artsim_context"].frame
    shas = frame["sha256"].tolist()
    return np.stack([vectors[s] for s in shas]), shas


def test_clustering_shows_the_top_of_a_sampled_tree_with_branch_sizes(scale_env, monkeypatch):
    env, vectors = scale_env
    at = open_in(env, monkeypatch, "clustering", paintings=N)
    X, _ = _vectors(at, vectors)
    view = at.session_state["artsim_context"].view
    assert any(f"{N:,} paintings: the tree is built on a random sample of {LARGE_N}" in i.value for i in at.info)
    ref = cluster_collection(X, view.linkage, view.k, center=view.center, max_n=LARGE_N)
    assert not ref.exact
    truncated = dendrogram(ref.Z, truncate_mode="lastp", p=TOP_LEVELS_P, no_plot=True)
    counts = [int(re.sub(r"\D", "", s)) if s.startswith("(") else 1 for s in truncated["ivl"]]
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    ticks = spec["layout"]["yaxis"]["ticktext"]
    assert len(ticks) == TOP_LEVELS_P
    sizes = [int(t.split("≈")[1].replace(",", "")) for t in ticks]
    assert sizes == [round(c * N / LARGE_N) for c in counts]  # each branch stands for its share of N
    # every cluster of the page's table is listed with the true size of the whole collection
    expanders = [e.label for e in at.expander if e.label.startswith("Cluster ")]
    assert len(expanders) == view.k
    got = sorted(int(re.search(r": (\d+) paintings", label).group(1)) for label in expanders)
    assert got == sorted(np.bincount(ref.labels).tolist()) and sum(got) == N
    # drill-down: the paintings under one branch are the sampled leaves under that node of the tree
    b = int(np.argmax(counts))  # the largest branch
    at.selectbox(key="branch_widget").set_value(b).run()
    node = to_tree(ref.Z, rd=True)[1][truncated["leaves"][b]]
    want = at.session_state["artsim_context"].frame["title"].to_numpy()[ref.sample[node.pre_order()]]
    shown = at.dataframe[0].value
    assert list(shown["title"]) == list(want) and len(want) == counts[b] > 1


def test_walk_uses_the_ann_index_above_the_threshold(scale_env, monkeypatch):
    env, vectors = scale_env
    at = open_in(env, monkeypatch, "walk", paintings=N)
    X, shas = _vectors(at, vectors)
    caption = next(c.value for c in at.caption if "nearest-neighbour graph" in c.value)
    assert "approximate nearest-neighbour index" in caption and f"{N:,} paintings" in caption
    ref = shortest_chain(knn_graph(X, DEFAULT_K), 0, N - 1)
    texts = [t.value for t in at.main.text if " – " in t.value]
    frame = at.session_state["artsim_context"].frame
    want = [f"{frame['artist'].iloc[i]} – {frame['title'].iloc[i]}" for i in ref.steps]
    assert texts == want and shas[ref.steps[-1]] == shas[N - 1]


def test_gallery_draws_the_first_of_each_artist_and_only_their_thumbnails(scale_env, monkeypatch):
    """Regression: the Gallery made a data URI for every painting of the collection, shown or not."""
    env, _ = scale_env
    first, per_artist = 12, N // ARTISTS  # pages/gallery.py shows 12 an artist until "Show all"
    at = open_in(env, monkeypatch, "gallery", paintings=N)
    assert len(at.image) == ARTISTS * first
    at.toggle(key="all_Painter 0").set_value(True).run()
    assert len(at.image) == (ARTISTS - 1) * first + per_artist
    assert all(img.proto.imgs[0].url.startswith("data:image/jpeg;base64,") for img in at.image)
