"""The "Looking for studies…" progress dialog (issue #15 item 7, the CI SIGSEGV of stop 17).

A modal ``QProgressDialog.setValue`` runs ``QCoreApplication.processEvents``: a progress report then delivered
the walk's result *inside* ``setValue``, which closed and deleted the dialog while Qt was still in its method
(segfault in ``_on_progress``). Progress reports must never run the event loop, and the walk may end at any
moment after one without harm."""

from __future__ import annotations

from gui_support import make_window
from PySide6 import QtCore, QtWidgets

from viewer.gui.controllers.worklist import _Run


def _shown_run(win):
    ctrl = win.worklist
    run = _Run("open")
    ctrl.opening = run
    ctrl._show_open_dialog(run)
    assert run.dialog is not None and run.dialog.isVisible()
    return ctrl, run


def test_a_progress_report_never_runs_the_event_loop(qtbot):
    win = make_window(qtbot, load_model=False)
    ctrl, run = _shown_run(win)
    ran: list[int] = []
    QtCore.QTimer.singleShot(0, ctrl, lambda: ran.append(1))
    for done in (1, 2, 3):
        ctrl._on_progress(run, done, 10, f"Reading {done} of 10")
        assert ran == [], "a progress report delivered queued events (re-entered the event loop)"
    assert run.dialog.value() == 3 and run.dialog.maximum() == 10
    qtbot.waitUntil(lambda: ran == [1], timeout=5_000)
    ctrl._end_open(run)


def _end_between_reports(qtbot, win, app) -> None:
    ctrl, run = _shown_run(win)
    destroyed: list[bool] = []
    run.dialog.destroyed.connect(lambda *_: destroyed.append(True))
    ctrl._bridge.progress.emit(run, 1, 2, "Reading 1 of 2")  # queued, like the worker's
    QtCore.QTimer.singleShot(0, ctrl, lambda: ctrl._end_open(run))
    ctrl._bridge.progress.emit(run, 2, 2, "Reading 2 of 2")  # a report queued before the end: ignored
    for _ in range(5):
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
    app.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    qtbot.waitUntil(lambda: destroyed == [True], timeout=5_000)
    assert run.dialog is None and ctrl.opening is None


def test_the_walk_ending_between_progress_reports_is_harmless(qtbot):
    """The order CI hit: progress reports and the walk's result queued together, delivered by a bare
    ``processEvents`` (the screenshot tool's loop). On its own this did not crash the old code (Qt did not
    run the deferred delete inside ``setValue`` here); it holds the clean-up: the dialog deleted once, the
    run forgotten, a late report ignored. The test above is the one that fails on the modal dialog."""
    win = make_window(qtbot, load_model=False)
    app = QtWidgets.QApplication.instance()
    for _ in range(20):
        _end_between_reports(qtbot, win, app)
    assert win.isVisible()
