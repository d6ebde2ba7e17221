"""artsim.uploads.batch: a hostile-input suite, every file made synthetically here."""

from __future__ import annotations

import hashlib
import io
import struct
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artsim.errors import StoreError
from artsim.inputs.collection import Painting
from artsim.uploads.batch import (
    MAX_ARTIST_CHARS,
    MAX_NAME_CHARS,
    UploadLimits,
    UploadOutcome,
    clean_artist,
    read_uploads,
    sanitize_name,
)

ARTIST = "Frida Kahlo"


# ---------------------------------------------------------------- synthetic files


def encode(fmt: str = "PNG", seed: int = 0, size: tuple[int, int] = (40, 30), color=None) -> bytes:
    """Seeded noise (or a solid colour) encoded as ``fmt``; different seeds give different bytes."""
    if color is None:
        rng = np.random.default_rng(seed)
        im = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")
    else:
        im = Image.new("RGB", size, color)
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims width x height (CRC recomputed): a decompression bomb header."""
    data = encode("PNG", size=(8, 8))
    body = b"IHDR" + struct.pack(">II", width, height) + data[24:29]
    return data[:8] + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body)) + data[33:]


def make_zip(members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members:
            if name.endswith("/"):
                zf.writestr(zipfile.ZipInfo(name), b"")
            else:
                zf.writestr(name, data)
    return buf.getvalue()


def patch_member(data: bytes, name: str, *, flag: int | None = None, method: int | None = None,
                 file_size: int | None = None) -> bytes:
    """Rewrite header fields of member ``name`` in both its local and its central-directory header."""
    out = bytearray(data)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    local = info.header_offset
    assert out[local : local + 4] == b"PK\x03\x04"
    raw_name = name.encode()
    central = [i for i in range(len(out)) if out[i : i + 4] == b"PK\x01\x02"
               and out[i + 46 : i + 46 + len(raw_name)] == raw_name]
    assert len(central) == 1
    for base, offsets in ((local, (6, 8, 22)), (central[0], (8, 10, 24))):
        if flag is not None:
            struct.pack_into("<H", out, base + offsets[0], flag)
        if method is not None:
            struct.pack_into("<H", out, base + offsets[1], method)
        if file_size is not None:
            struct.pack_into("<I", out, base + offsets[2], file_size)
    return bytes(out)


def by_name(outcomes: list[UploadOutcome]) -> dict[str, UploadOutcome]:
    names = [o.display_name for o in outcomes]
    assert len(names) == len(set(names)), names
    return {o.display_name: o for o in outcomes}


def files_under(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- plain images


def test_good_images_added_and_stored_by_content(tmp_path):
    png, jpg = encode("PNG", 1), encode("JPEG", 2)
    store = tmp_path / "store"
    out = read_uploads([("me.png", png), ("self_portrait-2.jpeg", jpg)], artist="  Frida   Kahlo ",
                       store_dir=store)
    assert [o.status for o in out] == ["added", "added"]
    a, b = out
    assert a.reason == "" and a.data == png and a.sha256 == sha(png) and a.archive is None
    assert isinstance(a.painting, Painting)
    assert a.painting == Painting(sha256=sha(png), path=str(store / f"{sha(png)}.png"),
                                  artist="Frida Kahlo", title="me", source="upload")
    assert b.painting.title == "self portrait 2"
    assert b.painting.path == str(store / f"{sha(jpg)}.jpg")
    assert Path(a.painting.path).read_bytes() == png
    assert Path(b.painting.path).read_bytes() == jpg
    assert files_under(store) == {Path(f"{sha(png)}.png"), Path(f"{sha(jpg)}.jpg")}  # no temp files left


def test_extension_comes_from_content_not_name(tmp_path):
    png, jpg, gif = encode("PNG", 3), encode("JPEG", 4), encode("GIF", 5)
    out = read_uploads([("photo.jpg", png), ("noext", jpg), ("pic.exe", gif)], artist=ARTIST,
                       store_dir=tmp_path)
    assert [Path(o.painting.path).name for o in out] == [
        f"{sha(png)}.png", f"{sha(jpg)}.jpg", f"{sha(gif)}.gif"]


def test_without_store_dir_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (out,) = read_uploads([("me.png", encode())], artist=ARTIST)
    assert out.status == "added" and out.painting.path == "" and out.data == encode()
    assert list(tmp_path.iterdir()) == []


def test_broken_files_rejected_with_reasons_others_kept(tmp_path):
    good1, good2 = encode("PNG", 10), encode("JPEG", 11)
    png = encode("PNG", 12)
    files = [
        ("good1.png", good1),
        ("truncated.png", png[: len(png) // 2]),
        ("empty.jpg", b""),
        ("notes.jpg", b"these are my notes, not a picture\n" * 5),
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'),
        ("bomb.png", png_declaring(30000, 30000)),
        ("bomb2.png", png_declaring(1000, 30000)),
        ("good2.jpg", good2),
    ]
    out = by_name(read_uploads(files, artist=ARTIST, store_dir=tmp_path / "s"))
    assert out["good1.png"].status == out["good2.jpg"].status == "added"
    rejected = {k: v for k, v in out.items() if v.status == "rejected"}
    assert {k: v.reason for k, v in rejected.items()} == {
        "truncated.png": "truncated or corrupt image data",
        "empty.jpg": "file is empty",
        "notes.jpg": "not an image file",
        "drawing.svg": "SVG is a vector drawing, not a painting image; export it as PNG or JPEG",
        "bomb.png": "image is 900 megapixels; the limit is 89.5 megapixels (JPEG may be larger)",
        "bomb2.png": "image is 1000x30000 pixels (1:30); a painting is at most 1:20, so crop it to the painting",
    }
    assert all(v.painting is None and v.data is None for v in rejected.values())
    assert len(list((tmp_path / "s").iterdir())) == 2


def test_file_over_size_cap_rejected(tmp_path):
    big = encode("PNG", 20, size=(100, 100))  # ~30 KB of noise
    small = encode("PNG", 21, size=(8, 8))
    limits = UploadLimits(max_file_bytes=10 * 1024)
    out = read_uploads([("big.png", big), ("small.png", small)], artist=ARTIST, limits=limits)
    assert out[0].status == "rejected"
    assert out[0].reason == f"file is {len(big) / 1024:.0f} KB; the limit is 10 KB"
    assert out[1].status == "added"


def test_too_many_files_rest_rejected_unread():
    files = [(f"p{i}.png", encode("PNG", 30 + i, size=(8, 8))) for i in range(4)]
    out = read_uploads(files, artist=ARTIST, limits=UploadLimits(max_files=3))
    assert [o.status for o in out] == ["added", "added", "added", "rejected"]
    assert out[3].reason.startswith("over the limit of 3 files per upload")


def test_named_zip_but_not_a_zip():
    (out,) = read_uploads([("photos.zip", b"not really a zip file" * 3)], artist=ARTIST)
    assert out.status == "rejected" and "not a ZIP archive" in out.reason
    # ... while an image that happens to be named .zip is judged by its bytes
    (ok,) = read_uploads([("photo.zip", encode())], artist=ARTIST)
    assert ok.status == "added"


# ---------------------------------------------------------------- duplicates


def test_duplicates_within_batch_and_against_collection(tmp_path):
    a, b, c = encode("PNG", 40), encode("PNG", 41), encode("PNG", 42)
    store = tmp_path / "store"
    out = read_uploads([("a.png", a), ("a copy.png", a), ("b.png", b), ("c.png", c)], artist=ARTIST,
                       known_shas={sha(b)}, store_dir=store)
    assert [o.status for o in out] == ["added", "duplicate", "duplicate", "added"]
    assert out[1].reason == "same bytes as 'a.png' earlier in this upload"
    assert out[2].reason == "same bytes as a painting already in this collection"
    assert out[1].sha256 == sha(a) and out[1].painting is None and out[1].data is None
    assert len(list(store.iterdir())) == 2  # same bytes twice -> one file

    # a mapping sha -> name lets the reason name the existing painting
    (dup,) = read_uploads([("again.png", c)], artist=ARTIST, known_shas={sha(c): "Kahlo/c.png"})
    assert dup.reason == "same bytes as 'Kahlo/c.png' already in this collection"


def test_rejected_file_does_not_make_a_later_copy_a_duplicate():
    bad = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
    out = read_uploads([("x.png", bad), ("y.png", bad)], artist=ARTIST)
    assert [o.status for o in out] == ["rejected", "rejected"]


def test_same_bytes_uploaded_twice_across_calls_one_file(tmp_path):
    png = encode("PNG", 50)
    store = tmp_path / "store"
    first = read_uploads([("a.png", png)], artist=ARTIST, store_dir=store)
    second = read_uploads([("b.png", png)], artist=ARTIST, store_dir=store)
    assert first[0].painting.path == second[0].painting.path
    assert files_under(store) == {Path(f"{sha(png)}.png")}

    # a damaged file under the content name is replaced, not trusted
    Path(first[0].painting.path).write_bytes(b"x" * len(png))
    read_uploads([("c.png", png)], artist=ARTIST, store_dir=store)
    assert Path(first[0].painting.path).read_bytes() == png


def test_store_dir_not_writable_raises_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("I am a file, not a folder")
    with pytest.raises(StoreError, match="cannot save uploads"):
        read_uploads([("a.png", encode())], artist=ARTIST, store_dir=blocker / "store")


# ---------------------------------------------------------------- titles and artists


def test_titles_by_upload_name_are_cleaned():
    out = read_uploads([("a.png", encode("PNG", 60)), ("b.png", encode("PNG", 61)),
                        ("c.png", encode("PNG", 62))],
                       artist=ARTIST, titles={"a.png": "  Self-portrait\n with\tmonkey ", "b.png": "\x00 "})
    assert [o.painting.title for o in out] == ["Self-portrait with monkey", "b", "c"]


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("  Frida   Kahlo ", "Frida Kahlo"),
        ("Élisabeth\tVigée Le Brun", "Élisabeth Vigée Le Brun"),
        ("AC/DC\\band", "AC-DC-band"),
        ("../../etc", "etc"),
        ("Ana\x00\x1b[31m", "Ana[31m"),
        ("自画像", "自画像"),
    ],
)
def test_clean_artist(raw, clean):
    assert clean_artist(raw) == clean


def test_clean_artist_caps_length_and_refuses_empty():
    assert len(clean_artist("A" * 500)) == MAX_ARTIST_CHARS
    for bad in ("", "   ", "\x00\n", "..", "/"):
        with pytest.raises(ValueError, match="artist name is empty"):
            clean_artist(bad)
    with pytest.raises(ValueError):
        read_uploads([("a.png", encode())], artist="  ")


# ---------------------------------------------------------------- names


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("me.png", "me.png"),
        ("../../evil.jpg", "evil.jpg"),
        ("/abs/x.jpg", "x.jpg"),
        ("..\\win.jpg", "win.jpg"),
        ("C:\\Users\\me\\Pictures\\pic.jpg", "pic.jpg"),
        ("a\x00b\nc\x1b.png", "ab c.png"),
        ("\u202egnp.exe", "gnp.exe"),  # right-to-left override dropped
        ("Autoportrait é 自画像.png", "Autoportrait é 自画像.png"),
        ("Autoportrait e\u0301.png", "Autoportrait é.png"),  # NFC
        ("...hidden.png", "hidden.png"),
        ("  spaced   out  .png  ", "spaced out .png"),
        ("trailing.png. ", "trailing.png"),
        ("", "upload"),
        ("..", "upload"),
        ("dir/", "upload"),
        ("\x00\x01", "upload"),
    ],
)
def test_sanitize_name(raw, clean):
    assert sanitize_name(raw) == clean


def test_sanitize_name_caps_length_keeping_extension():
    long = sanitize_name("x" * 500 + ".jpeg")
    assert len(long) == MAX_NAME_CHARS and long.endswith(".jpeg") and long.startswith("xxx")
    noext = sanitize_name("é" * 500)
    assert noext == "é" * MAX_NAME_CHARS


def test_hostile_names_in_a_batch_are_sanitised(tmp_path):
    files = [("evil\x00name\n.png", encode("PNG", 70)), ("y" * 300 + ".png", encode("PNG", 71)),
             ("Autoportrait é 自画像.png", encode("PNG", 72))]
    out = read_uploads(files, artist=ARTIST, store_dir=tmp_path)
    assert [o.display_name for o in out] == ["evilname .png", "y" * 116 + ".png", "Autoportrait é 自画像.png"]
    assert out[2].painting.title == "Autoportrait é 自画像"
    assert all(Path(o.painting.path).parent == tmp_path for o in out)


# ---------------------------------------------------------------- ZIP archives


def test_zip_with_mixed_members(tmp_path):
    good, other = encode("JPEG", 80), encode("PNG", 81)
    broken = encode("PNG", 82)[:60]
    data = make_zip([
        ("portraits/", b""),
        ("portraits/good.jpg", good),
        ("portraits/sub/other.png", other),
        ("portraits/broken.png", broken),
        ("portraits/notes.txt", b"hello"),
        ("__MACOSX/portraits/._good.jpg", b"\x00\x05\x16\x07 resource fork"),
        ("portraits/.DS_Store", b"\x00\x00\x00\x01Bud1"),
        ("portraits/Thumbs.db", b"\xd0\xcf\x11\xe0"),
    ])
    out = by_name(read_uploads([("My portraits.zip", data)], artist=ARTIST, store_dir=tmp_path / "s"))
    assert set(out) == {"good.jpg", "other.png", "broken.png", "notes.txt", "_good.jpg", "DS_Store", "Thumbs.db"}
    assert all(o.archive == "My portraits.zip" for o in out.values())
    assert out["_good.jpg"].reason == "system file (a folder the operating system adds), skipped"
    assert out["DS_Store"].reason == "system file (.DS_Store), skipped"
    assert out["Thumbs.db"].reason == "system file (Thumbs.db), skipped"
    assert {out[n].status for n in ("_good.jpg", "DS_Store", "Thumbs.db")} == {"rejected"}
    assert out["good.jpg"].status == out["other.png"].status == "added"
    assert out["good.jpg"].data == good and out["good.jpg"].painting.title == "good"
    assert out["good.jpg"].painting.path == str(tmp_path / "s" / f"{sha(good)}.jpg")
    assert (out["broken.png"].status, out["broken.png"].reason) == ("rejected", "truncated or corrupt image data")
    assert (out["notes.txt"].status, out["notes.txt"].reason) == ("rejected", "not an image file")


def test_zip_detected_by_magic_bytes_not_name():
    data = make_zip([("a.png", encode("PNG", 90))])
    (out,) = read_uploads([("innocent.jpg", data)], artist=ARTIST)
    assert out.status == "added" and out.display_name == "a.png" and out.archive == "innocent.jpg"


def test_zip_slip_names_write_nothing_outside_store(tmp_path):
    members = [("../../evil.jpg", encode("JPEG", 91)), ("/abs/x.jpg", encode("JPEG", 92)),
               ("..\\win.jpg", encode("JPEG", 93)), ("a/../../../up.png", encode("PNG", 94))]
    data = make_zip(members)
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == [m for m, _ in members]  # names really hostile
    store = tmp_path / "deep" / "store"
    store.mkdir(parents=True)
    before = files_under(tmp_path)
    out = read_uploads([("slip.zip", data)], artist=ARTIST, store_dir=store)
    assert [(o.display_name, o.status) for o in out] == [
        ("evil.jpg", "added"), ("x.jpg", "added"), ("win.jpg", "added"), ("up.png", "added")]
    new = files_under(tmp_path) - before
    assert new == {Path("deep/store") / f"{sha(d)}{Path(m).suffix}" for m, d in members}
    assert all(Path(o.painting.path).resolve().parent == store.resolve() for o in out)


def test_zip_bomb_member_rejected_by_ratio_without_inflating():
    zeros = b"\x00" * (30 * 1024 * 1024)
    data = make_zip([("bomb.png", zeros), ("ok.png", encode("PNG", 100))])
    del zeros
    assert len(data) < 100_000
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        out = by_name(read_uploads([("b.zip", data)], artist=ARTIST))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 2.0
    assert peak < 5 * 1024 * 1024  # the 30 MB member was never unpacked
    assert out["bomb.png"].status == "rejected"
    assert "looks like a ZIP bomb" in out["bomb.png"].reason and "limit is 100:1" in out["bomb.png"].reason
    assert out["ok.png"].status == "added"


def test_zip_member_declaring_too_many_bytes_rejected_before_reading():
    zeros = b"\x00" * (2 * 1024 * 1024)
    data = make_zip([("big.png", zeros)])
    limits = UploadLimits(max_file_bytes=1024 * 1024, max_zip_ratio=float("inf"))
    (out,) = read_uploads([("b.zip", data)], artist=ARTIST, limits=limits)
    assert (out.status, out.reason) == ("rejected", "file is 2 MB; the limit is 1 MB")


def test_zip_header_lying_about_size_is_caught_while_reading():
    """Header says 1000 bytes, the data inflates to 20 MB: reading stops at the declared size."""
    data = make_zip([("liar.png", b"\x00" * (20 * 1024 * 1024)), ("ok.png", encode("PNG", 101))])
    lying = patch_member(data, "liar.png", file_size=1000)
    assert zipfile.ZipFile(io.BytesIO(lying)).getinfo("liar.png").file_size == 1000
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        out = by_name(read_uploads([("liar.zip", lying)], artist=ARTIST))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 2.0
    assert peak < 5 * 1024 * 1024
    assert out["liar.png"].status == "rejected"
    assert out["liar.png"].reason == "is damaged in the archive (it failed its integrity check)"
    assert out["ok.png"].status == "added"


def test_zip_total_uncompressed_size_capped_from_directory():
    # four 30 KB solid-colour BMPs: tiny when deflated, 120 KB unpacked
    members = [(f"p{i}.bmp", encode("BMP", size=(100, 100), color=(i, 0, 0))) for i in range(4)]
    data = make_zip(members)
    assert len(data) < 10_000
    limits = UploadLimits(max_zip_total_bytes=100 * 1024)
    (out,) = read_uploads([("many.zip", data)], artist=ARTIST, limits=limits)
    assert out.status == "rejected" and out.display_name == "many.zip"
    assert out.reason == "archive unpacks to 117 KB; the limit is 100 KB"
    # within the cap all four are added
    assert [o.status for o in read_uploads([("many.zip", data)], artist=ARTIST)] == ["added"] * 4


def test_zip_upload_itself_over_size_cap():
    data = make_zip([(f"p{i}.png", encode("PNG", 110 + i, size=(64, 64))) for i in range(3)],
                    compression=zipfile.ZIP_STORED)
    (out,) = read_uploads([("z.zip", data)], artist=ARTIST, limits=UploadLimits(max_zip_total_bytes=20_000))
    assert out.status == "rejected" and out.reason.startswith("archive is ")


def test_too_many_zip_members_rejected_from_end_record():
    data = make_zip([(f"f{i}.txt", b"x") for i in range(30)])
    (out,) = read_uploads([("many.zip", data)], artist=ARTIST, limits=UploadLimits(max_zip_members=20))
    assert (out.status, out.reason) == ("rejected", "archive lists 30 entries; the limit is 20")
    # the end record is what is read first: a record claiming more entries than allowed is refused
    # even though the directory itself is small
    pos = data.rfind(b"PK\x05\x06")
    claimed = bytearray(data)
    struct.pack_into("<HH", claimed, pos + 8, 9999, 9999)
    (out2,) = read_uploads([("many.zip", bytes(claimed))], artist=ARTIST)
    assert out2.reason == "archive lists 9999 entries; the limit is 1000"


def test_zip_members_count_against_max_files():
    data = make_zip([(f"p{i}.png", encode("PNG", 120 + i, size=(8, 8))) for i in range(3)])
    out = read_uploads([("a.png", encode("PNG", 130)), ("z.zip", data)], artist=ARTIST,
                       limits=UploadLimits(max_files=3))
    assert [o.status for o in out] == ["added", "added", "added", "rejected"]
    assert out[3].display_name == "p2.png" and "over the limit of 3 files" in out[3].reason


def test_zip_members_are_judged_by_content_not_suffix():
    jpeg = encode("JPEG", 95)
    data = make_zip([("essay.pdf", b"%PDF-1.4"), ("song.mp3", b"ID3"), ("README", b"hi"), ("noext", jpeg),
                     ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>')])
    out = read_uploads([("stuff.zip", data)], artist=ARTIST)
    assert [(o.display_name, o.status, o.reason) for o in out] == [
        ("essay.pdf", "rejected", "PDF documents are not images; export the page as PNG or JPEG"),
        ("song.mp3", "rejected", "not an image file"),
        ("README", "rejected", "not an image file"),
        ("noext", "added", ""),
        ("drawing.svg", "rejected", "SVG is a vector drawing, not a painting image; export it as PNG or JPEG"),
    ]
    assert out[3].data == jpeg and out[3].painting.title == "noext"


def test_zip_with_only_folders():
    (out,) = read_uploads([("empty.zip", make_zip([("a/", b""), ("a/b/", b"")]))], artist=ARTIST)
    assert (out.status, out.reason) == ("rejected", "archive has no files in it")


def test_zip_hidden_members_get_rows():
    png = encode()
    data = make_zip([("a/", b""), ("__MACOSX/._x.png", b"junk"), (".hidden.png", png), ("a/.also.png", png)])
    out = read_uploads([("hidden.zip", data)], artist=ARTIST)
    assert [(o.display_name, o.status) for o in out] == [
        ("_x.png", "rejected"), ("hidden.png", "added"), ("also.png", "duplicate")]
    assert out[0].reason == "system file (a folder the operating system adds), skipped"


def test_nested_zips_not_opened():
    inner = make_zip([("deep.png", encode("PNG", 140))])
    data = make_zip([("inner.zip", inner), ("sneaky.png", inner), ("ok.png", encode("PNG", 141))])
    out = by_name(read_uploads([("outer.zip", data)], artist=ARTIST))
    assert "deep.png" not in out
    for name in ("inner.zip", "sneaky.png"):
        assert out[name].status == "rejected" and "nested archives are not opened" in out[name].reason
    assert out["ok.png"].status == "added"


def test_encrypted_member_rejected():
    # zipfile cannot write encrypted members; set the "encrypted" flag bit by hand
    data = make_zip([("secret.png", encode("PNG", 150)), ("open.png", encode("PNG", 151))])
    data = patch_member(data, "secret.png", flag=0x1)
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("secret.png").flag_bits & 0x1
    out = by_name(read_uploads([("e.zip", data)], artist=ARTIST))
    assert out["secret.png"].status == "rejected"
    assert out["secret.png"].reason == "is password-protected; make the ZIP without a password"
    assert out["open.png"].status == "added"


def test_unsupported_compression_method_rejected():
    data = make_zip([("odd.png", encode("PNG", 160)), ("ok.png", encode("PNG", 161))])
    data = patch_member(data, "odd.png", method=9)  # Deflate64, which zipfile cannot read
    out = by_name(read_uploads([("m.zip", data)], artist=ARTIST))
    assert out["odd.png"].status == "rejected" and "compression method" in out["odd.png"].reason
    assert out["ok.png"].status == "added"


def test_damaged_zip_archive():
    data = make_zip([("a.png", encode())])
    (out,) = read_uploads([("cut.zip", data[: len(data) // 2])], artist=ARTIST)
    assert (out.status, out.reason) == ("rejected",
                                        "damaged or incomplete ZIP archive; create it again and re-upload")


def test_zip_member_duplicates_and_names(tmp_path):
    png = encode("PNG", 170)
    data = make_zip([("one/Autoportrait é 自画像.png", png), ("two/copy.png", png),
                     ("bad\x01name.png".replace("\x01", "\u202e"), encode("PNG", 171))])
    out = read_uploads([("z.zip", data), ("loose.png", png)], artist=ARTIST, store_dir=tmp_path)
    assert [(o.display_name, o.status) for o in out] == [
        ("Autoportrait é 自画像.png", "added"), ("copy.png", "duplicate"), ("badname.png", "added"),
        ("loose.png", "duplicate")]
    assert out[1].reason == "same bytes as 'Autoportrait é 自画像.png' earlier in this upload"
    assert len(list(tmp_path.iterdir())) == 2
