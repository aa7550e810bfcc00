"""User W/L presets on the number keys 1-9 (#13): saved in the settings, applied by the keys, edited in a table."""

from __future__ import annotations

from gui_support import block_image, make_window, open_and_wait, write_dicom
from PySide6 import QtCore, QtGui

from viewer.core.study import WindowPreset
from viewer.gui.settings import Settings
from viewer.gui.widgets.presets_dialog import UserPresetsDialog


def test_number_keys_apply_saved_presets_and_persist(qtbot, tmp_path):
    path = write_dicom(tmp_path / "a.dcm", block_image(), window=(1200, 2000))
    win = make_window(qtbot, load_model=False)
    open_and_wait(qtbot, win, [path])
    e = win.current
    for slot in range(1, 10):  # one action a key, through the one table
        act = win.actions_[f"wl_user_{slot}"]
        assert act.shortcuts() == [QtGui.QKeySequence(str(slot))]
        assert "(empty)" in act.text()
    assert win.actions_["one_to_one"].shortcut() == QtGui.QKeySequence("Ctrl+1")  # 1 is a preset now
    assert not win.actions_["wl_user_3"].trigger() and e.window is None  # empty key: nothing changes
    assert "Key 3 has no W/L preset" in win.statusBar().currentMessage()

    win.display.set_window(WindowPreset(center=1500.0, width=700.0))
    assert win.presets.save_current(3)
    win.display.set_window(None)
    win.presets.save(7, WindowPreset(center=400.0, width=80.0, name="Bone"))
    assert win.actions_["wl_user_7"].text() == "Preset &7: W 80 / L 400 - Bone"
    win.actions_["wl_user_3"].trigger()
    assert (e.window.center, e.window.width) == (1500.0, 700.0)
    win.activateWindow()
    qtbot.keyClick(win.view, QtCore.Qt.Key.Key_7)  # the key itself
    assert (e.window.center, e.window.width, e.window.name) == (400.0, 80.0, "Bone")
    assert e.displayed_u8() is not None and (win.view.image_item.image == e.displayed_u8()).all()
    win.actions_["window_default"].trigger()
    assert e.window is None

    again = Settings()  # a new run reads the same presets
    assert again.user_preset(3) == WindowPreset(1500.0, 700.0, "")
    assert again.user_preset(7) == WindowPreset(400.0, 80.0, "Bone")
    assert again.user_preset(1) is None and again.user_preset(0) is None
    win.close()
    win2 = make_window(qtbot, load_model=False)
    assert win2.actions_["wl_user_7"].text() == "Preset &7: W 80 / L 400 - Bone"


def test_presets_dialog_edits_saves_and_clears(qtbot, tmp_path):
    path = write_dicom(tmp_path / "a.dcm", block_image(), window=(1200, 2000))
    win = make_window(qtbot, load_model=False)
    open_and_wait(qtbot, win, [path])
    win.presets.save(1, WindowPreset(center=10.0, width=20.0, name="old"))
    win.actions_["wl_save_preset"].trigger()  # the current window lands on the first empty key: 2
    dlg = win.presets.dialog
    assert isinstance(dlg, UserPresetsDialog) and dlg.isVisible()
    assert dlg.selected_slot() == 2
    rows = dlg.presets()
    assert (rows[2].center, rows[2].width) == (1200.0, 2000.0)
    dlg.table.item(1, 0).setText("Lung")
    dlg.table.item(4, 1).setText("-600")  # key 5 typed by hand
    dlg.table.item(4, 2).setText("1500")
    dlg.table.setCurrentCell(0, 0)
    dlg.clear_button.click()  # key 1 emptied
    dlg.accept()
    s = Settings()
    assert s.user_preset(1) is None
    assert s.user_preset(2) == WindowPreset(1200.0, 2000.0, "Lung")
    assert s.user_preset(5) == WindowPreset(-600.0, 1500.0, "")
    assert win.actions_["wl_user_2"].text().endswith("Lung")
    # cancelled: nothing changes
    win.actions_["wl_edit_presets"].trigger()
    win.presets.dialog.table.item(4, 1).setText("99")
    win.presets.dialog.reject()
    assert Settings().user_preset(5).center == -600.0
