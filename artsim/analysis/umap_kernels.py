"""umap-learn, imported with every numba kernel of umap and pynndescent cached on disk.

umap-learn marks only some of its numba kernels ``cache=True``; the others
(the layout optimiser, ``smooth_knn_dist``, ``compute_membership_strengths``,
``fast_knn_indices``, the random helpers...) compile again in every process:
about 9 s of a first fit here, holding the GIL, on every server restart and in
every worker. :func:`import_umap` turns numba's disk cache on for those kernels
(``Dispatcher.enable_caching``, what ``@njit(cache=True)`` itself calls) before
anything is compiled, so a second process loads them in about 0.1 s. The cache
lives where ``NUMBA_CACHE_DIR`` points (the server sets ``ARTSIM_HOME/numba``);
numba keys each entry on the kernel's source file and signature, so an upgrade
of umap-learn compiles afresh.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import sys
import warnings
from types import ModuleType

from artsim import lazy

# numba comes with umap: both are imported by import_umap, never at this module's import
dispatcher = lazy.load("numba.core.dispatcher")
numba_errors = lazy.load("numba.core.errors")

#: Packages whose numba kernels a UMAP fit compiles.
PACKAGES = ("umap", "pynndescent")


def enable_disk_cache(packages: tuple[str, ...] = PACKAGES) -> None:
    """Turn numba's disk cache on for every kernel in the imported ``packages`` (signatures compiled
    from now on are saved; a kernel compiled eagerly at import keeps that compilation).

    Kernels numba cannot cache (closures over dynamic values) keep compiling as
    before; numba warns at save, and :func:`import_umap` silences that warning.
    """
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in packages:
            continue
        for obj in list(vars(module).values()):
            if isinstance(obj, dispatcher.Dispatcher):
                with contextlib.suppress(RuntimeError):  # numba finds no folder for it: it compiles as before
                    obj.enable_caching()


@functools.cache
def _cache_once() -> None:
    """Once per process (two threads meeting here would only repeat harmless work)."""
    enable_disk_cache()
    # "Cannot cache compiled function ... as it uses dynamic globals": that kernel compiles as before.
    warnings.filterwarnings("ignore", message="Cannot cache compiled function", category=numba_errors.NumbaWarning)


def import_umap() -> ModuleType:
    """``import umap`` (about 2 s), with its kernels and pynndescent's cached on disk (once per process)."""
    umap = importlib.import_module("umap")
    _cache_once()
    return umap
