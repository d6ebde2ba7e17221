"""ViewState: share links round-trip, and bad links never raise."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import parse_qs, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st

from artsim.inputs.selection import split_artists
from artsim.viewstate import NOTE_VALUE_MAX, ViewState, clip, describe_names, match_names, split_names

MODELS = ("resnet50", "efficientnet-lite0", "style")
ARTISTS = ("Claude Monet", "Paul Gauguin", "Vincent van Gogh")


def test_default_view_writes_no_params():
    assert ViewState().to_query_params() == {}


def test_round_trip_of_every_field():
    view = ViewState(
        collection="c0ffee12", model="style", artists=("Paul Gauguin", "Claude Monet"), linkage="ward",
        k=7, projection="umap", seed=42, neighbors=9, min_dist=0.25, center=False, level="artists",
        color="cluster", refit=True,
    )
    params = view.to_query_params()
    assert params["artists"] == "Paul Gauguin,Claude Monet"
    assert params["center"] == "0" and params["refit"] == "1"
    back, notes = ViewState.from_query_params(params, models=MODELS, artists=ARTISTS)
    assert notes == []
    assert back == view


def test_malformed_values_fall_back_with_notes():
    params = {"k": "many", "linkage": "median", "min_dist": "nan", "center": "maybe", "projection": "tsne"}
    view, notes = ViewState.from_query_params(params, models=MODELS)
    assert view == ViewState()
    assert len(notes) == 5
    assert any(n == "ignored k='many': not a whole number" for n in notes), notes
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


def test_k_below_two_is_clamped_with_a_note():
    view, notes = ViewState.from_query_params({"k": "1"}, models=MODELS)
    assert view.k == 2 and notes == ["k=1 is out of range (2 to 50); using 2"]
    assert view.to_query_params() == {"k": "2"}


def test_huge_values_are_cut_before_they_are_echoed():
    digits = "9" * 5000
    view, notes = ViewState.from_query_params(
        {"k": digits, "linkage": "x" * 30_000, "artists": ",".join(f"Painter {i}" for i in range(20_000))},
        models=MODELS, artists=ARTISTS,
    )
    assert view.k == ViewState().k and view.linkage == "average" and view.artists is None
    assert len(notes) == 3
    for note in notes:
        assert len(note) < 400, note[:100]
    k_note = next(n for n in notes if n.startswith("ignored k="))
    assert "(5,000 characters)" in k_note and digits[:NOTE_VALUE_MAX] in k_note
    assert any(n.startswith("not in this collection: Painter 0,") and n.endswith("more") for n in notes)


def test_clip_and_describe_names():
    assert clip("short") == "short"
    assert clip("x" * 100, 10) == "x" * 10 + "… (100 characters)"
    assert describe_names(["a", "b"]) == "a, b"
    assert describe_names([str(i) for i in range(8)], limit=3) == "0, 1, 2 and 5 more"


def test_view_state_imports_only_the_standard_library():
    code = (
        "import sys, artsim.viewstate; "
        "heavy = {'numpy', 'scipy', 'pandas', 'PIL', 'lancedb', 'pyarrow', 'torch', 'streamlit'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_map_selection_round_trips_through_the_link_and_ignores_strangers():
    import hashlib

    from artsim.viewstate import PAGE_PARAMS, SELECTION_MAX, selected_rows, selection_param

    shas = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(20)]
    value = selection_param([shas[i] for i in (7, 2, 15)])
    assert value == ".".join(shas[i][:12] for i in (7, 2, 15)) and "sel" in PAGE_PARAMS
    assert selected_rows(value, shas) == [2, 7, 15]
    assert selected_rows(value + ".0123456789ab.<b>x</b>..", shas) == [2, 7, 15]  # strangers ignored
    assert selected_rows(value, shas[:5]) == [2]  # another collection: what is shown
    assert selected_rows(None, shas) == [] and selected_rows("", shas) == []
    assert selection_param([]) is None and selection_param(shas[:1] * (SELECTION_MAX + 1)) is None


# ----------------------------------------------------------------------------- names with commas (issue 25.3)
COMMA_ARTISTS = ("Claude Monet", "Monet, Claude", "Glindoni, Henry Gillard", "a\\b", " spaced ")


def through_a_url(params: dict[str, str]) -> dict[str, list[str]]:
    """What a browser sends back for ``params``: percent-encoded, then parsed as Streamlit's server does."""
    return parse_qs(urlencode(params), keep_blank_values=True)


def test_names_with_commas_round_trip_through_a_link():
    view = ViewState(artists=COMMA_ARTISTS)
    params = view.to_query_params()
    assert params["artists"] == "Claude Monet,Monet\\, Claude,Glindoni\\, Henry Gillard,a\\\\b,\\ spaced\\ "
    for known in (COMMA_ARTISTS, None):  # the router reads links before it knows the collection
        back, notes = ViewState.from_query_params(through_a_url(params), artists=known)
        assert notes == [] and back.artists == COMMA_ARTISTS
    kept, unknown = split_artists(back.artists, COMMA_ARTISTS)
    assert kept == COMMA_ARTISTS and unknown == []


def test_old_comma_joined_links_still_open_where_unambiguous():
    # The link: written before the escaping, "Monet, Claude" arrives as two pieces.
    old = {"artists": ["Claude Monet,Monet, Claude"]}
    view, notes = ViewState.from_query_params(old, artists=COMMA_ARTISTS)
    assert view.artists == ("Claude Monet", "Monet, Claude") and notes == []
    loose, _ = ViewState.from_query_params(old)  # the router's path: pieces first, names once the collection is known
    assert split_artists(loose.artists, COMMA_ARTISTS) == (("Claude Monet", "Monet, Claude"), [])
    assert split_artists(("Glindoni", "Henry Gillard", "Nobody"), COMMA_ARTISTS) == (
        ("Glindoni, Henry Gillard",), ["Nobody"])
    # Ambiguous: "Monet" and "Claude" are artists too, so the pieces stay pieces (what the link meant before).
    both = (*COMMA_ARTISTS, "Monet", "Claude")
    assert match_names(["Monet", "Claude"], both) == (["Monet", "Claude"], [])
    # Plain old links (no commas in any name) read exactly as before.
    assert split_names("Claude Monet, Paul Gauguin,,") == ["Claude Monet", "Paul Gauguin"]


def test_garbled_escapes_never_raise():
    assert split_names("a\\") == ["a\\"]
    assert split_names("\\,\\,,\\") == [",,", "\\"]
    assert split_names(",\\,") == [","]


names_lists = st.lists(st.text(min_size=1, max_size=25), min_size=1, max_size=8, unique=True)


@settings(max_examples=300, deadline=None)
@given(names_lists, st.booleans())
def test_any_unicode_names_round_trip_through_a_url(names, known):
    view = ViewState(artists=tuple(names))
    params = through_a_url(view.to_query_params())
    back, notes = ViewState.from_query_params(params, artists=names if known else None)
    assert notes == []
    assert back.artists == tuple(names)
    assert back.to_query_params() == view.to_query_params()
