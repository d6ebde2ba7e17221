"""The router's library helpers: merging a collection into the gallery, cutting to artists, folder signatures."""

from __future__ import annotations

import os

from artsim.inputs.collection import Painting
from artsim.inputs.listing import folder_signature
from artsim.inputs.selection import artists_of, merge_paintings, split_artists
from dashboard.server import redirect_target


def painting(sha: str, artist: str = "A") -> Painting:
    return Painting(path=f"{artist}/{sha}.jpg", artist=artist, title=sha, sha256=sha)


def test_merge_keeps_the_gallery_order_and_adds_only_new_bytes():
    base = [painting("1"), painting("2", "B")]
    added = [painting("2", "Someone"), painting("3", "C"), painting("3", "C")]
    merged = merge_paintings(base, added)
    assert [p.sha256 for p in merged] == ["1", "2", "3"]
    assert merged[1].artist == "B"  # the gallery's painting wins over an upload of the same bytes
    assert artists_of(merged) == ("A", "B", "C")


def test_split_artists():
    assert split_artists(None, ("A", "B")) == (None, [])
    assert split_artists(("B", "Z", "A"), ("A", "B")) == (("B", "A"), ["Z"])
    assert split_artists(("Z",), ("A",)) == (None, ["Z"])  # nothing left: show everything


def test_folder_signature_follows_adds_touches_and_removals(tmp_path):
    (tmp_path / "A").mkdir()
    first = tmp_path / "A" / "x.jpg"
    first.write_bytes(b"1")
    sig = folder_signature(tmp_path)
    assert folder_signature(tmp_path) == sig
    (tmp_path / "A" / "y.jpg").write_bytes(b"2")
    added = folder_signature(tmp_path)
    assert added != sig
    os.utime(first, ns=(1, 1))
    touched = folder_signature(tmp_path)
    assert touched != added
    (tmp_path / "A" / "y.jpg").unlink()
    assert folder_signature(tmp_path) not in (sig, added, touched)
    assert folder_signature(tmp_path / "missing") == folder_signature(tmp_path / "also-missing")


def test_unknown_sub_paths_are_redirected_to_the_app():
    assert redirect_target("/clustering/extra") == "/?notfound=clustering%2Fextra"
    assert redirect_target("/app/x/y", "/app") == "/app/?notfound=x%2Fy"
    for served in ("/", "/clustering", "/common", "/_stcore/health", "/static/js/a.js", "/media/x.png",
                   "/component/map3d/index.html", "/app/static/x.png", "/clustering/_stcore/health",
                   "/clustering/static/js/index.js"):
        assert redirect_target(served) is None, served
    assert len(redirect_target("/a/" + "b" * 10_000)) < 260


def test_artist_pair_rows_takes_both_artists_then_an_even_share_past_the_limit():
    from artsim.inputs.selection import artist_pair_rows

    artists = ["A", "B", "A", "C", "B", "A"]
    assert artist_pair_rows(artists, "A", "B", 100).tolist() == [0, 1, 2, 4, 5]
    assert artist_pair_rows(artists, "A", "A", 100).tolist() == [0, 2, 5]
    assert artist_pair_rows(artists, "A", "Z", 100).tolist() == [0, 2, 5]
    assert artist_pair_rows(artists, "Y", "Z", 100).tolist() == []
    many = ["A"] * 50 + ["B"] * 10
    rows = artist_pair_rows(many, "A", "B", 20)
    assert len(rows) == 20 and sum(r < 50 for r in rows) == 10 and rows[0] == 0 and 49 in rows
