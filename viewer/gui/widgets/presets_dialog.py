"""Window > Edit W/L presets: the user's nine window presets (number keys 1-9), as a small table.

Each row is one number key: a name (optional), the window centre (level) and width. "Use current W/L" puts
the window on screen into the selected row; "Clear" empties it. Nothing is saved unless the dialog is
accepted; rows with no centre or width are empty keys.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from viewer.core.study import WindowPreset
from viewer.gui.dialogs import add_ok_cancel

SLOTS = range(1, 10)
COLUMNS = ("Name", "Centre (level)", "Width")


class UserPresetsDialog(QtWidgets.QDialog):
    def __init__(
        self,
        presets: dict[int, WindowPreset | None],
        current: WindowPreset | None = None,
        slot: int | None = None,
        parent: QtWidgets.QWidget | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle("W/L presets (number keys 1-9)")
        self.current = current
        lay = QtWidgets.QVBoxLayout(self)
        self.table = QtWidgets.QTableWidget(len(SLOTS), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setVerticalHeaderLabels([str(s) for s in SLOTS])
        self.table.horizontalHeader().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        for key in SLOTS:
            self._set_row(key, presets.get(key))
        lay.addWidget(self.table)
        row = QtWidgets.QHBoxLayout()
        self.use_current_button = QtWidgets.QPushButton("Use current W/L")
        self.use_current_button.setEnabled(current is not None)
        self.use_current_button.setToolTip("Put the window on screen into the selected row")
        self.use_current_button.clicked.connect(lambda: self.use_current(self.selected_slot()))
        self.clear_button = QtWidgets.QPushButton("Clear")
        self.clear_button.clicked.connect(lambda: self._set_row(self.selected_slot(), None))
        row.addWidget(self.use_current_button)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        lay.addLayout(row)
        add_ok_cancel(self, lay)
        self.resize(460, 360)
        if slot is not None:
            self.use_current(slot)
        self.table.setCurrentCell((slot or 1) - 1, 0)

    def selected_slot(self) -> int:
        row = self.table.currentRow()
        return row + 1 if row >= 0 else 1

    def use_current(self, slot: int) -> None:
        if self.current is not None:
            self._set_row(slot, self.current)

    def _set_row(self, slot: int, preset: WindowPreset | None) -> None:
        texts = ("", "", "") if preset is None else (preset.name, f"{preset.center:g}", f"{preset.width:g}")
        for col, text in enumerate(texts):
            item = QtWidgets.QTableWidgetItem(text)
            if col:
                item.setTextAlignment(
                    QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
                )
            self.table.setItem(slot - 1, col, item)

    def presets(self) -> dict[int, WindowPreset | None]:
        """The rows as presets (None: an empty key; a row whose numbers do not read is empty too)."""
        out: dict[int, WindowPreset | None] = {}
        for slot in SLOTS:
            name, center, width = (self.table.item(slot - 1, c).text().strip() for c in range(3))
            try:
                out[slot] = WindowPreset(center=float(center), width=max(1.0, float(width)), name=name)
            except ValueError:
                out[slot] = None
        return out
