"""The worklist: one row a study of an opened folder, DICOMDIR or ZIP, with its AI triage result.

Qt model/view: :class:`WorklistModel` (a ``QAbstractTableModel`` over plain rows built from
:class:`~viewer.core.io.collection.Entry` and :class:`~viewer.core.model.triage.TriageRow`),
:class:`WorklistFilter` (a ``QSortFilterProxyModel``: sort by any column - probability numerically,
withheld results last - and filter by text and AI state) and :class:`WorklistView` (filter box, state
box, the table, next / previous study, colour flags). Results arrive one row at a time
(:meth:`WorklistModel.set_result`) while the batch triage runs; a row's header (patient, date, modality,
view) can come first (:meth:`WorklistModel.set_header`). Each row keeps its :class:`TriageRow` (``source``)
for the CSV export. The window's worklist controller (:mod:`viewer.gui.controllers.worklist`) fills it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.core.io.collection import Entry
from viewer.core.model.result import format_probability
from viewer.core.scope import AiState
from viewer.core.study import StudyMetadata

if TYPE_CHECKING:  # triage imports ONNX Runtime; the GUI thread only reads its rows
    from viewer.core.model.triage import TriageRow


class Flag(str, Enum):
    NONE = ""
    RED = "red"
    YELLOW = "yellow"
    GREEN = "green"


FLAG_COLOURS = {Flag.RED: "#7a2630", Flag.YELLOW: "#6b5a1e", Flag.GREEN: "#245c36"}
FLAG_CYCLE = (Flag.NONE, Flag.RED, Flag.YELLOW, Flag.GREEN)
PENDING = "pending"
ERROR = "error"


@dataclass(frozen=True)
class WorklistRow:
    entry: Entry
    patient: str = ""
    date: str = ""
    modality: str = ""
    view: str = ""
    state: str = PENDING  # an AiState value, "pending" or "error"
    probability: float | None = None  # None: pending, error or withheld
    label: str = ""
    error: str = ""
    flag: Flag = Flag.NONE
    source: TriageRow | None = None  # what the row shows: header, AI result or error (the CSV export's row)


COLUMNS = ("Patient", "Date", "Modality", "View", "AI state", "Probability", "Label", "File")
COL_STATE, COL_PROBABILITY = 4, 5
SORT_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
_NEW_FILTER_API = hasattr(QtCore.QSortFilterProxyModel, "beginFilterChange")


def _header_fields(meta: StudyMetadata | None) -> dict[str, str]:
    if meta is None:
        return {}
    p, s = meta.patient, meta.study
    return {
        "patient": ", ".join(x for x in (p.name.replace("^", " ").strip(), p.id) if x),
        "date": s.date,
        "modality": s.modality,
        "view": s.view_position,
    }


def row_from_triage(row: TriageRow, flag: Flag = Flag.NONE) -> WorklistRow:
    """The table row of a triage row: an AI result, an error, or (neither yet) only the header."""
    header = _header_fields(row.meta)
    if row.result is None:
        if row.error is None:  # the header only: not analysed yet
            return WorklistRow(row.entry, flag=flag, source=row, **header)
        return WorklistRow(row.entry, state=ERROR, error=str(row.error), flag=flag, source=row, **header)
    r = row.result
    return WorklistRow(
        row.entry,
        state=r.state.value,
        probability=r.probability,
        label=r.label_text if not r.withheld else "",
        flag=flag,
        source=row,
        **header,
    )


class WorklistModel(QtCore.QAbstractTableModel):
    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self._rows: list[WorklistRow] = []

    # ------------------------------------------------------------------ contents
    def set_entries(self, entries: list[Entry]) -> None:
        self.beginResetModel()
        self._rows = [WorklistRow(e) for e in entries]
        self.endResetModel()

    def set_result(self, index: int, row: TriageRow) -> None:
        self._rows[index] = row_from_triage(row, self._rows[index].flag)
        self.dataChanged.emit(self.index(index, 0), self.index(index, len(COLUMNS) - 1))

    def set_header(self, index: int, row: TriageRow) -> None:
        """A row's header (``row.meta``, no result) before its analysis; a result already there is kept."""
        old = self._rows[index].source
        if old is None or (old.result is None and old.error is None):
            self.set_result(index, row)

    def row(self, index: int) -> WorklistRow:
        return self._rows[index]

    def rows(self) -> list[WorklistRow]:
        return list(self._rows)

    def index_of(self, path: str) -> int:
        """The row of the file at ``path`` (``str(entry.path)``), or -1."""
        return next((i for i, r in enumerate(self._rows) if str(r.entry.path) == path), -1)

    def cycle_flag(self, index: int) -> Flag:
        old = self._rows[index].flag
        new = FLAG_CYCLE[(FLAG_CYCLE.index(old) + 1) % len(FLAG_CYCLE)]
        self._rows[index] = replace(self._rows[index], flag=new)
        self.dataChanged.emit(self.index(index, 0), self.index(index, len(COLUMNS) - 1))
        return new

    # ------------------------------------------------------------------ Qt model
    def rowCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if orientation == QtCore.Qt.Orientation.Horizontal and role == QtCore.Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r = self._rows[index.row()]
        col = index.column()
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return self._text(r, col)
        if role == SORT_ROLE:
            if col == COL_PROBABILITY:  # numbers sort as numbers; no number sorts below every number
                return -1.0 if r.probability is None else r.probability
            return self._text(r, col).casefold()
        if role == QtCore.Qt.ItemDataRole.BackgroundRole and r.flag is not Flag.NONE:
            return QtGui.QBrush(QtGui.QColor(FLAG_COLOURS[r.flag]))
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            return r.error or r.entry.display
        return None

    @staticmethod
    def _text(r: WorklistRow, col: int) -> str:
        if col == COL_PROBABILITY:
            return "" if r.probability is None else format_probability(r.probability)
        values = (r.patient, r.date, r.modality, r.view, r.state, "", r.label or r.error, r.entry.display)
        return values[col]


class WorklistFilter(QtCore.QSortFilterProxyModel):
    """Text (any column, case-insensitive) and AI state filter; sorting through :data:`SORT_ROLE`."""

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self._text = ""
        self._states: frozenset[str] = frozenset()

    def _refilter(self, change) -> None:
        if _NEW_FILTER_API:  # Qt >= 6.9: invalidateFilter() is deprecated
            self.beginFilterChange()
            change()
            self.endFilterChange()
        else:
            change()
            self.invalidateFilter()

    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "_text", text.strip().casefold()))

    def set_states(self, states: set[str] | frozenset[str]) -> None:
        """Only rows in these states (AiState values, "pending", "error"); empty: all."""
        self._refilter(lambda: setattr(self, "_states", frozenset(states)))

    def source(self) -> WorklistModel:
        model = self.sourceModel()
        assert isinstance(model, WorklistModel)
        return model

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        model = self.source()
        row = model.row(source_row)
        if self._states and row.state not in self._states:
            return False
        if not self._text:
            return True
        return any(self._text in model._text(row, c).casefold() for c in range(len(COLUMNS)))


STATE_CHOICES: tuple[tuple[str, frozenset[str]], ...] = (
    ("All states", frozenset()),
    ("In scope", frozenset({AiState.IN_SCOPE.value})),
    ("Caution", frozenset({AiState.CAUTION.value})),
    ("Withheld", frozenset({AiState.WITHHELD.value})),
    ("Not scored (pending, error)", frozenset({PENDING, ERROR})),
)


class _Table(QtWidgets.QTableView):
    """A table that says when the user moved the current row with the keyboard (arrows, page, home/end)."""

    navigated = QtCore.Signal()
    _KEYS = frozenset(
        {
            QtCore.Qt.Key.Key_Up,
            QtCore.Qt.Key.Key_Down,
            QtCore.Qt.Key.Key_PageUp,
            QtCore.Qt.Key.Key_PageDown,
            QtCore.Qt.Key.Key_Home,
            QtCore.Qt.Key.Key_End,
        }
    )

    def keyPressEvent(self, ev: QtGui.QKeyEvent) -> None:
        before = self.currentIndex().row()
        super().keyPressEvent(ev)
        if ev.key() in self._KEYS and self.currentIndex().row() != before:
            self.navigated.emit()


class WorklistView(QtWidgets.QWidget):
    """Filter box + state box + table. ``activated(Entry)`` when a study is chosen (a click, the arrow
    keys, Enter, double click, next / previous); :meth:`select_path` follows the window without emitting."""

    activated = QtCore.Signal(object)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.model = WorklistModel(self)
        self.proxy = WorklistFilter(self)
        self.proxy.setSourceModel(self.model)
        self.search = QtWidgets.QLineEdit(placeholderText="Filter: patient, date, file…")
        self.search.setClearButtonEnabled(True)
        self.state_box = QtWidgets.QComboBox()
        for text, states in STATE_CHOICES:
            self.state_box.addItem(text, states)
        self.table = _Table()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        for col, width in ((0, 180), (1, 90), (2, 70), (3, 60), (4, 90), (5, 90), (6, 210)):
            self.table.setColumnWidth(col, width)  # fixed: resizing to contents costs O(rows) per result
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.state_box)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self.search.textChanged.connect(self.proxy.set_text)
        self.state_box.currentIndexChanged.connect(
            lambda _: self.proxy.set_states(self.state_box.currentData())
        )
        # only the user's choices are announced: not a row that filtering or sorting makes current
        self.table.activated.connect(lambda idx: self._emit(idx.row()))
        self.table.clicked.connect(lambda idx: self._emit(idx.row()))
        self.table.navigated.connect(lambda: self._emit(self.current_proxy_row()))

    def source_row(self, proxy_row: int) -> int:
        return self.proxy.mapToSource(self.proxy.index(proxy_row, 0)).row()

    def current_proxy_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else -1

    def _emit(self, proxy_row: int) -> None:
        if 0 <= proxy_row < self.proxy.rowCount():
            self.activated.emit(self.model.row(self.source_row(proxy_row)).entry)

    def _activate(self, proxy_row: int) -> None:
        if 0 <= proxy_row < self.proxy.rowCount():
            self.table.selectRow(proxy_row)
            self._emit(proxy_row)

    def select_path(self, path: str) -> bool:
        """Show the row of this file as selected (the window's current study), without ``activated``."""
        source_row = self.model.index_of(path)
        proxy = self.proxy.mapFromSource(self.model.index(source_row, 0)) if source_row >= 0 else None
        if proxy is not None and proxy.isValid():
            self.table.selectRow(proxy.row())
            self.table.scrollTo(proxy)
            return True
        self.table.clearSelection()
        return False

    def step(self, delta: int) -> None:
        """Next (+1) / previous (-1) study in the order shown (after sort and filter)."""
        n = self.proxy.rowCount()
        if n:
            current = self.current_proxy_row()
            self._activate(
                min(max(current + delta, 0), n - 1) if current >= 0 else (0 if delta > 0 else n - 1)
            )

    def cycle_flag(self) -> None:
        row = self.current_proxy_row()
        if row >= 0:
            self.model.cycle_flag(self.source_row(row))


__all__ = [
    "COLUMNS",
    "Flag",
    "WorklistFilter",
    "WorklistModel",
    "WorklistRow",
    "WorklistView",
    "row_from_triage",
]
