"""The worklist's Thumbnail column (issue #13): filled in behind the table by a background pass, or by the batch
triage's own rendering (each row carries its own: tests/core/test_cli_predict_collections.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from gui_support import block_image, make_window, write_dicom
from PySide6 import QtCore

from viewer.gui.widgets.worklist import COL_FILE, COL_PROBABILITY, COL_THUMBNAIL, THUMB_SIDE, thumbnail_u8

DECORATION = QtCore.Qt.ItemDataRole.DecorationRole


@pytest.fixture
def exam(tmp_path):
    """Five images that look different (their thumbnails too): DICOM and PNG, several sizes."""
    folder = tmp_path / "exam"
    folder.mkdir()
    write_dicom(folder / "a.dcm", block_image(), view="PA")
    write_dicom(folder / "b.dcm", block_image(rows=500, cols=300, block=(300, 450, 20, 120)), view="AP")
    for name, value, shape in (
        ("c.png", 30, (200, 320)),
        ("d.png", 120, (256, 256)),
        ("e.png", 220, (90, 60)),
    ):
        img = np.full(shape, value, np.uint8)
        img[: shape[0] // 3, : shape[1] // 2] = 255 - value
        assert cv2.imwrite(str(folder / name), img)
    return folder


def _open(qtbot, win, folder):
    with qtbot.waitSignal(win.worklist.opened, timeout=20_000):
        win.open_any([str(folder)])


def _array(image) -> np.ndarray:
    """A Grayscale8 QImage as an (h, w) array."""
    w, h = image.width(), image.height()
    return np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[:, :w].copy()


def _expected(path) -> np.ndarray:
    from viewer.core.display import render_default
    from viewer.core.io.load import load_study

    return thumbnail_u8(render_default(load_study(path), 0))


def test_batch_triage_gives_each_row_its_own_thumbnail(qtbot, exam, tiny_model_path):
    win = make_window(qtbot, tiny_model_path)
    _open(qtbot, win, exam)
    with qtbot.waitSignal(win.worklist.triage_finished, timeout=60_000):
        win.actions_["analyse_all"].trigger()
    view = win.worklist.view
    view.table.sortByColumn(COL_PROBABILITY, QtCore.Qt.SortOrder.DescendingOrder)
    proxy = view.proxy
    assert proxy.rowCount() == 5
    for r in range(proxy.rowCount()):
        image = proxy.index(r, COL_THUMBNAIL).data(DECORATION)
        path = view.model.row(proxy.mapToSource(proxy.index(r, 0)).row()).entry.path
        assert proxy.index(r, COL_FILE).data() == str(path)
        assert image is not None and max(image.width(), image.height()) == THUMB_SIDE
        # the thumbnail of this very file (the model's input rendering, shrunk), not another row's
        got, want = _array(image), _expected(path)
        assert got.shape == want.shape
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1, path.name
    # about 4 KB a row: 1,000 rows stay near 4 MB
    assert all(r.thumbnail.sizeInBytes() <= THUMB_SIDE * (THUMB_SIDE + 3) for r in view.model.rows())


def test_thumbnails_fill_in_behind_the_table_without_an_analysis(qtbot, exam):
    """No model, no Analyse all: every readable row gets its own thumbnail in the background; a file that
    cannot be read gets none (and the pass ends)."""
    (exam / "broken.dcm").write_bytes(b"DICM" * 40)  # found by the walk, unreadable
    win = make_window(qtbot, load_model=False)
    _open(qtbot, win, exam)
    model = win.worklist.view.model
    assert model.rowCount() == 6
    qtbot.waitUntil(lambda: win.worklist.thumbnailing is None, timeout=30_000)
    for r in model.rows():
        if r.entry.path.name == "broken.dcm":
            assert r.thumbnail is None
            continue
        assert r.thumbnail is not None, r.entry.path.name
        got, want = _array(r.thumbnail), _expected(r.entry.path)
        assert got.shape == want.shape and np.abs(got.astype(int) - want.astype(int)).max() <= 1, r.entry.path


def test_analyse_all_takes_over_from_the_thumbnail_pass(qtbot, exam, tiny_model_path):
    win = make_window(qtbot, tiny_model_path)
    qtbot.waitUntil(lambda: win.model is not None, timeout=30_000)
    _open(qtbot, win, exam)
    win.actions_["analyse_all"].trigger()
    assert win.worklist.thumbnailing is None  # stopped: the triage makes the thumbnails of the rows it scores
    qtbot.waitUntil(lambda: win.worklist.analysing is None, timeout=60_000)
    qtbot.waitUntil(lambda: win.worklist.thumbnailing is None, timeout=30_000)
    assert all(r.thumbnail is not None for r in win.worklist.view.model.rows())
