"""Names from strangers: file names, artist names and titles made safe to show.

A name is a label, never a path: stored files are named by their content
(``<sha256><ext>``), so nothing here ever reaches the file system. Cleaning
still removes what could mislead a reader or a later tool: path components,
control and format characters (NUL, newlines, right-to-left overrides),
characters no file system accepts and reserved device names (``pathvalidate``),
and it caps lengths. Everything is still rendered as text, never markup.
"""

from __future__ import annotations

import re
import unicodedata

from pathvalidate import sanitize_filename

__all__ = ["MAX_ARTIST_CHARS", "MAX_NAME_CHARS", "MAX_TITLE_CHARS", "clean_artist", "clean_title",
           "sanitize_name"]

MAX_NAME_CHARS = 120
"""Longest display name kept (the extension is preserved when cutting)."""

MAX_ARTIST_CHARS = 80
"""Longest artist name accepted (longer names are cut)."""

MAX_TITLE_CHARS = 200
"""Longest title kept."""

_MAX_SUFFIX_CHARS = 10
_MAX_NAME_BYTES = 240  # pathvalidate cuts names over 255 UTF-8 bytes, dropping the extension
_SPACES = re.compile(r"\s+")


def _clean_text(text: str) -> str:
    """NFC, no control/format/surrogate/private characters, single spaces, stripped."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if ch.isspace() else ch for ch in text if ch.isspace() or unicodedata.category(ch)[0] != "C")
    return _SPACES.sub(" ", text).strip()


def _cap(name: str, limit: int) -> str:
    """Cut ``name`` to ``limit`` characters and :data:`_MAX_NAME_BYTES` UTF-8 bytes, keeping a short extension."""
    if len(name) <= limit and len(name.encode("utf-8")) <= _MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not (dot and stem and 0 < len(ext) < _MAX_SUFFIX_CHARS and len(ext) + 2 <= limit):
        stem, ext = name, ""
    stem = stem[: limit - len(ext) - (1 if ext else 0)]
    tail = "." + ext if ext else ""
    while len((stem + tail).encode("utf-8")) > _MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem.rstrip(" .") + tail


def _one_pass(name: str) -> str:
    name = _clean_text(name)
    name = re.split(r"[/\\]", name)[-1]
    name = _cap(name.strip().lstrip(". ").rstrip(". "), MAX_NAME_CHARS)
    name = sanitize_filename(name, platform="universal", max_len=1000)  # our cap counts characters
    return _clean_text(name).lstrip(". ").rstrip(". ")


def sanitize_name(name: str) -> str:
    """A file name that is safe to display and can never act as a path.

    Keeps the last component after ``/`` or ``\\``; removes control and format
    characters (NUL, newlines, bidi overrides), characters that are invalid in
    file names on some system (``:*?"<>|``), leading dots and spaces and
    trailing dots and spaces; renames reserved device names (``CON`` ->
    ``CON_``); collapses whitespace; keeps letters of any script; caps the
    length at :data:`MAX_NAME_CHARS` keeping the extension. An empty result
    becomes ``"upload"``. Idempotent.

    >>> sanitize_name("../../etc/.passwd\\x00.jpg")
    'passwd.jpg'
    """
    once = _one_pass(str(name))
    twice = _one_pass(once)  # a cut can expose a reserved name or a trailing dot: settle it
    return twice or "upload"


def clean_artist(name: str) -> str:
    """Validate an artist name typed by a user; returns the cleaned name.

    Removes control characters, collapses spaces, replaces ``/`` and ``\\`` with
    ``-`` and strips leading dots (artist names become folder-like labels), and
    cuts to :data:`MAX_ARTIST_CHARS`.

    Raises
    ------
    ValueError
        Nothing printable is left; the message says what to type.
    """
    text = _clean_text(str(name))
    text = re.sub(r"\s*[/\\]+\s*", "-", text)
    text = text.lstrip(". -").rstrip(" ")
    text = text[:MAX_ARTIST_CHARS].rstrip(" ")
    if not any(ch.isalnum() for ch in text):
        raise ValueError("artist name is empty: type the name of the person in the portraits")
    return text


def clean_title(title: str) -> str:
    """A title safe to show: control characters removed, spaces collapsed, cut to :data:`MAX_TITLE_CHARS`."""
    return _clean_text(str(title))[:MAX_TITLE_CHARS].rstrip()
