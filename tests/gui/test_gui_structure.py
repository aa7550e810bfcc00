"""The GUI's shape (viewer/gui): parts that depend one way, and one action table that agrees with itself.

Imports are read from the source (ast), so these tests need no QApplication.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GUI = Path(__file__).resolve().parents[2] / "viewer" / "gui"
ANNOTATION_LAYERS = (
    "model",
    "style",
    "commands",
    "items",
    "layer",
    "tool",
)  # each may import only earlier ones


def _gui_imports(path: Path) -> set[str]:
    """Modules under viewer.gui that a file imports (at any level, TYPE_CHECKING blocks included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("viewer.gui"):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("viewer.gui"))
    return out


def test_annotation_modules_import_in_one_direction():
    order = {name: i for i, name in enumerate(ANNOTATION_LAYERS)}
    for name in ANNOTATION_LAYERS:
        for imported in _gui_imports(GUI / "annotations" / f"{name}.py"):
            parts = imported.split(".")
            if parts[:3] == ["viewer", "gui", "annotations"] and len(parts) > 3 and parts[3] in order:
                assert order[parts[3]] < order[name], f"annotations.{name} imports {imported}"
            else:
                assert not imported.startswith("viewer.gui"), f"annotations.{name} imports {imported}"


@pytest.mark.parametrize("path", sorted((GUI / "controllers").glob("*.py")), ids=lambda p: p.stem)
def test_controllers_never_import_each_other(path):
    for imported in _gui_imports(path):
        assert not imported.startswith("viewer.gui.controllers"), f"{path.stem} imports {imported}"
        assert not imported.startswith(("viewer.gui.main_window", "viewer.gui.actions")), imported


@pytest.mark.parametrize("path", sorted((GUI / "widgets").glob("*.py")), ids=lambda p: p.stem)
def test_widgets_know_nothing_of_studies_or_controllers(path):
    for imported in _gui_imports(path):
        assert not imported.startswith(
            ("viewer.gui.session", "viewer.gui.controllers", "viewer.gui.main_window", "viewer.gui.actions")
        ), f"{path.stem} imports {imported}"


def test_no_lazily_created_attributes():
    for path in GUI.rglob("*.py"):
        assert "hasattr(self" not in path.read_text(), f"{path.relative_to(GUI)}: state created lazily"


def test_action_table_is_consistent():
    from viewer.gui.actions import ACTIONS, MENUS, Needs

    ids = [a.id for a in ACTIONS]
    assert len(ids) == len(set(ids))
    keys = [k for a in ACTIONS for k in a.keys]
    assert len(keys) == len(set(keys)), "a shortcut is bound twice"
    positions = [a.toolbar for a in ACTIONS if a.toolbar]
    assert len(positions) == len(set(positions))
    for a in ACTIONS:
        assert a.menu in ("", *MENUS), a.id
        assert a.provided or a.trigger is not None or a.toggle is not None, f"{a.id} does nothing"
        assert a.checkable or a.provided or (a.toggle is None and a.checked is None), a.id
        assert isinstance(a.needs, Needs)
        assert not a.toolbar or a.icon or a.provided, f"{a.id} is on the toolbar without an icon"
