"""The library's one progress bar: tqdm on stderr, hidden when stderr is not a terminal.

``disable=None`` is tqdm's own switch for "no bar in logs, CI and pipes"; ``enabled=False``
hides it always. Everything that shows progress (the CLI, the gallery fetch, weight and
image downloads, bulk indexing) goes through :func:`progress_bar`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from tqdm import tqdm


def progress_bar(total: int | None, desc: str, *, unit: str = "img", enabled: bool = True, **kwargs: Any) -> tqdm:
    """A tqdm bar on stderr (files done, rate, ETA); ``kwargs`` go to tqdm (``unit_scale``, ``leave``...)."""
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=None if enabled else True, **kwargs)


def progress_callback(desc: str, *, unit: str = "img") -> Callable[[int, int], None]:
    """``update(done, total)`` for callback-style progress (the pipeline's), drawing one bar.

    The bar opens at the first call (when the total is known) and closes when
    ``done`` reaches ``total``.
    """
    bar: tqdm | None = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = progress_bar(total, desc, unit=unit, leave=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update
