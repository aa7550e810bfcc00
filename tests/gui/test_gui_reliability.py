"""Issue #15 (reliability pass): decoder panics in the worker, and later items that need a window."""

from __future__ import annotations

import pytest
from corrupt_data import panicking_rle_dicom
from gui_support import block_image, make_window, open_and_wait, write_dicom

from viewer.gui.session import LoadState


class PanicException(BaseException):
    """Stands in for pyo3_runtime.PanicException (a BaseException, not an Exception)."""


def test_a_panic_in_a_worker_reports_damaged_image_data(qtbot):
    """Before: Task.run caught Exception only, so a panic escaped the runnable, the task never reported back
    and the study stayed "loading" for ever."""
    from viewer.gui.workers import TaskRunner

    runner = TaskRunner()
    got = []

    def panics():
        raise PanicException("index out of bounds: the len is 16 but the index is 17")

    runner.submit(panics, on_result=lambda v: got.append(("result", v)), on_error=got.append)
    qtbot.waitUntil(lambda: runner.pending == 0 and bool(got), timeout=5000)
    (failure,) = got
    assert failure.title == "Damaged image data"
    assert failure.message.startswith("The image data is damaged and its decoder failed")
    assert "index out of bounds" in failure.message and "PanicException" in failure.detail


def test_a_study_whose_decoder_panics_becomes_a_message(qtbot, tmp_path, monkeypatch):
    import viewer.gui.controllers.studies as studies

    win = make_window(qtbot, load_model=False)
    real = panicking_rle_dicom(tmp_path / "panic.dcm")  # a real pylibjpeg-rle panic, caught by the loader
    good = write_dicom(tmp_path / "good.dcm", block_image())
    real_id, good_id = open_and_wait(qtbot, win, [real, good])
    assert win.entries[real_id].state is LoadState.FAILED
    assert win.entries[real_id].failure.title == "Damaged image data"
    assert win.entries[good_id].state is LoadState.READY

    def job(path):  # a panic outside the loader's boundary (rendering, thumbnail...): the worker maps it
        raise PanicException("unwrap on a None value")

    monkeypatch.setattr(studies, "open_job", job)  # the first job of every file (a preview or the full load)
    (late,) = open_and_wait(qtbot, win, [write_dicom(tmp_path / "late.dcm", block_image())], timeout=10_000)
    assert win.entries[late].state is LoadState.FAILED
    assert win.entries[late].failure.title == "Damaged image data"


@pytest.fixture(autouse=True)
def _quiet_rust_backtraces(monkeypatch):
    monkeypatch.setenv("RUST_BACKTRACE", "0")


# --- item 4: long messages wrap inside the viewport -------------------------------------------------


def _text_columns(rgb, background_max: int = 40):
    """(first, last) column holding text (pixels brighter than the black background), rows with text."""
    import numpy as np

    bright = rgb.max(axis=2) > background_max
    cols = np.flatnonzero(bright.any(axis=0))
    rows = np.flatnonzero(bright.any(axis=1))
    return (int(cols[0]), int(cols[-1])) if cols.size else None, rows


def test_a_long_error_message_wraps_inside_the_view(qtbot, tmp_path):
    """Before: the failed file's message was one centred line, cut off on both sides of a 700 px view."""
    from gui_support import grab_rgb

    win = make_window(qtbot, load_model=False, size=(900, 700))
    bad = tmp_path / ("a_file_with_a_long_name_" * 3 + ".dcm")
    bad.write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00")  # damaged: a long message naming the file
    open_and_wait(qtbot, win, [bad])
    view = win.view
    assert "could not be opened" in view.corners.hint and len(view.corners.hint) > 150
    rgb = grab_rgb(view)
    dpr = rgb.shape[1] / view.width()
    span, rows = _text_columns(rgb)
    assert span is not None
    assert span[0] > 10 * dpr and span[1] < rgb.shape[1] - 10 * dpr  # inside the margins on both sides
    assert rows[-1] - rows[0] > 3 * 16 * dpr  # several lines


# --- item 1: the readout and the AI panel follow the current entry ---------------------------------


def _point_at(win, x: float, y: float) -> None:
    """The mouse over image pixel (x, y) of what is shown."""
    from PySide6 import QtCore

    win.view.scene().sigMouseMoved.emit(win.view.content.mapToScene(QtCore.QPointF(x, y)))


def test_the_pixel_readout_follows_frame_orientation_and_study(qtbot, tmp_path):
    """Before: the readout kept the previous frame's value after a frame change and the previous pixel's
    position after a rotation (it was only computed when the mouse moved)."""
    import numpy as np

    frames = np.stack([block_image(120, 160) + 100 * i for i in range(3)])
    multi = write_dicom(tmp_path / "multi.dcm", frames)
    small = write_dicom(tmp_path / "small.dcm", block_image(20, 30))
    win = make_window(qtbot, load_model=False)
    multi_id, small_id = open_and_wait(qtbot, win, [multi, small])
    win.select_entry(multi_id)
    study = win.entries[multi_id].study
    _point_at(win, 150.5, 10.5)
    assert win.pixel_label.text() == f"x 150  y 10  value {study.frames[0][10, 150]:g}"
    win.display.set_frame(2)
    assert win.pixel_label.text() == f"x 150  y 10  value {study.frames[2][10, 150]:g}"
    win.display.orient("rotated_cw")  # the same spot on screen is another pixel now
    text = win.pixel_label.text()
    assert text != f"x 150  y 10  value {study.frames[2][10, 150]:g}"
    if text:
        x, y = (int(v) for v in text.split()[1:4:2])
        assert text == f"x {x}  y {y}  value {study.frames[2][y, x]:g}"
    win.select_entry(small_id)  # a 30 x 20 image: never a position outside it
    text = win.pixel_label.text()
    if text:
        x, y = (int(v) for v in text.split()[1:4:2])
        assert 0 <= x < 30 and 0 <= y < 20
    from PySide6 import QtCore, QtWidgets

    QtWidgets.QApplication.sendEvent(win.view.viewport(), QtCore.QEvent(QtCore.QEvent.Type.Leave))
    assert win.pixel_label.text() == ""


def test_ai_panel_and_title_after_a_failed_or_closed_study(qtbot, tiny_model_path, tmp_path):
    """ "AI result not available" has the same neutral colour whichever study came before (it was green
    after a normal study, orange after an out-of-scope one); Ctrl+W retitles the window."""
    child = write_dicom(tmp_path / "child.dcm", block_image())  # 4 years, PA chest
    adult = write_dicom(tmp_path / "adult.dcm", block_image(), age="062Y")  # out of scope
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00")
    win = make_window(qtbot, tiny_model_path)
    child_id, adult_id, bad_id = open_and_wait(qtbot, win, [child, adult, bad])
    verdict = win.ai_panel.verdict_label
    styles = {}
    for previous in (child_id, adult_id):
        win.select_entry(previous)
        assert "color" in verdict.styleSheet()  # the result has its colour
        win.select_entry(bad_id)
        assert verdict.text() == "AI result not available"
        styles[previous] = verdict.styleSheet()
    assert styles[child_id] == styles[adult_id] and "color" not in styles[child_id]
    win.select_entry(adult_id)
    win.actions_["close_study"].trigger()  # Ctrl+W
    assert win.current is not None and win.windowTitle() == f"{win.current.name} - Pneumoscope"
    win.actions_["close_study"].trigger()
    win.actions_["close_study"].trigger()
    assert win.current is None and win.windowTitle() == "Pneumoscope"


# --- item 3: multi-frame: one automatic window per series; say which frame the AI ran on ------------


def test_multi_frame_keeps_one_automatic_window_and_names_the_ai_frame(qtbot, tiny_model_path, tmp_path):
    """Before: the automatic window was recomputed for every frame (W 358 on frame 1, W 348 on frame 4) and
    the heatmap vanished on frames other than the first without a word."""
    import numpy as np

    from viewer.core import display

    frames = np.stack([block_image(value=1500 + 800 * i) for i in range(4)])  # no window in the file
    path = write_dicom(tmp_path / "multi.dcm", frames)
    win = make_window(qtbot, tiny_model_path)
    (eid,) = open_and_wait(qtbot, win, [path])
    entry = win.entries[eid]
    study = entry.study
    first = entry.effective_window()
    assert display.auto_window(study.frames[3]) != first  # the frames really differ
    corners = win.view.corners
    w_line = next(line for line in corners.texts["br"] if line.startswith("W "))
    assert not any("AI result" in line for line in corners.texts["bl"])  # frame 1: the heatmap is there
    win.display.set_frame(3)
    assert entry.effective_window() == first
    np.testing.assert_array_equal(entry.displayed_u8(), display.render(study.frames[3], study.meta, first))
    assert w_line in corners.texts["br"]
    assert "AI result and heatmap: frame 1 only" in corners.texts["bl"]
    assert not win.view.heatmap.isVisible()
    win.display.auto_window()  # asked for: the automatic window of the frame shown
    assert entry.effective_window() == display.auto_window(study.frames[3])


# --- item 6: a key hides the corner texts (not the messages); text kept off the image when there is room


def test_corner_texts_stay_off_a_fitted_image_and_tab_hides_them_not_the_message(qtbot, tmp_path):
    from PySide6 import QtCore

    square = write_dicom(tmp_path / "square.dcm", block_image(400, 400))
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"\x00" * 128 + b"DICM" + b"\x02\x00")
    win = make_window(qtbot, load_model=False, size=(1300, 800))
    sq_id, bad_id = open_and_wait(qtbot, win, [square, bad])
    win.select_entry(sq_id)
    view, corners = win.view, win.view.corners
    qtbot.wait(50)  # the refit once the corner texts are known
    image = QtCore.QRectF(view.image_to_widget_f(0, 0), view.image_to_widget_f(400, 400)).normalized()
    for corner, (w, h) in corners.block_sizes().items():
        x = 0 if corner[1] == "l" else view.width() - w
        y = 0 if corner[0] == "t" else view.height() - h
        assert not QtCore.QRectF(x, y, w, h).intersects(image), corner  # before: the texts covered the image
    assert image.width() > 0.8 * min(view.width(), view.height())  # at a small cost in size
    win.actions_["info_overlay"].trigger()  # Tab
    assert not corners.corners_visible and corners.block_sizes() == {}
    qtbot.wait(50)
    grown = QtCore.QRectF(view.image_to_widget_f(0, 0), view.image_to_widget_f(400, 400)).normalized()
    assert grown.width() > image.width()  # no texts: the image takes the room back
    win.select_entry(bad_id)
    assert corners.isVisible() and "could not be opened" in corners.hint  # the message is not hidden
    win.actions_["info_overlay"].trigger()


# --- item 7: the worker race (intermittent SIGSEGV) and a stress test --------------------------------


def test_tasks_share_the_runners_signals(qtbot):
    """Before: each task owned a QObject for its signals, deleted (deleteLater) as soon as the GUI had the
    result, possibly while the worker thread was still inside its emit."""
    import time

    from viewer.gui.workers import TaskRunner

    runner = TaskRunner(max_threads=2)
    got = []
    tasks = [runner.submit(time.sleep, 0.005, on_result=got.append) for _ in range(20)]
    assert all(t.signals is tasks[0].signals for t in tasks)  # one long-lived QObject, owned by the runner
    assert tasks[0].signals.parent() is runner
    qtbot.waitUntil(lambda: runner.pending == 0 and len(got) == 20, timeout=10_000)
    assert runner.wait(5000)
    assert tasks[0].signals.parent() is runner and tasks[0].fn is None  # alive; the payload is dropped


@pytest.mark.slow
def test_stress_open_and_close_studies_while_predictions_run(qtbot, tiny_model_path, tmp_path):
    """Open and close many studies while they load and the model runs; switch between them; close the window
    with work in flight. Crashed (SIGSEGV) about once in a dozen runs before the runner kept its tasks
    alive; pytest's faulthandler prints the threads' stacks if it ever does again."""
    import gc
    import time

    import numpy as np

    from viewer.gui.session import AnalysisState

    rng = np.random.default_rng(15)
    paths = [
        write_dicom(
            tmp_path / f"s{i}.dcm", block_image(160 + 8 * i, 200, value=1500 + int(rng.integers(0, 2000)))
        )
        for i in range(10)
    ]
    started = time.monotonic()
    win = make_window(qtbot, tiny_model_path)
    for round_ in range(8):
        ids = win.open_paths([str(p) for p in paths])
        for k, eid in enumerate(ids):
            if (k + round_) % 3 == 0:
                win.close_entry(eid)  # while loading or analysing
            elif eid in win.entries:
                win.select_entry(eid)
            qtbot.wait(int(rng.integers(0, 15)))
        kept = [i for i in ids if i in win.entries]
        qtbot.waitUntil(
            lambda kept=kept: all(
                i not in win.entries or win.entries[i].ai_state in (AnalysisState.DONE, AnalysisState.FAILED)
                for i in kept
            ),
            timeout=30_000,
        )
        for eid in list(win.entries):
            win.close_entry(eid)
    assert win.entries == {} and win.current is None
    win.open_paths([str(p) for p in paths[:4]])  # close the window with loads and predictions in flight
    win.close()
    assert win.runner.wait(10_000)
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=10_000)
    gc.collect()
    assert time.monotonic() - started < 60


def test_a_refit_pending_when_the_view_is_closed_or_deleted_does_nothing(qtbot):
    """A resize or a corner-text change queues a refit (QTimer.singleShot 0). It used to be queued without a
    context object, so it ran even after the view was deleted, and after pyqtgraph's ``close()`` (which
    deletes the scene's items, the ViewBox among them, but not the view) it raised "Internal C++ object
    (_ReadingViewBox) already deleted" from the event loop (the crash dialog, in the app). Now the view is
    the timer's context and a closed view does not refit; pytest-qt fails the test on any exception raised
    in the event loop."""
    import numpy as np
    from PySide6 import QtCore

    from viewer.gui.widgets.image_view import ImageView

    for ending in ("close", "delete"):
        view = ImageView()
        view.resize(400, 300)
        view.show()
        qtbot.waitExposed(view)
        view.set_image(np.zeros((100, 120), np.uint8), reset_view=True)
        view.resize(420, 310)  # fit mode: a refit is now queued
        if ending == "close":
            view.close()
        else:
            view.deleteLater()
            QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
        qtbot.wait(20)  # the queued refit would run here
        del view
