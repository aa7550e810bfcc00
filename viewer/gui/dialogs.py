"""The parts every export-style dialog shares: a grey explanatory note and OK / Cancel.

Imports nothing of the project, so widgets, controllers and ``viewer.gui.export`` can all use it.
"""

from __future__ import annotations

from PySide6 import QtWidgets


def add_note_and_buttons(dialog: QtWidgets.QDialog, layout: QtWidgets.QBoxLayout, note: str) -> None:
    """Append the wrapped grey ``note`` and an OK / Cancel box wired to ``dialog``'s accept / reject."""
    label = QtWidgets.QLabel(note)
    label.setWordWrap(True)
    label.setStyleSheet("color: #9aa0a8; font-size: 11px;")
    layout.addWidget(label)
    add_ok_cancel(dialog, layout)


def add_ok_cancel(dialog: QtWidgets.QDialog, layout: QtWidgets.QBoxLayout) -> QtWidgets.QDialogButtonBox:
    """Append an OK / Cancel box wired to ``dialog``'s accept / reject."""
    buttons = QtWidgets.QDialogButtonBox(
        QtWidgets.QDialogButtonBox.StandardButton.Ok | QtWidgets.QDialogButtonBox.StandardButton.Cancel
    )
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    return buttons


class PatientDataDialog(QtWidgets.QDialog):
    """One question before a file leaves the viewer: include patient data? (No by default.)"""

    def __init__(self, parent: QtWidgets.QWidget | None, title: str, checkbox: str, note: str):
        super().__init__(parent)
        self.setWindowTitle(title)
        lay = QtWidgets.QVBoxLayout(self)
        self.patient_check = QtWidgets.QCheckBox(checkbox)
        self.patient_check.setChecked(False)
        lay.addWidget(self.patient_check)
        add_note_and_buttons(self, lay, note)


__all__ = ["PatientDataDialog", "add_note_and_buttons", "add_ok_cancel"]
