"""The annotations of one study: the layer that holds them and its undo stack.

All edits go through the layer's ``QUndoStack``. :meth:`AnnotationLayer.shapes` describes every
annotation in image coordinates so the export can redraw it at any resolution.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from viewer.core.study import PixelSpacing
from viewer.gui.annotations.commands import AddCommand, RemoveCommand
from viewer.gui.annotations.items import (
    Annotation,
    ArrowAnnotation,
    EllipseAnnotation,
    RulerAnnotation,
    TextAnnotation,
)
from viewer.gui.annotations.model import Shape


class AnnotationLayer(pg.ItemGroup):
    """Holds one study's annotations and its undo stack. Local coordinates = image pixels."""

    changed = QtCore.Signal()

    def __init__(self, spacing: PixelSpacing | None = None, undo_stack: QtGui.QUndoStack | None = None):
        super().__init__()
        self.setZValue(30)
        self.spacing = spacing
        self.undo_stack = undo_stack if undo_stack is not None else QtGui.QUndoStack()
        self.items: list[Annotation] = []

    def push(self, command: QtGui.QUndoCommand) -> None:
        self.undo_stack.push(command)
        self.changed.emit()

    # attach/detach are what commands call; use add()/remove() from the GUI
    def attach(self, item: Annotation) -> None:
        if item not in self.items:
            item.layer = self
            item.setParentItem(self)
            item.setVisible(True)
            self.items.append(item)
            self.changed.emit()

    def detach(self, item: Annotation) -> None:
        if item in self.items:
            item.setSelected(False)
            self.items.remove(item)
            scene = item.scene()
            if scene is not None:
                scene.removeItem(item)
            else:
                item.setParentItem(None)
            self.changed.emit()

    def add(self, item: Annotation) -> Annotation:
        if isinstance(item, RulerAnnotation):
            item.spacing = self.spacing
            item.geometry_changed()
        self.push(AddCommand(self, item))
        return item

    def add_arrow(self, p1, p2) -> ArrowAnnotation:
        return self.add(ArrowAnnotation(QtCore.QPointF(*p1), QtCore.QPointF(*p2)))

    def add_ruler(self, p1, p2) -> RulerAnnotation:
        return self.add(RulerAnnotation(QtCore.QPointF(*p1), QtCore.QPointF(*p2), self.spacing))

    def add_ellipse(self, p1, p2) -> EllipseAnnotation:
        return self.add(EllipseAnnotation(QtCore.QPointF(*p1), QtCore.QPointF(*p2)))

    def add_text(self, pos, text: str) -> TextAnnotation:
        return self.add(TextAnnotation(QtCore.QPointF(*pos), text))

    def selected(self) -> list[Annotation]:
        return [it for it in self.items if it.isSelected()]

    def remove(self, items: list[Annotation]) -> None:
        items = [it for it in items if it in self.items]
        if items:
            self.push(RemoveCommand(self, items))

    def remove_selected(self) -> int:
        items = self.selected()
        self.remove(items)
        return len(items)

    def shapes(self) -> list[Shape]:
        return [s for it in self.items if it.isVisible() for s in it.export_shapes()]

    def boundingRect(self):
        return QtCore.QRectF()
