"""The evaluation report: one self-contained HTML page (PNGs inlined as data URIs, also saved beside it).

Every number on the page is formatted by :func:`value` from the metrics dict that ``evaluate`` wrote
to ``metrics.json`` (it re-reads the file before calling :func:`write_report`), and carries its key
path: ``<span class="v" data-key="roc_auc_ci95.0" data-fmt="num3">0.981</span>``. A test parses these
spans and checks each one against metrics.json.

The Grad-CAM gallery draws the heatmap exactly as the viewer does (``viewer.core.overlay``: turbo,
40 % opacity, hidden below 20 % of the model's fixed ``heatmap_scale``), so colours are comparable
across images; without a calibrated scale it falls back to per-image scaling and says so.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from training import report_figures as F
from training.data import decode_grey
from training.metrics import predict
from viewer.core.overlay import OverlayStyle, ScaleMode, composite, fit_to_shape, normalise_cam

if TYPE_CHECKING:
    from training.evaluate import Scores

THUMB = 256  # longest side of gallery thumbnails, px
MISSING = "\u2013"
FORMATS = {
    "pct": lambda v: f"{100 * v:.1f}%",
    "num3": lambda v: f"{v:.3f}",
    "num4": lambda v: f"{v:.4f}",
    "int": lambda v: f"{int(v):d}",
}
OUTCOMES = ("TP", "FN", "FP", "TN")
OUTCOME_NAMES = {
    "TP": "true positives",
    "FN": "false negatives",
    "FP": "false positives",
    "TN": "true negatives",
}


# --------------------------------------------------------------------------- number formatting


def lookup(metrics: Mapping, key: str) -> Any:
    """``"a.b.0"`` -> metrics["a"]["b"][0]."""
    obj: Any = metrics
    for part in key.split("."):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


def value(metrics: Mapping, key: str, fmt: str = "pct") -> str:
    """The metric at ``key`` formatted with ``fmt``, tagged with its key (a dash when undefined)."""
    v = lookup(metrics, key)
    text = MISSING if v is None else FORMATS[fmt](v)
    return f'<span class="v" data-key="{html.escape(key)}" data-fmt="{fmt}">{text}</span>'


def ci(metrics: Mapping, key: str, fmt: str) -> str:
    if metrics.get(key) is None:
        return ""
    return f'<span class="ci">95% CI {value(metrics, key + ".0", fmt)}\u2013{value(metrics, key + ".1", fmt)}</span>'


# --------------------------------------------------------------------------- image selection


def outcomes(labels: np.ndarray, preds: np.ndarray) -> np.ndarray:
    out = np.empty(labels.size, dtype=object)
    out[(labels == 1) & (preds == 1)] = "TP"
    out[(labels == 1) & (preds == 0)] = "FN"
    out[(labels == 0) & (preds == 1)] = "FP"
    out[(labels == 0) & (preds == 0)] = "TN"
    return out


def call_confidence(probs: np.ndarray, preds: np.ndarray) -> np.ndarray:
    """How sure the model is of the call it made: p for a positive call, 1 - p for a negative one."""
    return np.where(preds == 1, probs, 1.0 - probs)


def select_gallery(labels, probs, preds, n: int) -> dict[str, list[int]]:
    """Up to ``n`` image indices per outcome: the most confident errors; for correct calls, images
    spread evenly over the confidence range (typical cases, not only the easiest)."""
    kind = outcomes(labels, preds)
    conf = call_confidence(probs, preds)
    picked: dict[str, list[int]] = {}
    for name in OUTCOMES:
        idx = np.flatnonzero(kind == name)
        idx = idx[np.argsort(-conf[idx], kind="stable")]
        if n <= 0:
            picked[name] = []
        elif name in ("FP", "FN") or idx.size <= n:
            picked[name] = [int(i) for i in idx[:n]]
        else:
            picked[name] = [
                int(idx[j]) for j in np.unique(np.linspace(0, idx.size - 1, n).round().astype(int))
            ]
    return picked


def select_misclassified(labels, probs, preds) -> list[int]:
    """All errors, most confidently wrong first."""
    wrong = np.flatnonzero(labels != preds)
    conf = call_confidence(probs, preds)
    return [int(i) for i in wrong[np.argsort(-conf[wrong], kind="stable")]]


def _thumb(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    s = THUMB / max(h, w)
    if s >= 1:
        return img
    return cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def overlay_image(path: str, cam: np.ndarray, heatmap_scale: float | None) -> np.ndarray:
    """The study at its default window with the heatmap burned in as the viewer draws it."""
    grey = decode_grey(path)
    heat = np.maximum(fit_to_shape(cam, grey.shape), 0.0)
    mode = ScaleMode.MODEL if heatmap_scale else ScaleMode.IMAGE
    return _thumb(composite(grey, normalise_cam(heat, mode, heatmap_scale), OverlayStyle(scale_mode=mode)))


def _short(name: str, width: int = 30) -> str:
    name = Path(name).name
    return name if len(name) <= width else name[: width - 1] + "\u2026"


# --------------------------------------------------------------------------- HTML

CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;color:#1d1d1f;margin:0;
background:#f5f6f8;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:24px 28px 40px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 10px;border-bottom:1px solid #d9dce1;
padding-bottom:4px}h3{font-size:15px;margin:14px 0 6px}
.sub{color:#5a5f66;font-size:14px}.banner{border-radius:6px;padding:10px 14px;margin:14px 0;font-size:14px}
.warn{background:#fff4d6;border:1px solid #f0c75e}.info{background:#e8f1fb;border:1px solid #a9c8ec}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;margin-top:14px}
.card{background:#fff;border:1px solid #dde0e5;border-radius:8px;padding:10px 12px}
.card .k{font-size:12px;color:#5a5f66;text-transform:uppercase;letter-spacing:.03em}
.card .big{font-size:26px;font-weight:600;margin:2px 0}.ci{display:block;font-size:12px;color:#5a5f66}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}.fig{background:#fff;border:1px solid #dde0e5;
border-radius:8px;padding:8px;text-align:center}.fig img{max-width:100%;height:auto}
.fig p{font-size:13px;color:#5a5f66;text-align:left;margin:6px 8px}
table{border-collapse:collapse;background:#fff;font-size:13px;margin:6px 0}
th,td{border:1px solid #dde0e5;padding:4px 9px;text-align:right}th{background:#eef0f3}
td.l,th.l{text-align:left}tr.named td{background:#fffbe6}tr.sel td{background:#ffefb0;font-weight:600}
code{font-size:12px}footer{margin-top:36px;font-size:12px;color:#5a5f66}
@media(max-width:800px){.grid2{grid-template-columns:1fr}}
"""


def _img(png: bytes, alt: str) -> str:
    return (
        f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
    )


def _card(metrics: Mapping, title: str, key: str, fmt: str, ci_key: str | None = None) -> str:
    return (
        f'<div class="card"><div class="k">{title}</div><div class="big">{value(metrics, key, fmt)}</div>'
        f"{ci(metrics, ci_key, fmt) if ci_key else ''}</div>"
    )


def _threshold_table(metrics: Mapping) -> str:
    head = (
        "<tr><th>threshold</th><th class=l>operating point</th><th>sensitivity</th><th>specificity</th>"
        "<th>PPV</th><th>NPV</th><th>F1</th><th>positive calls</th><th>TP</th><th>FP</th><th>FN</th>"
        "<th>TN</th></tr>"
    )
    body = []
    for i, row in enumerate(metrics["threshold_table"]):
        k = f"threshold_table.{i}"
        cls = "sel" if row["name"] == metrics["operating_point"] else ("named" if row["name"] else "")
        cells = [value(metrics, f"{k}.threshold", "num4"), html.escape(row["name"])]
        cells += [
            value(metrics, f"{k}.{c}", "pct") for c in ("sensitivity", "specificity", "ppv", "npv", "f1")
        ]
        cells += [value(metrics, f"{k}.{c}", "int") for c in ("positive_calls", "tp", "fp", "fn", "tn")]
        tds = "".join(f"<td{' class=l' if j == 1 else ''}>{c}</td>" for j, c in enumerate(cells))
        body.append(f'<tr class="{cls}">{tds}</tr>')
    return f"<table>{head}{''.join(body)}</table>"


def _subtype_table(metrics: Mapping) -> str:
    rows = []
    for name, label in (("bacteria", "bacterial"), ("virus", "viral")):
        rows.append(
            f"<tr><td class=l>{label} pneumonia</td><td>{value(metrics, f'subtypes.{name}.n', 'int')}</td>"
            f"<td>{value(metrics, f'subtypes.{name}.detected', 'int')}</td>"
            f"<td>{value(metrics, f'subtype_sensitivity.{name}', 'pct')}</td></tr>"
        )
    return (
        "<table><tr><th class=l>subtype (from file name)</th><th>images</th><th>detected</th>"
        f"<th>sensitivity</th></tr>{''.join(rows)}</table>"
    )


def _confusion_table(metrics: Mapping) -> str:
    def c(k):
        return value(metrics, f"confusion_matrix.{k}", "int")

    return (
        "<table><tr><th></th><th>called NORMAL</th><th>called PNEUMONIA</th></tr>"
        f"<tr><th class=l>NORMAL</th><td>TN {c('tn')}</td><td>FP {c('fp')}</td></tr>"
        f"<tr><th class=l>PNEUMONIA</th><td>FN {c('fn')}</td><td>TP {c('tp')}</td></tr></table>"
    )


def _banners(metrics: Mapping) -> str:
    out = []
    subset = metrics.get("data", {}).get("subset")
    if subset == "val":
        out.append(
            "These images are the run's <b>validation subset</b>: the model was selected, calibrated and "
            "its thresholds chosen on them. Expect these figures to flatter the model; only a held-out "
            "test set estimates performance."
        )
    elif subset == "train":
        out.append(
            "These images are the run's <b>training subset</b>: the figures say nothing about performance "
            "on new patients."
        )
    model = metrics.get("model", {})
    if model and not model.get("calibrated", True):
        out.append(
            "The model is <b>not calibrated</b> (temperature 1, threshold 0.5, no fixed heatmap scale): "
            "probabilities are raw network outputs and heatmaps are scaled per image."
        )
    return "".join(f'<div class="banner warn">{t}</div>' for t in out)


def _model_rows(metrics: Mapping) -> str:
    m, d = metrics.get("model", {}), metrics.get("data", {})
    rows = [
        ("model file", m.get("path")),
        ("kind", m.get("kind")),
        ("name / version", f"{m.get('name', '')} {m.get('version', '')}"),
        ("architecture", m.get("architecture")),
        ("sha256", m.get("sha256")),
        ("calibrated", m.get("calibrated")),
        ("temperature", m.get("temperature")),
        (
            "operating points",
            ", ".join(f"{k} = {v:.4g}" for k, v in (m.get("operating_points") or {}).items()),
        ),
        ("heatmap scale", m.get("heatmap_scale")),
    ]
    rows += [(f"model {k}", v) for k, v in (m.get("details") or {}).items()]
    rows += [
        ("data root", d.get("root")),
        ("split file", d.get("split_file")),
        ("subset", d.get("subset")),
        (
            "bootstrap",
            f"{metrics['bootstrap']['replicates']} replicates, {metrics['bootstrap']['method']}, "
            f"seed {metrics['bootstrap']['seed']}",
        ),
        ("created", metrics.get("created")),
    ]
    return "".join(
        f"<tr><td class=l>{html.escape(k)}</td><td class=l><code>{html.escape(str(v))}</code></td></tr>"
        for k, v in rows
        if v not in (None, "")
    )


def _misclassified_table(metrics: Mapping, scores: Scores, wrong: list[int], limit: int = 200) -> str:
    rows = []
    for rank, i in enumerate(wrong[:limit], 1):
        truth = "PNEUMONIA" if scores.labels[i] else "NORMAL"
        kind = "FN" if scores.labels[i] else "FP"
        rows.append(
            f"<tr><td>{rank}</td><td class=l>{html.escape(scores.files[i])}</td><td class=l>{truth}</td>"
            f"<td>{kind}</td><td>{scores.probabilities[i]:.4f}</td></tr>"
        )
    more = f"<p>{len(wrong) - limit} more in predictions.csv.</p>" if len(wrong) > limit else ""
    return (
        "<table><tr><th>#</th><th class=l>file</th><th class=l>truth</th><th>error</th><th>probability</th></tr>"
        f"{''.join(rows)}</table>{more}"
    )


def write_report(
    out_dir: str | Path,
    metrics: Mapping,
    scores: Scores,
    *,
    title: str | None = None,
    gradcam_n: int = 8,
    sheet_n: int = 48,
) -> Path:
    """Write the PNG figures and ``report.html`` into ``out_dir``; returns the HTML path."""
    out_dir = Path(out_dir)
    y, p = scores.labels, scores.probabilities
    preds = predict(p, metrics["threshold"])
    model = metrics.get("model", {})
    scale = model.get("heatmap_scale")
    figs: dict[str, bytes] = {
        "roc": F.to_png(F.roc_figure(y, p, metrics)),
        "pr": F.to_png(F.pr_figure(y, p, metrics)),
        "confusion": F.to_png(F.confusion_figure(metrics)),
        "reliability": F.to_png(F.reliability_figure(metrics)),
        "histograms": F.to_png(F.histogram_figure(y, p, metrics)),
    }
    kinds = outcomes(y, preds)
    picked = select_gallery(y, p, preds, gradcam_n)
    rows = []
    for name in OUTCOMES:
        items = [
            (
                overlay_image(scores.paths[i], scores.cams[i], scale),
                f"{_short(scores.files[i])}\np = {p[i]:.3f}",
                name,
            )
            for i in picked[name]
        ]
        rows.append((f"{name} ({int((kinds == name).sum())})", items))
    cbar = (float(scale), "raw Grad-CAM on the model's fixed scale (hidden below 20%)") if scale else None
    if gradcam_n > 0:
        figs["gradcam"] = F.to_png(F.image_grid(rows, gradcam_n, colorbar=cbar))
    wrong = select_misclassified(y, p, preds)
    if wrong and sheet_n > 0:
        sheet = [
            (
                _thumb(decode_grey(scores.paths[i])),
                f"#{r}  {kinds[i]}  p = {p[i]:.3f}\n{_short(scores.files[i], 30)}",
                kinds[i],
            )
            for r, i in enumerate(wrong[:sheet_n], 1)
        ]
        figs["misclassified"] = F.to_png(F.image_grid([("", sheet)], min(8, len(sheet)), cell=1.7))
    for name, png in figs.items():
        (out_dir / f"{name}.png").write_bytes(png)

    m = metrics
    d = m.get("data", {})
    title = (
        title
        or f"{model.get('name', 'model')} {model.get('version', '')} on {Path(d.get('root', '')).name}"
        + (f" ({d['subset']} subset)" if d.get("subset") else "")
    )
    calibrated = "calibrated " if model.get("calibrated", True) else "uncalibrated "
    op = (
        f"Operating point <b>{html.escape(m['operating_point'])}</b>: an image is called PNEUMONIA when the "
        f"{calibrated}probability is at least {value(m, 'threshold', 'num4')}. n = {value(m, 'n', 'int')} images "
        f"({value(m, 'n_positive', 'int')} pneumonia, {value(m, 'n_negative', 'int')} normal; prevalence "
        f"{value(m, 'prevalence', 'pct')})."
    )
    gallery_note = (
        "heatmaps on the model's fixed scale, comparable across images"
        if scale
        else "no calibrated heatmap scale: each heatmap is scaled to its own maximum"
    )
    parts = [
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{CSS}</style></head><body><main>",
        f"<h1>Pneumoscope evaluation</h1><div class=sub>{html.escape(title)}</div>",
        _banners(m),
        f'<div class="banner info">{op}</div>',
        '<div class="cards">',
        _card(m, "Sensitivity (recall)", "sensitivity", "pct", "sensitivity_ci95"),
        _card(m, "Specificity", "specificity", "pct", "specificity_ci95"),
        _card(m, "Precision (PPV)", "precision", "pct"),
        _card(m, "NPV", "npv", "pct"),
        _card(m, "Accuracy", "accuracy", "pct"),
        _card(m, "F1", "f1", "num3"),
        _card(m, "ROC AUC", "roc_auc", "num3", "roc_auc_ci95"),
        _card(m, "Average precision", "average_precision", "num3"),
        _card(m, "ECE (calibration)", "ece", "num3"),
        "</div>",
        "<h2>Discrimination</h2><div class=grid2>",
        f"<div class=fig>{_img(figs['roc'], 'ROC curve')}<p>ROC AUC {value(m, 'roc_auc', 'num3')} "
        f"{ci(m, 'roc_auc_ci95', 'num3')} Markers: the model's operating points.</p></div>",
        f"<div class=fig>{_img(figs['pr'], 'precision-recall curve')}<p>Average precision "
        f"{value(m, 'average_precision', 'num3')}.</p></div></div>",
        "<h2>Errors at the operating point</h2><div class=grid2>",
        f"<div class=fig>{_img(figs['confusion'], 'confusion matrix')}{_confusion_table(m)}</div>",
        "<div class=fig><h3>Sensitivity by pneumonia subtype</h3>"
        + _subtype_table(m)
        + "<p>Subtypes come from the file names (<code>_bacteria_</code>, <code>_virus_</code>); the model does not "
        "tell them apart, it only calls pneumonia.</p></div></div>",
        "<h2>Calibration and score distribution</h2><div class=grid2>",
        f"<div class=fig>{_img(figs['reliability'], 'reliability diagram')}<p>ECE {value(m, 'ece', 'num3')}, "
        f"Brier score {value(m, 'brier', 'num4')}.</p></div>",
        f"<div class=fig>{_img(figs['histograms'], 'probability histograms')}</div></div>",
        "<h2>Thresholds</h2><p>Highlighted rows: the model's named operating points (selected one in bold).</p>",
        _threshold_table(m),
    ]
    if "gradcam" in figs:
        parts.append(
            f"<h2>Grad-CAM gallery</h2><p>Up to {gradcam_n} images per outcome: the most confident errors "
            f"and correct calls spread over the confidence range; {gallery_note}.</p>"
            f"<div class=fig>{_img(figs['gradcam'], 'Grad-CAM gallery')}</div>"
        )
    parts.append(f"<h2>Misclassified images ({len(wrong)})</h2>")
    if "misclassified" in figs:
        shown = min(len(wrong), sheet_n)
        parts.append(
            f"<p>Most confidently wrong first ({shown} shown). Red frame: false positive; orange: false "
            f"negative.</p><div class=fig>{_img(figs['misclassified'], 'misclassified images')}</div>"
        )
    parts.append(_misclassified_table(m, scores, wrong) if wrong else "<p>None.</p>")
    parts += [
        "<h2>Model and data</h2><table>",
        _model_rows(m),
        "</table>",
        "<footer>Files beside this report: <code>metrics.json</code> (every number above), "
        "<code>predictions.csv</code> (one row per image) and the figures as PNG. Research use only; not a "
        "medical device.</footer></main></body></html>",
    ]
    path = out_dir / "report.html"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    os.replace(tmp, path)
    return path


__all__ = ["lookup", "select_gallery", "select_misclassified", "value", "write_report"]
