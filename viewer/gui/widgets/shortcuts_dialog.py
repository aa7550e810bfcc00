"""Help > Keyboard shortcuts: every command of the action table that has keys, grouped, plus the mouse."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from PySide6 import QtGui, QtWidgets

MOUSE_HELP = (
    ("Mouse wheel", "Zoom about the cursor"),
    ("Middle or right drag", "Pan"),
    ("Left drag", "Current tool (window/level by default: horizontal = width, vertical = level)"),
    ("Double click", "Fit to window"),
    ("Click an annotation", "Select it; drag to move, drag its handles to reshape"),
)


class Command(Protocol):  # a viewer.gui.actions.ActionSpec
    text: str
    keys: tuple[str, ...]
    group: str


def _native(key: str) -> str:
    return QtGui.QKeySequence(key).toString(QtGui.QKeySequence.SequenceFormat.NativeText) or key


class ShortcutsDialog(QtWidgets.QDialog):
    def __init__(self, commands: Iterable[Command], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 640)
        lay = QtWidgets.QVBoxLayout(self)
        self.table = QtWidgets.QTreeWidget()
        self.table.setHeaderLabels(["Command", "Keys"])
        self.table.setRootIsDecorated(False)
        self.table.setAlternatingRowColors(True)
        groups: dict[str, list[Command]] = {}
        for cmd in commands:
            if cmd.keys:
                groups.setdefault(cmd.group, []).append(cmd)
        bold = QtGui.QFont()
        bold.setBold(True)
        for group, cmds in groups.items():
            head = QtWidgets.QTreeWidgetItem([group, ""])
            head.setFont(0, bold)
            head.setFirstColumnSpanned(True)
            self.table.addTopLevelItem(head)
            for cmd in cmds:
                keys = ",  ".join(_native(k) for k in cmd.keys)
                self.table.addTopLevelItem(QtWidgets.QTreeWidgetItem([cmd.text.replace("&", ""), keys]))
        head = QtWidgets.QTreeWidgetItem(["Mouse", ""])
        head.setFont(0, bold)
        self.table.addTopLevelItem(head)
        for what, does in MOUSE_HELP:
            self.table.addTopLevelItem(QtWidgets.QTreeWidgetItem([does, what]))
        self.table.setColumnWidth(0, 330)
        self.table.header().setStretchLastSection(True)
        lay.addWidget(self.table)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def rows(self) -> list[tuple[str, str]]:
        return [
            (self.table.topLevelItem(i).text(0), self.table.topLevelItem(i).text(1))
            for i in range(self.table.topLevelItemCount())
        ]
