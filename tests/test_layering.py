"""The package's layering holds: layers (data) <- analysis (compute) <- maps (present) <- gis, web.

Every import of every module is read with :mod:`ast` (also imports inside functions, under
``TYPE_CHECKING``, relative ones, and ``importlib.import_module("...")`` with a literal name), so a
lazy import cannot slip a dependency past the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mzgis"

#: What each layer must not import.
FORBIDDEN = {
    "layers": ("analysis", "maps", "gis", "web"),
    "analysis": ("maps", "gis", "web"),
    "maps": ("gis", "web"),
}


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """``(line, absolute module name)`` of every import in a file of the package at ``root``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .x import y / from .. import z
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            out += [(node.lineno, f"{mod}.{a.name}") for a in node.names]  # from mzgis import gis
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            out.append((node.lineno, node.args[0].value))
    return out


def violations(layer: str, root: Path = PACKAGE) -> list[str]:
    """``file:line imports module`` for every forbidden import of a layer."""
    bad = []
    for path in sorted((root / layer).rglob("*.py")):
        for line, mod in imported_modules(path, root):
            for other in FORBIDDEN[layer]:
                if mod == f"mzgis.{other}" or mod.startswith(f"mzgis.{other}."):
                    bad.append(f"{path.relative_to(root.parent)}:{line} imports {mod}")
    return bad


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_layers_below(layer):
    assert violations(layer) == [], f"mzgis/{layer} must not import {', '.join(FORBIDDEN[layer])}"


def test_the_checker_sees_every_kind_of_import(tmp_path):
    """The rule is not vacuous: a module with each kind of forbidden import is caught."""
    pkg = tmp_path / "mzgis"
    (pkg / "analysis").mkdir(parents=True)
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "analysis" / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "analysis" / "bad.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import mzgis.maps.webmap\n"
        "from .. import gis\n"
        "if TYPE_CHECKING:\n    from mzgis.web import app\n"
        "def f():\n    import importlib\n    return importlib.import_module('mzgis.gis.pipelines')\n",
        encoding="utf-8")
    found = violations("analysis", pkg)
    lines = sorted({int(v.split(":")[1].split()[0]) for v in found})
    assert lines == [2, 3, 5, 8], found
    (pkg / "analysis" / "bad.py").write_text("import mzgis.layers.kinds\nfrom mzgis.analysis import units\n",
                                             encoding="utf-8")
    assert violations("analysis", pkg) == []


def private_imports(root: Path = PACKAGE, layers: tuple[str, ...] = ("layers", "analysis", "maps")) -> list[str]:
    """``file:line name from module`` for every private name (``_x``) a module of ``layers`` takes from
    another mzgis module (private modules, such as a package's ``_helpers``, may be imported)."""
    bad = []
    for layer in layers:
        for path in sorted((root / layer).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.ImportFrom) or node.level or not (node.module or "").startswith("mzgis"):
                    continue
                mod = node.module or ""
                target = root.parent.joinpath(*mod.split("."))
                for a in node.names:
                    is_module = (target / f"{a.name}.py").exists() or (target / a.name).is_dir()
                    if a.name.startswith("_") and not a.name.startswith("__") and not is_module:
                        bad.append(f"{path.relative_to(root.parent)}:{node.lineno} {a.name} from {mod}")
    return bad


def test_no_private_names_across_modules():
    """E.g. maps/report.py takes only public names from maps/webmap.py; the same in gis and web."""
    assert private_imports(layers=("layers", "analysis", "maps", "gis", "web")) == []


def test_private_import_check_is_not_vacuous(tmp_path):
    pkg = tmp_path / "mzgis"
    (pkg / "maps").mkdir(parents=True)
    (pkg / "analysis").mkdir()
    (pkg / "analysis" / "_helpers.py").write_text("", encoding="utf-8")
    (pkg / "maps" / "webmap.py").write_text("_CSS = ''\n", encoding="utf-8")
    (pkg / "maps" / "report.py").write_text(
        "from mzgis.maps.webmap import MapData, _CSS\nfrom mzgis.analysis import _helpers\n", encoding="utf-8")
    assert private_imports(pkg) == ["mzgis/maps/report.py:1 _CSS from mzgis.maps.webmap"]


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """``module: {modules it imports}`` within the package at ``root`` (a name imported from a
    package resolves to the package's ``__init__``; a module's own enclosing package is an arrow only
    when a name is taken from its ``__init__``: importing ``mzgis.layers.store.base`` runs
    ``mzgis.layers.store`` first, that is not an arrow of ``base``)."""
    modules = {_module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for m, path in modules.items():
        for _, imp in imported_modules(path, root):
            target = imp
            while target and target not in modules:
                target = target.rpartition(".")[0]
            # an enclosing package counts only when a name is taken from it (``from mzgis.web import
            # create_app``), not when one of its submodules is (``from mzgis.web import routes``)
            if target and target != m and (not m.startswith(target + ".") or imp.rpartition(".")[0] == target):
                graph[m].add(target)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_no_import_cycles():
    """Arrows run one way between any two modules, in every package (web and gis included)."""
    assert import_cycles(import_graph()) == []


def test_cycle_check_is_not_vacuous(tmp_path):
    """A deliberately added cycle (a lazy import inside a function, three modules round) is caught,
    and so is a two-module one through a package's ``__init__``; a one-way chain is not."""
    pkg = tmp_path / "mzgis"
    (pkg / "web").mkdir(parents=True)
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "web" / "__init__.py").write_text("from mzgis.web.app import create_app\n", encoding="utf-8")
    (pkg / "web" / "app.py").write_text("from mzgis.web import routes\ncreate_app = None\n", encoding="utf-8")
    (pkg / "web" / "routes.py").write_text("from mzgis.web.pages import render\n", encoding="utf-8")
    (pkg / "web" / "pages.py").write_text("render = None\n", encoding="utf-8")
    assert import_cycles(import_graph(pkg)) == []
    (pkg / "web" / "pages.py").write_text("def render():\n    from mzgis.web.app import create_app\n",
                                          encoding="utf-8")
    assert import_cycles(import_graph(pkg)) == [["mzgis.web.app", "mzgis.web.pages", "mzgis.web.routes"]]
    (pkg / "web" / "pages.py").write_text("from mzgis.web import create_app\n", encoding="utf-8")
    assert import_cycles(import_graph(pkg)) == [["mzgis.web", "mzgis.web.app", "mzgis.web.pages",
                                                 "mzgis.web.routes"]]
