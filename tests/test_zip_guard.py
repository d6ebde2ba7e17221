"""artsim.uploads.zip_guard against the standard library's zipfile, on generated archives."""

from __future__ import annotations

import io
import tracemalloc
import warnings
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artsim.uploads.zip_guard import (
    READ_METHODS,
    ZipCaps,
    ZipRefused,
    declared_entries,
    member_name,
    member_problem,
    open_archive,
    read_member,
)
from tests.hostile_corpus import lying_zip

BIG = ZipCaps(max_members=10_000, max_total_bytes=1 << 30, max_member_bytes=1 << 30, max_ratio=1e9)
SETTINGS = settings(max_examples=120, deadline=None)

_PART = st.text(alphabet=st.sampled_from("abcé自 .-_\\"), min_size=1, max_size=6)
NAMES = st.lists(_PART, min_size=1, max_size=3).map("/".join) | _PART.map(lambda p: p + "/")
MEMBERS = st.lists(
    st.tuples(NAMES, st.binary(max_size=300) | st.integers(0, 4000).map(lambda n: b"\0" * n),
              st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2])),
    max_size=8,
)


def build(members: list[tuple[str, bytes, int]]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are allowed (and hostile)
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data, method in members:
                zf.writestr(zipfile.ZipInfo(name), b"" if name.endswith("/") else data, compress_type=method)
    return buf.getvalue()


def reference(data: bytes) -> list[tuple[str, bytes | None]]:
    """What zipfile reads, with None for members whose method the guard does not read (bzip2)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(member_name(i), zf.read(i) if i.compress_type in READ_METHODS else None)
                for i in zf.infolist() if not i.is_dir()]


def _read_or_none(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    try:
        return read_member(zf, info)
    except ZipRefused as exc:
        assert "compression method" in exc.reason
        return None


def guarded(data: bytes, caps: ZipCaps = BIG) -> list[tuple[str, bytes | None]]:
    zf, files = open_archive(data, caps)
    with zf:
        return [(raw, _read_or_none(zf, info)) for info, raw in files]


@SETTINGS
@given(MEMBERS)
def test_within_caps_the_guard_reads_exactly_what_zipfile_reads(members):
    data = build(members)
    ref = reference(data)
    assert declared_entries(data) == len(members)
    if not ref:
        try:
            guarded(data)
        except ZipRefused as exc:
            assert exc.reason == "archive has no files in it"
        else:
            raise AssertionError("an archive without files was accepted")
        return
    assert guarded(data) == ref


@SETTINGS
@given(MEMBERS.filter(lambda m: any(not n.endswith("/") for n, _, _ in m)), st.integers(0, 10), st.integers(0, 9000))
def test_caps_refuse_exactly_the_archives_over_them(members, max_members, max_total):
    data = build(members)
    caps = ZipCaps(max_members=max_members, max_total_bytes=max_total, max_member_bytes=1 << 30, max_ratio=1e9)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        unpacked = sum(len(zf.read(i)) for i in zf.infolist() if not i.is_dir())
    over = len(members) > max_members or len(data) > max_total or unpacked > max_total
    try:
        out = guarded(data, caps)
    except ZipRefused:
        assert over
    else:
        assert not over and out == reference(data)


@SETTINGS
@given(MEMBERS.filter(lambda m: len(m) > 0), st.data())
def test_damaged_archives_fail_with_a_reason_never_with_more_than_zipfile(members, data):
    raw = bytearray(build(members))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = bytes(raw[: data.draw(st.integers(1, len(raw)))])
    try:
        zf, files = open_archive(raw, BIG)
    except ZipRefused:
        return
    with zf:
        for info, _ in files:
            try:
                got = read_member(zf, info)
            except ZipRefused as exc:
                assert exc.reason
                continue
            assert len(got) == info.file_size  # never more than declared
            with zipfile.ZipFile(io.BytesIO(raw)) as ref:
                assert ref.read(info) == got


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_bzip2_and_lzma_members_are_refused_unread(method):
    # Issue 25: zipfile hands bzip2/LZMA data to the decompressor whole, so a member that lies about
    # its size unpacked 2.1 GB from 904 bytes. Such members get a reason and are never inflated.
    data = lying_zip(method, 16 << 20)
    assert len(data) < 10_000
    zf, files = open_archive(data, BIG)
    with zf:
        ((info, name),) = files
        assert info.file_size == 1000  # the lie: the ratio check cannot see the bomb
        reason = member_problem(info, BIG, budget=1 << 30)
        assert reason and "compression method" in reason and "deflate" in reason
        assert _peak(lambda: read_member(zf, info), ZipRefused) < 1 << 20
    with zipfile.ZipFile(io.BytesIO(data)) as ref, ref.open(name) as fh:  # the control: zipfile inflates it all
        assert _peak(lambda: fh.read(10), zipfile.BadZipFile) > 15 << 20  # then finds the CRC wrong


def _peak(fn, raises: type[Exception]) -> int:
    """Python allocation peak of ``fn()``, which must raise ``raises``."""
    tracemalloc.start()
    try:
        with pytest.raises(raises):
            fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_lying_deflate_member_stops_at_its_declared_size():
    data = lying_zip(zipfile.ZIP_DEFLATED, 8 << 20)
    zf, files = open_archive(data, BIG)
    with zf, pytest.raises(ZipRefused, match="damaged"):  # zipfile stops at the declared size; the CRC fails
        read_member(zf, files[0][0])
