"""What the reading view shows of the current study: window/level, frames, orientation, inversion,
the corner texts and the pixel readout.

The readout (status bar: x, y and the modality value under the mouse) is derived, like the corner texts,
from the current entry, its frame and orientation and where the mouse is in the view: it is recomputed
whenever any of them changes (another study, a smaller image, another frame, a rotation, zoom or pan),
and is empty when the mouse is outside the image or there is no image."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from viewer.core import display
from viewer.core.display import Window
from viewer.gui.orientation import Orientation, edge_letters, patient_axes
from viewer.gui.session import LoadState, StudyEntry, StudySession
from viewer.gui.settings import Settings
from viewer.gui.widgets.corner_info import DisplayState, corner_texts
from viewer.gui.widgets.image_view import ImageView
from viewer.gui.widgets.orientation_letters import EdgeLetters
from viewer.gui.window_level import drag_window, linear_base, window_label


class FrameBar(QtWidgets.QWidget):
    """Frame slider of a multi-frame study (hidden for single frames)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        fl = QtWidgets.QHBoxLayout(self)
        fl.setContentsMargins(8, 4, 8, 4)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.label = QtWidgets.QLabel()
        self.label.setMinimumWidth(110)
        self.play_button = QtWidgets.QToolButton()  # its action is the cine play / pause (main window)
        self.play_button.setAutoRaise(True)
        self.fps_spin = QtWidgets.QSpinBox()  # cine frame rate (the cine controller keeps it)
        self.fps_spin.setRange(1, 60)
        self.fps_spin.setSuffix(" fps")
        self.fps_spin.setToolTip("Cine frame rate")
        fl.addWidget(self.play_button)
        fl.addWidget(QtWidgets.QLabel("Frame"))
        fl.addWidget(self.slider, 1)
        fl.addWidget(self.label)
        fl.addWidget(self.fps_spin)
        self.hide()

    def show_frame(self, index: int, n: int) -> None:
        self.setVisible(n > 1)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, n - 1))
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self.label.setText(f"{index + 1} / {n}")


class DisplayController(QtCore.QObject):
    image_shown = QtCore.Signal(int)  # an entry's image is displayed (switching to it, or it loaded)
    image_updated = QtCore.Signal(object)  # the current entry was drawn again (window, frame, inversion)

    def __init__(
        self,
        session: StudySession,
        view: ImageView,
        frame_bar: FrameBar,
        pixel_label: QtWidgets.QLabel,
        settings: Settings,
    ):
        super().__init__(view)
        self.session, self.view, self.frame_bar = session, view, frame_bar
        self.pixel_label, self.settings = pixel_label, settings
        self._shown_id: int | None = None  # the entry whose image the view holds
        self._wl_pending = False
        self._pointer: QtCore.QPointF | None = (
            None  # the mouse in viewport coordinates; None: not over the view
        )
        self.letters = EdgeLetters(view)  # orientation letters on the view's edges
        view.viewport().installEventFilter(self)
        view.corners.set_corners_visible(settings.info_overlay)
        view.window_drag.connect(self.drag_window)
        view.view_changed.connect(self._update_corners)
        view.scene().sigMouseMoved.connect(self._mouse_moved)
        frame_bar.slider.valueChanged.connect(self.set_frame)
        session.frame_changed.connect(self._frame_changed)

    # -- the one entry point: show the current entry (or nothing) ----------------------------------
    def render(self, entry: StudyEntry | None) -> None:
        if entry is None or not entry.ready:
            self._shown_id = None
            self.view.clear()
            self.letters.set_letters({})
            self._update_readout()
            if entry is not None:
                self.view.corners.set_hint(
                    f"Loading {entry.name}…"
                    if entry.state is LoadState.LOADING
                    else f"{entry.name} could not be opened.\n{entry.failure.message if entry.failure else ''}"
                )
            self.frame_bar.hide()
            return
        if self._shown_id == entry.id:  # already on screen (an AI result came in): keep zoom and pan
            self._update_corners()
            return
        self._shown_id = entry.id
        self.view.orientation = entry.orientation
        self._show_image(reset_view=True)
        self.view.set_orientation(entry.orientation, refit=True)
        self.frame_bar.show_frame(entry.frame, entry.study.n_frames)
        self.image_shown.emit(entry.id)

    def _ready(self) -> StudyEntry | None:
        e = self.session.current
        return e if e is not None and e.ready else None

    def _show_image(self, reset_view: bool = False) -> None:
        e = self._ready()
        if e is not None:
            self.view.set_image(e.displayed_u8(), reset_view=reset_view)
            self._update_corners()
            self.image_updated.emit(e)

    # -- window / level -------------------------------------------------------------------------
    def effective_window(self) -> Window | None:
        e = self.session.current
        return e.effective_window() if e is not None else None

    def set_window(self, window: Window | None) -> None:
        e = self._ready()
        if e is not None:
            e.window = window
            self._show_image()

    def auto_window(self) -> None:
        e = self._ready()
        if e is not None:
            self.set_window(display.auto_window(e.current_frame()))

    def drag_window(self, dx: float, dy: float) -> None:
        """A W/L tool drag of (dx, dy) screen pixels; renders once per event-loop pass."""
        e = self._ready()
        if e is None:
            return
        frame = e.current_frame()
        if e.frame not in e.wl_limits:  # a full pass over the pixels: once per frame, not per mouse event
            e.wl_limits[e.frame] = display.window_range(e.study.meta, frame)
        e.window = drag_window(
            linear_base(e.effective_window(), e.study.meta, frame), dx, dy, e.wl_limits[e.frame]
        )
        if not self._wl_pending:  # coalesce mouse events
            self._wl_pending = True
            QtCore.QTimer.singleShot(0, self, self._flush_window)

    def _flush_window(self) -> None:
        self._wl_pending = False
        self._show_image()

    def fill_presets_menu(self, menu: QtWidgets.QMenu, fixed: list[QtGui.QAction]) -> None:
        """The Window menu: ``fixed`` (default, automatic), then the current study's presets."""
        menu.clear()
        menu.addActions(fixed)
        e = self._ready()
        if e is None:
            return
        menu.addSeparator()
        for w in display.presets(e.study, e.current_frame()):
            act = menu.addAction(window_label(w))
            act.triggered.connect(lambda checked=False, w=w: self.set_window(w))

    # -- grey scale, frames, orientation ----------------------------------------------------------
    def set_invert(self, on: bool) -> None:
        e = self._ready()
        if e is not None:
            e.invert = bool(on)
            self._show_image()

    def set_frame(self, index: int) -> None:
        e = self._ready()
        if e is not None:
            self.session.set_frame(e, index)

    def step_frame(self, step: int) -> None:
        e = self._ready()
        if e is not None:
            self.session.set_frame(e, e.frame + step)

    def _frame_changed(self, entry: StudyEntry) -> None:
        if entry is self.session.current:
            self.frame_bar.show_frame(entry.frame, entry.study.n_frames)
            self._show_image()

    def orient(self, op: str) -> None:
        """Apply an :class:`Orientation` operation (``"rotated_cw"``, ``"flipped_h"``, ...)."""
        e = self._ready()
        if e is None:
            return
        e.orientation = getattr(e.orientation, op)()
        self.view.set_orientation(e.orientation, refit=self.view.fit_mode)
        self._update_corners()

    def reset_view(self) -> None:
        e = self._ready()
        if e is None:
            return
        e.window, e.invert, e.orientation = None, False, Orientation()
        self._show_image()
        self.view.set_orientation(e.orientation, refit=True)

    # -- corner texts, pixel readout ----------------------------------------------------------------
    def set_info_overlay(self, on: bool) -> None:
        """The corner texts on or off (the hint, e.g. a file's error message, stays)."""
        self.view.corners.set_corners_visible(bool(on))
        self.settings.info_overlay = bool(on)

    def _update_corners(self) -> None:
        """The corner texts and the pixel readout: called whenever what the view shows changes."""
        self._update_readout()
        e = self._ready()
        if e is None:
            self.view.corners.set_texts({})
            self.letters.set_letters({})
            return
        self.letters.set_letters(study_letters(e))
        state = DisplayState(
            window=e.effective_window(),
            zoom=self.view.zoom(),
            frame=e.frame,
            n_frames=e.study.n_frames,
            orientation=e.orientation.label(),
            inverted=e.invert,
            ai_frame=0 if e.score_shown else None,  # the model runs on frame 0 (jobs.predict_job)
        )
        self.view.corners.set_texts(corner_texts(e.study.meta, state))

    def _mouse_moved(self, scene_pos: QtCore.QPointF) -> None:
        self._pointer = self.view.viewportTransform().map(scene_pos)
        self._update_readout()

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.Leave and obj is self.view.viewport():
            self._pointer = None
            self._update_readout()
        return False

    def _update_readout(self) -> None:
        """x, y and value of the current frame's pixel under the mouse, or nothing."""
        e = self._ready()
        text = ""
        if e is not None and self._pointer is not None and self.view.image_shape() is not None:
            frame = e.current_frame()
            inverse, ok = self.view.viewportTransform().inverted()
            p = self.view.scene_to_image(inverse.map(self._pointer)) if ok else QtCore.QPointF(-1, -1)
            x, y = int(np.floor(p.x())), int(np.floor(p.y()))
            if 0 <= y < frame.shape[0] and 0 <= x < frame.shape[1]:
                text = f"x {x}  y {y}  value {frame[y, x]:g}"
        if self.pixel_label.text() != text:
            self.pixel_label.setText(text)


def study_letters(entry: StudyEntry) -> dict[str, str]:
    """The orientation letters of a displayed study's edges: from Patient Orientation (0020,0020), else its
    View Position (AP / PA), turned and mirrored as it is displayed; none when unknown."""
    meta = entry.study.meta
    po = next((value for tag, _kw, _vr, value in meta.raw_tags if tag == "(0020,0020)"), "")
    return edge_letters(patient_axes(po, meta.study.view_position), entry.orientation)
