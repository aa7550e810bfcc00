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

    monkeypatch.setattr(studies, "load_job", job)
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
