"""Heatmap overlay in the window: opacity, toggle, threshold, colour map, outline, scale, alignment."""

from __future__ import annotations

import numpy as np
import pytest
from gui_support import block_image, grab_rgb, make_window, open_and_wait, write_dicom
from PySide6 import QtCore

from viewer.core import overlay
from viewer.core.overlay import ScaleMode

BLOCK = (40, 100, 240, 330)  # rows 40..99, cols 240..329: bright, so the tiny model's hot spot


@pytest.fixture
def win(qtbot, isolated, tiny_model_path, tmp_path):
    path = write_dicom(tmp_path / "block.dcm", block_image(300, 400, BLOCK))
    w = make_window(qtbot, tiny_model_path, size=(1000, 700))
    open_and_wait(qtbot, w, [path])
    assert w.current.result is not None and not w.current.result.withheld
    return w


def _hot_point(win) -> tuple[float, float]:
    """Image (x, y) at the centre of the strongest heatmap area."""
    norm = win.view.heatmap.norm
    ys, xs = np.nonzero(norm >= norm.max() - 1e-6)
    return float(xs.mean()) + 0.5, float(ys.mean()) + 0.5


def _hot_colour(win) -> np.ndarray:
    hm = win.view.heatmap
    return overlay.colormap_lut(hm.style.colormap)[overlay.to_index(hm.norm.max())].astype(int)


def _pixel(rgb, p: QtCore.QPointF) -> np.ndarray:
    return rgb[int(round(p.y())), int(round(p.x()))].astype(int)


def test_opacity_slider_changes_only_opacity(qtbot, win):
    hm = win.view.heatmap
    qtbot.wait(50)  # painted once
    renders = hm.fill.render_count, win.view.image_item.render_count
    win.ai_panel.opacity_slider.setValue(73)
    assert hm.opacity() == pytest.approx(0.73)
    assert win.ai_panel.opacity_value.text() == "73%"
    win.ai_panel.opacity_slider.setValue(12)
    win.view.viewport().repaint()
    assert hm.opacity() == pytest.approx(0.12)
    # moving the slider never recomputes the pixels of either image
    assert (hm.fill.render_count, win.view.image_item.render_count) == renders
    # the keyboard nudges it too
    win.actions_["opacity_up"].trigger()
    assert win.ai_panel.opacity_slider.value() == 22 and hm.opacity() == pytest.approx(0.22)


def test_toggle_hides_and_pixels_follow(qtbot, win):
    win.ai_panel.opacity_slider.setValue(100)
    win.ai_panel.threshold_slider.setValue(50)
    hot = win.view.image_to_widget_f(*_hot_point(win))
    top = _hot_colour(win)
    rgb = grab_rgb(win.view)
    assert np.abs(_pixel(rgb, hot) - top).max() <= 12  # the hot spot shows the top colour
    win.actions_["heatmap"].trigger()  # H
    assert not win.view.heatmap.isVisible() and not win.ai_panel.show_check.isChecked()
    px = _pixel(grab_rgb(win.view), hot)
    assert px[0] == px[1] == px[2]  # grey image only
    win.ai_panel.show_check.setChecked(True)
    assert win.view.heatmap.isVisible() and win.actions_["heatmap"].isChecked()


def test_rotation_and_flip_keep_heatmap_on_its_pixels(qtbot, win):
    win.ai_panel.opacity_slider.setValue(100)
    win.ai_panel.threshold_slider.setValue(50)
    hx, hy = _hot_point(win)
    top = _hot_colour(win)
    cold_img = (20.0, 280.0)  # bottom-left of the image: no activation there
    positions = []
    for op in (None, "rotate_cw", "rotate_cw", "flip_h", "rotate_ccw", "flip_v"):
        if op:
            win.actions_[op].trigger()
            qtbot.wait(10)
        rgb = grab_rgb(win.view)
        hot = win.view.image_to_widget_f(hx, hy)
        cold = win.view.image_to_widget_f(*cold_img)
        positions.append((round(hot.x()), round(hot.y())))
        assert np.abs(_pixel(rgb, hot) - top).max() <= 12, op
        c = _pixel(rgb, cold)
        assert c[0] == c[1] == c[2], op
        # the image item and the heatmap share one transform: the same image point maps identically
        a = win.view.image_item.mapToScene(QtCore.QPointF(hx, hy))
        b = win.view.heatmap.fill.mapToScene(QtCore.QPointF(hx, hy))
        assert (a - b).manhattanLength() < 1e-6
    assert len(set(positions)) >= 3  # the hot spot really moved on screen


def test_threshold_colormap_outline_scale(qtbot, win):
    hm = win.view.heatmap
    win.ai_panel.threshold_slider.setValue(60)
    assert hm.style.threshold == pytest.approx(0.6)
    idx = overlay.threshold_index(0.6)
    np.testing.assert_array_equal(
        hm.fill._lut32 >> 24, np.where(np.arange(256) >= idx, 255, 0).astype(np.uint32)
    )
    win.ai_panel.colormap_combo.setCurrentIndex(win.ai_panel.colormap_combo.findData("viridis"))
    assert hm.style.colormap == "viridis" and win.ai_panel.legend.colormap == "viridis"
    win.actions_["outline"].trigger()  # O
    assert win.ai_panel.outline_check.isChecked()
    assert not hm.fill.isVisible() and hm.contours.isVisible()
    assert len(hm.contours.childItems()) >= 1
    win.ai_panel.outline_check.setChecked(False)
    assert hm.fill.isVisible() and not hm.contours.isVisible()
    # model scale (fixed) vs per image
    raw = hm.raw
    np.testing.assert_allclose(
        hm.norm, np.clip(raw / win.current.result.prediction.heatmap_scale, 0, 1), atol=1e-6
    )
    assert "same strength in every study" in win.ai_panel.legend.meaning
    win.ai_panel.scale_combo.setCurrentIndex(win.ai_panel.scale_combo.findData(ScaleMode.IMAGE.value))
    assert hm.norm.max() == pytest.approx(1.0) and hm.norm.min() == pytest.approx(0.0)
    assert "per-image" in win.ai_panel.legend.meaning


def test_style_persists_between_runs(qtbot, isolated, tiny_model_path, tmp_path):
    from gui_support import make_window as mk

    w1 = mk(qtbot, tiny_model_path)
    w1.ai_panel.opacity_slider.setValue(64)
    w1.ai_panel.colormap_combo.setCurrentIndex(w1.ai_panel.colormap_combo.findData("inferno"))
    w1.actions_["heatmap"].trigger()
    w1.actions_["info_overlay"].trigger()
    path = write_dicom(tmp_path / "recent.dcm", block_image())
    open_and_wait(qtbot, w1, [path])
    w1.close()
    w2 = mk(qtbot, tiny_model_path)
    st = w2.ai_panel.style()
    assert st.opacity == pytest.approx(0.64) and st.colormap == "inferno"
    assert not w2.actions_["heatmap"].isChecked() and not w2.actions_["info_overlay"].isChecked()
    assert w2.settings.recent_files[0] == str(path.resolve())
    assert any(a.toolTip() == str(path.resolve()) for a in w2.recent_menu.actions())
    assert str(isolated / "settings") in w2.settings.q.fileName()
