"""A failure stays with its file: which errors end a run, and plain words for the others.

The embedding stream (:mod:`artsim.indexing.embed_stream`) catches every ``Exception``
raised while decoding or embedding one painting, ``MemoryError`` included, and
reports it with :func:`decode_reason` or :func:`model_reason`; only
:data:`SETUP_ERRORS` (about the model or the store, not the painting) end a run.
"""

from __future__ import annotations

from artsim.errors import ImageError, ModelUnavailable, StoreError, WeightsUnavailable

__all__ = ["SETUP_ERRORS", "decode_reason", "model_reason"]

#: Errors about the model or the store, not about one painting: they end a run.
SETUP_ERRORS = (WeightsUnavailable, ModelUnavailable, StoreError)


def decode_reason(exc: Exception) -> str:
    """Plain words for why one file could not be decoded or preprocessed."""
    if isinstance(exc, ImageError):
        return exc.reason
    if isinstance(exc, MemoryError):
        return "too large to decode in the memory available"
    if isinstance(exc, OSError):  # e.g. the disk went away mid-read
        return f"cannot read file ({exc.strerror or exc})"
    return f"could not be decoded ({type(exc).__name__})"


def model_reason(exc: Exception, model: str) -> str:
    """Plain words for why the model could not embed one painting."""
    if isinstance(exc, MemoryError):
        return f"too large for the memory available while the {model} model ran"
    return f"the {model} model failed on this image ({type(exc).__name__}: {str(exc)[:120]})"
