"""Annotations: measured lengths with their spacing source, drawing with the mouse, move, delete, undo."""

from __future__ import annotations

import pytest
from gui_support import block_image, make_window, mouse_drag, open_and_wait, write_dicom
from PySide6 import QtCore

from viewer.core.study import PixelSpacing, SpacingSource
from viewer.gui.annotations import ArrowAnnotation, EllipseAnnotation, RulerAnnotation, format_length


class TestFormatLength:
    def test_detector_plane(self):
        sp = PixelSpacing(0.5, 0.5, SpacingSource.DETECTOR)
        assert format_length(100, 0, sp) == "50.0 mm (detector plane)"

    def test_anisotropic_spacing(self):
        sp = PixelSpacing(0.2, 0.1, SpacingSource.CALIBRATED)  # rows 0.2 mm apart, columns 0.1 mm
        assert format_length(30, 40, sp) == f"{(3.0**2 + 8.0**2) ** 0.5:.1f} mm (calibrated)"

    def test_unknown_plane_and_pixels(self):
        assert (
            format_length(0, 84.6, PixelSpacing(0.1, 0.1, SpacingSource.UNKNOWN)) == "8.5 mm (plane unknown)"
        )
        assert format_length(120, 0, PixelSpacing(None, None)) == "120 px (no calibration)"
        assert format_length(72, 96, PixelSpacing(0.0, 0.0, SpacingSource.NONE)) == "120 px (no calibration)"


@pytest.fixture
def win(qtbot, isolated, tmp_path):
    path = write_dicom(
        tmp_path / "spacing.dcm", block_image(300, 400), pixel_spacing=(0.5, 0.5), imager_spacing=(0.5, 0.5)
    )
    w = make_window(qtbot, load_model=False, size=(1100, 760))
    open_and_wait(qtbot, w, [path])
    assert w.current.study.meta.pixel_spacing.source is SpacingSource.DETECTOR
    return w


def test_ruler_on_calibrated_file(qtbot, win):
    layer = win.current.layer
    ruler = layer.add_ruler((50, 120), (150, 120))  # 100 px
    assert ruler.text() == "50.0 mm (detector plane)"
    assert ruler.label.text == "50.0 mm (detector plane)"
    # rotate the display: the measurement is in image coordinates, it does not change
    win.actions_["rotate_cw"].trigger()
    win.actions_["flip_h"].trigger()
    assert ruler.text() == "50.0 mm (detector plane)"
    # drag the endpoint handle: 100 -> 160 px
    ruler.set_handle(1, QtCore.QPointF(210, 120))
    assert ruler.text() == "80.0 mm (detector plane)"


def test_ruler_without_spacing_says_pixels(qtbot, isolated, tmp_path):
    path = write_dicom(tmp_path / "nospacing.dcm", block_image(), pixel_spacing=None, imager_spacing=None)
    w = make_window(qtbot, load_model=False)
    open_and_wait(qtbot, w, [path])
    ruler = w.current.layer.add_ruler((10, 10), (130, 10))
    assert ruler.text() == "120 px (no calibration)"


def test_draw_ruler_with_the_mouse(qtbot, win):
    view = win.view
    win.actions_["tool_ruler"].trigger()
    assert view.tool == "ruler"
    a, b = view.image_to_widget_f(60, 150), view.image_to_widget_f(260, 150)
    mouse_drag(view.viewport(), a, b, qtbot=qtbot)
    items = win.current.layer.items
    assert len(items) == 1 and isinstance(items[0], RulerAnnotation)
    r = items[0]
    p1, p2 = r.mapToParent(r.p1), r.mapToParent(r.p2)
    tol = 2.0 / view.zoom()  # integer mouse positions
    assert abs(p1.x() - 60) < tol and abs(p2.x() - 260) < tol and abs(p1.y() - 150) < tol
    assert r.text().endswith("mm (detector plane)")
    assert float(r.text().split()[0]) == pytest.approx(100.0, abs=0.5 * tol + 0.1)
    # a click (no drag) creates nothing
    c = view.image_to_widget_f(200, 200)
    mouse_drag(view.viewport(), c, c + QtCore.QPointF(1, 0), qtbot=qtbot)
    assert len(win.current.layer.items) == 1


def test_draw_arrow_and_ellipse_then_undo(qtbot, win):
    view = win.view
    vp = view.viewport()
    win.actions_["tool_arrow"].trigger()
    mouse_drag(vp, view.image_to_widget_f(100, 200), view.image_to_widget_f(200, 100), qtbot=qtbot)
    win.actions_["tool_ellipse"].trigger()
    mouse_drag(vp, view.image_to_widget_f(250, 180), view.image_to_widget_f(350, 260), qtbot=qtbot)
    layer = win.current.layer
    assert [type(i) for i in layer.items] == [ArrowAnnotation, EllipseAnnotation]
    win.undo_action.trigger()
    assert [type(i) for i in layer.items] == [ArrowAnnotation]
    win.redo_action.trigger()
    assert [type(i) for i in layer.items] == [ArrowAnnotation, EllipseAnnotation]


def test_select_move_delete_undo(qtbot, win):
    view = win.view
    layer = win.current.layer
    arrow = layer.add_arrow((100, 100), (200, 100))
    text = layer.add_text((120, 220), "RLL opacity")
    assert [s.kind for s in layer.shapes()] == ["arrow", "text"]
    win.actions_["tool_wl"].trigger()
    # drag the arrow by its middle: it moves (and W/L does not change)
    window_before = win.display.effective_window()
    start = view.image_to_widget_f(150, 100)
    mouse_drag(view.viewport(), start, start + QtCore.QPointF(0, 40), qtbot=qtbot)
    assert arrow.isSelected()
    dy = arrow.pos().y()
    assert dy == pytest.approx(40 / view.zoom(), rel=0.1)
    assert win.display.effective_window() == window_before
    assert layer.shapes()[0].points[0][1] == pytest.approx(100 + dy)
    win.undo_action.trigger()  # undo the move
    assert arrow.pos().y() == pytest.approx(0)
    # Del removes the selection, Ctrl+Z brings it back
    arrow.setSelected(True)
    text.setSelected(True)
    win.actions_["delete"].trigger()
    assert layer.items == []
    assert arrow.scene() is None
    win.undo_action.trigger()
    assert set(layer.items) == {arrow, text} and arrow.scene() is view.scene()


def test_annotations_belong_to_their_study(qtbot, win, tmp_path):
    first = win.current
    first.layer.add_arrow((10, 10), (50, 50))
    path = write_dicom(tmp_path / "second.dcm", block_image())
    (second_id,) = open_and_wait(qtbot, win, [path])
    win.select_entry(second_id)
    assert win.current.layer.items == [] and win.view.annotations is win.current.layer
    win.undo_action.trigger()  # nothing to undo in the second study
    win.select_entry(first.id)
    assert len(first.layer.items) == 1
    win.undo_action.trigger()
    assert first.layer.items == []


def test_text_tool_asks_for_the_label(qtbot, win, monkeypatch):
    from PySide6 import QtWidgets

    monkeypatch.setattr(QtWidgets.QInputDialog, "getText", staticmethod(lambda *a, **k: ("Effusion?", True)))
    view = win.view
    win.actions_["tool_text"].trigger()
    p = view.image_to_widget_f(120, 80)
    mouse_drag(view.viewport(), p, p, steps=1, qtbot=qtbot)  # a click
    (item,) = win.current.layer.items
    assert item.kind == "text" and item.text == "Effusion?"
    assert abs(item.pos().x() - 120) < 2 / view.zoom() and abs(item.pos().y() - 80) < 2 / view.zoom()
