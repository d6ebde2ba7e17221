"""artsim.analysis.matching: nearest paintings and best-match artist ranking, against direct numpy loops."""

from __future__ import annotations

import numpy as np
import pytest

from artsim.analysis.matching import match_uploads, nearest_artists, nearest_paintings


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@pytest.mark.parametrize("center", [False, True])
def test_nearest_artists_is_the_best_match_per_artist(center):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 6))
    artists = list(rng.choice(["Monet", "Munch", "Klimt", "Degas"], size=30))
    artists[11] = "Schiele"
    Y = rng.normal(size=(4, 6))
    mu = X.mean(0) if center else 0
    result = nearest_artists(X, artists, Y, k=3, center=center)
    for y, frame in zip(Y, result, strict=True):
        sims = _unit(X - mu) @ _unit(y - mu)
        best = {}
        for j, (s, a) in enumerate(zip(sims, artists, strict=True)):
            if a not in best or s > best[a][0]:
                best[a] = (s, j)
        ranked = sorted(best, key=lambda a: (-best[a][0], a))[:3]
        assert frame["artist"].tolist() == ranked
        np.testing.assert_allclose(frame["similarity"], [best[a][0] for a in ranked], atol=1e-12)
        assert frame["painting"].tolist() == [best[a][1] for a in ranked]


def test_many_varied_works_do_not_lose_to_one_similar_work():
    """The issue's case in miniature: the mean rule ranked the single-work artist first."""
    rng = np.random.default_rng(0)
    query = _unit(rng.normal(size=8))
    varied = rng.normal(size=(16, 8))
    copy = query + 0.05 * rng.normal(size=8)  # the uploaded painting's original
    one_similar = query + 1.2 * rng.normal(size=8)
    X = np.vstack([varied, copy, one_similar])
    artists = ["Van Gogh"] * 17 + ["Schiele"]
    frame = nearest_artists(X, artists, query[None], k=2)[0]
    assert frame["artist"].tolist() == ["Van Gogh", "Schiele"] and frame["painting"].iloc[0] == 16
    mean_vg = (_unit(X[:17]) @ query).mean()
    assert mean_vg < frame["similarity"].iloc[1]  # the old averaging rule would have put Schiele first


def test_ties_and_small_collections():
    X = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    frame = nearest_artists(X, ["b", "a", "c"], np.array([[1.0, 0.0]]), k=5)[0]
    assert frame["artist"].tolist() == ["a", "b", "c"] and frame["painting"].tolist() == [1, 0, 2]
    empty = nearest_artists(np.zeros((0, 2)), [], np.ones((2, 2)))
    assert len(empty) == 2 and empty[0].empty


def test_nearest_paintings_matches_a_loop():
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(12, 4)), rng.normal(size=(3, 4))
    for y, frame in zip(Y, nearest_paintings(X, Y, k=4), strict=True):
        sims = _unit(X) @ _unit(y)
        order = sorted(range(12), key=lambda j: (-sims[j], j))[:4]
        assert frame["j"].tolist() == order
        np.testing.assert_allclose(frame["similarity"], sims[order], atol=1e-12)
    assert len(nearest_paintings(X, Y, k=50)[0]) == 12


@pytest.fixture(scope="module")
def real_gallery():
    """The 45 shared paintings embedded with the real EfficientNet-Lite0 (the offline model)."""
    import csv

    from PIL import Image

    from artsim.embedding import get_embedder
    from tests.helpers import SHARED_GALLERY

    if not (SHARED_GALLERY / "metadata.csv").is_file():
        pytest.skip(f"test gallery not found at {SHARED_GALLERY} (set ARTSIM_TEST_GALLERY)")
    rows = list(csv.DictReader((SHARED_GALLERY / "metadata.csv").open(encoding="utf-8")))
    images = []
    for row in rows:
        with Image.open(SHARED_GALLERY / row["file"]) as im:
            im.draft("RGB", (448, 448))  # JPEG: decode at reduced scale; the model sees 224 px
            images.append(im.convert("RGB"))
    embedder = get_embedder("efficientnet-lite0")
    return embedder, rows, images, embedder.embed(images)


@pytest.mark.slow
def test_a_reencoded_crop_of_a_gallery_painting_ranks_its_artist_first(real_gallery):
    """Issue 9: a re-encoded crop of Van Gogh's Self-Portrait (1889) ranked Schiele first
    (one similar work, mean 0.47) over Van Gogh (17 works, mean 0.44)."""
    import io

    from PIL import Image

    embedder, rows, images, X = real_gallery
    artists = [row["artist"] for row in rows]
    src = next(i for i, row in enumerate(rows) if row["file"].endswith("self_portrait_1889__inky.jpg"))
    w, h = images[src].size
    buf = io.BytesIO()
    images[src].crop((w // 10, h // 12, w - w // 10, h - h // 12)).save(buf, "JPEG", quality=70)
    upload = embedder.embed([Image.open(io.BytesIO(buf.getvalue())).convert("RGB")])

    ranked = nearest_artists(X, artists, upload, k=3)[0]
    assert ranked["artist"].iloc[0] == "Vincent van Gogh"
    assert nearest_paintings(X, upload, k=1)[0]["j"].iloc[0] == src == ranked["painting"].iloc[0]
    # Without the original, the other reproductions of the same work still win it for Van Gogh.
    keep = [i for i in range(len(rows)) if i != src]
    again = nearest_artists(X[keep], [artists[i] for i in keep], upload, k=1)[0]
    assert again["artist"].iloc[0] == "Vincent van Gogh"
    assert rows[keep[again["painting"].iloc[0]]]["work"] == rows[src]["work"]


def test_match_uploads_maps_back_to_frame_rows():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(10, 5))
    artists = ["a", "b", "a", "up", "c", "b", "up", "c", "a", "b"]
    new = np.array([a == "up" for a in artists])
    matches = match_uploads(X, artists, new, ~new, k_artists=2, k_paintings=3, center=True)
    assert [m.row for m in matches] == [3, 6]
    ref = np.flatnonzero(~new)
    for m in matches:
        direct = nearest_paintings(X[ref], X[[m.row]], k=3, center=True)[0]
        assert m.paintings["j"].tolist() == ref[direct["j"]].tolist()
        assert not new[m.paintings["j"]].any() and "up" not in m.artists["artist"].tolist()
        for _, r in m.artists.iterrows():
            assert artists[r["painting"]] == r["artist"]
            np.testing.assert_allclose(r["similarity"], m.paintings.set_index("j")["similarity"].get(
                r["painting"], r["similarity"]))
    assert match_uploads(X, artists, new, np.zeros(10, bool)) == []
