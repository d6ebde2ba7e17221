"""One view of the dashboard as a small value that round-trips through a URL.

A share link is just the URL: ``ViewState.to_query_params()`` writes the view,
``ViewState.from_query_params()`` reads it back and never raises — a bad value
falls back to its default and is reported in the returned notes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace

from artsim.clustering import LINKAGES
from artsim.collections_db import is_collection_id

PROJECTIONS = ("pca", "umap")
LEVELS = ("paintings", "artists")
COLOR_BY = ("artist", "cluster")
K_RANGE = (1, 50)
NEIGHBORS_RANGE = (2, 200)
MIN_DIST_RANGE = (0.0, 0.99)
SEED_RANGE = (0, 2**31 - 1)
# Parameters other features or Streamlit itself put in the URL; kept, never reported.
PASSTHROUGH_PARAMS = frozenset({"edit", "painting", "embed", "embed_options", "a", "b"})


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
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def to_query_params(self) -> dict[str, str]:
        """The non-default fields as strings (artists comma-separated)."""
        default = ViewState()
        out: dict[str, str] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value == getattr(default, f.name):
                continue
            if f.name == "artists":
                out["artists"] = ",".join(value)
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

        def raw(name: str) -> str | None:
            value = params.get(name)
            if value is None:
                return None
            if not isinstance(value, str):
                value = value[-1] if len(value) else ""
            return value.strip()

        def choice(name: str, options: Sequence[str]) -> None:
            value = raw(name)
            if value is None:
                return
            if value.lower() in options:
                values[name] = value.lower()
            else:
                notes.append(f"ignored {name}={value!r}: expected one of {', '.join(options)}")

        def number(name: str, kind: type, bounds: tuple[float, float]) -> None:
            value = raw(name)
            if value is None:
                return
            try:
                parsed = kind(value)
                if isinstance(parsed, float) and not math.isfinite(parsed):
                    raise ValueError
            except ValueError:
                notes.append(f"ignored {name}={value!r}: not a {kind.__name__}")
                return
            low, high = bounds
            clamped = min(max(parsed, kind(low)), kind(high))
            if clamped != parsed:
                notes.append(f"{name}={value} is out of range; using {clamped}")
            values[name] = clamped

        collection = raw("collection")
        if collection is not None:
            if is_collection_id(collection):
                values["collection"] = collection
            else:
                notes.append(f"ignored collection={collection!r}: not a collection id")
        model = raw("model")
        if model is not None:
            if model in models:
                values["model"] = model
            else:
                notes.append(f"model {model!r} is not available here; using the default")
        names = raw("artists")
        if names is not None:
            wanted = [a.strip() for a in names.split(",") if a.strip()]
            if artists is not None:
                unknown = [a for a in wanted if a not in artists]
                if unknown:
                    notes.append(f"not in this collection: {', '.join(unknown)}")
                wanted = [a for a in wanted if a in artists]
            values["artists"] = tuple(dict.fromkeys(wanted)) if wanted else None
        choice("linkage", LINKAGES)
        choice("projection", PROJECTIONS)
        choice("level", LEVELS)
        choice("color", COLOR_BY)
        number("k", int, K_RANGE)
        number("seed", int, SEED_RANGE)
        number("neighbors", int, NEIGHBORS_RANGE)
        number("min_dist", float, MIN_DIST_RANGE)
        center = raw("center")
        if center is not None:
            if center.lower() in ("1", "true", "yes", "on"):
                values["center"] = True
            elif center.lower() in ("0", "false", "no", "off"):
                values["center"] = False
            else:
                notes.append(f"ignored center={center!r}: expected 1 or 0")
        known = {f.name for f in fields(cls)} - {"extra"}
        extra = {k: str(raw(k)) for k in params if k not in known}
        unknown = sorted(k for k in extra if k not in PASSTHROUGH_PARAMS)
        if unknown:
            notes.append(f"ignored unknown link parameter(s): {', '.join(unknown)}")
        return replace(default, **values, extra=extra), notes
