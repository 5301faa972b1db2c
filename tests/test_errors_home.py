"""Every error class of mzgis lives in mzgis/errors.py (issue 17), so a caller finds them in one
place; modules import them from there. Only internal control-flow signals are exempt."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mzgis"
#: Not errors a caller sees: the web app's "go to the login page" signal, and the OSM reader's
#: switch to its node-by-node fallback when its temporary file fails.
EXEMPT = {"NotLoggedIn", "_OplFailed"}


def _error_classes(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            names = [b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else "" for b in node.bases]
            if any(n.endswith(("Error", "Exception", "Warning")) for n in names):
                found.append(node.name)
    return found


def test_error_classes_are_defined_in_errors_py():
    stray = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name == "errors.py" and path.parent == PACKAGE:
            continue
        names = [n for n in _error_classes(ast.parse(path.read_text(encoding="utf-8"))) if n not in EXEMPT]
        if names:
            stray[str(path.relative_to(PACKAGE))] = names
    assert stray == {}


def test_the_scan_finds_an_error_class():
    # the check above can fail: a class deriving from an error is recognised
    assert _error_classes(ast.parse("class E(LayerError):\n    pass\n")) == ["E"]
    assert _error_classes(ast.parse("class W(mzgis.errors.MzgisWarning):\n    pass\n")) == ["W"]
