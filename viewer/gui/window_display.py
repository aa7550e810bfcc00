"""Main window, part 2: what the view shows - window/level, frames, orientation, corners, annotations.

A mixin of :class:`viewer.gui.main_window.MainWindow`; it uses the window's widgets and state.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from viewer.core import display
from viewer.gui.corner_info import DisplayState, corner_texts
from viewer.gui.orientation import Orientation
from viewer.gui.window_level import drag_window, linear_base, window_label


class DisplayMixin:
    def current_frame(self) -> np.ndarray | None:
        e = self.current
        return e.study.frames[e.frame] if e is not None and e.ready else None

    def displayed_u8(self) -> np.ndarray | None:
        """The frame at the current window, inverted if asked: exactly what the image item shows."""
        e = self.current
        if e is None or not e.ready:
            return None
        if e.frame == 0 and e.window is None:
            u8 = e.default_u8
        else:
            u8 = display.render(e.study.frames[e.frame], e.study.meta, e.window)
        return 255 - u8 if e.invert else u8

    def _render(self, reset_view: bool = False) -> None:
        e = self.current
        u8 = self.displayed_u8()
        if u8 is None:
            return
        self.view.set_image(u8, reset_view=reset_view)
        self._shown_frame = (e.id, e.frame)
        self._update_corners()

    def effective_window(self):
        e = self.current
        if e is None or not e.ready:
            return None
        return (
            e.window
            if e.window is not None
            else display.default_window(e.study.meta, e.study.frames[e.frame])
        )

    def set_window(self, window) -> None:
        if self.current is None or not self.current.ready:
            return
        self.current.window = window
        self._render()

    def auto_window(self) -> None:
        if self.current_frame() is not None:
            self.set_window(display.auto_window(self.current_frame()))

    def _window_drag(self, dx: float, dy: float) -> None:
        e = self.current
        frame = self.current_frame()
        if frame is None:
            return
        base = linear_base(self.effective_window(), e.study.meta, frame)
        key = (e.id, e.frame)
        if key not in self._wl_limits:  # a full pass over the pixels: once per frame, not per mouse event
            self._wl_limits[key] = display.window_range(e.study.meta, frame)
        e.window = drag_window(base, dx, dy, self._wl_limits[key])
        if not self._wl_pending:  # coalesce mouse events: render once per event-loop pass
            self._wl_pending = True
            QtCore.QTimer.singleShot(0, self._flush_window)

    def _flush_window(self) -> None:
        self._wl_pending = False
        self._render()

    def _fill_window_menu(self) -> None:
        m = self.window_menu
        m.clear()
        m.addActions([self.actions_["window_default"], self.actions_["window_auto"]])
        e = self.current
        if e is None or not e.ready:
            return
        m.addSeparator()
        for w in display.presets(e.study, self.current_frame()):
            act = m.addAction(window_label(w))
            act.triggered.connect(lambda checked=False, w=w: self.set_window(w))

    def set_invert(self, on: bool) -> None:
        if self.current is not None and self.current.ready:
            self.current.invert = bool(on)
            self._render()

    def set_frame(self, index: int) -> None:
        e = self.current
        if e is None or not e.ready:
            return
        index = int(np.clip(index, 0, e.study.n_frames - 1))
        if index == e.frame and self._shown_frame == (e.id, index):
            return
        e.frame = index
        self.frame_slider.blockSignals(True)
        self.frame_slider.setValue(index)
        self.frame_slider.blockSignals(False)
        self.frame_label.setText(f"{index + 1} / {e.study.n_frames}")
        self._render()
        self._refresh_heatmap()

    def step_frame(self, step: int) -> None:
        if self.current is not None and self.current.ready:
            self.set_frame(self.current.frame + step)

    def _orient(self, op: str) -> None:
        e = self.current
        if e is None or not e.ready:
            return
        e.orientation = getattr(e.orientation, op)()
        self.view.set_orientation(e.orientation, refit=self.view._fit_mode)
        self._update_corners()

    def reset_view(self) -> None:
        e = self.current
        if e is None or not e.ready:
            return
        e.window, e.invert, e.orientation = None, False, Orientation()
        self._sync_check(self.actions_["invert"], False)
        self._render()
        self.view.set_orientation(e.orientation, refit=True)

    def _update_corners(self) -> None:
        e = self.current
        if e is None or not e.ready:
            self.view.corners.set_texts({})
            return
        state = DisplayState(
            window=self.effective_window(),
            zoom=self.view.zoom(),
            frame=e.frame,
            n_frames=e.study.n_frames,
            orientation=e.orientation.label(),
            inverted=e.invert,
        )
        self.view.corners.set_texts(corner_texts(e.study.meta, state))

    def set_info_overlay(self, on: bool) -> None:
        self.view.corners.setVisible(bool(on))
        self._sync_check(self.actions_["info_overlay"], bool(on))
        self.settings.info_overlay = bool(on)

    def _mouse_moved(self, scene_pos) -> None:
        frame = self.current_frame()
        if frame is None:
            self.pixel_label.clear()
            return
        p = self.view.scene_to_image(scene_pos)
        x, y = int(np.floor(p.x())), int(np.floor(p.y()))
        if 0 <= y < frame.shape[0] and 0 <= x < frame.shape[1]:
            self.pixel_label.setText(f"x {x}  y {y}  value {frame[y, x]:g}")
        else:
            self.pixel_label.clear()

    def _add_text_at(self, pos: QtCore.QPointF) -> None:
        layer = self.current.layer if self.current is not None else None
        if layer is None:
            return
        text, ok = QtWidgets.QInputDialog.getText(self, "Text label", "Label:")
        if ok and text.strip():
            layer.add_text((pos.x(), pos.y()), text.strip())

    def delete_selected(self) -> None:
        if self.current is not None and self.current.layer is not None:
            n = self.current.layer.remove_selected()
            if n:
                self.statusBar().showMessage(
                    f"Deleted {n} annotation{'s' if n > 1 else ''} (Ctrl+Z to undo)", 3000
                )
