"""Side-by-side comparison (#13): compare with previous, synchronised zoom / pan / window, leaving it."""

from __future__ import annotations

import pytest
from gui_support import block_image, make_window, open_and_wait, write_dicom

from viewer.core.study import WindowPreset


def _study(tmp_path, name, patient="PID-1", date="20240102", time="", rows=300, cols=400):
    import pydicom

    path = write_dicom(tmp_path / name, block_image(rows, cols))
    ds = pydicom.dcmread(path)
    ds.PatientID, ds.StudyDate = patient, date
    if time:
        ds.StudyTime = time
    ds.save_as(path, enforce_file_format=True)
    return path


def _by_name(win, name):
    return next(e for e in win.entries.values() if e.name == name)


def test_compare_with_previous_picks_the_same_patients_earlier_study(qtbot, tmp_path):
    paths = [
        _study(tmp_path, "old.dcm", date="20230101"),
        _study(tmp_path, "prior.dcm", date="20240102", time="083000"),
        _study(tmp_path, "current.dcm", date="20240102", time="101500"),
        _study(tmp_path, "later.dcm", date="20240601"),
        _study(tmp_path, "other_patient.dcm", patient="PID-2", date="20240101"),
    ]
    win = make_window(qtbot, load_model=False)
    open_and_wait(qtbot, win, paths)
    win.select_entry(_by_name(win, "current.dcm").id)
    win.actions_["compare_previous"].trigger()
    assert win.compare.active and win.compare.other is _by_name(win, "prior.dcm")
    assert win.compare_pane.isVisible() and win.compare_line.isVisible()
    assert "prior.dcm" in win.compare_pane.line.text() and "AI: no result yet" in win.compare_pane.line.text()
    assert "current.dcm" in win.compare_line.text()
    pa = {"left": "R", "right": "L", "top": "H", "bottom": "F"}  # orientation letters on both sides
    assert win.compare_pane.letters.letters == pa == win.display.letters.letters
    win.actions_["compare_exit"].trigger()
    assert not win.compare.active and not win.compare_pane.isVisible() and not win.compare_line.isVisible()

    win.select_entry(_by_name(win, "later.dcm").id)
    win.actions_["compare_previous"].trigger()
    assert win.compare.other is _by_name(win, "current.dcm")  # the latest earlier one
    win.compare.stop()

    win.select_entry(_by_name(win, "old.dcm").id)  # the earliest: there is none
    win.actions_["compare_previous"].trigger()
    assert not win.compare.active
    assert "No earlier study of patient PID-1" in win.statusBar().currentMessage()

    win.select_entry(_by_name(win, "other_patient.dcm").id)  # PID-2 has no other study
    assert win.compare.compare_previous() is None


def test_compare_results_and_heatmaps_each_side(qtbot, tmp_path, tiny_model_path):
    paths = [_study(tmp_path, "a.dcm", date="20230101"), _study(tmp_path, "b.dcm", date="20240101")]
    win = make_window(qtbot, tiny_model_path)
    ids = open_and_wait(qtbot, win, paths)
    win.select_entry(ids[1])
    assert win.compare.compare_previous() is win.entries[ids[0]]
    a = win.entries[ids[0]]
    assert a.result is not None
    line = win.compare_pane.line.text()
    assert a.result.state.title in line
    if not a.result.withheld:
        assert f"{a.result.prediction.probability:.0%}" in line
        assert win.compare_pane.view.heatmap.source is a.result.prediction.heatmap
        assert win.compare_pane.view.heatmap.isVisible()
        win.actions_["heatmap"].trigger()  # off: on both sides
        assert not win.compare_pane.view.heatmap.isVisible() and not win.view.heatmap.isVisible()


def _same_view(win, tol=1e-3):
    m = win.compare.normalised_view(win.view)
    o = win.compare.normalised_view(win.compare_pane.view)
    return all(abs(x - y) <= tol * max(1.0, abs(x)) for x, y in zip(m, o, strict=True)), m, o


@pytest.mark.parametrize("other_shape", [(300, 400), (500, 360)])
def test_compare_sync_zoom_pan_and_window(qtbot, tmp_path, other_shape):
    paths = [
        _study(tmp_path, "prior.dcm", date="20230101", rows=other_shape[0], cols=other_shape[1]),
        _study(tmp_path, "now.dcm", date="20240101"),
    ]
    win = make_window(qtbot, load_model=False)
    ids = open_and_wait(qtbot, win, paths)
    win.select_entry(ids[1])
    win.compare.compare_previous()
    qtbot.wait(50)
    main, other = win.view, win.compare_pane.view
    assert win.compare.sync and win.actions_["compare_sync"].isChecked()
    assert main.width() > 200 and abs(main.width() - other.width()) <= 4  # a 1 x 2 layout

    # synchronised: zoom and pan from the main view follow on the other
    main.zoom_by(2.0)
    ok, m, o = _same_view(win)
    assert ok, (m, o)
    assert m[0] > 1.9  # about twice the fitted size (a fitted image has a margin)
    main.vb.pan_by_screen(_pt(40, 25))
    assert win.compare.normalised_view(main)[1:] != pytest.approx((0.5, 0.5), abs=1e-3)
    ok, m, o = _same_view(win)
    assert ok, (m, o)
    # ... and from the other view back to the main one
    other.zoom_by(1.5)
    ok, m, o = _same_view(win)
    assert ok, (m, o)
    # window / level: chosen on the main study, applied to both
    w = WindowPreset(center=1500.0, width=900.0, name="test")
    win.display.set_window(w)
    prior = win.entries[ids[0]]
    assert prior.window == w
    assert (other.image_item.image == prior.displayed_u8()).all()
    w2 = WindowPreset(center=2500.0, width=600.0)
    win.compare.set_window(w2)  # chosen on the compared study: applied to the main one too
    assert win.current.window == w2 and prior.window == w2

    # not synchronised: each keeps its own
    win.actions_["compare_sync"].trigger()
    assert not win.compare.sync
    before = win.compare.normalised_view(other)
    main.zoom_by(2.0)
    main.vb.pan_by_screen(_pt(-30, 10))
    assert win.compare.normalised_view(other) == pytest.approx(before)
    assert not _same_view(win)[0]
    win.display.set_window(WindowPreset(center=1000.0, width=2000.0))
    assert prior.window == w2 and win.current.window.center == 1000.0
    # synchronised again: the other side follows now
    win.actions_["compare_sync"].trigger()
    assert _same_view(win)[0] and prior.window == win.current.window

    win.actions_["tool_pan"].trigger()  # one tool for both sides
    assert main.tool == other.tool == "pan"
    win.actions_["tool_wl"].trigger()
    assert other.tool == "wl"

    # leaving compare mode restores the single view
    win.actions_["compare_exit"].trigger()
    qtbot.wait(20)
    assert not win.compare_pane.isVisible() and not win.compare_line.isVisible()
    assert main.width() > 2 * other_shape[1] // 4 and main.width() >= win.centralWidget().width() - 4


def test_closing_either_study_leaves_compare_mode_and_current_swap(qtbot, tmp_path):
    paths = [_study(tmp_path, "p.dcm", date="20230101"), _study(tmp_path, "n.dcm", date="20240101")]
    win = make_window(qtbot, load_model=False)
    ids = open_and_wait(qtbot, win, paths)
    win.select_entry(ids[1])
    win.compare.compare_previous()
    win.select_entry(ids[0])  # the compared study becomes current: the sides swap
    assert win.compare.active and win.compare.other is win.entries[ids[1]]
    assert "n.dcm" in win.compare_pane.line.text() and "p.dcm" in win.compare_line.text()
    win.close_entry(ids[1])
    assert not win.compare.active and not win.compare_pane.isVisible()


def _pt(x, y):
    from PySide6 import QtCore

    return QtCore.QPointF(x, y)
