"""Undo commands for annotations (QUndoStack): add, delete, move, reshape.

They see items and the layer only through :mod:`.model`'s ``Editable`` / ``Host`` interfaces."""

from __future__ import annotations

from PySide6 import QtCore, QtGui

from viewer.gui.annotations.model import Editable, Host


class AddCommand(QtGui.QUndoCommand):
    def __init__(self, layer: Host, item: Editable):
        super().__init__(f"Add {item.kind}")
        self.layer, self.item = layer, item

    def redo(self):
        self.layer.attach(self.item)

    def undo(self):
        self.layer.detach(self.item)


class RemoveCommand(QtGui.QUndoCommand):
    def __init__(self, layer: Host, items: list[Editable]):
        super().__init__("Delete annotation" if len(items) == 1 else f"Delete {len(items)} annotations")
        self.layer, self.items = layer, list(items)

    def redo(self):
        for it in self.items:
            self.layer.detach(it)

    def undo(self):
        for it in self.items:
            self.layer.attach(it)


class MoveCommand(QtGui.QUndoCommand):
    def __init__(self, moves: dict[Editable, tuple[QtCore.QPointF, QtCore.QPointF]]):
        super().__init__("Move annotation")
        self.moves = moves

    def redo(self):
        for it, (_, new) in self.moves.items():
            it.setPos(new)

    def undo(self):
        for it, (old, _) in self.moves.items():
            it.setPos(old)


class GeometryCommand(QtGui.QUndoCommand):
    def __init__(self, item: Editable, before, after):
        super().__init__(f"Edit {item.kind}")
        self.item, self.before, self.after = item, before, after

    def redo(self):
        self.item.set_geometry(self.after)

    def undo(self):
        self.item.set_geometry(self.before)
