"""Views of a model: stage pooling and Gram features against direct numpy/torch computations."""

from __future__ import annotations

import numpy as np
import pytest

from artsim.embedding import available_models, get_embedder
from artsim.embedding.views import (
    GRAM_RANK,
    VIEW_NAMES,
    VIEWS,
    ViewEmbedder,
    _family,
    gram_dim,
    gram_positions,
    gram_projection,
    gram_vectors,
    split_name,
)
from tests.app_fixtures import make_collection


def _gram_loop(F: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Gram vector of one map (h*w, c), written out: mean over positions of outer products, upper triangle."""
    Y = F.astype(np.float64) @ P.astype(np.float64)
    r = P.shape[1]
    G = np.zeros((r, r))
    for y in Y:
        G += np.outer(y, y)
    G /= len(Y)
    return np.array([G[i, j] for i in range(r) for j in range(i, r)])


def test_gram_vectors_match_a_direct_loop():
    rng = np.random.default_rng(0)
    F = rng.random((3, 20, 48)).astype(np.float32)
    P = gram_projection(48, rank=8, seed=5)
    got = gram_vectors(F, P)
    assert got.shape == (3, 36) == (3, gram_dim(48, rank=8))
    for n in range(3):
        np.testing.assert_allclose(got[n], _gram_loop(F[n], P), rtol=1e-5)
    np.testing.assert_allclose(gram_positions(F[0], P).mean(axis=0), got[0], rtol=1e-5)


def test_gram_projection_is_fixed_seeded_gaussian_or_identity():
    P = gram_projection(512)
    assert P.shape == (512, GRAM_RANK) and P.dtype == np.float32
    np.testing.assert_array_equal(P, gram_projection(512))
    expected = np.random.default_rng(0).standard_normal((512, GRAM_RANK)) / np.sqrt(GRAM_RANK)
    np.testing.assert_allclose(P, expected.astype(np.float32))
    np.testing.assert_array_equal(gram_projection(24), np.eye(24, dtype=np.float32))
    assert gram_dim(24) == 300 and gram_dim(512) == 528


def test_view_names_and_registry():
    assert split_name("resnet50:gram2") == ("resnet50", "gram2")
    for bad in ("resnet50:stage9", "style:stage1", "vgg:gram1"):
        with pytest.raises(ValueError):
            split_name(bad)
    with pytest.raises(ValueError):
        get_embedder("efficientnet-lite0:nope")
    avail = available_models(with_views=True)
    assert set(VIEW_NAMES) <= set(avail)
    assert all(avail[v] == avail[v.split(":")[0]] for v in VIEW_NAMES)
    assert ":" not in "".join(available_models())  # the plain call lists models only


def test_resnet_view_channels_match_the_modules():
    import torch
    from torchvision.models import resnet50

    with torch.device("meta"):  # shapes only: no weights initialised, nothing computed
        model = resnet50(weights=None).eval()
        for view, (module, channels, _) in VIEWS["resnet50"].items():
            out: list = []
            hook = model.get_submodule(module).register_forward_hook(lambda _m, _i, o, out=out: out.append(o))
            model(torch.zeros(1, 3, 64, 64))
            hook.remove()
            assert out[0].shape[1] == channels, view


@pytest.fixture(scope="module")
def paintings(tmp_path_factory):
    from artsim.inputs.collection import scan_folder

    return scan_folder(make_collection(tmp_path_factory.mktemp("views") / "g", per_artist=1)).paintings


@pytest.mark.slow
def test_efficientnet_views_one_pass_own_fingerprints_and_exact_features(paintings):
    import torch

    from artsim.embedding.features import eager_model
    from artsim.explain.maps import load_input, painting_map

    views = {v: get_embedder(f"efficientnet-lite0:{v}", precision="fp32") for v in VIEWS["efficientnet-lite0"]}
    base = views["stage1"].base
    assert all(isinstance(e, ViewEmbedder) for e in views.values())
    fps = {e.fingerprint for e in views.values()} | {base.fingerprint}
    assert len(fps) == len(views) + 1
    batch = np.stack([load_input(base, p.path) for p in paintings])
    family = _family(base)
    family.memo.clear()  # other tests in this process may have embedded the same images
    before = family.passes
    out = {v: e.embed_arrays(batch) for v, e in views.items()}
    assert family.passes - before == len(paintings)  # every view from the same single pass
    # reference: the module outputs by direct hooks, then numpy
    model = eager_model(base)
    captured = {}
    hooks = [
        model.get_submodule(m).register_forward_hook(lambda _m, _i, o, m=m: captured.__setitem__(m, o.numpy()))
        for m in {m for m, _, _ in VIEWS["efficientnet-lite0"].values()}
    ]
    with torch.inference_mode():
        base._features(model, torch.from_numpy(batch))
    for h in hooks:
        h.remove()
    for v, e in views.items():
        module, channels, kind = VIEWS["efficientnet-lite0"][v]
        F = captured[module].reshape(len(batch), channels, -1).transpose(0, 2, 1)
        assert out[v].shape == (len(batch), e.dim)
        if kind == "stage":
            np.testing.assert_allclose(out[v], F.mean(axis=1), rtol=1e-5, atol=1e-6)
        else:
            P = gram_projection(channels)
            ref = np.stack([_gram_loop(f, P) for f in F])
            np.testing.assert_allclose(out[v], ref, rtol=1e-4, atol=1e-6 * np.abs(ref).max())
    # the explanation's per-position features average to the view's vector
    for v in ("stage3", "gram2"):
        pm = painting_map(views[v], paintings[0].sha256, paintings[0].path)
        np.testing.assert_allclose(pm.pooled, out[v][0], rtol=1e-4, atol=1e-6 * np.abs(out[v]).max())


# ----------------------------------------------------------------------------- what each depth captures
def test_depth_table_against_direct_pair_means_and_sorted_by_depth():
    from artsim.analysis.evaluation import loo_nn_accuracy
    from artsim.explain.depth import COLUMNS, depth_figure, depth_table

    rng = np.random.default_rng(3)
    artists = ["A"] * 4 + ["B"] * 3 + ["C"] * 3
    works = ["w1", "w1", "", "", "", "", "", "", "", ""]  # two copies of one work: never a pair
    vectors = {name: rng.normal(size=(10, d)) for name, d in
               [("m:gram1", 6), ("m", 5), ("m:stage2", 4), ("m:stage1", 3)]}
    table = depth_table(vectors, artists, works, center=True)
    assert list(table.columns) == COLUMNS
    assert list(table["view"]) == ["stage1", "stage2", "final", "gram1"]
    for row in table.itertuples():
        name = "m" if row.view == "final" else f"m:{row.view}"
        X = vectors[name] - vectors[name].mean(axis=0)
        X = X / np.linalg.norm(X, axis=1, keepdims=True)
        same, diff = [], []
        for i in range(10):
            for j in range(i + 1, 10):
                if works[i] and works[i] == works[j]:
                    continue
                (same if artists[i] == artists[j] else diff).append(X[i] @ X[j])
        assert row.within == pytest.approx(np.mean(same)) and row.between == pytest.approx(np.mean(diff))
        assert row.gap == pytest.approx(np.mean(same) - np.mean(diff))
        assert (row.accuracy, row.chance) == loo_nn_accuracy(vectors[name], artists, works, center=True)
        assert row.dim == vectors[name].shape[1]
    fig = depth_figure(table)
    assert list(fig.data[0].x) == ["stage1", "stage2", "final", "gram1"]
    np.testing.assert_allclose(fig.data[0].y, table["accuracy"])
