"""Export for reports: size, burned-in heatmap and annotations, footer, identifiers, overwrite, atomicity."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from gui_support import (
    PATIENT_ID,
    PATIENT_NAME,
    block_image,
    make_window,
    open_and_wait,
    write_dicom,
)
from PySide6 import QtCore, QtWidgets

from viewer.core import overlay
from viewer.gui import export as export_mod
from viewer.gui.annotations import COLOUR
from viewer.gui.export import ExportOptions

ROWS, COLS = 300, 400
BLOCK = (40, 100, 240, 330)


@pytest.fixture
def win(qtbot, isolated, tiny_model_path, tmp_path):
    path = write_dicom(tmp_path / "study.dcm", block_image(ROWS, COLS, BLOCK))
    w = make_window(qtbot, tiny_model_path, size=(1100, 760))
    open_and_wait(qtbot, w, [path])
    w.ai_panel.opacity_slider.setValue(60)
    w.ai_panel.threshold_slider.setValue(30)
    return w


def _read(path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _footer_height(win, options) -> int:
    ctx = win.export.export_context()
    return export_mod.render_footer(COLS, export_mod.footer_lines(ctx, options)).shape[0]


def _near(rgb: np.ndarray, colour, tol: int = 40) -> np.ndarray:
    return (np.abs(rgb.astype(int) - np.array([colour.red(), colour.green(), colour.blue()])) <= tol).all(
        axis=2
    )


def test_full_resolution_export(qtbot, win, tmp_path):
    layer = win.current.layer
    layer.add_arrow((30, 250), (150, 180))
    layer.add_ruler((20, 280), (120, 280))
    out = tmp_path / "report.png"
    opts = ExportOptions(full_resolution=True, include_identifiers=False)
    assert win.export.export_to(out, opts) == out
    img = _read(out)
    fh = _footer_height(win, opts)
    assert img.shape == (ROWS + fh, COLS, 3)
    body = img[:ROWS]
    # heatmap at 60 %: exactly the overlay compositing of what is displayed, where no annotation is drawn
    expected = overlay.composite(win.current.displayed_u8(), win.view.heatmap.norm, win.view.heatmap.style)
    hot = win.view.heatmap.norm >= 0.5
    assert hot.any()
    diff = np.abs(body.astype(int) - expected.astype(int)).max(axis=2)
    assert np.median(diff[hot]) <= 1
    assert (body[hot][:, 0].astype(int) - body[hot][:, 2].astype(int)).mean() > 30  # warm colours
    # annotations burned in: annotation yellow along the arrow and the ruler
    yellow = _near(body, COLOUR)
    assert yellow[180 - 12 : 250 + 12, 30:150].sum() > 50  # arrow region
    assert yellow[275:286, 20:120].sum() > 50  # ruler line
    assert not yellow[150:170, 350:390].any()  # nowhere near an annotation
    # no patient text in the file, in pixels or metadata
    data = out.read_bytes()
    for secret in (PATIENT_NAME.encode(), b"Doe", PATIENT_ID.encode(), b"tEXt", b"iTXt", b"zTXt"):
        assert secret not in data


def test_identifiers_only_when_ticked(qtbot, win, tmp_path):
    without = win.export.render_export(ExportOptions(True, include_identifiers=False))
    with_ids = win.export.render_export(ExportOptions(True, include_identifiers=True))
    ctx = win.export.export_context()
    assert "DOE, Jane" in ctx.patient_line and PATIENT_ID in ctx.patient_line
    lines_without = [t for t, _ in export_mod.footer_lines(ctx, ExportOptions(True, False))]
    lines_with = [t for t, _ in export_mod.footer_lines(ctx, ExportOptions(True, True))]
    assert not any("DOE" in t or PATIENT_ID in t for t in lines_without)
    assert any("DOE, Jane" in t for t in lines_with)
    assert ctx.study_line  # the study date is an identifier too: only with the box ticked
    assert not any(ctx.study_line in t for t in lines_without)
    assert any(ctx.study_line in t for t in lines_with)
    assert any("Research use only - not for diagnostic use." == t for t in lines_without)
    assert any("tiny-test-model 0.0.1" in t for t in lines_without)
    assert any("threshold 0.3)" in t and "%" in t for t in lines_without)
    np.testing.assert_array_equal(without[:ROWS], with_ids[:ROWS])  # same image
    assert with_ids.shape[0] > without.shape[0] or not np.array_equal(without[ROWS:], with_ids[ROWS:])


def test_export_follows_orientation_and_window(qtbot, win, tmp_path):
    win.current.layer.add_text((300, 60), "L")
    win.actions_["rotate_cw"].trigger()
    win.actions_["invert"].trigger()
    rgb = win.export.render_export(ExportOptions(True, False))
    assert rgb.shape[1] == ROWS  # rotated: width = image rows
    body = rgb[:COLS]
    ctx = win.export.export_context()
    expected = np.rot90(overlay.composite(ctx.display_u8, ctx.heatmap, ctx.style), -1)
    mask = np.ones(expected.shape[:2], bool)
    yellow = _near(body, COLOUR, 60)
    assert yellow.any()  # the text label is burned in
    mask &= ~yellow
    diff = np.abs(body.astype(int) - expected.astype(int)).max(axis=2)
    assert np.median(diff[mask]) == 0
    np.testing.assert_array_equal(ctx.display_u8, 255 - win.current.default_u8)


def test_as_shown_export_and_clipboard(qtbot, win):
    opts = ExportOptions(full_resolution=False)
    rgb = win.export.render_export(opts)
    shown = win.view.grab_image_area()
    assert rgb.shape[1] == shown.width() and rgb.shape[0] > shown.height()
    assert win.view.corners.isVisible()  # restored after the grab
    assert win.export.copy_to_clipboard(opts)
    clip = QtWidgets.QApplication.clipboard().image()
    assert (clip.width(), clip.height()) == (rgb.shape[1], rgb.shape[0])


def test_overwrite_needs_confirmation(qtbot, win, tmp_path, monkeypatch):
    out = tmp_path / "existing.png"
    out.write_bytes(b"keep me")
    opts = ExportOptions()
    asked = []
    assert win.export.export_to(out, opts, ask=lambda parent, p: asked.append(p) or False) is None
    assert asked == [out] and out.read_bytes() == b"keep me"
    # the real question: default button is No, answering No keeps the file
    seen = {}

    def answer():
        box = QtWidgets.QApplication.activeModalWidget()
        assert isinstance(box, QtWidgets.QMessageBox)
        seen["default"] = box.defaultButton() is box.button(QtWidgets.QMessageBox.StandardButton.No)
        box.button(QtWidgets.QMessageBox.StandardButton.No).click()

    QtCore.QTimer.singleShot(50, answer)
    assert win.export.export_to(out, opts) is None
    assert seen == {"default": True} and out.read_bytes() == b"keep me"
    # Yes replaces it atomically, leaving no temporary file behind
    assert win.export.export_to(out, opts, ask=lambda parent, p: True) == out
    assert _read(out).shape[1] == COLS
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_jpeg_and_bad_suffix(qtbot, win, tmp_path):
    jpg = tmp_path / "report.jpg"
    assert win.export.export_to(jpg, ExportOptions()) == jpg
    assert jpg.read_bytes()[:2] == b"\xff\xd8" and b"Exif" not in jpg.read_bytes()[:64]
    assert win.export.export_to(tmp_path / "report.gif", ExportOptions()) is None
    assert win.notifications.isVisible() and "unsupported export format" in win.notifications.label.text()


def test_atomic_write_keeps_target_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "a.png"
    target.write_bytes(b"old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(export_mod.os, "replace", boom)
    with pytest.raises(OSError):
        export_mod.write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
