"""Typed errors whose messages a user can act on.

The CLI turns them into one line and an exit code; the app shows them next to
the thing that failed and keeps going.
"""

from __future__ import annotations

import re


class ArtsimError(Exception):
    """Base class: the message says what went wrong and what to do."""


class ImageError(ArtsimError):
    """A file could not be used as an image; ``name`` is the file, ``reason`` plain words."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class WeightsUnavailable(ArtsimError):
    """Model weights cannot be found or fetched; the message says how to provide them."""


class ModelUnavailable(ArtsimError):
    """A model's package or runtime is missing; the message says how to install it."""


class FetchError(ArtsimError):
    """A download failed (offline, HTTP error, bad content)."""


class StoreError(ArtsimError):
    """The embedding store could not be opened or written."""


_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~-])~?/(?:[^\s/'\"<>|]+/)+([^\s/'\"<>|,;:)]*)")


def hide_paths(text: object) -> str:
    """``text`` with every absolute file path cut to its last part (``/srv/art/db/x.lance`` -> ``…/x.lance``).

    For messages shown to visitors: a server's folders say nothing to them and
    disclose the host's layout. URLs keep their paths (``https://host/a/b`` is not
    a file path) and a relative name is left as it is.
    """
    return _ABSOLUTE_PATH.sub(lambda m: "…/" + m.group(1), re.sub(r"\bfile://(?=/)", "", str(text)))
