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
