"""Typed errors whose messages a user can act on.

The CLI turns them into one line and an exit code; the app shows them next to
the thing that failed and keeps going.
"""

from __future__ import annotations


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
