"""The exact split of a pair's cosine over positions, checked against direct numpy loops and real models."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from artsim.explain import (
    MapCache,
    block_mean,
    explain_pair,
    pair_contributions,
    pooled_cosine,
    position_contributions,
)
from tests.app_fixtures import make_collection

finite = st.floats(-10, 10, allow_nan=False, width=32)


@st.composite
def two_maps(draw):
    d = draw(st.integers(1, 6))
    na, nb = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    Fa = draw(arrays(np.float32, (na, d), elements=finite))
    Fb = draw(arrays(np.float32, (nb, d), elements=finite))
    mean = draw(st.one_of(st.none(), arrays(np.float32, (d,), elements=finite)))
    return Fa.astype(np.float64), Fb.astype(np.float64), mean


def _loop_reference(Fa, Fb, mean):
    """Position and pair shares written out element by element, straight from the formulas."""
    m = np.zeros(Fa.shape[1]) if mean is None else np.asarray(mean, dtype=np.float64)
    a = sum(Fa[i] for i in range(len(Fa))) / len(Fa) - m
    b = sum(Fb[j] for j in range(len(Fb))) / len(Fb) - m
    na, nb = np.sqrt(sum(x * x for x in a)), np.sqrt(sum(x * x for x in b))
    if na == 0 or nb == 0:
        return np.zeros(len(Fa)), np.zeros((len(Fa), len(Fb))), 0.0
    pos = np.array([sum((Fa[i][c] - m[c]) * b[c] for c in range(len(b))) for i in range(len(Fa))])
    pos /= len(Fa) * na * nb
    pairs = np.array(
        [[float(np.dot(Fa[i] - m, Fb[j] - m)) for j in range(len(Fb))] for i in range(len(Fa))]
    ) / (len(Fa) * len(Fb) * na * nb)
    return pos, pairs, float(np.dot(a, b) / (na * nb))


@settings(max_examples=60, deadline=None)
@given(two_maps())
def test_shares_match_a_direct_loop_and_sum_to_the_cosine(maps):
    Fa, Fb, mean = maps
    pos, pairs, cos = _loop_reference(Fa, Fb, mean)
    b = Fb.mean(axis=0)
    got_pos = position_contributions(Fa, b, mean=mean)
    got_pairs = pair_contributions(Fa, Fb, mean=mean)
    scale = 1 + np.abs(pairs).sum() * len(Fa) * len(Fb)  # bound on cancellation in the sums
    np.testing.assert_allclose(got_pos, pos, rtol=1e-9, atol=1e-12 * scale)
    np.testing.assert_allclose(got_pairs, pairs, rtol=1e-9, atol=1e-12 * scale)
    assert pooled_cosine(Fa, Fb, mean=mean) == pytest.approx(cos, abs=1e-9 * scale)
    assert got_pos.sum() == pytest.approx(cos, abs=1e-9 * scale)
    np.testing.assert_allclose(got_pairs.sum(axis=1), got_pos, atol=1e-9 * scale)


def test_centring_matches_the_cosine_of_centred_vectors():
    rng = np.random.default_rng(0)
    Fa, Fb = rng.random((49, 16)), rng.random((49, 16))
    m = rng.random(16)
    a, b = Fa.mean(0) - m, Fb.mean(0) - m
    expected = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
    assert position_contributions(Fa, Fb.mean(0), mean=m).sum() == pytest.approx(expected, abs=1e-12)
    # raw non-negative features: every position pushes together
    assert (position_contributions(Fa, Fb.mean(0)) > 0).all()


def test_zero_vector_gives_zero_shares_not_nan():
    Fa = np.zeros((4, 3))
    assert not position_contributions(Fa, np.ones(3)).any()
    assert not pair_contributions(np.ones((2, 3)), Fa).any()
    assert pooled_cosine(Fa, np.ones((2, 3))) == 0.0


def test_block_mean_matches_a_loop_and_keeps_the_pooled_vector():
    F = np.random.default_rng(1).random((8, 12, 3))
    B = block_mean(F, 4)
    expected = np.array([[F[4 * y : 4 * y + 4, 4 * x : 4 * x + 4].mean(axis=(0, 1)) for x in range(3)] for y in range(2)])
    np.testing.assert_allclose(B, expected)
    np.testing.assert_allclose(B.reshape(-1, 3).mean(0), F.reshape(-1, 3).mean(0))
    with pytest.raises(ValueError):
        block_mean(F, 5)


def test_explain_pair_maps_sum_to_the_cosine_and_pairs_are_the_largest_shares():
    rng = np.random.default_rng(2)
    Fa, Fb = rng.random((28, 28, 5)), rng.random((7, 7, 5))  # Fa's pair grid is coarsened to 14 x 14
    m = rng.random(5)
    for mean in (None, m):
        ex = explain_pair(Fa, Fb, mean=mean, k=4)
        cos = pooled_cosine(Fa.reshape(-1, 5), Fb.reshape(-1, 5), mean=mean)
        assert ex.cosine == pytest.approx(cos, abs=1e-12)
        assert ex.map_a.shape == (28, 28) and ex.map_b.shape == (7, 7)
        assert ex.map_a.sum() == pytest.approx(cos, abs=1e-12)
        assert ex.map_b.sum() == pytest.approx(cos, abs=1e-12)
        assert ex.pair_grid_a == (14, 14) and ex.pair_grid_b == (7, 7)
        P = pair_contributions(block_mean(Fa, 2).reshape(-1, 5), Fb.reshape(-1, 5), mean=mean)
        assert P.sum() == pytest.approx(cos, abs=1e-12)
        np.testing.assert_allclose(ex.pairs[:, 4], np.sort(P.ravel())[::-1][:4])
        ya, xa, yb, xb = ex.pairs[0, :4].astype(int)
        assert P[ya * 14 + xa, yb * 7 + xb] == ex.pairs[0, 4]


def test_map_cache_is_bounded_by_entries_and_bytes(three_paintings):
    from artsim.explain.maps import PaintingMap

    class Fake:  # only what MapCache.get needs besides the two model calls it makes
        name, fingerprint = "efficientnet-lite0", "f"

        @staticmethod
        def preprocess(image):
            return np.zeros((3, 8, 8), np.float32)

        @staticmethod
        def position_features(x):
            return np.ones((2, 2, 1000), np.float32)  # about 20 kB per map with its mean

    cache = MapCache(maxsize=10, max_bytes=45_000)
    for p in three_paintings:
        assert isinstance(cache.get(Fake, p.sha256, p.path), PaintingMap)
    assert cache.computed == 3 and len(cache._items) == 2 and cache._bytes <= 45_000
    cache.get(Fake, three_paintings[2].sha256, three_paintings[2].path)  # still cached
    assert cache.computed == 3


# ----------------------------------------------------------------------------- real models
@pytest.fixture(scope="session")
def random_resnet_weights(tmp_path_factory):
    """A ResNet-50 state dict with seeded random weights (ImageNet weights cannot be downloaded here)."""
    import torch
    from torchvision.models import resnet50

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "resnet50-random.pth"
    torch.save(resnet50(weights=None).state_dict(), path)
    return path


@pytest.fixture(scope="session")
def three_paintings(tmp_path_factory):
    from artsim.inputs.collection import scan_folder

    root = make_collection(tmp_path_factory.mktemp("explain") / "gallery", per_artist=1)
    return scan_folder(root).paintings


def _embedder(model, weights, monkeypatch):
    from artsim.embedding import get_embedder

    if model == "resnet50":
        monkeypatch.setenv("ARTSIM_WEIGHTS", str(weights))  # the normal weights path
        return get_embedder("resnet50", allow_download=False, lazy=True, precision="fp32")
    return get_embedder(model, lazy=True, precision="fp32")


@pytest.mark.slow
@pytest.mark.parametrize("model", ["resnet50", "efficientnet-lite0"])
def test_real_model_maps_sum_to_the_cosine_of_stored_vectors(model, random_resnet_weights, three_paintings, monkeypatch):
    """For both models, raw and centred, the map's shares sum to the cosine of the stored vectors.

    The store keeps what the embedder's runtime returns for the pipeline's inputs. In fp32
    that is the mean of the map, so the sums agree to float rounding. Where the CPU computes
    bf16 natively the app stores bf16 vectors (a frozen bf16 graph, too slow to build in a
    unit test); the maps stay fp32, and against bf16 eager (autocast) vectors of the same model
    the sums agree to bf16 rounding only (checked here at 0.05).
    """
    import torch

    from artsim.analysis.similarity import cosine_similarity_matrix

    embedder = _embedder(model, random_resnet_weights, monkeypatch)
    inputs = np.concatenate([_inputs(embedder, p) for p in three_paintings])
    stored = embedder.embed_arrays(inputs)  # what the store keeps (fp32 runtime)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        stored_bf16 = embedder._features(embedder.model, torch.from_numpy(inputs)).float().numpy()
    cache = MapCache()
    maps = [cache.get(embedder, p.sha256, p.path) for p in three_paintings]
    assert cache.get(embedder, three_paintings[0].sha256, three_paintings[0].path) is maps[0]
    assert cache.computed == 3
    pooled = np.stack([m.pooled for m in maps])
    np.testing.assert_allclose(pooled, stored, rtol=1e-4, atol=1e-5 * np.abs(stored).max())
    for center in (False, True):
        for vectors, tol in ((stored, 1e-5), (stored_bf16, 0.05)):
            mean = vectors.mean(axis=0) if center else None  # the app centres on the stored vectors
            S = cosine_similarity_matrix(vectors, center=center)
            ex = explain_pair(maps[0].features, maps[1].features, mean=mean)
            assert ex.map_a.sum() == pytest.approx(S[0, 1], abs=tol)
            assert ex.map_b.sum() == pytest.approx(S[0, 1], abs=tol)
            assert ex.cosine == pytest.approx(S[0, 1], abs=tol)


def _inputs(embedder, painting):
    from artsim.explain.maps import load_input

    return load_input(embedder, painting.path)[None]


# ----------------------------------------------------------------------------- the page
@pytest.mark.slow
def test_explain_page_shows_both_maps_from_a_share_link(tmp_path, monkeypatch):
    """A link with a/b (sha256 prefixes) opens that pair; both maps sum to the cosine shown."""
    import json
    import time
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from artsim.inputs.collection import scan_folder

    gallery = make_collection(tmp_path / "gallery", per_artist=2)
    for key, value in {
        "ARTSIM_HOME": tmp_path / "home", "ARTSIM_DB": tmp_path / "db", "ARTSIM_GALLERY": gallery,
        "ARTSIM_MODEL": "efficientnet-lite0", "TORCH_HOME": tmp_path / "torch",
    }.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.delenv("ARTSIM_WEIGHTS", raising=False)
    shas = sorted(p.sha256 for p in scan_folder(gallery).paintings)
    app = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard" / "router.py"), default_timeout=120)
    app.query_params["a"], app.query_params["b"] = shas[3][:10], shas[0][:10]
    app.run()
    for _ in range(120):  # until the background embedding is done
        if not app.get("progress"):
            break
        time.sleep(0.5)
        app.run()
    assert not app.exception, app.exception
    app.switch_page("../pages/explain.py").run()
    assert not app.exception, app.exception
    labels = [o for o in app.selectbox(key="explain_a").options]
    assert len(labels) == 6
    a, b = app.selectbox(key="explain_a").index, app.selectbox(key="explain_b").index
    assert a != b
    cosine = float(app.metric[0].value)
    specs = [json.loads(el.proto.spec) for el in app.get("plotly_chart")]
    assert len(specs) == 2
    for spec in specs:
        z = _plotly_array(spec["data"][1]["z"])  # the share map over the painting
        assert z.shape == (7, 7)
        assert z.sum() == pytest.approx(cosine, abs=1e-3)  # the metric is shown to 3 decimals
    assert shas[3].startswith(str(app.query_params["a"][0] if isinstance(app.query_params["a"], list) else app.query_params["a"]))

    # "why" entry points on the Similarity page: a link column in the pairs table, a link per neighbour
    app.switch_page("../pages/similarity.py").run()
    assert not app.exception, app.exception
    assert len(app.get("page_link")) >= 1
    tables = [df.value for df in app.dataframe if "why" in df.value.columns]  # the pairs (beside the accessible tables)
    assert len(tables) == 1
    table = tables[0]
    assert all("/explain?" in u and "a=" in u and "b=" in u for u in table["why"])

    # a view of the model is explained the same way, and the Compare page lists every view
    app.switch_page("../pages/explain.py").run()
    app.selectbox(key="model_widget").set_value("efficientnet-lite0:gram1").run()
    for _ in range(120):  # the view is embedded in the background
        if not app.get("progress"):
            break
        time.sleep(0.5)
        app.run()
    assert not app.exception, app.exception
    cosine = float(app.metric[0].value)
    z = _plotly_array([json.loads(el.proto.spec) for el in app.get("plotly_chart")][0]["data"][1]["z"])
    assert z.shape == (56, 56) and z.sum() == pytest.approx(cosine, abs=1e-3)
    app.switch_page("../pages/compare.py").run()
    assert not app.exception, app.exception
    depth = app.dataframe[-1].value
    assert set(depth["view"]) == {"stage1", "stage2", "stage3", "stage4", "final", "gram1", "gram2"}



def _plotly_array(value) -> np.ndarray:
    """A Plotly JSON array, plain or binary-encoded ({dtype, bdata, shape})."""
    import base64

    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return out.reshape([int(x) for x in str(shape).split(",")]) if shape else out
    return np.asarray(value, dtype=float)
