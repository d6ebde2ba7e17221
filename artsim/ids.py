"""Names shared by share links, the store and the analysis, with no dependency beyond Python.

The view state (a URL value) checks its parameters against these without
importing the modules that use them (scipy, LanceDB, Pillow).
"""

from __future__ import annotations

#: Hierarchical clustering linkages the app offers (``artsim.clustering`` runs them).
LINKAGES = ("ward", "average", "complete", "single")


def is_collection_id(value: str) -> bool:
    """Whether ``value`` looks like an id ``artsim.collections_db`` makes (cheap check before any lookup)."""
    return 8 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)
