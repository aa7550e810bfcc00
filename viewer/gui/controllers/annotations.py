"""The current study's annotations in the view, the undo group over every study's undo stack, deleting and
text labels."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.gui.session import StudyEntry, StudySession
from viewer.gui.widgets.image_view import ImageView


class AnnotationsController(QtCore.QObject):
    def __init__(
        self,
        session: StudySession,
        view: ImageView,
        dialog_parent: QtWidgets.QWidget,
        status: Callable[[str, int], None],
    ):
        super().__init__(dialog_parent)
        self.session, self.view = session, view
        self._parent, self._status = dialog_parent, status
        self.undo_group = QtGui.QUndoGroup(self)
        view.text_requested.connect(self.add_text_at)
        session.entry_removed.connect(self._forget)

    def render(self, entry: StudyEntry | None) -> None:
        layer = entry.layer if entry is not None and entry.ready else None
        self.view.set_annotation_layer(layer)
        if layer is None:
            self.undo_group.setActiveStack(None)
            return
        if layer.undo_stack not in self.undo_group.stacks():
            self.undo_group.addStack(layer.undo_stack)
        self.undo_group.setActiveStack(layer.undo_stack)

    def _forget(self, entry: StudyEntry) -> None:
        if entry.layer is None:
            return
        if self.view.annotations is entry.layer:
            self.view.set_annotation_layer(None)
        self.undo_group.removeStack(entry.layer.undo_stack)
        # the stack's commands and the layer refer to each other through Qt: break the cycle, or the
        # closed study's annotations are never freed
        entry.layer.undo_stack.clear()

    def add_text_at(self, pos: QtCore.QPointF) -> None:
        e = self.session.current
        if e is None or e.layer is None:
            return
        text, ok = QtWidgets.QInputDialog.getText(self._parent, "Text label", "Label:")
        if ok and text.strip():
            e.layer.add_text((pos.x(), pos.y()), text.strip())

    def delete_selected(self) -> None:
        e = self.session.current
        if e is not None and e.layer is not None:
            n = e.layer.remove_selected()
            if n:
                self._status(f"Deleted {n} annotation{'s' if n > 1 else ''} (Ctrl+Z to undo)", 3000)
