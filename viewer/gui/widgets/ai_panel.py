"""The AI panel: the gated AI result (state, probability, label, reasons), calibration, heatmap controls.

Thin widget with two independent halves:

- the result: :meth:`AIPanel.show_result` / :meth:`~AIPanel.show_pending` / :meth:`~AIPanel.show_unavailable`
  / :meth:`~AIPanel.clear`, :meth:`~AIPanel.set_model_line` and :meth:`~AIPanel.set_calibration_line`
  (driven by the AI controller). A result is shown in one of the gate's three states
  (:class:`~viewer.core.scope.AiState`): **in scope** (the score), **caution** (the score in amber and the
  reasons) or **withheld** (no number, no label: one sentence why, the reasons, and a deliberate
  "Show anyway (research)" button; ``reveal_toggled`` asks for the score, which is then shown struck
  through under "UNRELIABLE", never as the big number);
- the heatmap controls: :meth:`~AIPanel.set_style`, :meth:`~AIPanel.set_heatmap_shown`,
  :meth:`~AIPanel.set_heatmap_available`, and the ``style_changed`` / ``visibility_changed`` signals
  (driven by the heatmap controller).
"""

from __future__ import annotations

import html
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.config import RESEARCH_NOTICE
from viewer.core import overlay
from viewer.core.overlay import COLORMAP_NAMES, OverlayStyle, ScaleMode
from viewer.core.scope import AiState
from viewer.gui import theme

if TYPE_CHECKING:
    from viewer.core.model.result import AiResult

POSITIVE = "#ff9e5e"
NEGATIVE = "#8fd4a8"
REVEAL_TEXT = "Show anyway (research)"
HIDE_TEXT = "Hide the score again"
UNRELIABLE = "UNRELIABLE - withheld, shown on request"
STATE_STYLE = {  # badge colours: text, background
    AiState.IN_SCOPE: (theme.GREEN, "#173323"),
    AiState.CAUTION: (theme.AMBER, theme.AMBER_BG),
    AiState.WITHHELD: (theme.RED, theme.RED_BG),
}


class ProbabilityBar(QtWidgets.QWidget):
    """0..1 bar with the threshold tick and the probability marker."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.probability: float | None = None
        self.threshold: float | None = None
        self.setFixedHeight(22)

    def set_values(self, probability: float | None, threshold: float | None) -> None:
        self.probability, self.threshold = probability, threshold
        self.update()

    def paintEvent(self, event):
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        r = QtCore.QRectF(self.rect()).adjusted(4, 7, -4, -7)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(QtGui.QColor(theme.BORDER))
        p.drawRoundedRect(r, 3, 3)
        if self.probability is not None:
            fill = QtCore.QRectF(r)
            fill.setWidth(r.width() * max(0.0, min(1.0, self.probability)))
            above = self.threshold is not None and self.probability >= self.threshold
            p.setBrush(QtGui.QColor(POSITIVE if above else NEGATIVE))
            p.drawRoundedRect(fill, 3, 3)
        if self.threshold is not None:
            x = r.left() + r.width() * self.threshold
            p.setPen(QtGui.QPen(QtGui.QColor("white"), 2))
            p.drawLine(QtCore.QPointF(x, 2), QtCore.QPointF(x, self.height() - 2))
        p.end()


class LegendBar(QtWidgets.QWidget):
    """Colour bar with its low/high labels and what the scale means."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.colormap = overlay.DEFAULT_COLORMAP
        self.low, self.high, self.meaning = "0", "1", ""
        self.threshold = 0.0
        self.setMinimumHeight(60)

    def set_legend(self, colormap: str, mode: ScaleMode, model_scale: float | None, threshold: float) -> None:
        self.colormap = colormap
        self.low, self.high, self.meaning = overlay.legend_text(mode, model_scale)
        self.threshold = threshold
        self.setToolTip(
            "Colours show where the model's evidence for pneumonia is strongest (Grad-CAM). "
            + (
                "The scale is fixed by the model, so the same colour means the same strength in every study."
                if self.low == "0"
                else "Per-image scale: the strongest area of every image gets the top colour."
            )
        )
        self.update()

    def paintEvent(self, event):
        p = QtGui.QPainter(self)
        bar = overlay.legend_bar(self.colormap, 256, 1)
        img = QtGui.QImage(bar.data, 256, 1, 256 * 3, QtGui.QImage.Format.Format_RGB888).copy()
        r = QtCore.QRect(4, 2, self.width() - 8, 12)
        p.drawImage(r, img)
        if self.threshold > 0:
            hidden = QtCore.QRect(r.left(), r.top(), int(r.width() * self.threshold), r.height())
            p.fillRect(hidden, QtGui.QColor(20, 20, 20, 190))
        p.setPen(QtGui.QColor(theme.TEXT_DIM))
        f = p.font()
        f.setPixelSize(11)
        p.setFont(f)
        A = QtCore.Qt.AlignmentFlag
        lab = QtCore.QRect(4, 16, self.width() - 8, 14)
        p.drawText(lab, A.AlignLeft | A.AlignVCenter, self.low)
        p.drawText(lab, A.AlignRight | A.AlignVCenter, self.high)
        p.drawText(
            QtCore.QRect(4, 30, self.width() - 8, self.height() - 30),
            A.AlignHCenter | A.AlignTop | QtCore.Qt.TextFlag.TextWordWrap,
            self.meaning,
        )
        p.end()


def _dim(text: str, size: int = 11, wrap: bool = True) -> QtWidgets.QLabel:
    lab = QtWidgets.QLabel(text)
    lab.setWordWrap(wrap)
    lab.setStyleSheet(f"color: {theme.TEXT_DIM}; font-size: {size}px;")
    return lab


class AIPanel(QtWidgets.QWidget):
    style_changed = QtCore.Signal(object)  # OverlayStyle
    visibility_changed = QtCore.Signal(bool)
    reveal_toggled = QtCore.Signal(bool)  # "Show anyway (research)" pressed / released on a withheld result

    def __init__(self, parent=None):
        super().__init__(parent)
        self._style = OverlayStyle()
        self._model_scale: float | None = None
        self._build()
        self.clear()
        self.set_heatmap_available(False, None)

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(12, 10, 12, 10)
        lay.setSpacing(6)

        title = QtWidgets.QLabel("Pneumonia probability")
        title.setStyleSheet(
            f"color: {theme.TEXT_DIM}; font-size: 12px; font-weight: 600; letter-spacing: 0.5px;"
        )
        self.state_badge = QtWidgets.QLabel("")
        self.state_badge.setObjectName("ai_state")
        self.state_badge.hide()
        head = QtWidgets.QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.state_badge)
        lay.addLayout(head)
        self.prob_label = QtWidgets.QLabel("–")
        self.prob_label.setObjectName("probability")
        lay.addWidget(self.prob_label)
        self.bar = ProbabilityBar()
        lay.addWidget(self.bar)
        self.verdict_label = QtWidgets.QLabel("")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setStyleSheet("font-size: 13px; font-weight: 600;")
        lay.addWidget(self.verdict_label)
        self.threshold_label = _dim("")
        lay.addWidget(self.threshold_label)

        self.warning_box = QtWidgets.QLabel("")
        self.warning_box.setWordWrap(True)
        self.warning_box.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.warning_box.hide()
        lay.addWidget(self.warning_box)

        # a withheld result: the deliberate way to see its score anyway, and that score, marked
        self.revealed_label = QtWidgets.QLabel("")
        self.revealed_label.setObjectName("revealed")
        self.revealed_label.setWordWrap(True)
        self.revealed_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.revealed_label.setStyleSheet(
            f"color: {theme.TEXT_DIM}; border: 1px dashed {theme.TEXT_DIM}; border-radius: 4px;"
            "padding: 6px; font-size: 12px;"
        )
        self.revealed_label.hide()
        lay.addWidget(self.revealed_label)
        self.reveal_button = QtWidgets.QPushButton(REVEAL_TEXT)
        self.reveal_button.setCheckable(True)
        self.reveal_button.setToolTip(
            "Show the score the model gave this image although it is outside what the model was trained "
            "on. For research only: the number is not reliable. Applies to this study until you leave it."
        )
        self.reveal_button.hide()
        row = QtWidgets.QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.reveal_button)
        row.addStretch(1)
        lay.addLayout(row)

        self.calibration_label = _dim("")
        self.calibration_label.setObjectName("calibration")
        lay.addWidget(self.calibration_label)
        self.model_label = _dim("")
        self.model_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.model_label)

        # -- heatmap controls
        box = QtWidgets.QGroupBox("Heatmap")
        form = QtWidgets.QGridLayout(box)
        form.setContentsMargins(8, 12, 8, 8)
        form.setVerticalSpacing(6)
        self.show_check = QtWidgets.QCheckBox("Show heatmap  (H)")
        self.show_check.setChecked(True)
        form.addWidget(self.show_check, 0, 0, 1, 3)

        form.addWidget(QtWidgets.QLabel("Opacity"), 1, 0)
        self.opacity_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setPageStep(10)
        form.addWidget(self.opacity_slider, 1, 1)
        self.opacity_value = QtWidgets.QLabel("40%")
        self.opacity_value.setFixedWidth(40)  # fixed: a new value repaints the label, never the layout
        self.opacity_value.setAlignment(
            QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
        )
        form.addWidget(self.opacity_value, 1, 2)

        form.addWidget(QtWidgets.QLabel("Threshold"), 2, 0)
        self.threshold_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(0, 95)
        self.threshold_slider.setPageStep(5)
        self.threshold_slider.setToolTip("Hide activation weaker than this fraction of the scale")
        form.addWidget(self.threshold_slider, 2, 1)
        self.threshold_value = QtWidgets.QLabel("20%")
        self.threshold_value.setFixedWidth(40)
        self.threshold_value.setAlignment(
            QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
        )
        form.addWidget(self.threshold_value, 2, 2)

        form.addWidget(QtWidgets.QLabel("Colours"), 3, 0)
        self.colormap_combo = QtWidgets.QComboBox()
        for name in COLORMAP_NAMES:
            self.colormap_combo.addItem(name.capitalize(), name)
        form.addWidget(self.colormap_combo, 3, 1, 1, 2)

        form.addWidget(QtWidgets.QLabel("Scale"), 4, 0)
        self.scale_combo = QtWidgets.QComboBox()
        self.scale_combo.addItem("Model scale (comparable)", ScaleMode.MODEL.value)
        self.scale_combo.addItem("Per image (relative)", ScaleMode.IMAGE.value)
        form.addWidget(self.scale_combo, 4, 1, 1, 2)

        self.outline_check = QtWidgets.QCheckBox("Outline (contours)  (O)")
        form.addWidget(self.outline_check, 5, 0, 1, 3)
        self.legend = LegendBar()
        form.addWidget(self.legend, 6, 0, 1, 3)
        form.setColumnStretch(1, 1)
        lay.addWidget(box)
        self.heatmap_box = box

        lay.addStretch(1)
        self.notice_label = QtWidgets.QLabel(RESEARCH_NOTICE)
        self.notice_label.setWordWrap(True)
        self.notice_label.setStyleSheet(
            f"color: {theme.AMBER}; font-size: 11px; border-top: 1px solid {theme.BORDER}; padding-top: 6px;"
        )
        lay.addWidget(self.notice_label)

        self.reveal_button.toggled.connect(self.reveal_toggled)
        self.show_check.toggled.connect(self.visibility_changed)
        self.opacity_slider.valueChanged.connect(self._opacity_moved)
        self.threshold_slider.valueChanged.connect(self._threshold_moved)
        self.colormap_combo.currentIndexChanged.connect(self._combo_changed)
        self.scale_combo.currentIndexChanged.connect(self._combo_changed)
        self.outline_check.toggled.connect(self._combo_changed)
        self.set_style(self._style)

    # -- heatmap style -------------------------------------------------------------------------
    def style(self) -> OverlayStyle:
        return self._style

    def set_style(self, style: OverlayStyle) -> None:
        """Reflect a style in the controls (no signal)."""
        self._style = style
        widgets = (
            self.opacity_slider,
            self.threshold_slider,
            self.colormap_combo,
            self.scale_combo,
            self.outline_check,
        )
        for w in widgets:
            w.blockSignals(True)
        self.opacity_slider.setValue(round(style.opacity * 100))
        self.threshold_slider.setValue(round(style.threshold * 100))
        self.colormap_combo.setCurrentIndex(max(0, self.colormap_combo.findData(style.colormap)))
        self.scale_combo.setCurrentIndex(max(0, self.scale_combo.findData(ScaleMode(style.scale_mode).value)))
        self.outline_check.setChecked(style.outline)
        for w in widgets:
            w.blockSignals(False)
        self._update_labels()

    def _update_labels(self) -> None:
        self.opacity_value.setText(f"{self._style.opacity * 100:.0f}%")
        self.threshold_value.setText(f"{self._style.threshold * 100:.0f}%")
        self.legend.set_legend(
            self._style.colormap, self._style.scale_mode, self._model_scale, self._style.threshold
        )

    def _emit(self, style: OverlayStyle) -> None:
        self._style = style
        self._update_labels()
        self.style_changed.emit(style)

    def _opacity_moved(self, value: int) -> None:
        self._style = replace(self._style, opacity=value / 100.0)
        self.opacity_value.setText(f"{value}%")
        self.style_changed.emit(self._style)

    def _threshold_moved(self, value: int) -> None:
        self._emit(replace(self._style, threshold=value / 100.0))

    def _combo_changed(self, *args) -> None:
        self._emit(
            replace(
                self._style,
                colormap=self.colormap_combo.currentData(),
                scale_mode=ScaleMode(self.scale_combo.currentData()),
                outline=self.outline_check.isChecked(),
            )
        )

    def set_heatmap_shown(self, on: bool) -> None:
        """Reflect whether the heatmap is shown in its checkbox (no signal)."""
        self.show_check.blockSignals(True)
        self.show_check.setChecked(on)
        self.show_check.blockSignals(False)

    def set_heatmap_available(self, available: bool, model_scale: float | None) -> None:
        """Enable the controls when there is a heatmap; ``model_scale`` labels the legend."""
        self._model_scale = model_scale
        self.heatmap_box.setEnabled(available)
        self._update_labels()

    # -- results -------------------------------------------------------------------------------
    def set_model_line(self, text: str) -> None:
        self.model_label.setText(text)

    def set_calibration_line(self, text: str) -> None:
        """Which calibration and operating point are in use (empty without a model)."""
        self.calibration_label.setText(text)
        self.calibration_label.setVisible(bool(text))

    def _set_probability(self, text: str, colour: str = theme.TEXT, size: int = 40) -> None:
        self.prob_label.setText(text)
        self.prob_label.setStyleSheet(f"font-size: {size}px; font-weight: 700; color: {colour};")

    def _set_state(self, state: AiState | None) -> None:
        if state is None:
            self.state_badge.hide()
            return
        fg, bg = STATE_STYLE[state]
        self.state_badge.setText(state.title.upper())
        self.state_badge.setStyleSheet(
            f"color: {fg}; background: {bg}; border: 1px solid {fg}; border-radius: 3px;"
            "padding: 1px 6px; font-size: 11px; font-weight: 700; letter-spacing: 0.5px;"
        )
        self.state_badge.show()

    def _set_reasons(self, state: AiState | None, reasons: list[str]) -> None:
        if not reasons or state is None or state is AiState.IN_SCOPE:
            self.warning_box.hide()
            return
        if state is AiState.WITHHELD and len(reasons) == 1:  # the headline above already says it
            self.warning_box.hide()
            return
        if state is AiState.WITHHELD:
            fg, bg = theme.RED, theme.RED_BG
            head = "<b>Why the result is withheld</b>:"
        else:
            fg, bg = theme.AMBER, theme.AMBER_BG
            head = "<b>Caution</b> - outside what the model was trained on:"
        items = "".join(f"<li>{html.escape(r)}</li>" for r in reasons)
        self.warning_box.setStyleSheet(
            f"background: {bg}; color: {fg}; border: 1px solid {fg}; border-radius: 4px; padding: 6px;"
            "font-size: 12px;"
        )
        self.warning_box.setText(
            f"{head}<ul style='margin-left:-20px; margin-top:2px; margin-bottom:0'>{items}</ul>"
        )
        self.warning_box.show()

    def _set_reveal(self, visible: bool, revealed: bool = False) -> None:
        self.reveal_button.blockSignals(True)
        self.reveal_button.setChecked(revealed)
        self.reveal_button.blockSignals(False)
        self.reveal_button.setText(HIDE_TEXT if revealed else REVEAL_TEXT)
        self.reveal_button.setVisible(visible)

    def _show_no_result(self, probability: str, verdict: str, detail: str) -> None:
        self._set_state(None)
        self._set_probability(probability, theme.TEXT_DIM)
        self.bar.set_values(None, None)
        self.bar.show()
        self.verdict_label.setText(verdict)
        self.verdict_label.setToolTip("")
        self.verdict_label.setStyleSheet("font-size: 13px; font-weight: 600;")
        self.threshold_label.setText(detail)
        self._set_reasons(None, [])
        self._set_reveal(False)
        self.revealed_label.hide()

    def clear(self) -> None:
        """No study: nothing of a previous result stays on screen."""
        self._show_no_result("–", "No study open", "")

    def show_pending(self, text: str = "Analysing…") -> None:
        self._show_no_result("…", text, "")

    def show_unavailable(self, reason: str) -> None:
        self._show_no_result("n/a", "AI result not available", reason)

    def show_result(self, result: AiResult, note: str = "", revealed: bool = False) -> None:
        """A gated model result. ``revealed``: the user asked to see the score of this withheld result."""
        # imported here: result.py imports ONNX Runtime, which a result proves is loaded by now
        from viewer.core.model.result import LABEL_TEXT, format_probability, format_threshold  # noqa: PLC0415

        pred, state = result.prediction, result.state
        op = pred.operating_point.replace("_", " ")
        threshold = format_threshold(pred.threshold)
        self._set_state(state)
        self._set_reasons(state, result.assessment.reasons)
        note = f" {note}" if note else ""
        if result.withheld:
            self._set_probability("Withheld", theme.TEXT_DIM, 30)
            self.bar.set_values(None, None)
            self.bar.hide()
            self.verdict_label.setText(result.assessment.headline)
            self.verdict_label.setToolTip("")
            self.verdict_label.setStyleSheet(f"font-size: 13px; font-weight: 600; color: {theme.RED};")
            self.threshold_label.setText(
                (
                    "Shown on request below, with its heatmap: the model's output means nothing for this image."
                    if revealed
                    else "No score, no label and no heatmap: the model's output means nothing for this image."
                )
                + note
            )
            self._set_reveal(True, revealed)
            if revealed:
                above = "at or above" if pred.probability >= pred.threshold else "below"
                self.revealed_label.setText(
                    f"<b>{UNRELIABLE}</b><br><s>{format_probability(pred.probability)}</s> - "
                    f"{html.escape(LABEL_TEXT.get(pred.label, pred.label).lower())} by the model, {above} the "
                    f"threshold {threshold}. Not a result: do not use it for any decision."
                )
            self.revealed_label.setVisible(revealed)
            return
        positive = pred.probability >= pred.threshold
        colour = theme.AMBER if state is AiState.CAUTION else (POSITIVE if positive else NEGATIVE)
        self._set_probability(format_probability(pred.probability), colour)
        self.bar.set_values(pred.probability, pred.threshold)
        self.bar.show()
        caution = " - caution, see below" if state is AiState.CAUTION else ""
        self.verdict_label.setText(result.label_text + caution)
        self.verdict_label.setToolTip(f"Model label at this operating point: {pred.label}")
        self.verdict_label.setStyleSheet(f"font-size: 13px; font-weight: 600; color: {colour};")
        self.threshold_label.setText(
            f"Calibrated probability; {'at or above' if positive else 'below'} the threshold "
            f"{threshold} (operating point: {op}).{note}"
        )
        self._set_reveal(False)
        self.revealed_label.hide()
