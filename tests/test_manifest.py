"""data/gallery.csv and artsim.sources.manifest: parsing, validation, derived columns."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from artsim.sources.manifest import (
    COLUMNS,
    SOURCE_TYPES,
    ManifestError,
    derive_credit,
    derive_file,
    derive_source_url,
    is_safe_relpath,
    read_manifest,
    safe_component,
)

REPO = Path(__file__).resolve().parent.parent
GALLERY_CSV = REPO / "data" / "gallery.csv"
SHARED = REPO.parent / "shared" / "gallery-manifest"
needs_shared = pytest.mark.skipif(
    not (SHARED / "verified.csv").is_file(), reason="../shared/gallery-manifest not present"
)


def shared_rows(name: str) -> list[dict[str, str]]:
    with (SHARED / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def rows():
    return read_manifest(GALLERY_CSV)


def test_header_and_required_columns():
    with GALLERY_CSV.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert tuple(header) == COLUMNS


def test_every_row_has_a_source_and_a_unique_id_and_file(rows):
    assert len(rows) >= 28
    for r in rows:
        assert r.artist and r.title and r.source_type in SOURCE_TYPES and r.source_id, r
    keys = [r.key for r in rows]
    assert len(set(keys)) == len(keys)
    files = [r.file.casefold() for r in rows]
    assert len(set(files)) == len(files)


def test_source_types_present(rows):
    # What the shared facts give: Commons file names, Met and NGA object ids.
    assert {r.source_type for r in rows} == {"commons", "met", "nga"}


def test_file_paths_are_safe(rows):
    for r in rows:
        assert is_safe_relpath(r.file), r.file
        assert ".." not in Path(r.file).parts and not Path(r.file).is_absolute()
        assert r.file.split("/")[0] == safe_component(r.artist)


def test_derived_columns_match_the_code(rows):
    for r in rows:
        assert r.file == derive_file(r.artist, r.source_type, r.source_id, r.title)
        assert r.source_url == derive_source_url(r.source_type, r.source_id)
        assert r.credit == derive_credit(r.artist, r.title, r.year, r.museum, r.source_type, r.source_id)


def test_unverified_rows_can_be_left_out(rows):
    verified = read_manifest(GALLERY_CSV, include_unverified=False)
    assert all(r.verified for r in verified)
    assert len(verified) == sum(r.verified for r in rows) < len(rows)
    assert all(r.note.startswith("unverified:") for r in rows if not r.verified)


@needs_shared
def test_verified_rows_are_exactly_the_shared_verified_list(rows):
    shared = shared_rows("verified.csv")
    assert len(shared) == 28
    assert [(r.source_type, r.source_id) for r in rows if r.verified] == [
        (s["source_type"], s["source_id"]) for s in shared
    ]
    for r, s in zip([r for r in rows if r.verified], shared, strict=True):
        assert (r.artist, r.title, r.year, r.museum, r.license) == (
            s["artist"],
            s["title"],
            s["year"],
            s["museum"],
            s["license_note"],
        )


@needs_shared
def test_unverified_rows_come_from_the_shared_unverified_list(rows):
    candidates = {
        (s["candidate_source_type"], s["candidate_source_id"]) for s in shared_rows("unverified.csv")
    }
    verified_ids = {s["source_id"] for s in shared_rows("verified.csv")}
    excluded_artists = {s["artist"] for s in shared_rows("excluded.csv")}
    for r in rows:
        assert r.artist not in excluded_artists
        if not r.verified:
            assert (r.source_type, r.source_id) in candidates and r.source_id not in verified_ids


def test_safe_component():
    assert safe_component('a/b\\c:d*e?f"g<h>i|j.jpg') == "a_b_c_d_e_f_g_h_i_j.jpg"
    assert safe_component("  ..hidden  name .") == "hidden name"
    assert safe_component("CON.jpg") == "CON_.jpg"
    assert safe_component("") == "_" and safe_component("..") == "_"
    long = safe_component("x" * 300 + ".jpeg")
    assert len(long) == 150 and long.endswith(".jpeg")
    assert safe_component("Myself- Portrait – Landscape.jpg") == "Myself- Portrait – Landscape.jpg"


def test_derive_file_and_urls():
    assert derive_file("Paul Cézanne", "commons", "Camille pissarro, autoritratto, 1873.JPG", "t") == (
        "Paul Cézanne/Camille pissarro, autoritratto, 1873.jpg"
    )
    assert (
        derive_file("A", "met", "436532", "Hat (obverse: Peeler)")
        == "A/Hat (obverse_ Peeler) (met 436532).jpg"
    )
    assert derive_source_url("commons", "Lovis Corinth Selbstporträt 1896.jpg") == (
        "https://commons.wikimedia.org/wiki/File:Lovis_Corinth_Selbstportr%C3%A4t_1896.jpg"
    )
    assert derive_source_url("nga", "46625") == "https://www.nga.gov/collection/art-object-page.46625.html"
    with pytest.raises(ManifestError):
        derive_source_url("louvre", "1")


@pytest.mark.parametrize(
    "bad",
    [
        "/etc/x.jpg",
        "../x.jpg",
        "A/../x.jpg",
        "A/b/c.jpg",
        "x.jpg",
        "A\\x.jpg",
        "C:/x.jpg",
        "A/.",
        "A/b:c.jpg",
    ],
)
def test_unsafe_paths_rejected(bad):
    assert not is_safe_relpath(bad)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "m.csv"
    p.write_text(text, encoding="utf-8")
    return p


HEADER = ",".join(COLUMNS) + "\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("A,T,1,M,PD,commons,x.jpg,maybe,A/x.jpg,c,u,\n", "verified must be yes or no"),
        ("A,T,1,M,PD,louvre,x,yes,A/x.jpg,c,u,\n", "source_type"),
        ("A,T,1,M,PD,met,abc,yes,A/x.jpg,c,u,\n", "numeric"),
        ("A,T,1,M,PD,commons,,yes,A/x.jpg,c,u,\n", "source_id is empty"),
        ("A,T,1,M,PD,commons,x.jpg,yes,../x.jpg,c,u,\n", "not a safe"),
        (
            "A,T,1,M,PD,commons,x.jpg,yes,A/x.jpg,c,u,\nB,T,1,M,PD,commons,x.jpg,yes,B/x.jpg,c,u,\n",
            "same source as line 2",
        ),
        (
            "A,T,1,M,PD,commons,x.jpg,yes,A/x.jpg,c,u,\nA,T,1,M,PD,commons,y.jpg,yes,A/X.JPG,c,u,\n",
            "same file as line 2",
        ),
    ],
)
def test_bad_rows_are_named_by_line(tmp_path, body, message):
    with pytest.raises(ManifestError, match=message) as err:
        read_manifest(_write(tmp_path, HEADER + body))
    assert "line" in str(err.value)


def test_missing_column_and_missing_file(tmp_path):
    with pytest.raises(ManifestError, match="missing column"):
        read_manifest(_write(tmp_path, "artist,title\nA,T\n"))
    with pytest.raises(ManifestError, match="cannot read"):
        read_manifest(tmp_path / "nope.csv")
