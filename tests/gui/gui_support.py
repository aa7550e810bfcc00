"""Helpers shared by the GUI tests (tests/gui/): isolated settings, a window, synthetic DICOM.

Imported by the test modules (their folder is on ``sys.path`` under pytest's default import mode).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from viewer.config import ENV_LOG_DIR, ENV_MODEL, ENV_SETTINGS_DIR

PATIENT_NAME = "Doe^Jane"
PATIENT_ID = "PID-12345"


def isolate(tmp_path, monkeypatch) -> Path:
    """Settings and logs in tmp (never the user's real QSettings or log folder). ``tests/gui/conftest.py``
    applies it to every GUI test (the autouse fixture ``isolated``)."""
    monkeypatch.setenv(ENV_SETTINGS_DIR, str(tmp_path / "settings"))
    monkeypatch.setenv(ENV_LOG_DIR, str(tmp_path / "logs"))
    monkeypatch.delenv(ENV_MODEL, raising=False)
    return tmp_path


def make_window(qtbot, model_path=None, load_model: bool = True, size=(1200, 800), show: bool = True):
    from viewer.gui.app import create_app
    from viewer.gui.main_window import MainWindow

    create_app()  # theme, pyqtgraph options (the QApplication itself is pytest-qt's)
    win = MainWindow(model_path=str(model_path) if model_path else None, load_model=load_model)
    qtbot.addWidget(win)
    win.resize(*size)
    if show:
        win.show()
        qtbot.waitExposed(win)
    if load_model:
        qtbot.waitUntil(lambda: not win.model_loading, timeout=20_000)
    return win


def wait_settled(qtbot, win, ids, timeout: int = 60_000) -> None:
    """Until every entry is loaded or failed and, when a model is loaded, analysed."""

    from viewer.gui.session import AnalysisState, LoadState

    def done():
        for i in ids:
            e = win.entries[i]
            if e.state is LoadState.LOADING or (e.ready and e.full_pending):  # a preview: full res follows
                return False
            if (
                e.state is LoadState.READY
                and win.model is not None
                and e.ai_state not in (AnalysisState.DONE, AnalysisState.FAILED)
            ):
                return False
        return win.runner.pending == 0

    qtbot.waitUntil(done, timeout=timeout)
    qtbot.wait(10)


def open_and_wait(qtbot, win, paths, timeout: int = 60_000) -> list[int]:
    ids = win.open_paths([str(p) for p in paths])
    wait_settled(qtbot, win, ids, timeout)
    return ids


def write_dicom(
    path: Path,
    pixels: np.ndarray,
    *,
    pixel_spacing=(0.5, 0.5),
    imager_spacing=(0.5, 0.5),
    modality: str = "DX",
    body_part: str = "CHEST",
    view: str = "PA",
    age: str = "004Y",
    window=None,
) -> Path:
    """A small uncompressed DX/CR DICOM file (MONOCHROME2, 16-bit) written with pydicom."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # DX for presentation
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = PATIENT_NAME
    ds.PatientID = PATIENT_ID
    ds.PatientSex = "F"
    if age:
        ds.PatientAge = age
    ds.StudyDate = "20240102"
    ds.StudyDescription = "Chest synthetic"
    ds.Modality = modality
    if body_part:
        ds.BodyPartExamined = body_part
    if view:
        ds.ViewPosition = view
    if pixel_spacing:
        ds.PixelSpacing = [str(v) for v in pixel_spacing]
    if imager_spacing:
        ds.ImagerPixelSpacing = [str(v) for v in imager_spacing]
    if window:
        ds.WindowCenter, ds.WindowWidth = str(window[0]), str(window[1])
    ds.set_pixel_data(np.ascontiguousarray(pixels, dtype=np.uint16), "MONOCHROME2", 12)
    ds.save_as(path, enforce_file_format=True)
    return path


def block_image(
    rows: int = 300, cols: int = 400, block=(40, 100, 240, 330), value: int = 4000, background: int = 200
) -> np.ndarray:
    """Dark image with one bright rectangle (r0, r1, c0, c1): the tiny model's hot spot."""
    img = np.full((rows, cols), background, np.uint16)
    r0, r1, c0, c1 = block
    img[r0:r1, c0:c1] = value
    # a gentle gradient so the window is not trivial
    img += np.arange(cols, dtype=np.uint16)[None, :] // 4
    return img


def grab_rgb(widget) -> np.ndarray:
    """Widget pixels as an RGB array (device pixels)."""
    from viewer.gui.export import qimage_to_rgb

    return qimage_to_rgb(widget.grab().toImage())


def mouse_drag(widget, start, end, button=None, steps: int = 12, qtbot=None) -> None:
    """A real press-move-release drag (QMouseEvents with the button held), in widget coordinates."""
    from PySide6 import QtCore, QtGui, QtWidgets

    button = button or QtCore.Qt.MouseButton.LeftButton
    start, end = QtCore.QPointF(start), QtCore.QPointF(end)

    def send(kind, pos, buttons, btn):
        ev = QtGui.QMouseEvent(
            kind, pos, widget.mapToGlobal(pos), btn, buttons, QtCore.Qt.KeyboardModifier.NoModifier
        )
        QtWidgets.QApplication.sendEvent(widget, ev)

    E = QtCore.QEvent.Type
    send(E.MouseMove, start, QtCore.Qt.MouseButton.NoButton, QtCore.Qt.MouseButton.NoButton)
    send(E.MouseButtonPress, start, button, button)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        send(E.MouseMove, p, button, QtCore.Qt.MouseButton.NoButton)
        if qtbot is not None:
            qtbot.wait(2)
    send(E.MouseButtonRelease, end, QtCore.Qt.MouseButton.NoButton, button)
    QtWidgets.QApplication.processEvents()
