"""Hostile share links through the real router (AppTest, as a server runs it).

Every query parameter carries markdown or HTML; huge and out-of-range values
must come back as short plain-text notes and a corrected URL. The gallery is
an empty folder, so no model runs: these tests exercise the URL handling only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from artsim.viewstate import ViewState

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "router.py")
EVIL = "evil.example"
PAYLOADS = (
    "![pixel](https://evil.example/x.png)",
    "[Your session expired - sign in again](https:evil.example)",
    '<img src="https://evil.example/y.png" onerror="alert(1)"><a href="https://evil.example">x</a>',
)
PARAMS = ("artists", "linkage", "k", "projection", "model", "collection", "level", "color", "seed",
          "neighbors", "min_dist", "center", "refit", "edit", "utm_source")


@pytest.fixture()
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTSIM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARTSIM_DB", str(tmp_path / "db"))
    monkeypatch.setenv("ARTSIM_GALLERY", str(tmp_path / "empty"))
    monkeypatch.setenv("ARTSIM_MODEL", "efficientnet-lite0")
    monkeypatch.delenv("ARTSIM_WEIGHTS", raising=False)
    return AppTest.from_file(APP, default_timeout=60)


def markup_strings(at: AppTest) -> list[str]:
    """Every string the app rendered through markdown (bodies, alerts, headings, labels)."""
    out = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header",
                 "subheader", "toast", "latex"):
        out += [str(el.value) for el in at.get(kind)]
    out += [str(el.label) for el in at.get("expander")]
    out += [str(getattr(el, "label", "")) for el in at.get("page_link")]
    return out


def notes(at: AppTest) -> list[str]:
    return [t.value for t in at.text if t.value.startswith("ⓘ")]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markup_in_every_parameter_renders_only_as_text(app, payload):
    app.query_params.update({name: payload for name in PARAMS})
    app.run()
    assert not app.exception, app.exception
    rendered = markup_strings(app)
    assert not [s for s in rendered if EVIL in s], [s for s in rendered if EVIL in s]
    shown = notes(app)
    assert shown and any(EVIL in n for n in shown)  # the values are echoed, as plain text
    # The URL is rewritten to the valid view only: nothing hostile is kept for the next visitor.
    assert all(EVIL not in v for v in app.query_params.values()), app.query_params


def test_a_100000_character_artists_value_gives_a_short_note_and_a_clean_url(app):
    app.query_params["artists"] = ",".join(["A" * 1000] * 100)  # 100,099 characters
    app.run()
    assert not app.exception, app.exception
    shown = notes(app)
    assert len(shown) == 1 and len(shown[0]) < 400, [len(n) for n in shown]
    assert "not in this collection" in shown[0] and "characters" in shown[0]
    assert "artists" not in app.query_params


def test_a_5000_digit_k_is_echoed_cut(app):
    app.query_params["k"] = "7" * 5000
    app.run()
    assert not app.exception, app.exception
    shown = notes(app)
    assert len(shown) == 1 and "5,000 characters" in shown[0] and len(shown[0]) < 200
    assert "k" not in app.query_params


def test_k_of_one_is_clamped_with_a_note_and_the_url_corrected(app):
    app.query_params["k"] = "1"
    app.run()
    assert not app.exception, app.exception
    assert notes(app) == ["ⓘ Share link: k=1 is out of range (2 to 50); using 2"]
    assert app.query_params["k"] == "2"
    assert app.session_state["view"] == ViewState(k=2, model="efficientnet-lite0")


# ----------------------------------------------------------------------------- no tracebacks, no server paths (25.6)
def everything_shown(at: AppTest) -> list[str]:
    """Every string the app put on screen: markdown, text, alerts, labels, sidebar included."""
    return markup_strings(at) + [str(el.value) for el in at.get("text")] + [
        str(el.value) for el in at.get("code")]


def test_the_config_hides_error_details_from_visitors():
    import tomllib

    config = tomllib.loads((Path(APP).parents[1] / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


def test_a_page_error_shows_an_id_and_no_traceback_or_server_path(app, tmp_path, caplog):
    # The database is a file, not a folder: the Tour page fails opening it, deep inside LanceDB.
    (tmp_path / "db").write_text("not a database")
    app.query_params["tour"] = "A" * 16
    app.switch_page("../pages/tour.py")
    with caplog.at_level("ERROR", logger="artsim.dashboard"):
        app.run()
    assert not app.exception, app.exception  # caught by the router, not Streamlit's traceback box
    (error,) = [str(e.value) for e in app.error]
    error_id = error.split("error id ")[1][:8]
    assert len(error_id) == 8 and all(c in "0123456789abcdef" for c in error_id), error
    shown = everything_shown(app)
    assert not [s for s in shown if str(tmp_path) in s or "Traceback" in s or 'File "' in s], shown
    # whoever runs the server finds the details under the id
    (record,) = [r for r in caplog.records if error_id in r.getMessage()]
    assert record.exc_info and "StoreError" in record.getMessage()


def test_no_server_folder_in_the_sidebar_or_the_empty_gallery(app, tmp_path):
    app.run()
    assert not app.exception, app.exception
    shown = everything_shown(app)
    assert shown and not [s for s in shown if str(tmp_path) in s], [s for s in shown if str(tmp_path) in s]
    assert "Folder “empty”: 0 paintings, 0 artists" in shown  # the gallery named for people, by its folder's name only


def test_hide_paths_keeps_urls_and_names():
    from artsim.errors import hide_paths

    message = ("Cannot open the database at '/srv/artsim/db' (Not a directory: '/srv/artsim/db/tours.lance'); "
               "see https://example.org/a/b, file:///srv/x/y.jpg, ~/.cache/artsim and Monet/Water Lilies.jpg")
    assert hide_paths(message) == (
        "Cannot open the database at '…/db' (Not a directory: '…/tours.lance'); "
        "see https://example.org/a/b, …/y.jpg, …/artsim and Monet/Water Lilies.jpg")


# ----------------------------------------------------------------------------- names with commas (25.3)
COMMA_NAMES = {"Ada Blue": "Monet, Claude", "Bo Red": "Claude Monet", "Cy Green": "Glindoni, Henry Gillard"}


@pytest.fixture()
def comma_app(tmp_path, monkeypatch):
    from tests.app_fixtures import make_collection

    gallery = make_collection(tmp_path / "gallery", per_artist=1)
    lines = (gallery / "metadata.csv").read_text().splitlines()
    rows = [lines[0]] + [",".join([f, f'"{COMMA_NAMES[f.split("/")[0]]}"', *rest])
                         for f, _, *rest in (line.split(",") for line in lines[1:])]
    (gallery / "metadata.csv").write_text("\n".join(rows) + "\n")
    for key, value in {"ARTSIM_HOME": tmp_path / "home", "ARTSIM_DB": tmp_path / "db", "ARTSIM_GALLERY": gallery,
                       "ARTSIM_MODEL": "style"}.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.delenv("ARTSIM_WEIGHTS", raising=False)
    return AppTest.from_file(APP, default_timeout=60)


@pytest.mark.parametrize("link", [
    "Claude Monet,Monet\\, Claude",  # written by this version
    "Claude Monet,Monet, Claude",  # the link, written before the escaping
])
def test_a_link_with_a_comma_in_a_name_reopens_both_artists(comma_app, link):
    comma_app.query_params["artists"] = link
    comma_app.run()
    assert not comma_app.exception, comma_app.exception
    assert notes(comma_app) == []  # no false "not in this collection"
    (artists,) = [w for w in comma_app.multiselect if w.label == "Artists"]
    assert sorted(artists.value) == ["Claude Monet", "Monet, Claude"]
    assert comma_app.query_params["artists"] == "Claude Monet,Monet\\, Claude"  # rewritten in the new form
