"""Cine play (#13): a QTimer steps the frames of a multi-frame study at the chosen rate, and stops."""

from __future__ import annotations

import numpy as np
from gui_support import block_image, make_window, open_and_wait, write_dicom
from PySide6 import QtCore

from viewer.gui.settings import Settings


def _multiframe(tmp_path, n=5):
    frames = np.stack([block_image(value=3000) + 100 * i for i in range(n)])
    return write_dicom(tmp_path / "cine.dcm", frames)


def test_cine_advances_frames_loops_and_stops(qtbot, tmp_path):
    single = write_dicom(tmp_path / "one.dcm", block_image())
    win = make_window(qtbot, load_model=False)
    ids = open_and_wait(qtbot, win, [single, _multiframe(tmp_path)])
    e = win.entries[ids[1]]
    win.select_entry(e.id)
    assert win.current is e and e.study.n_frames == 5
    act = win.actions_["cine"]
    assert act.isEnabled() and act.shortcut().toString() == "Space"
    win.frame_bar.fps_spin.setValue(50)
    assert win.cine.fps == 50 and Settings().cine_fps == 50  # kept in the settings
    shown = []
    win.session.frame_changed.connect(lambda entry: shown.append(entry.frame))
    act.trigger()
    assert win.cine.playing and act.isChecked() and win.cine.timer.interval() == 20
    qtbot.waitUntil(lambda: len(shown) >= 7, timeout=5000)
    assert shown[:7] == [1, 2, 3, 4, 0, 1, 2]  # in order, looping after the last frame
    assert win.frame_bar.slider.value() == e.frame  # the frame bar follows
    np.testing.assert_array_equal(win.view.image_item.image, e.displayed_u8())
    act.trigger()  # pause
    assert not win.cine.playing and not act.isChecked()
    stopped_at, n = e.frame, len(shown)
    qtbot.wait(150)
    assert e.frame == stopped_at and len(shown) == n  # no step after the pause

    act.trigger()  # another study becomes current: play stops
    assert win.cine.playing
    win.select_entry(ids[0])
    assert not win.cine.playing and not act.isChecked() and not act.isEnabled()
    win.cine.set_playing(True)  # a single frame: nothing to play
    assert not win.cine.playing


def test_cine_rate_from_settings(qtbot, tmp_path):
    s = Settings()
    s.cine_fps = 4
    s.sync()
    win = make_window(qtbot, load_model=False)
    assert win.cine.fps == 4 and win.frame_bar.fps_spin.value() == 4
    open_and_wait(qtbot, win, [_multiframe(tmp_path, 3)])
    win.cine.set_playing(True)
    assert win.cine.timer.interval() == 250
    win.cine.stop()
    assert not win.cine.playing
    win.activateWindow()
    qtbot.keyClick(win.view, QtCore.Qt.Key.Key_Space)  # the key plays and pauses
    assert win.cine.playing
    qtbot.keyClick(win.view, QtCore.Qt.Key.Key_Space)
    assert not win.cine.playing
