"""Searchable DICOM tag browser over ``StudyMetadata.raw_tags`` (tag, keyword, VR, value)."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

HEADERS = ("Tag", "Keyword", "VR", "Value")


class TagTableModel(QtCore.QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: tuple[tuple[str, str, str, str], ...] = ()

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self.rows = tuple(tuple(str(v) for v in r) for r in (rows or ()))
        self.endResetModel()

    def rowCount(self, parent=None):
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent=None):
        return 0 if parent is not None and parent.isValid() else len(HEADERS)

    def data(self, index, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role in (QtCore.Qt.ItemDataRole.DisplayRole, QtCore.Qt.ItemDataRole.ToolTipRole):
            value = self.rows[index.row()][index.column()]
            if role == QtCore.Qt.ItemDataRole.DisplayRole and len(value) > 200:
                return value[:200] + "…"
            return value
        if role == QtCore.Qt.ItemDataRole.FontRole and index.column() == 0:
            f = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
            return f
        return None

    def headerData(self, section, orientation, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if role == QtCore.Qt.ItemDataRole.DisplayRole and orientation == QtCore.Qt.Orientation.Horizontal:
            return HEADERS[section]
        return None


class TagBrowser(QtWidgets.QWidget):
    """Filter line edit (matches any column, case-insensitive) over a sortable table."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.source = None  # the rows last given to set_tags
        self.filter_edit = QtWidgets.QLineEdit()
        self.filter_edit.setPlaceholderText("Filter tags: keyword, tag number or value (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        lay.addWidget(self.filter_edit)
        self.model = TagTableModel(self)
        self.proxy = QtCore.QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(QtCore.Qt.CaseSensitivity.CaseInsensitive)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, QtCore.Qt.SortOrder.AscendingOrder)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(QtCore.Qt.TextElideMode.ElideMiddle)
        lay.addWidget(self.table)
        self.count_label = QtWidgets.QLabel()
        self.count_label.setStyleSheet("color: #9aa0a8; font-size: 11px;")
        lay.addWidget(self.count_label)
        self.filter_edit.textChanged.connect(self._filter)

    def set_tags(self, rows) -> None:
        """Show these rows; the same rows again change nothing (the scroll position and selection stay)."""
        if rows is self.source:
            return
        self.source = rows
        self.model.set_rows(rows)
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(2)
        self.table.resizeColumnToContents(1)
        self.table.setColumnWidth(1, min(self.table.columnWidth(1), 210))  # long keywords elide
        self._filter(self.filter_edit.text())

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        n, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{n} of {total} elements" if total else "No DICOM tags (not a DICOM file)")

    def visible_rows(self) -> list[tuple[str, ...]]:
        return [
            tuple(self.proxy.index(r, c).data() for c in range(len(HEADERS)))
            for r in range(self.proxy.rowCount())
        ]
