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
from viewer.gui.widgets.worklist import COL_PROBABILITY, Flag, WorklistView

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
    assert _column(worklist, 0)[:3] == ["Baker Bob, BA", "Clark Cy, CL", "Adams Ann, AD"]


def test_text_and_state_filters(worklist, qtbot):
    qtbot.keyClicks(worklist.search, "baker")
    assert _column(worklist, 0) == ["Baker Bob, BA"]
    worklist.search.clear()
    worklist.state_box.setCurrentIndex(worklist.state_box.findText("Caution"))
    assert _column(worklist, 4) == ["caution"]
    worklist.state_box.setCurrentIndex(worklist.state_box.findText("Not scored (pending, error)"))
    assert _column(worklist, 4) == ["error"] and "damaged" in _column(worklist, 6)[0]
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
