"""The heatmap layer of the current study and its controls: on/off, opacity, threshold, colours, outline, scale.

A withheld AI result (see :mod:`viewer.core.scope`) has no heatmap unless it was revealed for that study.
The style and the on/off choice persist in the settings (style changes are saved after a short pause, so a
dragged slider writes once).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6 import QtCore

from viewer.core.overlay import OverlayStyle
from viewer.gui.session import StudyEntry, StudySession
from viewer.gui.settings import Settings
from viewer.gui.widgets.ai_panel import AIPanel
from viewer.gui.widgets.image_items import HeatmapLayer

SAVE_DELAY_MS = 400


class HeatmapController(QtCore.QObject):
    changed = QtCore.Signal()  # visibility or style changed (checkable actions follow)
    heatmap_shown = QtCore.Signal(int)  # an entry's heatmap was put on screen

    def __init__(self, session: StudySession, layer: HeatmapLayer, panel: AIPanel, settings: Settings):
        super().__init__(panel)
        self.session, self.layer, self.panel, self.settings = session, layer, panel, settings
        self.visible = settings.heatmap_visible
        self._save_timer = QtCore.QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self.save_style)
        style = OverlayStyle(
            colormap=settings.colormap,
            opacity=settings.opacity,
            threshold=settings.threshold,
            outline=settings.outline,
            scale_mode=settings.scale_mode,
        )
        panel.set_style(style)
        layer.set_style(style)
        panel.set_heatmap_shown(self.visible)
        panel.style_changed.connect(self.set_style)
        panel.visibility_changed.connect(self.set_visible)
        session.frame_changed.connect(lambda e: e is session.current and self._update_visibility())

    @property
    def style(self) -> OverlayStyle:
        return self.layer.style

    def render(self, entry: StudyEntry | None) -> None:
        # a withheld result has no heatmap on screen unless the user revealed it ("show anyway")
        shown = entry is not None and entry.ready and entry.score_shown
        pred = entry.result.prediction if shown else None
        if pred is not None:
            if self.layer.source is not pred.heatmap:
                self.layer.set_map(pred.heatmap, pred.heatmap_scale, entry.study.frames[0].shape)
                self.heatmap_shown.emit(entry.id)
        else:
            self.layer.set_map(None, None)
        self.panel.set_heatmap_available(pred is not None, pred.heatmap_scale if pred is not None else None)
        self._update_visibility()

    def _update_visibility(self) -> None:
        e = self.session.current
        self.layer.setVisible(self.visible and e is not None and e.heatmap_applies)

    def set_visible(self, on: bool) -> None:
        self.visible = bool(on)
        self.panel.set_heatmap_shown(self.visible)
        self._update_visibility()
        self.settings.heatmap_visible = self.visible
        self.changed.emit()

    def set_style(self, style: OverlayStyle) -> None:
        if style == self.layer.style:
            return
        self.layer.set_style(style)
        if self.panel.style() != style:
            self.panel.set_style(style)
        self._save_timer.start()
        self.changed.emit()

    def set_outline(self, on: bool) -> None:
        self.set_style(replace(self.style, outline=bool(on)))

    def nudge_opacity(self, delta: float) -> None:
        st = self.style
        self.set_style(replace(st, opacity=float(np.clip(round(st.opacity + delta, 2), 0.0, 1.0))))

    def flush(self) -> None:
        """Write a pending style change now (the window is closing)."""
        if self._save_timer.isActive():
            self._save_timer.stop()
            self.save_style()

    def save_style(self) -> None:
        st, s = self.layer.style, self.settings
        s.colormap, s.opacity, s.threshold, s.outline, s.scale_mode = (
            st.colormap,
            st.opacity,
            st.threshold,
            st.outline,
            st.scale_mode,
        )
