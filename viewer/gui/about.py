"""Help > About: version, the research-use notice and the model card read from the ONNX metadata."""

from __future__ import annotations

import html
import json
from importlib import metadata

from PySide6 import QtCore, QtWidgets

from viewer.gui.ai_panel import RESEARCH_NOTICE


def app_version() -> str:
    try:
        return metadata.version("pneumoscope")
    except metadata.PackageNotFoundError:
        return "development"


def _fmt_metrics(metrics: dict) -> str:
    parts = []
    for key, value in (metrics or {}).items():
        if isinstance(value, float):
            parts.append(f"{key} {value:.3f}")
        elif isinstance(value, (int, str)):
            parts.append(f"{key} {value}")
        else:
            parts.append(f"{key} {json.dumps(value, default=str)[:80]}")
    return ", ".join(parts)


def model_card_html(info, provider: str = "", source: str = "", fallback: str | None = None) -> str:
    """Model card summary (name, version, training data, metrics, thresholds, limits) as HTML rows."""
    if info is None:
        return ""
    e = html.escape
    ops = ", ".join(f"{e(k)} {v:.2f}" for k, v in info.operating_points.items())
    data = info.training_data or {}
    counts = data.get("counts") if isinstance(data, dict) else None
    rows = [
        ("Model", f"{e(info.name)} {e(info.version)} ({e(info.architecture)}, {e(info.precision)})"),
        ("Created", e(info.created)),
        ("Classes", e(" / ".join(info.class_names))),
        ("Operating points", f"{ops}; default {e(info.default_operating_point)}"),
        (
            "Calibration",
            f"temperature {info.temperature:.3g}" + ("" if info.calibrated else " (not calibrated)"),
        ),
        ("Heatmap scale", f"0 .. {info.heatmap_scale:g} (fixed, comparable across studies)"),
        ("Validation", e(_fmt_metrics(info.validation_metrics))),
        ("Training data", e(json.dumps(counts) if counts else _fmt_metrics(data)[:200])),
        ("Intended use", e(info.intended_use)),
        ("Limits", e(info.limits)),
    ]
    if provider:
        rows.append(("Runs on", e(provider) + (f" - {e(fallback)}" if fallback else "")))
    if source:
        rows.append(("File", e(source)))
    body = "".join(
        f"<tr><td style='color:#9aa0a8; padding-right:12px; vertical-align:top'>{k}</td><td>{v}</td></tr>"
        for k, v in rows
    )
    return f"<table cellspacing='2'>{body}</table>"


class AboutDialog(QtWidgets.QDialog):
    def __init__(self, parent=None, model=None, model_error: str | None = None):
        super().__init__(parent)
        self.setWindowTitle("About Pneumoscope")
        self.resize(620, 560)
        lay = QtWidgets.QVBoxLayout(self)
        head = QtWidgets.QLabel(
            f"<h2 style='margin-bottom:0'>Pneumoscope {html.escape(app_version())}</h2>"
            "<p style='color:#9aa0a8; margin-top:2px'>Offline chest X-ray viewer with on-device pneumonia AI.</p>"
        )
        lay.addWidget(head)
        notice = QtWidgets.QLabel(RESEARCH_NOTICE)
        notice.setWordWrap(True)
        notice.setStyleSheet(
            "color: #f0a830; font-weight: 600; border: 1px solid #f0a830; padding: 6px; border-radius: 4px;"
        )
        lay.addWidget(notice)
        self.notice = notice
        card = QtWidgets.QTextBrowser()
        card.setOpenExternalLinks(False)
        if model is not None:
            card.setHtml(
                "<h3>Model card</h3>"
                + model_card_html(
                    model.info,
                    getattr(model, "provider", ""),
                    getattr(model, "source", ""),
                    getattr(model, "fallback_reason", None),
                )
            )
        else:
            card.setHtml(f"<h3>Model card</h3><p>No AI model loaded. {html.escape(model_error or '')}</p>")
        lay.addWidget(card, 1)
        self.card = card
        foot = QtWidgets.QLabel(
            "Pneumoscope opens no network connection: images, results and logs stay on this computer. "
            f"Qt {QtCore.qVersion()}."
        )
        foot.setWordWrap(True)
        foot.setStyleSheet("color: #9aa0a8; font-size: 11px;")
        lay.addWidget(foot)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
