"""The map of paintings: sprite atlas packing, its files and route, the deck.gl spec, the Plotly dots figure."""

from __future__ import annotations

import asyncio
import io
import json
import math

import numpy as np
import pydeck as pdk
import pytest
from PIL import Image
from starlette.requests import Request

from artsim.figures.maps import sprites
from artsim.figures.maps.thumbmap import LAYER_ID, MAX_THUMBNAILS, deck_map, thumb_share, thumbnail_map
from dashboard import sprite_route
from dashboard.server import redirect_target


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")  # lossless: pixels compare exactly
    return buf.getvalue()


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in ((20, 30), (32, 32), (10, 5), (7, 31), (31, 9))]


def test_each_thumbnail_lands_in_its_cell(images):
    data = [_png(p) for p in images]
    data.insert(2, b"not an image")  # a bad row: its cell stays empty
    data.insert(4, None)  # a missing thumbnail
    atlas = sprites.pack(data, cell=32)
    assert atlas.cell == 32 and atlas.columns == 3 and atlas.image.shape == (3 * 32, 3 * 32, 3)
    good = [i for i, d in enumerate(data) if d and d != b"not an image"]
    for i, pixels in zip(good, images, strict=True):
        x, y, w, h = atlas.boxes[i]
        assert (x, y) == ((i % 3) * 32, (i // 3) * 32) and (h, w) == pixels.shape[:2]
        np.testing.assert_array_equal(atlas.image[y:y + h, x:x + w], pixels)
    for i in (2, 4):
        np.testing.assert_array_equal(atlas.boxes[i], [0, 0, 0, 0])
        y, x = (i // 3) * 32, (i % 3) * 32
        assert (atlas.image[y:y + 32, x:x + 32] == 255).all()
    back = np.asarray(Image.open(io.BytesIO(atlas.jpeg())))
    assert back.shape == atlas.image.shape


def test_large_thumbnails_shrink_into_the_cell_keeping_aspect():
    atlas = sprites.pack([_png(np.zeros((80, 160, 3), np.uint8))], cell=64)
    np.testing.assert_array_equal(atlas.boxes[0], [0, 0, 64, 32])


def test_cells_shrink_to_keep_the_atlas_a_small_texture():
    assert sprites.cell_size(45) == sprites.cell_size(1900) == 64
    assert sprites.cell_size(5000) == 40  # 71 x 71 cells of 40 px: 2,840 px, 8 MP
    assert sprites.cell_size(5000, max_pixels=10**9) == 64
    assert sprites.cell_size(20000, max_pixels=10**9) == sprites.MAX_SIDE // 142  # 142 columns fit the side
    for n in (2, 500, 5000, 50_000):
        cell, columns = sprites.cell_size(n), math.ceil(math.sqrt(n))
        assert n * cell**2 <= sprites.MAX_PIXELS and cell * columns <= sprites.MAX_SIDE


def test_atlas_is_built_once_and_read_back(tmp_path, images):
    shas = ["a" * 64, "b" * 64]
    calls = []

    def fetch(keys):
        calls.append(keys)
        return {"a" * 64: _png(images[0])}

    name, boxes = sprites.atlas_for(tmp_path, shas, fetch, cell=32)
    again, boxes2 = sprites.atlas_for(tmp_path, shas, fetch, cell=32)
    assert calls == [shas] and again == name == sprites.atlas_name(shas, 32)
    np.testing.assert_array_equal(boxes, boxes2)
    np.testing.assert_array_equal(boxes, [[0, 0, 30, 20], [0, 0, 0, 0]])
    assert sprites.atlas_name(shas[::-1], 32) != name and (tmp_path / name).is_file()


def _get(path_params: dict) -> tuple[int, dict, bytes]:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "path_params": path_params,
             "query_string": b""}
    response = asyncio.run(sprite_route.sprite(Request(scope)))
    body = response.body if hasattr(response, "body") else open(response.path, "rb").read()  # noqa: SIM115
    return response.status_code, dict(response.headers), body


def test_route_serves_atlases_cached_for_good_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTSIM_HOME", str(tmp_path))
    name, _ = sprites.atlas_for(sprite_route.folder(), ["c" * 64], lambda keys: {})
    status, headers, body = _get({"name": name})
    assert status == 200 and "immutable" in headers["cache-control"] and headers["content-type"] == "image/jpeg"
    assert body == (sprite_route.folder() / name).read_bytes()
    (tmp_path / "secret.jpg").write_bytes(b"x")
    for bad in ("../secret.jpg", name + ".npy", "0" * 24 + ".jpg"):
        assert _get({"name": bad})[0] == 404
    # opened as a page, an atlas is served, not redirected to "page not found"
    assert redirect_target(f"/sprites/{name}") is None and redirect_target(f"/app/sprites/{name}", "/app") is None


def test_deck_spec_positions_icons_and_plain_hover():
    coords = np.array([[0.0, 0.0], [1.0, 2.0], [-1.0, 0.5]])
    boxes = np.array([[0, 0, 30, 20], [0, 0, 0, 0], [64, 0, 5, 9]])
    hover = ["<b>A</b>\nline 2", "B & C", "D"]
    deck = deck_map(coords, hover, "/sprites/x.jpg", boxes, height=600)
    spec = json.loads(deck.to_json())
    assert spec == json.loads(pdk.Deck.to_json(deck))  # compact, same content as pydeck's
    layer = spec["layers"][0]
    assert layer["@@type"] == "IconLayer" and layer["id"] == LAYER_ID and layer["pickable"]
    assert layer["iconAtlas"] == "/sprites/x.jpg"  # a URL, not the file inlined
    assert [d["c"] for d in layer["data"]] == ["0", "2"]  # painting 1 has no thumbnail
    np.testing.assert_array_equal([d["p"] for d in layer["data"]], coords[[0, 2]])
    assert [d["t"] for d in layer["data"]] == [hover[0], hover[2]]  # as given: deck.gl shows it as text
    assert deck._tooltip == {"text": "{t}"}  # deck.gl's text tooltip: no markup
    assert layer["getPosition"] == "@@=p" and layer["getIcon"] == "@@=c" and layer["sizeUnits"] == "common"
    assert layer["iconMapping"] == {"0": {"x": 0, "y": 0, "width": 30, "height": 20},
                                    "2": {"x": 64, "y": 0, "width": 5, "height": 9}}
    assert layer["getSize"] == pytest.approx(2.0 * thumb_share(3))
    assert spec["views"] == [{"@@type": "OrthographicView", "controller": True, "flipY": False}]
    state = spec["initialViewState"]
    assert state["target"] == [0.0, 1.0, 0.0]
    assert 2 ** state["zoom"] * (2.0 + layer["getSize"]) == pytest.approx(0.9 * 600)
    with pytest.raises(ValueError, match="hover"):
        deck_map(coords, hover[:2], "/x.jpg", boxes)


def test_thumbnail_share_shrinks_with_crowds():
    assert thumb_share(3) == 0.06 and thumb_share(5000) == pytest.approx(0.5 / np.sqrt(5000), abs=0.005)
    assert thumb_share(10**6) == 0.012


def test_plotly_images_at_the_positions_and_hover_is_text():
    coords = np.array([[0.0, 0.0], [1.0, 2.0], [-1.0, 0.5]])
    fig = thumbnail_map(coords, ["<b>A</b>\nline 2", "B & C", "D"], ["data:a", "", "data:c"])
    images = fig.layout.images
    assert [(im.x, im.y, im.source) for im in images] == [(0.0, 0.0, "data:a"), (-1.0, 0.5, "data:c")]
    assert images[0].sizex == images[0].sizey == 2.0 * 0.06  # the larger extent (y: 2) times the share
    assert list(fig.data[0].hovertext) == ["&lt;b&gt;A&lt;/b&gt;<br>line 2", "B &amp; C", "D"]
    np.testing.assert_array_equal(fig.data[0].customdata, [0, 1, 2])


def test_plotly_dots_past_the_cap():
    n = MAX_THUMBNAILS + 1
    fig = thumbnail_map(np.random.default_rng(0).normal(size=(n, 2)), ["x"] * n, ["data:x"] * n)
    assert len(fig.layout.images) == 0 and len(fig.data[0].x) == n


def test_positions_keep_six_digits_of_the_extent():
    coords = np.random.default_rng(1).normal(size=(50, 2)) * 1234.5
    spec = json.loads(deck_map(coords, ["x"] * 50, "/x.jpg", np.tile([0, 0, 4, 4], (50, 1))).to_json())
    got = np.array([d["p"] for d in spec["layers"][0]["data"]])
    assert np.abs(got - coords).max() <= 0.5e-3 * 1.0001  # extent ~ 1e4: 3 decimals
