"""The worklist: one row a study of an opened folder, DICOMDIR or ZIP, with its AI triage result.

Qt model/view: :class:`WorklistModel` (a ``QStandardItemModel`` holding what the table shows, beside plain
rows built from :class:`~viewer.core.io.collection.Entry` and :class:`~viewer.core.model.triage.TriageRow`),
:class:`WorklistFilter` (a ``QSortFilterProxyModel``: sort by any column - probability numerically,
withheld results last - and filter by text and AI state) and :class:`WorklistView` (filter box, state
box, the table, next / previous study, colour flags). Results arrive while the batch triage runs; a row's
header (patient, date, modality, view) can come first (:meth:`WorklistModel.set_header`). Each row keeps its :class:`TriageRow` (``source``)
for the CSV export. The window's worklist controller (:mod:`viewer.gui.controllers.worklist`) fills it, a
batch of rows at a time (:meth:`WorklistModel.set_results`: one ``dataChanged`` a run of rows, not one a row).

The Thumbnail column shows a small grey image (:data:`THUMB_SIDE` px, about 4 KB a row: 4 MB for 1,000 rows)
made in a worker: the controller's background thumbnail pass, the batch triage's rendering or the study's own
load; a file that cannot be read has none. Flags (:class:`Flag`) are announced by ``flag_changed`` (the
controller remembers them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from viewer.core import display
from viewer.core.io.collection import Entry
from viewer.core.model.result import format_probability
from viewer.core.scope import AiState
from viewer.core.study import StudyMetadata
from viewer.reports.content import format_person_name  # the corners' and reports' PN format

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
THUMB_SIDE = 64  # px, the longest side of a row's thumbnail


def parse_flag(value) -> Flag:
    """A stored flag ("red", ...) as a :class:`Flag`; anything else is no flag."""
    try:
        return Flag(value)
    except ValueError:
        return Flag.NONE


def thumbnail_u8(grey, side: int = THUMB_SIDE, of_shape: tuple[int, int] | None = None) -> np.ndarray | None:
    """:func:`viewer.core.display.thumbnail_u8` at the worklist's size."""
    return display.thumbnail_u8(grey, side, of_shape)


def thumbnail_image(u8: np.ndarray | None) -> QtGui.QImage | None:
    """The QImage of a thumbnail (Grayscale8), with its own copy of the pixels (the array may go)."""
    if u8 is None:
        return None
    u8 = np.ascontiguousarray(u8, dtype=np.uint8)
    h, w = u8.shape
    return QtGui.QImage(u8.data, w, h, u8.strides[0], QtGui.QImage.Format.Format_Grayscale8).copy()


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
    thumbnail: QtGui.QImage | None = None  # THUMB_SIDE px grey, once a worker made it


COLUMNS = ("Patient", "Date", "Modality", "View", "AI state", "Probability", "Label", "Thumbnail", "File")
COL_STATE, COL_PROBABILITY, COL_LABEL, COL_THUMBNAIL, COL_FILE = 4, 5, 6, 7, 8
SORT_ROLE = QtCore.Qt.ItemDataRole.UserRole + 1
_NEW_FILTER_API = hasattr(QtCore.QSortFilterProxyModel, "beginFilterChange")


def _header_fields(meta: StudyMetadata | None) -> dict[str, str]:
    if meta is None:
        return {}
    p, s = meta.patient, meta.study
    return {
        "patient": ", ".join(x for x in (format_person_name(p.name), p.id) if x),
        "date": s.date,
        "modality": s.modality,
        "view": s.view_position,
    }


def row_from_triage(
    row: TriageRow, flag: Flag = Flag.NONE, thumbnail: QtGui.QImage | None = None
) -> WorklistRow:
    """The table row of a triage row: an AI result, an error, or (neither yet) only the header."""
    header = _header_fields(row.meta)
    kept = {"flag": flag, "source": row, "thumbnail": thumbnail}
    if row.result is None:
        if row.error is None:  # the header only: not analysed yet
            return WorklistRow(row.entry, **kept, **header)
        return WorklistRow(row.entry, state=ERROR, error=str(row.error), **kept, **header)
    r = row.result
    return WorklistRow(
        row.entry,
        state=r.state.value,
        probability=r.probability,
        label=r.label_text if not r.withheld else "",
        **kept,
        **header,
    )


def _runs(indices: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted, distinct indices as (first, last) runs of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for i in sorted(set(indices)):
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _text(r: WorklistRow, col: int) -> str:
    """What column ``col`` of row ``r`` says."""
    if col == COL_PROBABILITY:
        return "" if r.probability is None else format_probability(r.probability)
    values = (r.patient, r.date, r.modality, r.view, r.state, "", r.label or r.error, "", r.entry.display)
    return values[col]


def _sort_key(r: WorklistRow, col: int, text: str):
    if col == COL_PROBABILITY:  # numbers sort as numbers; no number sorts below every number
        return -1.0 if r.probability is None else r.probability
    if col == COL_THUMBNAIL:  # rows with a thumbnail (decoded) apart from those without
        return int(r.thumbnail is not None)
    return text.casefold()


_DISPLAY = QtCore.Qt.ItemDataRole.DisplayRole
_DECORATION = QtCore.Qt.ItemDataRole.DecorationRole
_BACKGROUND = QtCore.Qt.ItemDataRole.BackgroundRole
_N_COLUMNS = len(COLUMNS)


class WorklistModel(QtGui.QStandardItemModel):
    """The rows (:class:`WorklistRow`, in Python: :meth:`row`, :meth:`rows`) and what the table shows of
    them, kept in Qt's own item storage (text, sort key, flag colour, thumbnail). Painting, sorting and
    filtering 1,000 rows then run in C++ without calling Python (nor waiting for the interpreter while the
    triage's workers use it); only updates do, and signals are emitted once a run of rows
    (:meth:`set_results`)."""

    flag_changed = QtCore.Signal(object, object)  # Entry, Flag: the user flagged a row

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(0, _N_COLUMNS, parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self._rows: list[WorklistRow] = []
        self._items: list[list[QtGui.QStandardItem]] = []  # the model's items of each row (it owns them)
        self._by_path: dict[str, int] = {}

    # ------------------------------------------------------------------ contents
    def set_entries(
        self,
        entries: list[Entry],
        flags: Mapping[str, Flag] | None = None,
        headers: Iterable[tuple[int, TriageRow]] = (),
    ) -> None:
        """New rows, pending; ``flags``: the flags remembered for these studies, by ``Entry.key``;
        ``headers``: (row, triage row with the header) pairs, shown at once (one reset, one sort)."""
        flags = flags or {}
        rows = [WorklistRow(e, flag=flags.get(e.key, Flag.NONE)) for e in entries]
        for i, header in headers:
            rows[i] = row_from_triage(header, rows[i].flag)
        self.beginResetModel()
        blocked = self.blockSignals(True)  # one reset for the view and the proxy, not a signal a row
        try:
            self._items = []  # before the model deletes the items
            self.setRowCount(0)
            for r in rows:
                texts = [_text(r, c) for c in range(_N_COLUMNS)]
                items = [QtGui.QStandardItem(t) for t in texts]
                for c, item in enumerate(items):
                    item.setData(_sort_key(r, c, texts[c]), SORT_ROLE)
                self._paint(items, r)
                self.appendRow(items)
                self._items.append(items)
            self._rows = rows
            self._by_path = {}
            for i, e in enumerate(entries):
                self._by_path.setdefault(str(e.path), i)
        finally:
            self.blockSignals(blocked)
        self.endResetModel()

    @staticmethod
    def _paint(items: list[QtGui.QStandardItem], r: WorklistRow, old: WorklistRow | None = None) -> None:
        """The flag colour and the thumbnail of a row's items (those that changed since ``old``)."""
        if (old.flag if old is not None else Flag.NONE) is not r.flag:
            brush = QtGui.QBrush(QtGui.QColor(FLAG_COLOURS[r.flag])) if r.flag is not Flag.NONE else None
            for item in items:
                item.setData(brush, _BACKGROUND)
        if (old.thumbnail if old is not None else None) is not r.thumbnail:
            items[COL_THUMBNAIL].setData(r.thumbnail, _DECORATION)
            items[COL_THUMBNAIL].setData(int(r.thumbnail is not None), SORT_ROLE)

    def _store(self, index: int, r: WorklistRow) -> None:
        """Row ``index`` becomes ``r``: its items are rewritten, without signals (see :meth:`_changed`)."""
        old = self._rows[index]
        self._rows[index] = r
        items = self._items[index]
        blocked = self.blockSignals(True)
        try:
            for c in range(_N_COLUMNS):
                if c == COL_THUMBNAIL:
                    continue
                text = _text(r, c)
                if text != _text(old, c) or c == COL_PROBABILITY:
                    items[c].setData(text, _DISPLAY)
                    items[c].setData(_sort_key(r, c, text), SORT_ROLE)
            self._paint(items, r, old)
        finally:
            self.blockSignals(blocked)

    def _changed(self, indices: Iterable[int]) -> None:
        last = _N_COLUMNS - 1
        for first, end in _runs(indices):
            self.dataChanged.emit(self.index(first, 0), self.index(end, last))

    def _updated(self, index: int, row: TriageRow, thumb) -> None:
        old = self._rows[index]
        if thumb is None:
            image = old.thumbnail
        else:
            image = thumb if isinstance(thumb, QtGui.QImage) else thumbnail_image(thumb)
        self._store(index, row_from_triage(row, old.flag, image))

    def set_result(self, index: int, row: TriageRow, thumb=None) -> None:
        """Row ``index`` shows ``row`` (a result, an error or a header); ``thumb``: its thumbnail (a grey
        uint8 array or a QImage; None keeps the one it has)."""
        self._updated(index, row, thumb)
        self._changed((index,))

    def set_results(self, items: Iterable[tuple[int, TriageRow, object]]) -> None:
        """Many rows' results (row index, triage row, thumbnail or None) with one ``dataChanged`` a run of
        consecutive rows: the proxy re-sorts and the table repaints once a batch, not once a row."""
        done = []
        for index, row, thumb in items:
            self._updated(index, row, thumb)
            done.append(index)
        self._changed(done)

    def set_header(self, index: int, row: TriageRow) -> None:
        """A row's header (``row.meta``, no result) before its analysis; a result already there is kept."""
        self.set_headers([(index, row)])

    def set_headers(self, items: Iterable[tuple[int, TriageRow]]) -> None:
        done = []
        for index, row in items:
            old = self._rows[index].source
            if old is None or (old.result is None and old.error is None):
                self._updated(index, row, None)
                done.append(index)
        self._changed(done)

    def set_thumbnail(self, index: int, thumb) -> None:
        self.set_thumbnails([(index, thumb)])

    def set_thumbnails(self, items: Iterable[tuple[int, object]]) -> None:
        """Rows' thumbnails (a grey uint8 array or a QImage each), one ``dataChanged`` for them all."""
        done = []
        for index, thumb in items:
            image = thumb if isinstance(thumb, QtGui.QImage) or thumb is None else thumbnail_image(thumb)
            self._store(index, replace(self._rows[index], thumbnail=image))
            done.append(index)
        if done:
            self.dataChanged.emit(self.index(min(done), COL_THUMBNAIL), self.index(max(done), COL_THUMBNAIL))

    def row(self, index: int) -> WorklistRow:
        return self._rows[index]

    def rows(self) -> list[WorklistRow]:
        return list(self._rows)

    def index_of(self, path: str) -> int:
        """The row of the file at ``path`` (``str(entry.path)``), or -1."""
        return self._by_path.get(str(path), -1)

    def set_flag(self, index: int, flag: Flag) -> None:
        if self._rows[index].flag is flag:
            return
        self._store(index, replace(self._rows[index], flag=flag))
        self._changed((index,))
        self.flag_changed.emit(self._rows[index].entry, flag)

    def cycle_flag(self, index: int) -> Flag:
        old = self._rows[index].flag
        new = FLAG_CYCLE[(FLAG_CYCLE.index(old) + 1) % len(FLAG_CYCLE)]
        self.set_flag(index, new)
        return new

    def tooltip(self, index: int) -> str:
        """A row's tooltip (asked by the table on hover, not stored in every cell): the error, or the file."""
        r = self._rows[index]
        return r.error or r.entry.display


_TEXT_COLUMNS = tuple(c for c in range(len(COLUMNS)) if c != COL_THUMBNAIL)


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
        return any(self._text in _text(row, c).casefold() for c in _TEXT_COLUMNS)


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

    def viewportEvent(self, ev: QtCore.QEvent) -> bool:
        if ev.type() == QtCore.QEvent.Type.ToolTip:  # the row's error or file, asked for on hover only
            proxy = self.model()
            index = self.indexAt(ev.pos())
            if index.isValid() and isinstance(proxy, QtCore.QSortFilterProxyModel):
                source = proxy.sourceModel()
                if isinstance(source, WorklistModel):
                    QtWidgets.QToolTip.showText(
                        ev.globalPos(), source.tooltip(proxy.mapToSource(index).row()), self.viewport()
                    )
                    return True
        return super().viewportEvent(ev)


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
        rows = self.table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(THUMB_SIDE + 4)
        self.table.horizontalHeader().setStretchLastSection(True)
        widths = (180, 90, 70, 60, 90, 90, 210, THUMB_SIDE + 28)  # every column but the last (File)
        for col, width in enumerate(widths):
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
    "COL_THUMBNAIL",
    "THUMB_SIDE",
    "Flag",
    "WorklistFilter",
    "WorklistModel",
    "WorklistRow",
    "WorklistView",
    "parse_flag",
    "row_from_triage",
    "thumbnail_image",
    "thumbnail_u8",
]
