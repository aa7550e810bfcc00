"""The worklist in the window (issue #13): a folder / ZIP opened through the worker, Open recent, rows as
studies on demand, sort / filter / flag / next / previous through the action table, Analyse all, CSV export."""

from __future__ import annotations

import csv
import io
import os
import shutil
import sys
import threading
import zipfile

import cv2
import numpy as np
import pytest
from gui_support import PATIENT_ID, PATIENT_NAME, block_image, make_window, write_dicom
from PySide6 import QtCore, QtWidgets

from viewer.core.scope import AiState
from viewer.gui.widgets.worklist import COL_FILE, COL_PROBABILITY, COL_STATE, Flag


def _png(path, value: int):
    img = np.full((64, 64), value, np.uint8)
    img[16:48, 16:48] = 255 - value
    assert cv2.imwrite(str(path), img)
    return path


@pytest.fixture
def exam(tmp_path):
    """3 DICOM + 2 PNG, one DICOM copied twice (the copy is a duplicate), in nested folders."""
    folder = tmp_path / "exam"
    (folder / "sub" / "deeper").mkdir(parents=True)
    write_dicom(folder / "a.dcm", block_image(), view="PA")
    write_dicom(folder / "sub" / "b.dcm", block_image(), view="AP")
    write_dicom(folder / "sub" / "deeper" / "c", block_image(), view="LL")  # no suffix: found by content
    _png(folder / "d.png", 40)
    _png(folder / "sub" / "e.png", 90)
    shutil.copy(folder / "a.dcm", folder / "sub" / "deeper" / "a-copy.dcm")
    (folder / "notes.txt").write_text("not an image")
    return folder


def _open(qtbot, win, paths, timeout=20_000):
    with qtbot.waitSignal(win.worklist.opened, timeout=timeout) as blocker:
        win.open_any([str(p) for p in paths])
    return blocker.args[0]


def _rows(win):
    return win.worklist.view.model.rows()


def _shown(win, col):
    proxy = win.worklist.view.proxy
    return [proxy.index(r, col).data() for r in range(proxy.rowCount())]


def test_open_folder_walks_in_a_worker_lists_headers_and_records_the_folder(qtbot, exam, monkeypatch):
    import viewer.core.io.collection as collection

    threads = []
    real = collection.collect

    def spy(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(collection, "collect", spy)
    win = make_window(qtbot, load_model=False)
    monkeypatch.setattr("PySide6.QtWidgets.QFileDialog.getExistingDirectory", lambda *a, **k: str(exam))
    with qtbot.waitSignal(win.worklist.opened, timeout=20_000) as blocker:
        win.actions_["open_folder"].trigger()
    assert blocker.args == [5]
    assert threads and threads[0] is not threading.main_thread()  # the walk ran in a worker
    assert win.worklist_dock.isVisible()
    rows = _rows(win)
    names = sorted(r.entry.path.name for r in rows)
    assert names == ["a.dcm", "b.dcm", "c", "d.png", "e.png"]  # the copy of a.dcm is listed once
    by_name = {r.entry.path.name: r for r in rows}
    # headers first (no pixels decoded for them): patient, modality, view from the DICOM header
    assert by_name["b.dcm"].patient == f"DOE, Jane, {PATIENT_ID}"  # PATIENT_NAME as the corners write it
    assert (by_name["b.dcm"].modality, by_name["b.dcm"].view) == ("DX", "AP")
    assert by_name["c"].view == "LL" and by_name["d.png"].patient == ""
    assert all(r.state == "pending" for r in rows)
    # one notification for the duplicate; the app goes on
    assert len(win.notifications.messages) == 1
    title, message = win.notifications.messages[0]
    assert "1 duplicate listed once" in message
    # pixels on demand: only the first row became a study
    qtbot.waitUntil(lambda: win.current is not None and win.current.ready, timeout=20_000)
    assert len(win.entries) == 1 and win.current.path == str(rows[0].entry.path)
    # Open recent has the folder, not the images inside it
    assert win.settings.recent_files == [str(exam.resolve())]
    assert [a.toolTip() for a in win.recent_menu.actions() if a.toolTip() and a.text() != "Clear list"] == [
        str(exam.resolve())
    ]


def test_recent_folder_reopens_into_the_worklist(qtbot, exam):
    win = make_window(qtbot, load_model=False)
    _open(qtbot, win, [exam])
    win.worklist.view.model.set_entries([])
    (item,) = [a for a in win.recent_menu.actions() if a.toolTip() == str(exam.resolve())]
    with qtbot.waitSignal(win.worklist.opened, timeout=20_000) as blocker:
        item.trigger()
    assert blocker.args == [5] and len(_rows(win)) == 5


def test_cancel_while_walking_keeps_the_app_going(qtbot, exam, monkeypatch):
    import viewer.core.io.collection as collection

    real = collection.collect
    go = threading.Event()

    def slow(*args, cancel=None, **kwargs):
        go.wait(10)  # until the test pressed Cancel
        return real(*args, cancel=cancel, **kwargs)

    monkeypatch.setattr(collection, "collect", slow)
    win = make_window(qtbot, load_model=False)
    with qtbot.waitSignal(win.worklist.opened, timeout=20_000) as blocker:
        win.open_any([exam])
        qtbot.waitUntil(lambda: win.worklist.opening is not None and win.worklist.opening.dialog is not None)
        dialog = win.worklist.opening.dialog
        qtbot.waitUntil(dialog.isVisible, timeout=5_000)  # a slow walk shows its progress
        dialog.findChild(QtWidgets.QPushButton).click()  # Cancel
        go.set()
    assert blocker.args == [0]
    assert "cancelled" in win.worklist_panel.summary.text()
    assert win.worklist.opening is None and len(win.entries) == 0


def test_rows_sort_filter_flag_and_step_through_actions(qtbot, exam, tiny_model_path, monkeypatch):
    win = make_window(qtbot, tiny_model_path)
    _open(qtbot, win, [exam])
    with qtbot.waitSignal(win.worklist.triage_finished, timeout=60_000) as blocker:
        win.actions_["analyse_all"].trigger()
    assert blocker.args == [5]
    rows = _rows(win)
    assert {r.state for r in rows} <= {s.value for s in AiState}
    assert "Analysed 5 of 5" in win.worklist_panel.progress_label.text()
    # a row's result is the single-study result (one gate): open it and compare with the AI panel's
    target = next(r for r in rows if r.entry.path.name == "d.png")
    win.worklist.open_entry(target.entry)
    qtbot.waitUntil(lambda: win.current.result is not None, timeout=20_000)
    assert win.current.path == str(target.entry.path)
    assert win.current.result.prediction.probability == pytest.approx(
        target.source.result.prediction.probability, abs=1e-5
    )
    assert win.current.result.state is target.source.result.state
    # sort by probability, numerically, highest first (withheld rows have no number and sort last)
    table = win.worklist.view.table
    table.sortByColumn(COL_PROBABILITY, QtCore.Qt.SortOrder.DescendingOrder)
    numbers = [r.probability for r in rows if r.probability is not None]
    shown = [p for p in _shown(win, COL_PROBABILITY) if p]
    assert [float(p.rstrip("%")) for p in shown] == pytest.approx(
        sorted((round(100 * p, 1) for p in numbers), reverse=True), abs=0.051
    )
    # selecting a row (a click) makes it the current study
    proxy = win.worklist.view.proxy
    second = proxy.index(1, 0)
    rect = table.visualRect(second)
    qtbot.mouseClick(table.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center())

    def path_of(shown_row: int) -> str:
        return str(win.worklist.view.model.row(view_source(shown_row)).entry.path)

    def view_source(shown_row: int) -> int:
        return proxy.mapToSource(proxy.index(shown_row, 0)).row()

    qtbot.waitUntil(lambda: win.current.path == path_of(1), timeout=5_000)
    # next / previous study (J / K) follow the order shown
    win.actions_["worklist_next"].trigger()
    assert win.current.path == path_of(2)
    win.actions_["worklist_prev"].trigger()
    win.actions_["worklist_prev"].trigger()
    assert win.current.path == path_of(0)
    # flag the current row (G): red, then yellow; the row is coloured
    win.actions_["worklist_flag"].trigger()
    source_row = view_source(0)
    assert win.worklist.view.model.row(source_row).flag is Flag.RED
    brush = proxy.index(0, 3).data(QtCore.Qt.ItemDataRole.BackgroundRole)
    assert brush.color().name() == "#7a2630"
    win.actions_["worklist_flag"].trigger()
    assert win.worklist.view.model.row(source_row).flag is Flag.YELLOW
    # the text filter, then the state filter
    qtbot.keyClicks(win.worklist.view.search, "e.png")
    assert [p.rsplit("/", 1)[-1] for p in _shown(win, COL_FILE)] == ["e.png"]
    win.worklist.view.search.clear()
    view = win.worklist.view
    states = {r.state for r in rows}
    for text, value in (
        ("In scope", AiState.IN_SCOPE.value),
        ("Caution", AiState.CAUTION.value),
        ("Withheld", AiState.WITHHELD.value),
    ):
        view.state_box.setCurrentIndex(view.state_box.findText(text))
        assert set(_shown(win, COL_STATE)) == ({value} if value in states else set())
        assert proxy.rowCount() == sum(r.state == value for r in rows)
    view.state_box.setCurrentIndex(0)
    assert proxy.rowCount() == 5
    # memory stays bounded: only the studies chosen were decoded, and at most MAX_OPEN of them stay
    assert len(win.entries) == 4
    import viewer.gui.controllers.worklist as worklist_mod

    monkeypatch.setattr(worklist_mod, "MAX_OPEN", 2)
    for _ in range(4):
        win.actions_["worklist_next"].trigger()
    assert len(win.entries) == 2 and win.current.path == path_of(4)


def test_export_worklist_csv(qtbot, exam, tiny_model_path, tmp_path):
    win = make_window(qtbot, tiny_model_path)
    _open(qtbot, win, [exam])
    with qtbot.waitSignal(win.worklist.triage_finished, timeout=60_000):
        win.actions_["analyse_all"].trigger()
    out = tmp_path / "out" / "worklist.csv"
    out.parent.mkdir()
    assert win.worklist.export_to(out, include_patient=False) == out
    data = out.read_bytes()
    assert PATIENT_NAME.encode() not in data and PATIENT_ID.encode() not in data
    table = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert len(table) == 5 and "patient_name" not in table[0]
    by_path = {r.entry.display: r for r in _rows(win)}
    for line in table:
        row = by_path[line["path"]]
        result = row.source.result
        assert line["state"] == result.state.value
        assert line["threshold"] == str(float(result.prediction.threshold))
        assert line["model_version"] == win.model.info.version
        expected = "" if result.withheld else str(round(float(result.prediction.probability), 6))
        assert line["probability"] == expected
        assert line["label"] == ("" if result.withheld else result.prediction.label)
    # never overwrites without asking: "No" keeps the file
    asked = []
    assert win.worklist.export_to(out, True, ask=lambda parent, p: asked.append(p) or False) is None
    assert asked == [out] and out.read_bytes() == data
    # "Yes", with patient data ticked
    assert win.worklist.export_to(out, True, ask=lambda parent, p: True) == out
    with_patient = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    dicom_rows = [r for r in with_patient if r["path"].endswith((".dcm", "/c"))]
    assert {r["patient_name"] for r in dicom_rows} == {PATIENT_NAME}
    assert {r["patient_id"] for r in dicom_rows} == {PATIENT_ID}
    assert not list(out.parent.glob(".*part"))  # atomic: no temporary file left


def test_export_before_analysis_says_not_analysed(qtbot, exam, tmp_path):
    win = make_window(qtbot, load_model=False)
    _open(qtbot, win, [exam])
    out = win.worklist.export_to(tmp_path / "w.csv")
    table = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    assert [r["state"] for r in table] == ["not analysed"] * 5
    assert all(r["probability"] == "" for r in table)


def test_hostile_zip_gives_one_message_and_the_app_goes_on(qtbot, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    good = write_dicom(work / "good.dcm", block_image())
    archive = work / "media" / "exam.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(good, "study/good.dcm")
        for name, data in (
            ("../evil.dcm", b"x" * 200),  # path traversal
            ("/abs.dcm", b"y" * 200),  # absolute path
            ("zeros.dcm", bytes(16 * 2**20)),  # a zip bomb entry (16 MB of zeros, ratio > 200)
        ):
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    before = sorted(p.name for p in tmp_path.parent.rglob("*evil*")), sorted(p.name for p in work.rglob("*"))
    win = make_window(qtbot, load_model=False)
    assert _open(qtbot, win, [archive]) == 1
    (row,) = _rows(win)
    assert row.entry.display == f"{archive}/study/good.dcm"
    assert len(win.notifications.messages) == 1  # one clear message for the three refused entries
    title, message = win.notifications.messages[0]
    assert title == "Some files were skipped" and message.startswith("3 skipped")
    text = win.notifications.label.text()
    assert "evil.dcm" in text and "abs.dcm" in text and "zip bomb" in text
    # nothing written outside the private folder
    after = sorted(p.name for p in tmp_path.parent.rglob("*evil*")), sorted(p.name for p in work.rglob("*"))
    assert after == before
    unpacked = row.entry.path
    assert unpacked.is_file() and not unpacked.is_relative_to(work)
    # the app goes on: the good study opens, the ZIP is in Open recent
    qtbot.waitUntil(lambda: win.current is not None and win.current.ready, timeout=20_000)
    assert win.current.path == str(unpacked)
    assert win.settings.recent_files == [str(archive.resolve())]
    win.close()
    assert not unpacked.exists()  # the private folder goes with the window


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_batch_triage_runs_at_a_lower_priority_than_the_gui_thread(qtbot, exam, tiny_model_path, monkeypatch):
    import viewer.gui.controllers.worklist as worklist_mod
    from viewer.core.model.inference import PneumoniaModel

    seen = []
    real = PneumoniaModel.predict_batch

    def spy(self, images, *args, heatmaps=True, **kwargs):
        if not heatmaps:  # the batch triage's calls, in its worker thread (a study opened meanwhile: not)
            seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return real(self, images, *args, heatmaps=heatmaps, **kwargs)

    monkeypatch.setattr(PneumoniaModel, "predict_batch", spy)
    gui_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    win = make_window(qtbot, tiny_model_path)
    _open(qtbot, win, [exam])
    with qtbot.waitSignal(win.worklist.triage_finished, timeout=60_000):
        win.actions_["analyse_all"].trigger()
    assert seen and min(seen) >= max(gui_nice, worklist_mod.BACKGROUND_NICE)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == gui_nice  # the GUI thread's is kept


def test_the_worklist_dock_opens_tall_enough_for_several_rows_then_keeps_the_users_height(qtbot, exam):
    from viewer.gui.controllers.worklist import DOCK_SHARE

    win = make_window(qtbot, load_model=False, size=(1400, 1000))
    dock = win.worklist.dock
    _open(qtbot, win, [exam])
    qtbot.waitUntil(lambda: dock.height() >= 0.9 * DOCK_SHARE * win.height(), timeout=5_000)
    assert dock.height() > 3 * win.worklist.view.table.verticalHeader().defaultSectionSize()
    win.resizeDocks([dock], [200], QtCore.Qt.Orientation.Vertical)  # the user makes it smaller
    qtbot.waitUntil(lambda: dock.height() < 0.9 * DOCK_SHARE * win.height(), timeout=5_000)
    small = dock.height()
    _open(qtbot, win, [exam])  # opening again keeps the user's height
    qtbot.wait(50)
    assert abs(dock.height() - small) <= 2
