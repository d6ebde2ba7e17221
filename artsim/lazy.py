"""Heavy modules declared at the top of the module that needs them, imported on first use.

A module on the first view's path writes, at its top::

    from artsim import lazy

    torch = lazy.load("torch")          # imported the first time an attribute is read
    hierarchy = lazy.load("scipy.cluster.hierarchy")

so its dependencies are all listed where a reader looks for them, while the
first view still imports no torch, timm, onnxruntime, LanceDB, scipy or
scikit-learn (``tests/test_lazy_imports.py`` keeps that true). Subpackages
expose their modules with SPEC 1's ``lazy_loader.attach`` in ``__init__.py``.

Why not ``lazy_loader.load``: it relies on importlib's ``LazyLoader``, which
runs a module's body when it is first touched, inside whichever import is
running then; torch 2.14's own circular imports fail that way
(``torch._higher_order_ops`` raises ``ImportError``). This proxy calls
:func:`importlib.import_module` instead, an ordinary import, the first time an
attribute is read.
"""

from __future__ import annotations

import importlib
import sys
import types


class LazyModule(types.ModuleType):
    """Stands in for module ``name`` until an attribute is read, then forwards to the real one."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_lazy_target"] = name

    def _real(self) -> types.ModuleType:
        return importlib.import_module(self.__dict__["_lazy_target"])

    def __getattr__(self, attr: str):
        return getattr(self._real(), attr)

    def __dir__(self) -> list[str]:
        return dir(self._real())

    def __repr__(self) -> str:
        target = self.__dict__["_lazy_target"]
        state = "imported" if target in sys.modules else "not imported yet"
        return f"<lazy module {target!r} ({state})>"


def load(name: str) -> types.ModuleType:
    """Module ``name``, imported on first attribute access (the module itself once already imported)."""
    return sys.modules.get(name) or LazyModule(name)


def is_imported(name: str) -> bool:
    """Whether ``name`` has really been imported in this process (not just declared lazily)."""
    return name in sys.modules
