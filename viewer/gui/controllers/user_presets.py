"""The user's window/level presets on the number keys 1-9 (stored in the settings).

A number key applies its preset to the current study (in compare mode, synchronised, to both sides too, as
any window does). Window > Save current W/L as preset… and Edit W/L presets… open one small table
(:class:`~viewer.gui.widgets.presets_dialog.UserPresetsDialog`). The Window menu names each key's preset.
A VOI LUT has no centre and width: the current window must be a linear one to be saved.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.core.display import Window
from viewer.core.study import WindowPreset
from viewer.gui.session import StudySession
from viewer.gui.settings import USER_PRESET_SLOTS, Settings
from viewer.gui.widgets.presets_dialog import UserPresetsDialog
from viewer.gui.window_level import window_label


def action_id(slot: int) -> str:
    return f"wl_user_{slot}"


class UserPresetsController(QtCore.QObject):
    changed = QtCore.Signal()

    def __init__(
        self,
        session: StudySession,
        settings: Settings,
        set_window: Callable[[Window | None], None],
        parent_widget: QtWidgets.QWidget,
        status: Callable[[str], None],
    ):
        super().__init__(parent_widget)
        self.session, self.settings, self._set_window = session, settings, set_window
        self.parent_widget, self.status = parent_widget, status
        self.actions: dict[str, QtGui.QAction] = {}
        self.dialog: UserPresetsDialog | None = None

    def bind_actions(self, actions: dict[str, QtGui.QAction]) -> None:
        self.actions = actions
        self.refresh_labels()

    def refresh_labels(self) -> None:
        for slot in USER_PRESET_SLOTS:
            act = self.actions.get(action_id(slot))
            if act is not None:
                p = self.settings.user_preset(slot)
                act.setText(f"Preset &{slot}: {window_label(p)}" if p else f"Preset &{slot} (empty)")

    # -- applying -----------------------------------------------------------------------------------
    def apply(self, slot: int) -> bool:
        e = self.session.current
        if e is None or not e.ready:
            return False
        preset = self.settings.user_preset(slot)
        if preset is None:
            self.status(f"Key {slot} has no W/L preset: Window > Save current W/L as preset…")
            return False
        self._set_window(preset)
        self.status(f"Preset {slot}: {window_label(preset)}")
        return True

    # -- saving and editing -----------------------------------------------------------------------------
    def current_linear_window(self) -> WindowPreset | None:
        e = self.session.current
        w = e.effective_window() if e is not None and e.ready else None
        return w if isinstance(w, WindowPreset) else None

    def save(self, slot: int, preset: WindowPreset | None) -> None:
        self.settings.set_user_preset(slot, preset)
        self.settings.sync()
        self.refresh_labels()
        self.changed.emit()

    def save_current(self, slot: int) -> bool:
        """The window on screen becomes key ``slot``'s preset (keeping that key's name, if it had one)."""
        w = self.current_linear_window()
        if w is None:
            self.status(
                "The current window has no centre and width (a VOI LUT): drag or pick a window first."
            )
            return False
        old = self.settings.user_preset(slot)
        self.save(slot, WindowPreset(w.center, w.width, old.name if old and not w.name else w.name))
        self.status(f"Saved W/L preset {slot}: {window_label(w)}")
        return True

    def save_dialog(self) -> None:
        """The table with the current window already in the first empty key's row (else key 1's)."""
        presets = self.settings.user_presets()
        slot = next((s for s, p in presets.items() if p is None), 1)
        self._open_dialog(slot)

    def edit_dialog(self) -> None:
        self._open_dialog(None)

    def _open_dialog(self, slot: int | None) -> None:
        dlg = UserPresetsDialog(
            self.settings.user_presets(), self.current_linear_window(), slot, self.parent_widget
        )
        dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(lambda: self.store(dlg.presets()))
        self.dialog = dlg
        dlg.open()

    def store(self, presets: dict[int, WindowPreset | None]) -> None:
        for slot, preset in presets.items():
            self.settings.set_user_preset(slot, preset)
        self.settings.sync()
        self.refresh_labels()
        self.changed.emit()
