"""The seed blog's analysis with ResNet-50's real ImageNet weights, and the depth table of its views.

On a folder of ``<Artist>/<image>`` (default ``../shared/gallery``): pooled 2048-d
vectors (fp32, the app's preprocessing), then as the seed did: cosine similarities,
hierarchical clustering (average linkage, cut at the number of artists, compared
with the artists by adjusted Rand index), and a 3-D PCA with its explained
variance. Then every ResNet-50 view (``stage1..3``, ``gram1..2``, final): leave-one-out
1-NN artist accuracy raw and centred and the same - different artist mean cosine
(centred), copies of one work excluded.

    .venv/bin/python benchmarks/seed_experiment.py [--images ../shared/gallery]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score

from artsim.analysis.evaluation import loo_nn_accuracy, within_between
from artsim.embedding import get_embedder
from artsim.embedding.runtimes.backends import TORCH_FP32
from artsim.embedding.views import VIEW_NAMES
from artsim.inputs.collection import scan_folder
from artsim.inputs.images import load_image


def embed(name: str, paths: list[str]) -> np.ndarray:
    """``(n, d)`` fp32 vectors of ``name`` (a model or a view) through the app's preprocessing."""
    emb = get_embedder(name, runtime=TORCH_FP32) if ":" not in name else get_embedder(name, precision="fp32")
    images = [load_image(p, max_side=emb.load_max_side, draft_side=emb.load_draft_side, resample=emb.load_resample)
              for p in paths]
    return emb.embed(images, batch_size=8)


def unit(X: np.ndarray) -> np.ndarray:
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", default=str(Path(__file__).resolve().parents[2] / "shared" / "gallery"))
    args = ap.parse_args(argv)
    paintings = scan_folder(args.images).paintings
    paths = [p.path for p in paintings]
    artists = [p.artist for p in paintings]
    works = [p.work for p in paintings]
    X = embed("resnet50", paths)
    U = unit(X)
    S = U @ U.T
    off = S[~np.eye(len(S), dtype=bool)]
    work = np.array([w or f"#{k}" for k, w in enumerate(works)])
    same = np.eye(len(S), dtype=bool) | (work[:, None] == work[None, :])  # copies of one work are no pair
    i, j = np.unravel_index(np.argmax(np.where(same, -1, S)), S.shape)
    print(f"{len(paths)} paintings, {len(set(artists))} artists; ResNet-50 (Keras ImageNet weights), fp32")
    print(f"cosine: mean {off.mean():.3f}, min {off.min():.3f}, max {off.max():.3f} "
          f"({paintings[i].artist}: {paintings[i].title} ~ {paintings[j].artist}: {paintings[j].title})")
    Z = linkage(U, method="average", metric="cosine")
    labels = fcluster(Z, t=len(set(artists)), criterion="maxclust")
    print(f"hierarchical clustering (average, cosine, {len(set(artists))} clusters): "
          f"ARI vs artists {adjusted_rand_score(artists, labels):.3f}")
    pca = PCA(n_components=3).fit(X)
    ratios = pca.explained_variance_ratio_
    print(f"PCA 3-D explained variance: {' + '.join(f'{r:.3f}' for r in ratios)} = {ratios.sum():.3f}")
    pairs = within_between(S, artists, works=works)
    gap = pairs.groupby("kind")["similarity"].mean()
    print(f"same - different artist cosine (raw): {gap['within'] - gap['between']:.3f}")

    print("\n| view | dim | accuracy (raw) | accuracy (centred) | same - different artist (centred) |")
    print("|---|---|---|---|---|")
    chance = None
    for name in [v for v in VIEW_NAMES if v.startswith("resnet50:")] + ["resnet50"]:
        V = X if name == "resnet50" else embed(name, paths)
        raw, chance = loo_nn_accuracy(V, artists, works)
        cen, _ = loo_nn_accuracy(V, artists, works, center=True)
        C = unit(V - V.mean(0))
        pairs = within_between(C @ C.T, artists, works=works)
        gap = pairs.groupby("kind")["similarity"].mean()
        label = "final (the model's vector)" if name == "resnet50" else name.split(":")[1]
        print(f"| {label} | {V.shape[1]} | {raw:.2f} | {cen:.2f} | {gap['within'] - gap['between']:.3f} |")
    print(f"(chance {chance:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
