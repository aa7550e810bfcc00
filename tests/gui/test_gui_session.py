"""Sessions: batch opening with broken files, folders, drag and drop, no model, no network, crashes, CLI."""

from __future__ import annotations

import socket
import sys
import time

import pytest
from gui_support import block_image, make_window, open_and_wait, wait_settled, write_dicom
from PySide6 import QtCore, QtGui, QtWidgets

from viewer.gui.export import ExportOptions
from viewer.gui.session import LoadState

BROKEN = ["genFile.dcm", "test-SR.dcm", "monochrome_jpeg_xl.dcm", "crayons.icc"]


def _visible_message_boxes():
    return [
        w
        for w in QtWidgets.QApplication.topLevelWidgets()
        if isinstance(w, QtWidgets.QMessageBox) and w.isVisible()
    ]


@pytest.mark.shared
def test_batch_with_one_broken_file(qtbot, isolated, tiny_model_path, dicom_dir, kermany_dir):
    win = make_window(qtbot, tiny_model_path)
    good = [dicom_dir / "chest" / "fodicom_CR-MONO1-10-chest.dcm", kermany_dir / "val" / "NORMAL"]
    bad = dicom_dir / "broken" / "canon_dx_chest_966_badj2k.dcm"
    normal = sorted(p for p in good[1].iterdir() if p.is_file())  # open_paths takes files (folders: worklist)
    t0 = time.perf_counter()
    ids = win.open_paths([good[0], bad, *normal])
    assert time.perf_counter() - t0 < 0.5  # returns at once: decoding happens in workers
    wait_settled(qtbot, win, ids)
    states = [win.entries[i].state for i in ids]
    assert states.count(LoadState.FAILED) == 1 and states.count(LoadState.READY) == len(ids) - 1 >= 9
    assert len(win.notifications.messages) == 1
    title, message = win.notifications.messages[0]
    assert "canon_dx_chest_966_badj2k.dcm" in message and title
    assert win.study_list.state(ids[1]) == "failed"
    assert "canon_dx_chest_966_badj2k.dcm" in win.study_list._items[ids[1]].toolTip()
    assert _visible_message_boxes() == []  # no modal dialog, no storm
    assert win.current.ready and win.current.id == ids[0]  # the first good file is shown
    # selecting the failed entry explains it instead of showing an image
    win.select_entry(ids[1])
    assert win.view.image_item.image is None and "could not be opened" in win.view.corners.hint
    assert win.ai_panel.prob_label.text() == "n/a"


@pytest.mark.shared
def test_every_broken_file_becomes_a_message(qtbot, isolated, dicom_dir):
    win = make_window(qtbot, load_model=False)
    ids = open_and_wait(qtbot, win, [dicom_dir / "broken" / n for n in BROKEN])
    assert [win.entries[i].state for i in ids] == [LoadState.FAILED] * len(BROKEN)
    assert len(win.notifications.messages) == len(BROKEN)
    assert "4 files could not be opened" in win.notifications.label.text()
    for title, message in win.notifications.messages:
        assert title and message and "Traceback" not in message
    win.notifications.close_button.click()
    assert not win.notifications.isVisible()


def test_open_folder_recursive_and_drop(qtbot, isolated, tmp_path):
    folder = tmp_path / "exam"
    (folder / "sub").mkdir(parents=True)
    write_dicom(folder / "a.dcm", block_image())
    write_dicom(folder / "sub" / "b", block_image())  # no suffix: recognised by its content
    (folder / "notes.txt").write_text("not an image")
    win = make_window(qtbot, load_model=False)
    with qtbot.waitSignal(win.worklist.opened, timeout=20_000):  # a folder: the worklist's worker walks it
        assert win.open_paths([folder]) == []
    assert sorted(r.entry.path.name for r in win.worklist.view.model.rows()) == ["a.dcm", "b"]
    qtbot.waitUntil(lambda: win.current is not None and win.current.ready, timeout=20_000)  # its first row
    win.actions_["worklist_next"].trigger()  # and the second, as the user would
    qtbot.waitUntil(lambda: len(win.entries) == 2 and all(e.ready for e in win.entries.values()))
    assert sorted(e.name for e in win.entries.values()) == ["a.dcm", "b"]
    # opening the same file again selects it instead of opening a copy
    assert win.open_paths([folder / "a.dcm"]) == []
    # drag and drop onto the image view
    extra = write_dicom(tmp_path / "dropped.dcm", block_image())
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(extra))])
    vp = win.view
    center = vp.rect().center()
    enter = QtGui.QDragEnterEvent(  # takes a QPoint (a QPointF only from PySide6 6.12)
        center,
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.LeftButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    QtCore.QCoreApplication.sendEvent(vp, enter)
    assert enter.isAccepted()
    drop = QtGui.QDropEvent(
        QtCore.QPointF(center),
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.LeftButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    QtCore.QCoreApplication.sendEvent(vp, drop)
    qtbot.waitUntil(
        lambda: any(e.name == "dropped.dcm" and e.ready for e in win.entries.values()), timeout=10_000
    )
    # ... and anywhere else on the window (study list, panels)
    other = write_dicom(tmp_path / "dropped2.dcm", block_image())
    mime2 = QtCore.QMimeData()
    mime2.setUrls([QtCore.QUrl.fromLocalFile(str(other))])
    drop2 = QtGui.QDropEvent(
        QtCore.QPointF(5, 5),
        QtCore.Qt.DropAction.CopyAction,
        mime2,
        QtCore.Qt.MouseButton.LeftButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    win.dropEvent(drop2)  # the window's own handler (Qt routes real drops to the widget under the cursor)
    assert drop2.isAccepted()
    qtbot.waitUntil(
        lambda: any(e.name == "dropped2.dcm" and e.ready for e in win.entries.values()), timeout=10_000
    )
    # close studies
    win.studies.close_current()
    assert len(win.entries) == 3 and win.current is not None
    win.studies.step(1)
    assert win.current.ready


def test_viewer_works_without_model(qtbot, isolated, tmp_path):
    win = make_window(qtbot, model_path=tmp_path / "missing.onnx")
    assert win.model is None and "not found" in win.model_error
    path = write_dicom(tmp_path / "s.dcm", block_image())
    open_and_wait(qtbot, win, [path])
    assert win.current.ready and win.view.image_item.image is not None
    assert win.ai_panel.prob_label.text() == "n/a"
    assert "works without it" in win.ai_panel.threshold_label.text()
    assert "No AI model" in win.ai_panel.model_label.text() and "not found" in win.ai_panel.model_label.text()
    assert not win.view.heatmap.isVisible()
    # exporting still works, and says there is no AI result
    rgb = win.export.render_export(ExportOptions())
    assert rgb.shape[1] == 400
    assert win.export.export_context().ai_line.startswith("AI: no result")


def test_bad_model_contract_is_explained(qtbot, isolated, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07" + b"not really an onnx model" * 10)
    win = make_window(qtbot, model_path=bad)
    assert win.model is None and win.model_error
    assert win.ai_status.text() == "AI unavailable"
    from viewer.gui.widgets.about import AboutDialog

    dlg = AboutDialog(win, None, win.model_error)
    qtbot.addWidget(dlg)
    assert win.model_error.split(":")[0] in dlg.card.toPlainText()
    assert "Research use only - not for diagnostic use." in dlg.notice.text()


def test_about_shows_model_card(qtbot, isolated, tiny_model_path):
    win = make_window(qtbot, tiny_model_path)
    win.actions_["about"].trigger()
    from viewer.gui.widgets.about import AboutDialog

    dlg = win.findChild(AboutDialog)
    text = dlg.card.toPlainText()
    for expected in (
        "tiny-test-model 0.0.1",
        "high_sensitivity 0.30",
        "Tests only. Not a medical device.",
        "A toy network",
        "temperature 2",
        "CPU",
    ):
        assert expected in text
    assert "children aged 1-5" in dlg.notice.text()
    dlg.close()


@pytest.mark.shared
def test_full_session_opens_no_socket(qtbot, isolated, tiny_model_path, dicom_dir, tmp_path, monkeypatch):
    attempts = []

    class NoSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            attempts.append(args)
            raise OSError("network access is not allowed in Pneumoscope")

    def no_connection(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access is not allowed in Pneumoscope")

    monkeypatch.setattr(socket, "socket", NoSocket)
    monkeypatch.setattr(socket, "create_connection", no_connection)
    monkeypatch.setattr(socket, "getaddrinfo", no_connection)
    win = make_window(qtbot, tiny_model_path)
    open_and_wait(
        qtbot,
        win,
        [dicom_dir / "chest" / "siim_cr_chest_pa_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"],
    )
    assert win.current.result is not None
    win.current.layer.add_arrow((100, 100), (300, 300))
    out = win.export.export_to(tmp_path / "session.png", ExportOptions(include_identifiers=False))
    assert out is not None and out.stat().st_size > 10_000
    win.actions_["about"].trigger()
    win.close()
    assert attempts == []


def test_crash_handler_logs_and_shows_dialog(qtbot, isolated):
    from viewer.gui import crash

    try:
        raise RuntimeError("synthetic failure for the crash handler")
    except RuntimeError:
        exc_type, exc, tb = sys.exc_info()
    crash.handle_exception(exc_type, exc, tb)
    logs = list((isolated / "logs").glob("crash-*.log"))
    assert len(logs) == 1
    text = logs[0].read_text()
    assert "synthetic failure for the crash handler" in text and "Traceback" in text
    boxes = _visible_message_boxes()
    assert len(boxes) == 1 and not boxes[0].isModal()
    assert str(logs[0]) in boxes[0].informativeText()
    boxes[0].close()
    previous = sys.excepthook
    crash.install()
    try:
        assert sys.excepthook is crash.handle_exception
    finally:
        crash.uninstall()
    assert sys.excepthook is previous


def test_command_line(monkeypatch, isolated, tmp_path):
    import viewer.__main__ as entry
    import viewer.gui.app as app_mod

    calls = []
    monkeypatch.setattr(
        app_mod, "run", lambda paths, force_cpu, model_path: calls.append((paths, force_cpu, model_path)) or 0
    )
    assert entry.main(["a.dcm", "folder", "--force-cpu"]) == 0
    assert calls == [(["a.dcm", "folder"], True, None)]
    assert entry.main([]) == 0 and calls[-1] == ([], False, None)
    args = entry.build_parser().parse_args(["--self-test"])
    assert args.self_test
    with pytest.raises(SystemExit):
        entry.build_parser().parse_args(["--no-such-flag"])


def test_workers_report_errors_in_gui_thread(qtbot):
    from viewer.gui.workers import TaskRunner

    runner = TaskRunner()
    got = {}
    gui_thread = QtCore.QThread.currentThread()

    def ok(x):
        return x * 2

    def fail():
        raise ValueError("bad thing")

    runner.submit(
        ok, 21, on_result=lambda v: got.update(ok=(v, QtCore.QThread.currentThread() is gui_thread))
    )
    runner.submit(fail, on_error=lambda f: got.update(err=(f.title, f.message)))
    qtbot.waitUntil(lambda: len(got) == 2 and runner.pending == 0, timeout=5000)
    assert got["ok"] == (42, True)
    assert got["err"] == ("Unexpected error", "ValueError: bad thing")


def test_closed_studies_are_freed(qtbot, isolated, tiny_model_path, tmp_path):
    """Closing a study releases its frames, its annotations and its entry (the thread pool and the undo stack
    used to keep them alive for the rest of the session)."""
    import gc
    import weakref

    win = make_window(qtbot, tiny_model_path)
    paths = [write_dicom(tmp_path / f"s{i}.dcm", block_image()) for i in range(3)]
    ids = open_and_wait(qtbot, win, paths)
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=20_000)
    refs = [weakref.ref(win.entries[i]) for i in ids]
    frames = [weakref.ref(win.entries[i].study) for i in ids]
    for i in ids:
        win.close_entry(i)
    QtCore.QCoreApplication.processEvents()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    gc.collect()
    assert [r() for r in refs] == [None, None, None]
    assert [r() for r in frames] == [None, None, None]


def test_cancelled_tasks_never_call_back_and_are_forgotten(qtbot):
    from viewer.gui.workers import TaskRunner

    runner = TaskRunner(max_threads=1)
    calls = []
    first = runner.submit(time.sleep, 0.3, on_result=lambda _: calls.append("first"))
    queued = runner.submit(lambda: "queued", on_result=lambda _: calls.append("queued"))
    runner.cancel(queued)  # still waiting behind the first: taken out of the queue
    running = runner.submit(time.sleep, 0.5, on_result=lambda _: calls.append("late"))
    qtbot.waitUntil(lambda: runner.pending == 1 and "first" in calls, timeout=5_000)
    runner.cancel(running)
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=5_000)
    assert calls == ["first"] and first.fn is None and queued.fn is None
    runner.wait()


def test_nothing_of_a_previous_study_stays_on_screen(qtbot, isolated, tiny_model_path, tmp_path):
    """Every panel, the title and the readouts follow the current entry: switching to a failed file or
    closing the last one clears what the previous study showed."""
    good = write_dicom(tmp_path / "adult.dcm", block_image(), age="")  # age unknown, PA: caution, reasons
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"not a dicom file at all" * 20)
    win = make_window(qtbot, tiny_model_path)
    good_id, bad_id = open_and_wait(qtbot, win, [good, bad])
    win.select_entry(good_id)
    panel = win.ai_panel
    assert win.windowTitle() == "adult.dcm - Pneumoscope"
    assert panel.prob_label.text().endswith("%") and panel.warning_box.isVisibleTo(panel)
    win.view.scene().sigMouseMoved.emit(win.view.content.mapToScene(QtCore.QPointF(20.5, 30.5)))
    assert win.pixel_label.text().startswith("x 20  y 30")
    assert win.tag_browser.model.rowCount() > 10 and win.view.heatmap.isVisible()

    win.select_entry(bad_id)
    assert win.windowTitle() == "broken.dcm - Pneumoscope"
    assert panel.prob_label.text() == "n/a" and not panel.warning_box.isVisibleTo(panel)
    assert "suggested" not in panel.verdict_label.text() and not panel.state_badge.isVisibleTo(panel)
    assert win.pixel_label.text() == "" and win.tag_browser.model.rowCount() == 0
    assert win.view.image_item.image is None and not win.view.heatmap.isVisible()
    assert not win.actions_["export"].isEnabled() and win.actions_["close_study"].isEnabled()

    win.select_entry(good_id)
    win.view.scene().sigMouseMoved.emit(win.view.content.mapToScene(QtCore.QPointF(20.5, 30.5)))
    win.close_entry(good_id)
    assert win.current is win.entries[bad_id] and win.pixel_label.text() == ""
    win.close_entry(bad_id)
    assert win.current is None and win.windowTitle() == "Pneumoscope"
    assert panel.prob_label.text() == "–" and panel.verdict_label.text() == "No study open"
    assert not panel.warning_box.isVisibleTo(panel) and not panel.heatmap_box.isEnabled()
    assert not panel.state_badge.isVisibleTo(panel) and not panel.reveal_button.isVisibleTo(panel)
    assert win.view.heatmap.norm is None and win.view.corners.texts == {}
    assert not win.actions_["close_study"].isEnabled() and not win.actions_["invert"].isChecked()
