"""The AI: loading the model, analysing every study once it is loaded, and the result half of the AI panel.

The analysis runs in a worker and returns an ``AiResult`` (the prediction gated by
:func:`viewer.core.scope.assess`); the panel shows it in its state. "Show anyway" on a withheld result
reveals it for the current entry only (``StudySession.set_revealed``).
"""

from __future__ import annotations

import logging

from PySide6 import QtCore, QtWidgets

from viewer.gui.jobs import load_model_job, predict_job
from viewer.gui.session import AnalysisState, LoadState, StudyEntry, StudySession
from viewer.gui.widgets.ai_panel import AIPanel
from viewer.gui.workers import Failure, TaskRunner

log = logging.getLogger(__name__)


class AIController(QtCore.QObject):
    prediction_ready = QtCore.Signal(int)  # an entry's analysis finished (a result or a failure)

    def __init__(
        self,
        session: StudySession,
        runner: TaskRunner,
        panel: AIPanel,
        status_label: QtWidgets.QLabel,
        force_cpu: bool = False,
    ):
        super().__init__(panel)
        self.session, self.runner, self.panel, self.status_label = session, runner, panel, status_label
        self.force_cpu = force_cpu
        session.entry_updated.connect(self._maybe_analyse)
        panel.reveal_toggled.connect(self._reveal)

    # -- the model --------------------------------------------------------------------------------
    def load_model(self, path: str | None = None) -> None:
        self.session.set_model_loading()
        self.runner.submit(
            load_model_job, path, self.force_cpu, on_result=self._model_loaded, on_error=self._model_failed
        )

    def disable(self, reason: str) -> None:
        self.session.set_model(None, reason)

    def _model_loaded(self, model) -> None:
        info = model.info
        fallback = f" ({model.fallback_reason})" if model.fallback_reason else ""
        self.status_label.setText(f"AI: {info.name} {info.version} on {model.provider}")
        self.status_label.setToolTip(f"{model.source}{fallback}")
        self.session.set_model(model)
        for entry in list(self.session.entries.values()):
            self._maybe_analyse(entry)

    def _model_failed(self, failure: Failure) -> None:
        self.status_label.setText("AI unavailable")
        self.status_label.setToolTip(failure.message)
        log.warning("AI model unavailable: %s", failure.message)
        self.session.set_model(None, failure.message)

    # -- analysis ---------------------------------------------------------------------------------
    def _maybe_analyse(self, entry: StudyEntry) -> None:
        model = self.session.model
        if model is None or not entry.ready or entry.ai_state is not AnalysisState.WAITING:
            return
        inputs = entry.model_input()  # a JPEG 2000 chest's preview while its full decode waits
        if inputs is None:
            return
        study, grey = inputs
        entry.tasks.append(
            self.runner.submit(
                predict_job,
                model,
                study,
                grey,
                on_result=lambda result, e=entry: self._predicted(e, result),
                on_error=lambda f, e=entry: self._failed(e, f),
            )
        )
        self.session.set_analysis_running(entry)

    def _predicted(self, entry: StudyEntry, result) -> None:
        self.session.set_result(entry, result)
        if self.session.is_open(entry):
            self.prediction_ready.emit(entry.id)

    def _failed(self, entry: StudyEntry, failure: Failure) -> None:
        self.session.set_analysis_failed(entry, failure.message)
        self.prediction_ready.emit(entry.id)

    def _reveal(self, on: bool) -> None:
        entry = self.session.current
        if entry is not None:
            self.session.set_revealed(entry, on)

    # -- the result half of the AI panel ------------------------------------------------------------
    def render(self, entry: StudyEntry | None) -> None:
        s, panel = self.session, self.panel
        m = s.model
        if m is not None:
            timing = (
                f" · {entry.result.prediction.elapsed_ms:.0f} ms"
                if entry is not None and entry.result
                else ""
            )
            line = f"Model {m.info.name} {m.info.version} · runs on {m.provider}{timing}"
            if m.fallback_reason:
                line += f"\n{m.fallback_reason}"
            panel.set_model_line(line)
            panel.set_calibration_line(calibration_line(m))
        elif s.model_loading:
            panel.set_model_line("Loading the AI model…")
            panel.set_calibration_line("")
        else:
            panel.set_model_line(f"No AI model: {s.model_error or 'not loaded'}")
            panel.set_calibration_line("")
        if entry is None:
            panel.clear()
        elif entry.state is LoadState.LOADING:
            panel.show_pending("Loading study…")
        elif entry.state is LoadState.FAILED:
            panel.show_unavailable("The file could not be opened.")
        elif entry.result is not None:
            note = f"Result for frame 1 of {entry.study.n_frames}." if entry.study.n_frames > 1 else ""
            panel.show_result(entry.result, note, revealed=entry.revealed)
        elif entry.ai_state is AnalysisState.FAILED:
            panel.show_unavailable(f"The analysis failed: {entry.ai_error}")
        elif s.model_loading:
            panel.show_pending("Loading the AI model…")
        elif m is None:
            panel.show_unavailable("The viewer works without it: images, tools and exports are available.")
        else:
            panel.show_pending("Analysing…")


def calibration_line(model) -> str:
    """Which calibration, operating point and threshold are in use, and whether the model checks the image."""
    from viewer.core.model.result import format_threshold  # noqa: PLC0415 - onnxruntime: loaded with the model

    op = model.operating_point.replace("_", " ")
    return f"Calibration: {model.info.calibration_label} · {op} threshold {format_threshold(model.threshold)}"
