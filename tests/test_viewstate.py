"""ViewState: share links round-trip, and bad links never raise."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from artsim.viewstate import ViewState

MODELS = ("resnet50", "efficientnet-lite0", "style")
ARTISTS = ("Claude Monet", "Paul Gauguin", "Vincent van Gogh")


def test_default_view_writes_no_params():
    assert ViewState().to_query_params() == {}


def test_round_trip_of_every_field():
    view = ViewState(
        collection="c0ffee12", model="style", artists=("Paul Gauguin", "Claude Monet"), linkage="ward",
        k=7, projection="umap", seed=42, neighbors=9, min_dist=0.25, center=False, level="artists",
        color="cluster",
    )
    params = view.to_query_params()
    assert params["artists"] == "Paul Gauguin,Claude Monet"
    assert params["center"] == "0"
    back, notes = ViewState.from_query_params(params, models=MODELS, artists=ARTISTS)
    assert notes == []
    assert back == view


def test_malformed_values_fall_back_with_notes():
    params = {"k": "many", "linkage": "median", "min_dist": "nan", "center": "maybe", "projection": "tsne"}
    view, notes = ViewState.from_query_params(params, models=MODELS)
    assert view == ViewState()
    assert len(notes) == 5
    assert any("linkage" in n and "ward" in n for n in notes)


def test_out_of_range_numbers_are_clamped_and_reported():
    view, notes = ViewState.from_query_params({"k": "5000", "neighbors": "-3"}, models=MODELS)
    assert view.k == 50 and view.neighbors == 2
    assert len(notes) == 2


def test_unknown_model_artists_and_params_are_reported():
    params = {"model": "vgg16", "artists": "Claude Monet,Nobody", "utm": "x", "embed": "true"}
    view, notes = ViewState.from_query_params(params, models=MODELS, artists=ARTISTS)
    assert view.model == "" and view.artists == ("Claude Monet",)
    assert any("vgg16" in n for n in notes)
    assert any("Nobody" in n for n in notes)
    assert any("utm" in n for n in notes) and not any("embed" in n for n in notes)


def test_list_values_take_the_last_and_collection_ids_are_checked():
    view, notes = ViewState.from_query_params({"k": ["3", "6"], "collection": "../../etc"}, models=MODELS)
    assert view.k == 6 and view.collection == ""
    assert any("collection" in n for n in notes)


@given(st.dictionaries(st.sampled_from(["k", "seed", "neighbors", "min_dist", "center", "linkage",
                                        "projection", "artists", "model", "collection", "level", "x"]),
                       st.text(max_size=30)))
def test_any_params_never_raise_and_round_trip(params):
    view, _ = ViewState.from_query_params(params, models=MODELS, artists=ARTISTS)
    again, notes = ViewState.from_query_params(view.to_query_params(), models=MODELS, artists=ARTISTS)
    assert notes == []
    assert again == view
