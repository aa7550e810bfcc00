"""Main window: opening studies, default window, AI panel, reading tools, frames, tags, shortcuts."""

from __future__ import annotations

import numpy as np
import pytest
from gui_support import block_image, make_window, mouse_drag, open_and_wait, write_dicom
from PySide6 import QtCore

from viewer.core import display
from viewer.core.model.inference import PneumoniaModel
from viewer.core.model.result import format_probability
from viewer.core.scope import AiState
from viewer.gui.session import AnalysisState

CHEST_FILES = [
    "canon_dx_chest_966_fixed.dcm",
    "fodicom_CR-MONO1-10-chest.dcm",
    "nih_dx_chest_1.3.6.1.4.1.11129.5.5.110503645592756492463169821050252582267888.dcm",
    "siim_cr_chest_pa_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm",
    "wg04_RG1_UNCI.dcm",
]
KERMANY_FILE = "train/PNEUMONIA/person1000_bacteria_2931.jpeg"


def _check_study_shown(win, tiny_model_path):
    e = win.current
    assert e is not None and e.ready and e.ai_state is AnalysisState.DONE
    expected = display.render_default(e.study, 0)
    item = win.view.image_item
    np.testing.assert_array_equal(item.image, expected)  # the view shows the default window
    assert tuple(item.levels) == (0, 255)
    # the model saw the default rendering: same numbers as predicting it ourselves
    ref = PneumoniaModel.load(tiny_model_path).predict(expected)
    # a JPEG 2000 chest is analysed on its reduced-resolution preview (issue #15 item 11): within 0.01
    tolerance = 0.01 if e.study.meta.transfer_syntax.startswith("JPEG 2000") else 1e-6
    assert e.result.prediction.probability == pytest.approx(ref.probability, abs=tolerance)
    panel = win.ai_panel
    assert "tiny-test-model 0.0.1" in panel.model_label.text()
    assert "CPU" in panel.model_label.text()
    assert "threshold 0.3" in panel.calibration_label.text()
    assert panel.state_badge.text() == e.result.state.title.upper()
    if e.result.withheld:  # no number, no heatmap
        assert panel.prob_label.text() == "Withheld" and panel.reveal_button.isVisibleTo(panel)
        assert not win.view.heatmap.isVisible()
        return
    assert panel.prob_label.text() == format_probability(ref.probability)
    assert "threshold 0.3 " in panel.threshold_label.text()
    assert win.view.heatmap.isVisible() and win.view.heatmap.norm is not None
    assert win.view.heatmap.norm.shape == expected.shape


@pytest.mark.shared
@pytest.mark.parametrize("name", CHEST_FILES)
def test_open_chest_file(qtbot, isolated, tiny_model_path, dicom_dir, name):
    win = make_window(qtbot, tiny_model_path)
    open_and_wait(qtbot, win, [dicom_dir / "chest" / name])
    _check_study_shown(win, tiny_model_path)
    meta = win.current.study.meta
    if meta.patient.age_years is not None and meta.patient.age_years > 10:
        assert win.current.result.state is not AiState.IN_SCOPE
        assert win.ai_panel.warning_box.isVisibleTo(win.ai_panel)
        assert "children aged 1-5" in win.ai_panel.warning_box.text()


@pytest.mark.shared
def test_open_kermany_image(qtbot, isolated, tiny_model_path, kermany_dir):
    win = make_window(qtbot, tiny_model_path)
    open_and_wait(qtbot, win, [kermany_dir / KERMANY_FILE])
    _check_study_shown(win, tiny_model_path)
    # a Kermany image is what the model was trained on: only its unrecorded age (a JPEG has none) is flagged
    result = win.current.result
    assert result.state is AiState.CAUTION
    assert [f.rule for f in result.assessment.findings] == ["age-unknown"]
    assert "Research use only - not for diagnostic use" in win.ai_panel.notice_label.text()


def test_window_level_drag_and_presets(qtbot, isolated, tmp_path):
    path = write_dicom(tmp_path / "wl.dcm", block_image(), window=(2000, 4000))
    win = make_window(qtbot, load_model=False)
    open_and_wait(qtbot, win, [path])
    e = win.current
    assert win.display.effective_window().center == 2000 and win.display.effective_window().width == 4000
    # left drag with the W/L tool: right = wider, down = higher level
    vp = win.view.viewport()
    c = QtCore.QPointF(vp.rect().center())
    mouse_drag(vp, c, c + QtCore.QPointF(100, 50), qtbot=qtbot)
    qtbot.wait(20)
    w = win.display.effective_window()
    assert w.width > 4000 and w.center > 2000
    np.testing.assert_array_equal(
        win.view.image_item.image, display.render(e.study.frames[0], e.study.meta, w)
    )
    # clamped to window_range however far the drag goes
    for _ in range(200):
        win.display.drag_window(-500, -500)
    qtbot.wait(20)
    lo_w, hi_w, lo_c, hi_c = display.window_range(e.study.meta, e.study.frames[0])
    assert win.display.effective_window().width == lo_w and win.display.effective_window().center == lo_c
    # default (0) and auto (9)
    win.actions_["window_default"].trigger()
    np.testing.assert_array_equal(win.view.image_item.image, e.default_u8)
    win.actions_["window_auto"].trigger()
    assert win.display.effective_window().name.startswith("Auto")
    # invert
    win.actions_["window_default"].trigger()
    win.actions_["invert"].trigger()
    np.testing.assert_array_equal(win.view.image_item.image, 255 - e.default_u8)
    assert "inverted" in win.view.corners.texts["br"][-1]


def test_zoom_fit_and_one_to_one(qtbot, isolated, tmp_path):
    path = write_dicom(tmp_path / "z.dcm", block_image(600, 800))
    win = make_window(qtbot, load_model=False)
    open_and_wait(qtbot, win, [path])
    view = win.view
    view.fit()
    vr = view.vb.viewRect()
    assert vr.contains(view.oriented_rect())  # the whole image is visible
    win.actions_["one_to_one"].trigger()
    assert view.zoom() == pytest.approx(1.0, rel=0.02)
    assert any("Zoom 100%" in line for line in view.corners.texts["br"])
    win.actions_["zoom_in"].trigger()
    assert view.zoom() == pytest.approx(1.25, rel=0.02)
    # wheel zooms about the cursor: the image point under the cursor stays put
    vp = view.viewport()
    pos = QtCore.QPointF(vp.width() * 0.3, vp.height() * 0.4)
    before = view.scene_to_image(view.mapToScene(pos.toPoint()))
    from PySide6 import QtGui

    ev = QtGui.QWheelEvent(
        pos,
        vp.mapToGlobal(pos),
        QtCore.QPoint(0, 0),
        QtCore.QPoint(0, 120),
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
        QtCore.Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QtCore.QCoreApplication.sendEvent(vp, ev)
    assert view.zoom() > 1.3
    after = view.scene_to_image(view.mapToScene(pos.toPoint()))
    assert abs(after.x() - before.x()) < 2 and abs(after.y() - before.y()) < 2


def test_multiframe_navigation_and_scope(qtbot, isolated, tiny_model_path, dicom_dir):
    win = make_window(qtbot, tiny_model_path)
    open_and_wait(qtbot, win, [dicom_dir / "variety" / "emri_small.dcm"])
    e = win.current
    assert e.study.n_frames == 10 and win.frame_bar.isVisibleTo(win)
    # MR, 64 px: withheld by the rules, no heatmap until the user asks to see it anyway
    text = win.ai_panel.warning_box.text()
    assert "not a radiograph" in text and "Too small for the model" in text
    assert e.result.withheld and win.ai_panel.prob_label.text() == "Withheld"
    assert not win.view.heatmap.isVisible()
    win.ai_panel.reveal_button.click()
    assert win.view.heatmap.isVisible()
    win.actions_["next_frame"].trigger()
    assert e.frame == 1 and win.frame_bar.slider.value() == 1
    series_window = display.default_window(e.study)  # one automatic window for every frame (#15 item 3)
    np.testing.assert_array_equal(
        win.view.image_item.image, display.render(e.study.frames[1], e.study.meta, series_window)
    )
    assert not win.view.heatmap.isVisible()  # the AI result belongs to frame 1 only
    assert "frame 1 only" in win.export.export_context().ai_line
    win.actions_["prev_frame"].trigger()
    assert e.frame == 0 and win.view.heatmap.isVisible()


def test_tag_browser_filter(qtbot, isolated, tmp_path):
    path = write_dicom(tmp_path / "t.dcm", block_image())
    win = make_window(qtbot, load_model=False)
    open_and_wait(qtbot, win, [path])
    win.actions_["find_tag"].trigger()
    tb = win.tag_browser
    assert win.tag_dock.isVisible()
    total = tb.proxy.rowCount()
    assert total > 10
    tb.filter_edit.setText("imagerpixel")
    rows = tb.visible_rows()
    assert len(rows) == 1 and rows[0][1] == "ImagerPixelSpacing" and "0.5" in rows[0][3]
    tb.filter_edit.setText("0018,1164")  # by tag number
    assert tb.visible_rows()[0][1] == "ImagerPixelSpacing"


def test_shortcuts_dialog_lists_every_shortcut(qtbot, isolated):
    from viewer.gui.actions import ACTIONS
    from viewer.gui.widgets.shortcuts_dialog import ShortcutsDialog

    dlg = ShortcutsDialog(ACTIONS)
    qtbot.addWidget(dlg)
    rows = dict(dlg.rows())
    for spec in ACTIONS:
        if spec.keys:
            assert spec.text.replace("&", "") in rows
    win = make_window(qtbot, load_model=False)
    keys = {}
    for act in win.findChildren(type(win.actions_["open"])):
        for ks in act.shortcuts():
            s = ks.toString()
            assert s not in keys, f"shortcut {s} used by {keys.get(s)} and {act.text()}"
            keys[s] = act.text()


def test_info_overlay_toggle_and_keys(qtbot, isolated, tmp_path):
    path = write_dicom(tmp_path / "k.dcm", block_image())
    win = make_window(qtbot, load_model=False)
    open_and_wait(qtbot, win, [path])
    corners = win.view.corners
    assert corners.corners_visible and "DOE, Jane" in corners.texts["tl"][0]
    assert any("2024-01-02" in line for line in corners.texts["tr"])
    win.view.setFocus()
    qtbot.keyClick(win.view, QtCore.Qt.Key.Key_Tab)
    assert not corners.corners_visible and corners.isVisible()  # the texts go, the overlay (hint) stays
    qtbot.keyClick(win.view, QtCore.Qt.Key.Key_Tab)
    assert corners.corners_visible
    qtbot.keyClick(win.view, QtCore.Qt.Key.Key_R)
    assert win.current.orientation.k == 1
    qtbot.keyClick(win.view, QtCore.Qt.Key.Key_M)
    assert win.view.tool == "ruler"


def test_middle_and_right_drag_pan(qtbot, tmp_path):
    path = write_dicom(tmp_path / "pan.dcm", block_image(600, 800))
    win = make_window(qtbot, load_model=False)
    open_and_wait(qtbot, win, [path])
    view = win.view
    win.actions_["one_to_one"].trigger()
    vp = view.viewport()
    for button in (QtCore.Qt.MouseButton.MiddleButton, QtCore.Qt.MouseButton.RightButton):
        before = view.vb.viewRect().center()
        c = QtCore.QPointF(vp.rect().center())
        mouse_drag(vp, c, c + QtCore.QPointF(80, -40), button=button, qtbot=qtbot)
        after = view.vb.viewRect().center()
        # the image follows the mouse: the view centre moves the other way, by the same image distance
        assert after.x() - before.x() == pytest.approx(-80 / view.zoom(), abs=3)
        assert after.y() - before.y() == pytest.approx(40 / view.zoom(), abs=3)
    assert win.display.effective_window() == display.default_window(
        win.current.study.meta, win.current.study.frames[0]
    )
