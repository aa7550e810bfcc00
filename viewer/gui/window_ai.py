"""Main window, part 3: the AI - model loading, predictions, heatmap layer and the AI panel.

A mixin of :class:`viewer.gui.main_window.MainWindow`; it uses the window's widgets and state.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
from PySide6 import QtCore

from viewer.core.overlay import OverlayStyle
from viewer.gui.session import StudyEntry, load_model_job, predict_job
from viewer.gui.workers import Failure

log = logging.getLogger(__name__)


class AIMixin:
    def load_model(self, path: str | None = None) -> None:
        self.model_loading = True
        self._refresh_ai_panel()
        self.runner.submit(
            load_model_job, path, self._force_cpu, on_result=self._model_loaded, on_error=self._model_failed
        )

    def _model_loaded(self, model) -> None:
        self.model, self.model_error, self.model_loading = model, None, False
        info = model.info
        fallback = f" ({model.fallback_reason})" if model.fallback_reason else ""
        self.ai_status.setText(f"AI: {info.name} {info.version} on {model.provider}")
        self.ai_status.setToolTip(f"{model.source}{fallback}")
        self.model_state_changed.emit()
        for entry in self.entries.values():
            if entry.ready and entry.ai_state == "waiting":
                self._start_prediction(entry)
        self._refresh_ai_panel()

    def _model_failed(self, failure: Failure) -> None:
        self.model, self.model_loading = None, False
        self.model_error = failure.message
        self.ai_status.setText("AI unavailable")
        self.ai_status.setToolTip(failure.message)
        log.warning("AI model unavailable: %s", failure.message)
        self.model_state_changed.emit()
        self._refresh_ai_panel()

    def _start_prediction(self, entry: StudyEntry) -> None:
        if self.model is None or not entry.ready or entry.ai_state in ("running", "done"):
            return
        entry.ai_state = "running"
        entry.tasks.append(
            self.runner.submit(
                predict_job,
                self.model,
                entry.default_u8,
                on_result=lambda pred, e=entry: self._predicted(e, pred),
                on_error=lambda f, e=entry: self._predict_failed(e, f),
            )
        )
        if entry is self.current:
            self._refresh_ai_panel()

    def _predicted(self, entry: StudyEntry, prediction) -> None:
        entry.prediction, entry.ai_state = prediction, "done"
        if entry.id not in self.entries:
            return
        self.study_list.set_ai_badge(entry.id, f"{prediction.probability * 100:.0f}%")
        if entry is self.current:
            self._refresh_heatmap()
            self._refresh_ai_panel()
        self.prediction_ready.emit(entry.id)
        if entry is self.current:
            self.heatmap_shown.emit(entry.id)

    def _predict_failed(self, entry: StudyEntry, failure: Failure) -> None:
        entry.ai_state, entry.ai_error = "failed", failure.message
        if entry is self.current:
            self._refresh_ai_panel()
        self.prediction_ready.emit(entry.id)

    def _heatmap_applies(self) -> bool:
        e = self.current
        return e is not None and e.ready and e.prediction is not None and e.frame == 0

    def _refresh_heatmap(self) -> None:
        e = self.current
        hm = self.view.heatmap
        if e is not None and e.prediction is not None:
            if hm.source is not e.prediction.heatmap:
                hm.set_map(e.prediction.heatmap, e.prediction.heatmap_scale, e.study.frames[0].shape)
        else:
            hm.set_map(None, None)
        hm.setVisible(self._heatmap_visible and self._heatmap_applies())

    def set_heatmap_visible(self, on: bool) -> None:
        self._heatmap_visible = bool(on)
        self._sync_check(self.actions_["heatmap"], self._heatmap_visible)
        if self.ai_panel.show_check.isChecked() != self._heatmap_visible:
            self.ai_panel.show_check.blockSignals(True)
            self.ai_panel.show_check.setChecked(self._heatmap_visible)
            self.ai_panel.show_check.blockSignals(False)
        self.view.heatmap.setVisible(self._heatmap_visible and self._heatmap_applies())
        self.settings.heatmap_visible = self._heatmap_visible

    def set_style(self, style: OverlayStyle) -> None:
        old = self.view.heatmap.style
        self.view.heatmap.set_style(style)
        if self.ai_panel.style() != style:
            self.ai_panel.set_style(style)
        self._sync_check(self.actions_["outline"], style.outline)
        if style.opacity != old.opacity:
            self._schedule_save_style()
        if (style.colormap, style.threshold, style.outline, style.scale_mode) != (
            old.colormap,
            old.threshold,
            old.outline,
            old.scale_mode,
        ):
            self._schedule_save_style()

    def _schedule_save_style(self) -> None:
        if not hasattr(self, "_save_timer"):
            self._save_timer = QtCore.QTimer(self)
            self._save_timer.setSingleShot(True)
            self._save_timer.setInterval(400)
            self._save_timer.timeout.connect(self._save_style)
        self._save_timer.start()

    def _save_style(self) -> None:
        st = self.view.heatmap.style
        s = self.settings
        s.colormap, s.opacity, s.threshold, s.outline, s.scale_mode = (
            st.colormap,
            st.opacity,
            st.threshold,
            st.outline,
            st.scale_mode,
        )

    def _nudge_opacity(self, delta: float) -> None:
        st = self.ai_panel.style()
        self.set_style(replace(st, opacity=float(np.clip(round(st.opacity + delta, 2), 0.0, 1.0))))

    def _refresh_ai_panel(self) -> None:
        panel = self.ai_panel
        e = self.current
        if self.model is not None:
            m = self.model
            timing = (
                f" · {e.prediction.elapsed_ms:.0f} ms" if e is not None and e.prediction is not None else ""
            )
            line = f"Model {m.info.name} {m.info.version} · runs on {m.provider}{timing}"
            if m.fallback_reason:
                line += f"\n{m.fallback_reason}"
            panel.set_model_line(line)
        elif self.model_loading:
            panel.set_model_line("Loading the AI model…")
        else:
            panel.set_model_line(f"No AI model: {self.model_error or 'not loaded'}")
        if e is None:
            panel.show_no_study()
        elif e.state == "loading":
            panel.show_pending("Loading study…")
        elif e.state == "failed":
            panel.show_unavailable("The file could not be opened.")
        elif e.prediction is not None:
            note = f"Result for frame 1 of {e.study.n_frames}." if e.study.n_frames > 1 else ""
            panel.show_prediction(e.prediction, e.warnings, e.prediction.heatmap_scale, note)
        elif e.ai_state == "failed":
            panel.show_unavailable(f"The analysis failed: {e.ai_error}")
        elif self.model_loading:
            panel.show_pending("Loading the AI model…")
        elif self.model is None:
            panel.show_unavailable("The viewer works without it: images, tools and exports are available.")
        else:
            panel.show_pending("Analysing…")
