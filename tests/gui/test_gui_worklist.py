"""The worklist table (viewer.gui.widgets.worklist): sort, text and state filter, flags, next/previous."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore

from viewer.core.errors import CorruptPixelDataError
from viewer.core.io.collection import Entry, Source, SourceKind
from viewer.core.model.inference import Prediction
from viewer.core.model.result import AiResult
from viewer.core.model.triage import TriageRow
from viewer.core.scope import AiState, Assessment
from viewer.core.study import PatientInfo, StudyInfo, StudyMetadata
from viewer.gui.widgets.worklist import COL_LABEL, COL_PROBABILITY, COL_STATE, Flag, WorklistView

SOURCE = Source("/cd", SourceKind.FOLDER)


def _entry(name: str) -> Entry:
    return Entry(Path("/cd") / name, f"/cd/{name}", SOURCE, f"sha256:{name}")


def _row(name: str, patient: str, probability: float, state: AiState) -> TriageRow:
    meta = StudyMetadata(
        patient=PatientInfo(name=patient, id=patient[:2].upper()),
        study=StudyInfo(date="2024-01-02", modality="CR", view_position="AP"),
        source_format="DICOM",
        transfer_syntax="",
        photometric="MONOCHROME2",
        bits_allocated=16,
        bits_stored=12,
        rows=10,
        columns=10,
        n_frames=1,
    )
    label = "PNEUMONIA" if probability >= 0.5 else "NORMAL"
    prediction = Prediction(
        probability, 0.0, label, 0.5, "balanced", np.zeros((0, 0), np.float32), 1.0, "CPU", 1.0
    )
    assessment = Assessment(state=state, findings=())
    return TriageRow(_entry(name), meta, AiResult(prediction, assessment, 0, "m", "1"))


@pytest.fixture
def worklist(qtbot):
    view = WorklistView()
    qtbot.addWidget(view)
    entries = [_entry(n) for n in ("a.dcm", "b.dcm", "c.dcm", "d.dcm", "e.dcm")]
    view.model.set_entries(entries)
    view.model.set_result(0, _row("a.dcm", "Adams^Ann", 0.20, AiState.IN_SCOPE))
    view.model.set_result(1, _row("b.dcm", "Baker^Bob", 0.95, AiState.IN_SCOPE))
    view.model.set_result(2, _row("c.dcm", "Clark^Cy", 0.60, AiState.CAUTION))
    view.model.set_result(3, _row("d.dcm", "Dunn^Di", 0.80, AiState.WITHHELD))
    view.model.set_result(4, TriageRow(entries[4], error=CorruptPixelDataError("damaged", "/cd/e.dcm")))
    return view


def _column(view: WorklistView, col: int) -> list[str]:
    return [view.proxy.index(r, col).data() for r in range(view.proxy.rowCount())]


def test_sort_by_probability_is_numeric_and_unscored_rows_sort_last(worklist):
    worklist.table.sortByColumn(COL_PROBABILITY, QtCore.Qt.SortOrder.DescendingOrder)
    assert _column(worklist, COL_PROBABILITY) == ["95.0%", "60.0%", "20.0%", "", ""]  # withheld: no number
    assert _column(worklist, 0)[:3] == ["BAKER, Bob, BA", "CLARK, Cy, CL", "ADAMS, Ann, AD"]


def test_text_and_state_filters(worklist, qtbot):
    qtbot.keyClicks(worklist.search, "baker")
    assert _column(worklist, 0) == ["BAKER, Bob, BA"]
    worklist.search.clear()
    worklist.state_box.setCurrentIndex(worklist.state_box.findText("Caution"))
    assert _column(worklist, COL_STATE) == ["caution"]
    worklist.state_box.setCurrentIndex(worklist.state_box.findText("Not scored (pending, error)"))
    assert _column(worklist, COL_STATE) == ["error"] and "damaged" in _column(worklist, COL_LABEL)[0]
    worklist.state_box.setCurrentIndex(0)
    assert worklist.proxy.rowCount() == 5


def test_next_previous_follow_the_shown_order_and_flags_colour_a_row(worklist, qtbot):

    worklist.table.sortByColumn(COL_PROBABILITY, QtCore.Qt.SortOrder.DescendingOrder)
    chosen = []
    worklist.activated.connect(chosen.append)
    worklist.step(+1)
    worklist.step(+1)
    worklist.step(-1)
    assert [e.display for e in chosen] == ["/cd/b.dcm", "/cd/c.dcm", "/cd/b.dcm"]
    worklist.cycle_flag()
    assert worklist.model.row(1).flag is Flag.RED
    brush = worklist.proxy.index(0, 0).data(QtCore.Qt.ItemDataRole.BackgroundRole)
    assert brush is not None and brush.color().name() == "#7a2630"
    worklist.cycle_flag()
    assert worklist.model.row(1).flag is Flag.YELLOW
    worklist.model.set_result(
        1, _row("b.dcm", "Baker^Bob", 0.90, AiState.IN_SCOPE)
    )  # a new result keeps the flag
    assert worklist.model.row(1).flag is Flag.YELLOW


def test_thumbnail_column_shows_a_small_grey_copy_and_sorting_filtering_still_work(worklist):
    from viewer.gui.widgets.worklist import COL_FILE, COL_THUMBNAIL, THUMB_SIDE, thumbnail_u8

    assert worklist.model.headerData(COL_THUMBNAIL, QtCore.Qt.Orientation.Horizontal) == "Thumbnail"
    big = np.zeros((400, 200), np.uint8)
    big[:, 100:] = 255
    thumb = thumbnail_u8(big)
    assert (
        thumb.shape == (THUMB_SIDE, THUMB_SIDE // 2) and thumb.dtype == np.uint8 and thumb.flags.c_contiguous
    )
    assert (
        thumbnail_u8(np.zeros((4, 4, 3), np.uint8)) is None
        and thumbnail_u8(np.zeros((0, 3), np.uint8)) is None
    )
    worklist.model.set_result(1, _row("b.dcm", "Baker^Bob", 0.95, AiState.IN_SCOPE), thumb)
    del big, thumb  # the QImage has its own copy of the pixels
    image = worklist.model.index(1, COL_THUMBNAIL).data(QtCore.Qt.ItemDataRole.DecorationRole)
    assert image.width() == THUMB_SIDE // 2 and image.height() == THUMB_SIDE
    assert image.format() == image.Format.Format_Grayscale8
    assert image.pixelColor(0, 0).red() == 0 and image.pixelColor(THUMB_SIDE // 2 - 1, 0).red() == 255
    assert worklist.model.index(1, COL_THUMBNAIL).data() == ""  # no text in that cell
    assert worklist.model.index(0, COL_THUMBNAIL).data(QtCore.Qt.ItemDataRole.DecorationRole) is None
    # a later result without a thumbnail (the session's) keeps it; the proxy maps it through sorting
    worklist.model.set_result(1, _row("b.dcm", "Baker^Bob", 0.90, AiState.IN_SCOPE))
    worklist.table.sortByColumn(COL_PROBABILITY, QtCore.Qt.SortOrder.DescendingOrder)
    top = worklist.proxy.index(0, COL_THUMBNAIL)
    assert worklist.proxy.index(0, COL_FILE).data() == "/cd/b.dcm"
    assert top.data(QtCore.Qt.ItemDataRole.DecorationRole).height() == THUMB_SIDE
    worklist.table.sortByColumn(COL_THUMBNAIL, QtCore.Qt.SortOrder.DescendingOrder)
    assert worklist.proxy.index(0, COL_FILE).data() == "/cd/b.dcm"
    worklist.search.setText("b.dcm")
    assert worklist.proxy.rowCount() == 1
    assert worklist.proxy.index(0, COL_THUMBNAIL).data(QtCore.Qt.ItemDataRole.DecorationRole) is not None


def test_results_in_a_batch_change_each_run_of_rows_once(qtbot):
    view = WorklistView()
    qtbot.addWidget(view)
    entries = [_entry(f"{i}.dcm") for i in range(10)]
    view.model.set_entries(entries)
    changed = []
    view.model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row())))
    items = [(i, _row(f"{i}.dcm", "P^Q", i / 10, AiState.IN_SCOPE), None) for i in (2, 3, 4, 7, 8)]
    view.model.set_results(items)
    assert changed == [(2, 4), (7, 8)]
    assert [r.probability for r in view.model.rows()][2:9] == [0.2, 0.3, 0.4, None, None, 0.7, 0.8]
    assert view.model.index_of("/cd/7.dcm") == 7 and view.model.index_of("/cd/nothere.dcm") == -1


def test_remembered_flags_come_with_the_entries_and_a_new_flag_is_announced(qtbot):
    view = WorklistView()
    qtbot.addWidget(view)
    entries = [_entry(n) for n in ("a.dcm", "b.dcm")]
    view.model.set_entries(entries, {"sha256:b.dcm": Flag.GREEN})
    assert [r.flag for r in view.model.rows()] == [Flag.NONE, Flag.GREEN]
    announced = []
    view.model.flag_changed.connect(lambda entry, flag: announced.append((entry.key, flag)))
    view.step(+1)
    view.cycle_flag()
    view.model.set_flag(1, Flag.GREEN)  # no change: nothing announced
    assert announced == [("sha256:a.dcm", Flag.RED)]


def test_a_row_tooltip_is_its_error_or_its_file(worklist, qtbot):
    from PySide6 import QtGui, QtWidgets

    worklist.resize(900, 500)
    worklist.show()
    qtbot.waitExposed(worklist)
    table = worklist.table
    error = worklist.model.row(4).error
    assert "damaged" in error and worklist.model.tooltip(4) == error
    for source_row, expected in ((0, "/cd/a.dcm"), (4, error)):
        proxy_index = worklist.proxy.mapFromSource(worklist.model.index(source_row, 1))
        table.scrollTo(proxy_index)
        pos = table.visualRect(proxy_index).center()
        ev = QtGui.QHelpEvent(QtCore.QEvent.Type.ToolTip, pos, table.viewport().mapToGlobal(pos))
        QtCore.QCoreApplication.sendEvent(table.viewport(), ev)
        qtbot.waitUntil(lambda expected=expected: QtWidgets.QToolTip.text() == expected, timeout=2_000)
    QtWidgets.QToolTip.hideText()
