"""artsim.inputs.zip_guard against the standard library's zipfile, on generated archives."""

from __future__ import annotations

import io
import warnings
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from artsim.inputs.zip_guard import (
    ZipCaps,
    ZipRefused,
    declared_entries,
    member_name,
    open_archive,
    read_member,
)

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


def reference(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(member_name(i), zf.read(i)) for i in zf.infolist() if not i.is_dir()]


def guarded(data: bytes, caps: ZipCaps = BIG) -> list[tuple[str, bytes]]:
    zf, files = open_archive(data, caps)
    with zf:
        return [(raw, read_member(zf, info)) for info, raw in files]


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
    unpacked = sum(len(d) for _, d in reference(data))
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
