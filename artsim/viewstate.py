"""One view of the dashboard as a small value that round-trips through a URL.

A share link is just the URL: ``ViewState.to_query_params()`` writes the view,
``ViewState.from_query_params()`` reads it back and never raises — a bad value
falls back to its default and is reported in the returned notes. Notes echo
at most ``NOTE_VALUE_MAX`` characters of any value (a link can carry 100 kB),
and are meant to be shown as plain text.

A list (``artists``) is one comma-separated value in which each name's own
commas and backslashes are backslash-escaped (:func:`join_names`,
:func:`split_names`), so any name round-trips: ``Claude Monet,Monet\\, Claude``.
Links written before the escaping (``Claude Monet,Monet, Claude``) still open:
:func:`match_names` joins pieces back into a name of the collection that has
commas, where the pieces alone are not all its artists.

Standard library only: reading a URL must not import the analysis or the store.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace

from artsim.ids import LINKAGES, is_collection_id

PROJECTIONS = ("pca", "umap")
LEVELS = ("paintings", "artists")
COLOR_BY = ("artist", "cluster")
K_RANGE = (2, 50)  # one cluster is no clustering
NEIGHBORS_RANGE = (2, 200)
MIN_DIST_RANGE = (0.0, 0.99)
SEED_RANGE = (0, 2**31 - 1)
#: Characters of a URL value a note echoes; longer values are cut with "…" and their length.
NOTE_VALUE_MAX = 60
#: Names a note lists before "and N more".
NOTE_NAMES_MAX = 5
#: Longest value read from a parameter; the rest is ignored (a link can carry 100 kB).
PARAM_VALUE_MAX = 10_000
_KIND_WORDS = {int: "a whole number", float: "a number"}
# Parameters other features or Streamlit itself put in the URL; kept, never reported.
PASSTHROUGH_PARAMS = frozenset({"edit", "painting", "embed", "embed_options", "walk_from", "walk_to", "walk_k", "a", "b", "notfound", "ci", "tour", "step", "tour_edit", "sel", "artist_a", "artist_b"})
#: Parameters a page reads and writes itself (a walk's ends, a pair to explain): the router
#: keeps them in the URL as they are and does not treat a change of them as a new link.
PAGE_PARAMS = PASSTHROUGH_PARAMS - {"edit", "embed", "embed_options", "tour_edit"}  # edit tokens leave the URL
#: Most paintings the map's selection in a link (``sel``) names: past it the link carries none.
SELECTION_MAX = 500
#: Hex digits of a painting's sha256 that name it in ``sel`` (48 bits: no collision in any real collection).
SELECTION_PREFIX = 12


def selection_param(shas: Sequence[str]) -> str | None:
    """The ``sel`` value naming the paintings ``shas`` (sha256 prefixes joined by dots).

    None when nothing is selected or more than :data:`SELECTION_MAX` paintings are.
    """
    if not shas or len(shas) > SELECTION_MAX:
        return None
    return ".".join(s[:SELECTION_PREFIX] for s in shas)


def selected_rows(value: str | None, shas: Sequence[str]) -> list[int]:
    """Rows of ``shas`` (the paintings shown, in order) that a ``sel`` value names, ascending.

    Untrusted: a name that is not a painting shown (another collection, garbled)
    is ignored, and only the first :data:`PARAM_VALUE_MAX` characters are read.
    """
    wanted = {t for t in str(value or "")[:PARAM_VALUE_MAX].split(".") if len(t) == SELECTION_PREFIX}
    return [i for i, s in enumerate(shas) if s[:SELECTION_PREFIX] in wanted] if wanted else []


def join_names(names: Sequence[str]) -> str:
    """``names`` as one URL value: joined by ``,``, each name's ``\\`` and ``,`` backslash-escaped.

    A name with a leading or trailing space also has that space escaped, so the
    value holds a backslash and :func:`split_names` reads it exactly (a value
    with no backslash is read the old way: pieces stripped).
    """
    out = []
    for name in names:
        chars = ["\\" + c if c in "\\," else c for c in name]
        for end in (0, -1):
            if name and name[end].isspace():
                chars[end] = "\\" + name[end]
        out.append("".join(chars))
    return ",".join(out)


def split_names(value: str) -> list[str]:
    """The names of a :func:`join_names` value, in order; empty names dropped.

    A value with no backslash is split on every comma and each piece stripped
    (what links written before the escaping hold); otherwise ``\\x`` stands for
    ``x`` and only unescaped commas separate, nothing stripped. Never raises: a
    trailing lone backslash is kept as itself.
    """
    if "\\" not in value:
        return [p.strip() for p in value.split(",") if p.strip()]
    names, current, escaped = [], [], False
    for c in value:
        if escaped:
            current.append(c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == ",":
            names.append("".join(current))
            current = []
        else:
            current.append(c)
    if escaped:
        current.append("\\")
    names.append("".join(current))
    return [n for n in names if n]


def match_names(wanted: Sequence[str], known: Sequence[str]) -> tuple[list[str], list[str]]:
    """``wanted`` names found among ``known`` artists, and those not found, in order.

    A name of ``known`` with commas (``Monet, Claude``) arrives in an old, unescaped
    link as several pieces (``Monet``, ``Claude``): consecutive pieces that spell
    such a name (each piece stripped) are taken as that name, unless every piece is
    itself a known artist (then the link is ambiguous and the pieces win, as before).
    """
    present = set(known)
    spelled: dict[tuple[str, ...], str] = {}
    for name in known:
        if "," in name:
            spelled.setdefault(tuple(p.strip() for p in name.split(",")), name)
    longest = max((len(k) for k in spelled), default=1)
    found: list[str] = []
    missing: list[str] = []
    i = 0
    while i < len(wanted):
        for size in range(min(longest, len(wanted) - i), 1, -1):
            pieces = wanted[i : i + size]
            name = spelled.get(tuple(p.strip() for p in pieces))
            if name is not None and not all(p in present for p in pieces):
                found.append(name)
                i += size
                break
        else:
            (found if wanted[i] in present else missing).append(wanted[i])
            i += 1
    return found, missing


def clip(value: object, limit: int = NOTE_VALUE_MAX) -> str:
    """``value`` as text of at most ``limit`` characters; a cut says how long the value was."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def describe_names(names: Sequence[str], limit: int = NOTE_NAMES_MAX) -> str:
    """Up to ``limit`` names, each clipped, then "and N more"."""
    shown = ", ".join(clip(n, 40) for n in names[:limit])
    return shown + (f" and {len(names) - limit:,} more" if len(names) > limit else "")


@dataclass(frozen=True)
class ViewState:
    """Everything a share link must reproduce.

    ``artists`` is ``None`` for "all artists of the collection" so that a link
    stays short and a growing collection stays fully selected.
    """

    collection: str = ""
    model: str = ""
    artists: tuple[str, ...] | None = None
    linkage: str = "average"
    k: int = 4
    projection: str = "pca"
    seed: int = 0
    neighbors: int = 15
    min_dist: float = 0.1
    center: bool = True
    level: str = "paintings"
    color: str = "artist"
    refit: bool = False  # Projection: re-fit the map with the uploads instead of placing them
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def to_query_params(self) -> dict[str, str]:
        """The non-default fields as strings (artists by :func:`join_names`)."""
        default = ViewState()
        out: dict[str, str] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value == getattr(default, f.name):
                continue
            if f.name == "artists":
                out["artists"] = join_names(value)
            elif isinstance(value, bool):
                out[f.name] = "1" if value else "0"
            else:
                out[f.name] = str(value)
        return out

    @classmethod
    def from_query_params(
        cls,
        params: Mapping[str, str | Sequence[str]],
        *,
        models: Sequence[str] = (),
        artists: Sequence[str] | None = None,
    ) -> tuple[ViewState, list[str]]:
        """Parse URL parameters; unknown or malformed ones become defaults plus a note.

        Parameters
        ----------
        params : mapping of name to value (a list takes its last element)
        models : model names valid here; an unknown ``model`` is dropped with a note
        artists : artists of the collection; unknown names are dropped with a note
        """
        notes: list[str] = []
        default = cls()
        values: dict[str, object] = {}

        def raw(name: str, strip: bool = True) -> str | None:
            value = params.get(name)
            if value is None:
                return None
            if not isinstance(value, str):
                value = value[-1] if len(value) else ""
            value = str(value)[:PARAM_VALUE_MAX]
            return value.strip() if strip else value

        def choice(name: str, options: Sequence[str]) -> None:
            value = raw(name)
            if value is None:
                return
            if value.lower() in options:
                values[name] = value.lower()
            else:
                notes.append(f"ignored {name}={clip(value)!r}: expected one of {', '.join(options)}")

        def number(name: str, kind: type, bounds: tuple[float, float]) -> None:
            value = raw(name)
            if value is None:
                return
            try:
                if len(value) > 40:  # no sensible value is this long; int() of 5,000 digits is slow
                    raise ValueError
                parsed = kind(value)
                if isinstance(parsed, float) and not math.isfinite(parsed):
                    raise ValueError
            except ValueError:
                notes.append(f"ignored {name}={clip(value)!r}: not {_KIND_WORDS[kind]}")
                return
            low, high = bounds
            clamped = min(max(parsed, kind(low)), kind(high))
            if clamped != parsed:
                notes.append(f"{name}={clip(value)} is out of range ({low} to {high}); using {clamped}")
            values[name] = clamped

        collection = raw("collection")
        if collection is not None:
            if is_collection_id(collection):
                values["collection"] = collection
            else:
                notes.append(f"ignored collection={clip(collection)!r}: not a collection id")
        model = raw("model")
        if model is not None:
            if model in models:
                values["model"] = model
            else:
                notes.append(f"model {clip(model)!r} is not available here; using the default")
        names = raw("artists", strip=False)
        if names is not None:
            wanted = split_names(names)
            if artists is not None:
                wanted, unknown = match_names(wanted, artists)
                if unknown:
                    notes.append(f"not in this collection: {describe_names(unknown)}")
            values["artists"] = tuple(dict.fromkeys(wanted)) if wanted else None
        choice("linkage", LINKAGES)
        choice("projection", PROJECTIONS)
        choice("level", LEVELS)
        choice("color", COLOR_BY)
        number("k", int, K_RANGE)
        number("seed", int, SEED_RANGE)
        number("neighbors", int, NEIGHBORS_RANGE)
        number("min_dist", float, MIN_DIST_RANGE)
        for name in ("center", "refit"):
            flag = raw(name)
            if flag is None:
                continue
            if flag.lower() in ("1", "true", "yes", "on"):
                values[name] = True
            elif flag.lower() in ("0", "false", "no", "off"):
                values[name] = False
            else:
                notes.append(f"ignored {name}={clip(flag)!r}: expected 1 or 0")
        known = {f.name for f in fields(cls)} - {"extra"}
        extra = {k: str(raw(k)) for k in params if k not in known}
        unknown = sorted(k for k in extra if k not in PASSTHROUGH_PARAMS)
        if unknown:
            notes.append(f"ignored unknown link parameter(s): {describe_names(unknown)}")
        return replace(default, **values, extra=extra), notes
