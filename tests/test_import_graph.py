"""The import graph: no cycles in ``artsim/`` or ``dashboard/``, and heavy packages only where declared lazy.

Edges are read from the source with :mod:`ast`: every ``import``/``from ... import``
(at module level or inside a function) and every ``lazy.load("name")``, the
declared imports of :mod:`artsim.lazy`. :mod:`graphlib` finds a cycle.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("artsim", "dashboard")
#: What the first view and an all-cached CLI run must not import.
HEAVY = ("torch", "torchvision", "timm", "onnxruntime", "lancedb", "scipy", "sklearn", "umap", "numba", "ray")


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Module name -> file, for every module of ``PACKAGES``."""
    files = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            files[".".join(parts)] = path
    return files


def imported_names(tree: ast.AST) -> set[str]:
    """Dotted names ``tree`` imports; ``from a import b`` gives ``a.b`` (module ``a.b``, or a name in ``a``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "load"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "lazy"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(node.args[0].value)
    return names


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the project modules it imports (a package's ``__init__`` only when named itself)."""
    files = module_files(root)
    graph = {}
    for name, path in files.items():
        deps = set()
        for imported in imported_names(ast.parse(path.read_text(), str(path))):
            # ``from a.b import c``: c is a module when a file says so, else a name in a.b
            deps.add(imported if imported in files else imported.rsplit(".", 1)[0])
        graph[name] = {d for d in deps if d in files and d != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return exc.args[1]
    return None


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def group_of(module: str) -> str:
    """``artsim.store.vectors`` -> ``artsim.store``; a top-level module or ``dashboard.*`` stays itself."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "artsim" and len(parts) > 2 else module


def test_groups_form_layers():
    """Collapsed to folders (inputs, sources, embedding, store, ...), the graph still has no cycle."""
    groups: dict[str, set[str]] = {}
    for module, deps in import_graph().items():
        groups.setdefault(group_of(module), set()).update(group_of(d) for d in deps)
    groups = {g: deps - {g} for g, deps in groups.items()}
    cycle = find_cycle(groups)
    assert cycle is None, "folders import each other: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_cycle_through_a_lazy_import(tmp_path):
    # the check itself: a function-local import and a lazy.load both count as edges
    (tmp_path / "artsim").mkdir()
    (tmp_path / "dashboard").mkdir()
    (tmp_path / "artsim" / "__init__.py").write_text("")
    (tmp_path / "dashboard" / "__init__.py").write_text("")
    (tmp_path / "artsim" / "a.py").write_text("def f():\n    from artsim import b\n")
    (tmp_path / "artsim" / "b.py").write_text("from artsim import lazy\nc = lazy.load('dashboard.c')\n")
    (tmp_path / "dashboard" / "c.py").write_text("import artsim.a\n")
    cycle = find_cycle(import_graph(tmp_path))
    assert cycle is not None and set(cycle) == {"artsim.a", "artsim.b", "dashboard.c"}


def test_library_layers_point_down():
    """``artsim/`` never imports ``dashboard/`` (nor Streamlit: the before-stop hook checks that)."""
    upward = {m: sorted(d for d in deps if d.startswith("dashboard")) for m, deps in import_graph().items()
              if m.startswith("artsim")}
    assert not {m: d for m, d in upward.items() if d}


def test_no_folder_lists_more_than_twelve_modules():
    for package in PACKAGES:
        for folder in [ROOT / package, *(p for p in (ROOT / package).rglob("*") if p.is_dir())]:
            modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
            assert len(modules) <= 12, f"{folder.relative_to(ROOT)} holds {len(modules)} modules"


def test_each_lazy_package_attaches_exactly_its_modules():
    """A package's ``lazy_loader.attach(submodules=...)`` lists every module beside it, no more:
    a new module is reachable as ``package.module`` and a removed one leaves no dead name."""
    for init in (ROOT / "artsim").rglob("__init__.py"):
        calls = [node for node in ast.walk(ast.parse(init.read_text()))
                 if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "attach"]
        if not calls:
            continue
        (declared,) = [ast.literal_eval(kw.value) for kw in calls[0].keywords if kw.arg == "submodules"]
        here = {p.stem for p in init.parent.glob("*.py") if p.stem != "__init__"}
        here |= {p.name for p in init.parent.iterdir() if (p / "__init__.py").is_file()}
        assert sorted(declared) == sorted(here), init.relative_to(ROOT)


@pytest.mark.parametrize(
    "modules",
    [
        # what the server imports before its first view (the router itself is a script: importing runs the app)
        ("streamlit_app", "dashboard.cache", "dashboard.handles", "dashboard.embedding", "dashboard.previews"),
        # an all-cached `artsim embed` reaches these before it knows nothing needs embedding
        ("artsim.cli", "artsim.indexing.pipeline", "artsim.store.vectors", "artsim.inputs.collection"),
    ],
    ids=["first-view", "cli"],
)
def test_heavy_packages_are_imported_only_when_used(modules):
    code = textwrap.dedent(f"""
        import importlib, sys
        for name in {modules!r}:
            importlib.import_module(name)
        print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
