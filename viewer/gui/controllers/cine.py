"""Cine: play the frames of a multi-frame study one after the other, at a frame rate kept in the settings.

A QTimer steps the current study's frame through the session (``set_frame``, so the frame bar, the corner
texts and the heatmap follow as for a manual step), looping at the last frame. Play stops by itself when
the current study changes or closes, or is not a multi-frame one. Space plays and pauses (the action table);
the frame bar has the play button and the frame rate.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from viewer.gui.session import StudyEntry, StudySession
from viewer.gui.settings import CINE_FPS_RANGE, Settings


class CineController(QtCore.QObject):
    changed = QtCore.Signal()  # started or stopped (the checkable action follows)

    def __init__(self, session: StudySession, fps_spin: QtWidgets.QSpinBox, settings: Settings):
        super().__init__(fps_spin)
        self.session, self.fps_spin, self.settings = session, fps_spin, settings
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.fps = settings.cine_fps
        fps_spin.setValue(round(self.fps))
        fps_spin.valueChanged.connect(self.set_fps)
        session.current_changed.connect(lambda _e: self.stop())

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    @staticmethod
    def _playable(entry: StudyEntry | None) -> bool:
        return entry is not None and entry.ready and entry.study.n_frames > 1

    def set_playing(self, on: bool) -> None:
        if on and self._playable(self.session.current):
            self.timer.start(round(1000.0 / self.fps))
        else:
            self.timer.stop()
        self.changed.emit()

    def stop(self) -> None:
        if self.playing:
            self.set_playing(False)

    def set_fps(self, fps: float) -> None:
        self.fps = float(min(CINE_FPS_RANGE[1], max(CINE_FPS_RANGE[0], fps)))
        self.settings.cine_fps = self.fps
        if self.fps_spin.value() != round(self.fps):
            self.fps_spin.blockSignals(True)
            self.fps_spin.setValue(round(self.fps))
            self.fps_spin.blockSignals(False)
        if self.playing:
            self.timer.setInterval(round(1000.0 / self.fps))

    def _tick(self) -> None:
        e = self.session.current
        if not self._playable(e):
            self.stop()
            return
        self.session.set_frame(e, (e.frame + 1) % e.study.n_frames)
