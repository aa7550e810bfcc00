"""The worklist dock's contents: a line of command buttons, the batch progress strip, and the table.

The buttons show QActions of the window's action table (:meth:`WorklistPanel.set_actions`), so a command
is defined once. The progress strip (:meth:`show_progress` / :meth:`finish_progress`) says how far a batch
analysis is, how fast it goes and how long it still needs; its Cancel button emits ``cancel_requested``.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.gui.dialogs import PatientDataDialog
from viewer.gui.theme import ACCENT, BASE, BORDER
from viewer.gui.widgets.worklist import WorklistView


def eta_text(done: int, total: int, elapsed_s: float) -> str:
    """ "Analysed 120 of 1,000 · 35.0 images/s · about 25 s left" (no rate before the first result)."""
    head = f"Analysed {done:,} of {total:,}"
    if done <= 0 or elapsed_s <= 0:
        return head + "…"
    rate = done / elapsed_s
    left = (total - done) / rate
    when = f"about {left:.0f} s left" if left < 120 else f"about {left / 60:.0f} min left"
    return f"{head} · {rate:.1f} images/s · {when}" if done < total else f"{head} · {rate:.1f} images/s"


class WorklistPanel(QtWidgets.QWidget):
    cancel_requested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.view = WorklistView()
        self.buttons = QtWidgets.QHBoxLayout()
        self.buttons.setContentsMargins(0, 0, 0, 0)
        self.summary = QtWidgets.QLabel("Open a folder, a CD (DICOMDIR) or a ZIP to fill the worklist.")
        self.summary.setStyleSheet("color: #9aa0a8;")
        self.buttons.addWidget(self.summary, 1)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(12)
        # a plain bar: Fusion animates a progress bar's stripes (a repaint every few frames for as long as the
        # batch runs, each one slow while the triage keeps the cores busy); a style sheet chunk does not move
        self.progress.setStyleSheet(
            f"QProgressBar {{ background: {BASE}; border: 1px solid {BORDER}; border-radius: 3px; }}"
            f"QProgressBar::chunk {{ background: {ACCENT}; border-radius: 2px; }}"
        )
        self.progress_label = QtWidgets.QLabel()
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_requested)
        strip = QtWidgets.QHBoxLayout()
        strip.setContentsMargins(0, 0, 0, 0)
        strip.addWidget(self.progress, 1)
        strip.addWidget(self.progress_label)
        strip.addWidget(self.cancel_button)
        self.strip = QtWidgets.QWidget()
        self.strip.setLayout(strip)
        self.strip.hide()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addLayout(self.buttons)
        lay.addWidget(self.strip)
        lay.addWidget(self.view, 1)

    def set_actions(self, actions: list[QtGui.QAction]) -> None:
        for act in actions:
            button = QtWidgets.QToolButton()
            button.setDefaultAction(act)
            button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
            self.buttons.addWidget(button)

    def set_summary(self, text: str) -> None:
        self.summary.setText(text)

    def show_progress(self, done: int, total: int, elapsed_s: float) -> None:
        bar = self.progress
        # QProgressBar.setValue repaints at once, on the spot (10 ms and more while the triage keeps the
        # cores busy); with updates off it is only marked for the window's next paint
        bar.setUpdatesEnabled(False)
        bar.setRange(0, max(1, total))
        bar.setValue(done)
        bar.setUpdatesEnabled(True)
        text = eta_text(done, total, elapsed_s)
        if text != self.progress_label.text():
            self.progress_label.setText(text)
        self.cancel_button.show()
        self.strip.show()

    def finish_progress(self, text: str) -> None:
        """The batch ended (done, cancelled or failed): the strip keeps the last words, without Cancel."""
        self.progress_label.setText(text)
        self.cancel_button.hide()
        self.strip.setVisible(bool(text))


class ExportWorklistDialog(PatientDataDialog):
    """One question before the CSV: include patient data? (No by default.)"""

    def __init__(self, parent: QtWidgets.QWidget | None, n_rows: int):
        super().__init__(
            parent,
            "Export worklist",
            "Include patient data (name, ID, birth date, study date, accession number)",
            f"One row a study ({n_rows:,} rows, whatever the filter): file, AI state, probability, label, "
            "threshold, operating point, model version, modality, view, reasons. Research use only.",
        )


__all__ = ["ExportWorklistDialog", "WorklistPanel", "eta_text"]
