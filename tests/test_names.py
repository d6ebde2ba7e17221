"""Properties of the name cleaners (artsim.inputs.names) on generated text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artsim.inputs.names import (
    MAX_ARTIST_CHARS,
    MAX_NAME_CHARS,
    MAX_TITLE_CHARS,
    clean_artist,
    clean_title,
    sanitize_name,
)

# Text heavy in the characters that matter: separators, dots, NUL and controls, bidi overrides,
# characters Windows refuses, reserved device names, combining marks and astral-plane letters.
_TRICKY = st.sampled_from(["/", "\\", ".", "..", "\x00", "\n", "\r", "\t", " ", "\u202e", "\u200b", ":", "*",
                           "?", "<", ">", "|", '"', "CON", "nul", "e\u0301", "😀", "自", ".jpg", ".jpeg"])
NAMES = st.lists(st.one_of(_TRICKY, st.text(max_size=8)), max_size=40).map("".join)
SETTINGS = settings(max_examples=150, deadline=None)


@SETTINGS
@given(NAMES)
def test_sanitize_name_is_a_bounded_label_and_idempotent(raw):
    name = sanitize_name(raw)
    assert name and "/" not in name and "\\" not in name and "\x00" not in name
    assert not any(ord(ch) < 32 for ch in name)
    assert name not in (".", "..") and not name.startswith(".")
    assert len(name) <= MAX_NAME_CHARS and len(name.encode("utf-8")) <= 255
    assert sanitize_name(name) == name


@SETTINGS
@given(NAMES, st.sampled_from([".jpg", ".png", ".tiff"]))
def test_sanitize_name_keeps_the_extension_of_long_names(stem, ext):
    name = sanitize_name("a" + stem + "x" * 300 + ext)
    assert name.endswith(ext)


@SETTINGS
@given(NAMES)
def test_clean_artist_is_bounded_and_idempotent(raw):
    try:
        artist = clean_artist(raw)
    except ValueError:  # nothing alphanumeric in what is kept
        return
    assert "/" not in artist and "\\" not in artist and "\x00" not in artist and "\n" not in artist
    assert 0 < len(artist) <= MAX_ARTIST_CHARS and artist == artist.strip()
    assert clean_artist(artist) == artist


@SETTINGS
@given(NAMES)
def test_clean_title_is_bounded_and_idempotent(raw):
    title = clean_title(raw)
    assert len(title) <= MAX_TITLE_CHARS and "\x00" not in title and "\n" not in title
    assert clean_title(title) == title


@pytest.mark.parametrize("raw, clean", [("CON.jpg", "CON_.jpg"), ('a:b*c?"<>|.png', "abc.png"),
                                        ("x" * 500 + ".jpeg", "x" * 115 + ".jpeg")])
def test_sanitize_name_reserved_and_invalid_characters(raw, clean):
    assert sanitize_name(raw) == clean
