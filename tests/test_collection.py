"""artsim.inputs.collection: folder scans, metadata, duplicates, untrusted files."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
from collections import Counter
from dataclasses import fields
from pathlib import Path

import pytest

from artsim.errors import ArtsimError
from artsim.inputs.collection import Painting, ScanResult, scan_folder, scan_paths, title_from_stem, to_frame
from artsim.inputs.images import MAX_FILE_BYTES
from tests.helpers import SHARED_GALLERY

GALLERY = SHARED_GALLERY


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_metadata(root: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    with open(root / "metadata.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def tree(tmp_path, make_image) -> Path:
    """A small collection with a duplicate, litter, a note and an empty file."""
    make_image("col/Artist A/starry_night-1889.jpg")
    make_image("col/Artist A/b.png")
    make_image("col/Artist B/c.jpg")
    shutil.copyfile(tmp_path / "col/Artist A/starry_night-1889.jpg", tmp_path / "col/Artist B/copy.jpg")
    make_image("col/Artist B/.hidden.jpg")
    make_image("col/.cache/x.jpg")
    make_image("col/Artist B/__MACOSX/y.jpg")
    (tmp_path / "col/.DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (tmp_path / "col/Artist A/Thumbs.db").write_bytes(b"junk")
    (tmp_path / "col/Artist B/notes.txt").write_text("bought in 1990")
    (tmp_path / "col/Artist B/empty.jpg").write_bytes(b"")
    return tmp_path / "col"


def test_scan_tree_without_metadata(tree):
    result = scan_folder(tree)
    assert isinstance(result, ScanResult)
    got = [(Path(p.path).relative_to(tree).as_posix(), p.artist, p.title) for p in result.paintings]
    assert got == [
        ("Artist A/b.png", "Artist A", "b"),
        ("Artist A/starry_night-1889.jpg", "Artist A", "starry night 1889"),
        ("Artist B/c.jpg", "Artist B", "c"),
    ]
    assert [p.sha256 for p in result.paintings] == [sha(Path(p.path)) for p in result.paintings]
    assert all(p.year == p.work == p.source == p.license == p.museum == "" for p in result.paintings)
    skipped = {Path(path).relative_to(tree).as_posix(): why for path, why in result.skipped}
    assert skipped == {
        "Artist B/copy.jpg": f"same bytes as {tree / 'Artist A/starry_night-1889.jpg'}",
        "Artist B/empty.jpg": "file is empty",
        "Artist B/notes.txt": "not an image file type ('.txt')",
    }


def test_scan_is_deterministic(tree):
    assert scan_folder(tree) == scan_folder(tree)


def test_first_path_in_sorted_order_wins(tmp_path, make_image):
    original = make_image("col/Artist/b_original.jpg")
    shutil.copyfile(original, tmp_path / "col/Artist/a_copy.jpg")
    result = scan_folder(tmp_path / "col")
    assert [Path(p.path).name for p in result.paintings] == ["a_copy.jpg"]
    assert result.skipped == [(str(original), f"same bytes as {tmp_path / 'col/Artist/a_copy.jpg'}")]


def test_metadata_overrides_and_fills(tree):
    columns = ["file", "artist", "title", "year", "self_portrait", "work", "source", "license", "sha256"]
    write_metadata(
        tree,
        [
            {
                "file": "Artist A/starry_night-1889.jpg",
                "artist": "Vincent van Gogh",
                "title": "The Starry Night",
                "year": "1889",
                "self_portrait": "no",
                "work": "starry_night",
                "source": "somewhere",
                "license": "public domain",
                "sha256": "ignored",
            },
            {"file": "Artist B/c.jpg", "artist": "", "title": "", "year": "1901"},  # blanks fall back
        ],
        columns,
    )
    result = scan_folder(tree)
    by_name = {Path(p.path).name: p for p in result.paintings}
    starry = by_name["starry_night-1889.jpg"]
    assert (starry.artist, starry.title, starry.year, starry.work, starry.source, starry.license) == (
        "Vincent van Gogh",
        "The Starry Night",
        "1889",
        "starry_night",
        "somewhere",
        "public domain",
    )
    c = by_name["c.jpg"]
    assert (c.artist, c.title, c.year, c.work) == ("Artist B", "c", "1901", "")
    assert by_name["b.png"].artist == "Artist A"
    # metadata.csv itself is never reported as a skipped non-image
    assert not any(Path(p).name == "metadata.csv" for p, _ in result.skipped)


def test_metadata_naming_a_missing_file_is_reported(tree):
    write_metadata(tree, [{"file": "Artist C/gone.jpg", "title": "Gone"}], ["file", "title"])
    result = scan_folder(tree)
    assert (str(tree / "metadata.csv"), "lists 'Artist C/gone.jpg', which is not in the folder") in result.skipped
    assert len(result.paintings) == 3


def test_metadata_without_file_column_is_reported_and_ignored(tree):
    write_metadata(tree, [{"name": "Artist A/b.png", "artist": "X"}], ["name", "artist"])
    result = scan_folder(tree)
    assert [p.artist for p in result.paintings] == ["Artist A", "Artist A", "Artist B"]
    assert any(path == str(tree / "metadata.csv") and "no 'file' column" in why for path, why in result.skipped)


def test_recursive_and_flat(tmp_path, make_image):
    make_image("col/Artist/top.jpg")
    make_image("col/Artist/early/deep.jpg")
    make_image("col/loose.png")
    deep = scan_folder(tmp_path / "col")
    assert [(Path(p.path).name, p.artist) for p in deep.paintings] == [
        ("deep.jpg", "Artist"),  # artist is the first folder level, whatever the depth
        ("top.jpg", "Artist"),
        ("loose.png", "col"),  # files in the root belong to the root's name
    ]
    flat = scan_folder(tmp_path / "col", recursive=False)
    assert [Path(p.path).name for p in flat.paintings] == ["top.jpg", "loose.png"]


def test_uppercase_suffix_is_an_image(tmp_path, make_image):
    make_image("col/Artist/SCAN.JPG", fmt="JPEG")
    assert [p.title for p in scan_folder(tmp_path / "col").paintings] == ["SCAN"]


def test_unreadable_and_special_files_are_skipped_not_raised(tmp_path, make_image):
    make_image("col/Artist/ok.jpg")
    (tmp_path / "col/Artist/ghost.jpg").symlink_to(tmp_path / "nowhere.jpg")
    os.mkfifo(tmp_path / "col/Artist/pipe.jpg")  # reading it would block forever
    with open(tmp_path / "col/Artist/huge.tif", "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 5 * 2**20)  # sparse
    result = scan_folder(tmp_path / "col")
    assert [Path(p.path).name for p in result.paintings] == ["ok.jpg"]
    skipped = {Path(p).name: why for p, why in result.skipped}
    assert skipped["ghost.jpg"].startswith("cannot read file")
    assert skipped["pipe.jpg"] == "not a regular file"
    assert skipped["huge.tif"] == "file is 255 MB; the limit is 250 MB"


def test_missing_root_raises_typed_error(tmp_path, make_image):
    with pytest.raises(ArtsimError, match="folder not found"):
        scan_folder(tmp_path / "nope")
    with pytest.raises(ArtsimError, match="not a folder"):
        scan_folder(make_image("file.png"))


def test_scan_paths_mixes_files_and_folders(tmp_path, make_image):
    a = make_image("col/Artist A/a.jpg")
    b = make_image("col/Artist B/b.jpg")
    single = make_image("elsewhere/Painter Z/z_1.png")
    dup = tmp_path / "elsewhere/Painter Z/dup.jpg"
    shutil.copyfile(b, dup)
    result = scan_paths([single, tmp_path / "col", dup, tmp_path / "missing.jpg"])
    assert [(Path(p.path), p.artist, p.title) for p in result.paintings] == [
        (single, "Painter Z", "z 1"),
        (a, "Artist A", "a"),
        (b, "Artist B", "b"),
    ]
    assert result.skipped == [
        (str(dup), f"same bytes as {b}"),
        (str(tmp_path / "missing.jpg"), "no such file or folder"),
    ]


def test_scan_paths_reports_non_image_file(tmp_path):
    note = tmp_path / "Artist/readme.md"
    note.parent.mkdir()
    note.write_text("hello")
    assert scan_paths([note]) == ScanResult([], [(str(note), "not an image file type ('.md')")])


def test_title_from_stem():
    assert title_from_stem("the_starry--night_1889") == "the starry night 1889"
    assert title_from_stem("Self-Portrait") == "Self Portrait"
    assert title_from_stem("___") == "___"


def test_to_frame():
    p = Painting(sha256="ab", path="x/y.jpg", artist="X", title="Y", year="1900")
    frame = to_frame([p, p])
    assert list(frame.columns) == [f.name for f in fields(Painting)]
    assert frame.shape == (2, 9) and frame.loc[1, "year"] == "1900"
    empty = to_frame([])
    assert empty.shape == (0, 9) and list(empty.columns) == list(frame.columns)


@pytest.mark.skipif(not (GALLERY / "metadata.csv").is_file(), reason="shared gallery not present")
def test_shared_gallery():
    result = scan_folder(GALLERY)
    assert result.skipped == []
    assert len(result.paintings) == 45
    assert len({p.sha256 for p in result.paintings}) == 45  # no byte-identical files in it
    with open(GALLERY / "metadata.csv", newline="", encoding="utf-8") as fh:
        rows = {row["file"]: row for row in csv.DictReader(fh)}
    for p in result.paintings:
        row = rows[Path(p.path).relative_to(GALLERY).as_posix()]
        assert (p.sha256, p.artist, p.title, p.work) == (row["sha256"], row["artist"], row["title"], row["work"])
    counts = Counter(p.artist for p in result.paintings)
    assert counts["Vincent van Gogh"] == 17 and counts["Claude Monet"] == 6 and len(counts) == 11


def test_hash_cache_reads_only_new_or_changed_files(tmp_path):
    import os

    from artsim.inputs.collection import scan_folder

    root = tmp_path / "c"
    (root / "Ann").mkdir(parents=True)
    for i in range(2):
        (root / "Ann" / f"{i}.png").write_bytes(_png_bytes(i))
    cache: dict = {}
    first = scan_folder(root, hash_cache=cache)
    assert len(cache) == 2 and {p.sha256 for p in first.paintings} == set(cache.values())
    # A cached digest is trusted while path, size and mtime match: plant a marker to prove no read.
    key = next(k for k in cache if k[0].endswith("0.png"))
    cache[key] = "f" * 64
    assert "f" * 64 in {p.sha256 for p in scan_folder(root, hash_cache=cache).paintings}
    # Touching the file (new mtime) makes it read again.
    st = os.stat(key[0])
    os.utime(key[0], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    again = scan_folder(root, hash_cache=cache)
    assert "f" * 64 not in {p.sha256 for p in again.paintings}
    assert {p.sha256 for p in again.paintings} == {p.sha256 for p in first.paintings}


def _png_bytes(seed: int) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8 + seed, 8), (seed * 40, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


def test_images_without_a_suffix_are_found_by_content(tmp_path, make_image):
    make_image("col/Artist/portrait", fmt="JPEG")
    make_image("col/Artist/scan.dat", fmt="PNG")
    (tmp_path / "col/Artist/README").write_text("not a picture")
    os.mkfifo(tmp_path / "col/Artist/pipe")  # sniffing must not block on it
    result = scan_folder(tmp_path / "col")
    assert [Path(p.path).name for p in result.paintings] == ["portrait", "scan.dat"]
    assert {Path(p).name: why for p, why in result.skipped} == {
        "README": "not an image file type (no suffix)", "pipe": "not an image file type (no suffix)"}
