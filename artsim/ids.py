"""Names shared by share links, the store and the analysis, with no dependency beyond Python.

The view state (a URL value) checks its parameters against these without
importing the modules that use them (scipy, LanceDB, Pillow).
"""

from __future__ import annotations

import secrets

#: Hierarchical clustering linkages the app offers (``artsim.analysis.clustering`` runs them).
LINKAGES = ("ward", "average", "complete", "single")


def is_collection_id(value: str) -> bool:
    """Whether ``value`` looks like an id ``artsim.store.collections`` makes (cheap check before any lookup)."""
    return 8 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)


#: Random bytes of a new collection or tour id (16 url-safe characters, 96 bits).
ID_BYTES = 12
#: Random bytes of an edit token (32 url-safe characters, 192 bits): the owner's secret.
TOKEN_BYTES = 24


def new_id() -> str:
    """A fresh, unguessable id for a shared collection or tour."""
    return secrets.token_urlsafe(ID_BYTES)


def new_token() -> str:
    """A fresh edit token: whoever holds it may change what the id names."""
    return secrets.token_urlsafe(TOKEN_BYTES)
