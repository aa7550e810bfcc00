"""Help > About: version, the research-use notice and the model card read from the ONNX metadata."""

from __future__ import annotations

import html
import json
import math

from PySide6 import QtCore, QtWidgets

from viewer.config import APP_NAME, OFFLINE_NOTE, RESEARCH_NOTICE, TAGLINE, app_title


def _fmt_metrics(metrics: dict) -> str:
    """Validation figures a reader can scan: AUROC, ECE, then each operating point's sensitivity and
    specificity; any other scalar afterwards."""
    metrics = dict(metrics or {})
    parts = []
    if isinstance(metrics.get("roc_auc"), (int, float)):
        n = metrics.get("n")
        parts.append(f"AUROC {metrics.pop('roc_auc'):.4f}" + (f" on {n} images" if n else ""))
    metrics.pop("n", None)
    ece = metrics.pop("ece_after", metrics.pop("ece", None))
    metrics.pop("ece_before", None)
    if isinstance(ece, (int, float)):
        parts.append(f"ECE {ece:.3f}")
    points = metrics.pop("operating_points", None)
    if isinstance(points, dict):
        for name, at in points.items():
            if isinstance(at, dict) and {"sensitivity", "specificity"} <= set(at):
                parts.append(
                    f"{name}: sensitivity {at['sensitivity']:.3f}, specificity {at['specificity']:.3f}"
                )
    for key, value in metrics.items():
        if isinstance(value, float):
            parts.append(f"{key} {value:.3f}")
        elif isinstance(value, (int, str)):
            parts.append(f"{key} {value}")
    return "; ".join(parts)


def _fmt_training_data(data: dict) -> str:
    if not isinstance(data, dict):
        return ""
    if {"n_train", "n_val"} <= set(data):
        text = f"{data['n_train']} training images"
        if "train_pneumonia" in data:
            text += f" ({data['train_pneumonia']} pneumonia)"
        text += f", {data['n_val']} validation images"
        if "val_pneumonia" in data:
            text += f" ({data['val_pneumonia']} pneumonia)"
        if data.get("manifest_sha256"):
            text += f"; {data.get('manifest') or 'manifest'} sha256 {str(data['manifest_sha256'])[:12]}…"
        return text
    counts = data.get("counts")
    return json.dumps(counts) if counts else _fmt_metrics(data)[:200]


def _fmt_ood(info) -> str:
    """Whether and how the model scores an image as unlike its training data (the AI gate's image check)."""
    ood = info.ood or {}
    threshold = ood.get("threshold")
    if not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        return "none: only the study's tags and image gate the result"
    fit = ood.get("fitted_on")
    fitted = ""
    if isinstance(fit, dict) and fit.get("split"):
        fitted = f"; statistics of the {fit['split']} split" + (f" (n={fit['n']})" if fit.get("n") else "")
    quantile = f" (the {ood['quantile']:g}th percentile of validation images)" if ood.get("quantile") else ""
    method = str(ood.get("method", "?"))
    return html.escape(f"{method}: images scoring above {threshold:.3g}{quantile} are withheld{fitted}")


def model_card_html(info, provider: str = "", source: str = "", fallback: str | None = None) -> str:
    """Model card summary (name, version, training data, metrics, thresholds, limits) as HTML rows."""
    if info is None:
        return ""
    e = html.escape
    ops = ", ".join(f"{e(k)} {v:.2f}" for k, v in info.operating_points.items())
    data = info.training_data or {}
    rows = [
        ("Model", f"{e(info.name)} {e(info.version)} ({e(info.architecture)}, {e(info.precision)})"),
        ("Created", e(info.created)),
        ("Classes", e(" / ".join(info.class_names))),
        ("Operating points", f"{ops}; default {e(info.default_operating_point)}"),
        ("Calibration in use", e(info.calibration_label)),
        (
            "Calibration",
            f"temperature {info.temperature:.3g}"
            + (f", logit shift {info.logit_shift:+.3g}" if info.logit_shift else "")
            + ("" if info.calibrated else " (not calibrated)"),
        ),
        ("Out-of-distribution check", _fmt_ood(info)),
        ("Heatmap scale", f"fixed: Grad-CAM {info.heatmap_scale:.3g} = strongest colour, in every study"),
        ("Validation", e(_fmt_metrics(info.validation_metrics))),
        ("Training data", e(_fmt_training_data(data))),
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
        self.setWindowTitle(f"About {APP_NAME}")
        self.resize(620, 560)
        lay = QtWidgets.QVBoxLayout(self)
        head = QtWidgets.QLabel(
            f"<h2 style='margin-bottom:0'>{html.escape(app_title())}</h2>"
            f"<p style='color:#9aa0a8; margin-top:2px'>{html.escape(TAGLINE)}</p>"
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
        foot = QtWidgets.QLabel(f"{OFFLINE_NOTE} Qt {QtCore.qVersion()}.")
        foot.setWordWrap(True)
        foot.setStyleSheet("color: #9aa0a8; font-size: 11px;")
        lay.addWidget(foot)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
