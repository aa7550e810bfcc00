"""Issue #15 item 3 / #14: a report of frame N of a multi-frame study shows and states the series' window (the
one the viewer computes once, from frame 0), never an automatic window of frame N alone."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest

from viewer import cli
from viewer.core import display
from viewer.core.io import load_study
from viewer.reports.content import window_text
from viewer.reports.export import headless_view

pytestmark = pytest.mark.shared

FRAME = 3  # emri_small.dcm: the automatic window reads W 358 on frame 1 and W 348 on frame 4


@pytest.fixture(autouse=True)
def _one_qt_application(qapp):
    """The footer and PDF need QtGui; in one pytest process with the GUI tests it is pytest-qt's QApplication."""
    return qapp


@pytest.fixture
def multi_frame(dicom_dir):
    path = dicom_dir / "variety" / "emri_small.dcm"
    study = load_study(path)
    assert study.n_frames > FRAME
    assert not study.meta.window_presets and not study.meta.voi_luts  # the window is an automatic one
    series = display.default_window(study)
    assert display.auto_window(study.frames[FRAME]) != series  # a per-frame window would differ
    return path, study, series


def test_headless_view_of_a_later_frame_uses_the_series_window(multi_frame):
    _, study, series = multi_frame
    view = headless_view(study, None, None, frame=FRAME)
    assert view.content.window == window_text(series)
    grey = display.render(study.frames[FRAME], study.meta, series)
    np.testing.assert_array_equal(view.body, np.repeat(grey[:, :, None], 3, axis=2))


def test_cli_report_of_a_later_frame_captures_the_series_window(multi_frame, tiny_model_path, tmp_path):
    path, study, series = multi_frame
    out = tmp_path / "out"
    out.mkdir()
    args = [
        "report",
        str(path),
        "--out",
        str(out),
        "--model",
        str(tiny_model_path),
        "--sc",
        "--frame",
        str(FRAME),
    ]
    assert cli.main(args) == 0
    (sc_file,) = out.glob("*-sc.dcm")
    sc = pydicom.dcmread(sc_file)
    assert window_text(series) in sc.DerivationDescription  # what the capture says it shows ...
    body = sc.pixel_array[: study.meta.rows]  # ... and what it shows: the image, then the footer band
    grey = display.render(study.frames[FRAME], study.meta, series)
    np.testing.assert_array_equal(body, np.repeat(grey[:, :, None], 3, axis=2))
