"""Figures of the evaluation report, as PNG bytes.

matplotlib through its object-oriented API only (``Figure`` + the Agg canvas, never ``pyplot``): no
global state, no GUI backend, safe in tests and worker processes. Every number drawn comes from the
metrics dict (``training.evaluate.compute_metrics``, as written to metrics.json) except the curves
themselves, which are recomputed from the per-image probabilities.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 110
COLOURS = {"NORMAL": "#2c7bb6", "PNEUMONIA": "#d7301f"}
OP_MARKERS = ("*", "o", "D", "s", "^", "v")
OUTCOME_COLOURS = {"TP": "#1a9641", "TN": "#1a9641", "FP": "#d7191c", "FN": "#fdae61"}


def to_png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def _style(ax, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _named_rows(metrics: Mapping) -> list[dict]:
    """Threshold-table rows of the model's named operating points, the selected one first."""
    rows = [r for r in metrics["threshold_table"] if r["name"]]
    return sorted(rows, key=lambda r: r["name"] != metrics["operating_point"])


def _op_label(row: Mapping, selected: str) -> str:
    star = " (selected)" if row["name"] == selected else ""
    return f"{row['name']}{star}: p \u2265 {row['threshold']:.3g}"


def roc_figure(labels: np.ndarray, probs: np.ndarray, metrics: Mapping) -> Figure:
    from sklearn.metrics import roc_curve

    fig = Figure(figsize=(5.2, 4.6))
    ax = fig.add_subplot()
    auc, ci = metrics["roc_auc"], metrics["roc_auc_ci95"]
    if auc is None:
        ax.text(0.5, 0.5, "ROC undefined: only one class present", ha="center", va="center")
        return fig
    fpr, tpr, _ = roc_curve(labels, probs)
    label = f"AUROC {auc:.3f}" + (f" (95% CI {ci[0]:.3f}\u2013{ci[1]:.3f})" if ci else "")
    ax.plot(fpr, tpr, color=COLOURS["PNEUMONIA"], lw=2, label=label)
    ax.plot([0, 1], [0, 1], ls="--", color="#999999", lw=1)
    axes = [ax]
    if auc >= 0.9:  # the interesting part hugs the corner: zoom in
        inset = ax.inset_axes([0.47, 0.33, 0.48, 0.44])
        inset.plot(fpr, tpr, color=COLOURS["PNEUMONIA"], lw=1.5)
        span = 0.2 if auc >= 0.95 else 0.3
        inset.set_xlim(-0.004, span)
        inset.set_ylim(1 - span, 1.004)
        inset.tick_params(labelsize=7)
        inset.grid(True, color="#eeeeee", linewidth=0.5)
        inset.text(0.97, 0.05, "zoom", transform=inset.transAxes, ha="right", fontsize=7, color="#777777")
        axes.append(inset)
    for k, row in enumerate(_named_rows(metrics)):
        if row["specificity"] is None or row["sensitivity"] is None:
            continue
        for a in axes:
            a.plot(
                1 - row["specificity"],
                row["sensitivity"],
                OP_MARKERS[k % len(OP_MARKERS)],
                color="black",
                ms=11 if k == 0 else 6,
                mfc="gold" if k == 0 else "white",
                label=_op_label(row, metrics["operating_point"]) if a is ax else None,
                zorder=5,
                clip_on=a is not ax,
            )
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_title(f"ROC curve (n = {metrics['n']})")
    _style(ax, "1 \u2212 specificity (false-positive rate)", "sensitivity (true-positive rate)")
    ax.legend(loc="lower right", fontsize=7)
    return fig


def pr_figure(labels: np.ndarray, probs: np.ndarray, metrics: Mapping) -> Figure:
    from sklearn.metrics import precision_recall_curve

    fig = Figure(figsize=(5.2, 4.6))
    ax = fig.add_subplot()
    ap = metrics["average_precision"]
    if ap is None or metrics["n_positive"] == 0:
        ax.text(0.5, 0.5, "PR curve undefined: no positives", ha="center", va="center")
        return fig
    precision, recall, _ = precision_recall_curve(labels, probs)
    ax.step(recall, precision, where="post", color=COLOURS["PNEUMONIA"], lw=2, label=f"AP {ap:.3f}")
    ax.axhline(
        metrics["prevalence"],
        ls="--",
        color="#999999",
        lw=1,
        label=f"chance (prevalence {metrics['prevalence']:.2f})",
    )
    for k, row in enumerate(_named_rows(metrics)):
        if row["ppv"] is None or row["sensitivity"] is None:
            continue
        ax.plot(
            row["sensitivity"],
            row["ppv"],
            OP_MARKERS[k % len(OP_MARKERS)],
            color="black",
            ms=11 if k == 0 else 6,
            mfc="gold" if k == 0 else "white",
            label=_op_label(row, metrics["operating_point"]),
            zorder=5,
        )
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(min(0.5, metrics["prevalence"] - 0.05), 1.01)
    ax.set_title("Precision-recall curve (positive class: PNEUMONIA)")
    _style(ax, "recall (sensitivity)", "precision (PPV)")
    ax.legend(loc="lower left", fontsize=7)
    return fig


def confusion_figure(metrics: Mapping) -> Figure:
    cm = metrics["confusion_matrix"]
    counts = np.array([[cm["tn"], cm["fp"]], [cm["fn"], cm["tp"]]], dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    fig = Figure(figsize=(4.4, 3.9))
    ax = fig.add_subplot()
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    names = [["TN", "FP"], ["FN", "TP"]]
    for i in range(2):
        for j in range(2):
            dark = share[i, j] > 0.55
            ax.text(
                j,
                i,
                f"{names[i][j]}\n{int(counts[i, j])}\n{100 * share[i, j]:.1f}% of row",
                ha="center",
                va="center",
                fontsize=10,
                color="white" if dark else "#222222",
            )
    ax.set_xticks([0, 1], ["NORMAL", "PNEUMONIA"])
    ax.set_yticks([0, 1], ["NORMAL", "PNEUMONIA"])
    ax.set_xlabel("model call")
    ax.set_ylabel("true label")
    ax.set_title(
        f"Confusion matrix at p \u2265 {metrics['threshold']:.4g}\n({metrics['operating_point']})",
        fontsize=10,
    )
    return fig


def reliability_figure(metrics: Mapping) -> Figure:
    bins = metrics["reliability"]["bins"]
    fig = Figure(figsize=(5.2, 4.8))
    gs = fig.add_gridspec(2, 1, height_ratios=(3, 1), hspace=0.08)
    ax = fig.add_subplot(gs[0])
    axc = fig.add_subplot(gs[1], sharex=ax)
    width = bins[0]["hi"] - bins[0]["lo"]
    centres = np.array([(b["lo"] + b["hi"]) / 2 for b in bins])
    filled = [b for b in bins if b["count"]]
    ax.bar(
        [(b["lo"] + b["hi"]) / 2 for b in filled],
        [b["fraction_positive"] for b in filled],
        width=width * 0.92,
        color=COLOURS["PNEUMONIA"],
        alpha=0.35,
        edgecolor=COLOURS["PNEUMONIA"],
        label="fraction pneumonia",
    )
    ax.plot(
        [b["mean_probability"] for b in filled],
        [b["fraction_positive"] for b in filled],
        "o-",
        color=COLOURS["PNEUMONIA"],
        ms=4,
        lw=1,
        label="bin mean probability",
    )
    ax.plot([0, 1], [0, 1], ls="--", color="#777777", lw=1, label="perfect calibration")
    ece = metrics["ece"]
    ax.set_title(
        f"Reliability diagram, ECE {ece:.3f} ({len(bins)} equal-width bins)"
        if ece is not None
        else "Reliability diagram"
    )
    ax.set_ylim(0, 1.02)
    _style(ax, "", "observed fraction pneumonia")
    ax.tick_params(labelbottom=False)
    ax.legend(loc="upper left", fontsize=7)
    counts = [b["count"] for b in bins]
    axc.bar(centres, counts, width=width * 0.92, color="#777777")
    if max(counts) > 50:  # most images sit in the end bins: a log scale keeps the middle visible
        from matplotlib.ticker import FuncFormatter, NullFormatter

        axc.set_yscale("log")
        axc.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axc.yaxis.set_minor_formatter(NullFormatter())
    axc.set_xlim(0, 1)
    _style(axc, "predicted probability of pneumonia", "images")
    return fig


def histogram_figure(labels: np.ndarray, probs: np.ndarray, metrics: Mapping) -> Figure:
    fig = Figure(figsize=(5.2, 4.6))
    ax = fig.add_subplot()
    edges = np.linspace(0, 1, 41)
    for lab, name in enumerate(("NORMAL", "PNEUMONIA")):
        sel = probs[labels == lab]
        ax.hist(
            sel,
            bins=edges,
            histtype="stepfilled",
            alpha=0.4,
            color=COLOURS[name],
            label=f"{name} (n = {sel.size})",
        )
        ax.hist(sel, bins=edges, histtype="step", color=COLOURS[name], lw=1.2)
    ax.axvline(
        metrics["threshold"],
        color="black",
        ls="--",
        lw=1.2,
        label=f"threshold {metrics['threshold']:.4g} ({metrics['operating_point']})",
    )
    if metrics["n"] > 200:
        ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_title("Predicted probability by true class", pad=34)
    calibrated = (metrics.get("model") or {}).get("calibrated", True)
    _style(
        ax,
        "predicted probability of pneumonia" + (" (calibrated)" if calibrated else " (uncalibrated)"),
        "images" + (" (log scale)" if metrics["n"] > 200 else ""),
    )
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
    return fig


def image_grid(
    rows: Sequence[tuple[str, Sequence[tuple[np.ndarray, str, str]]]],
    n_cols: int,
    cell: float = 1.9,
    colorbar: tuple[float, str] | None = None,
) -> Figure:
    """Rows of (title, [(rgb or grey image, caption, outcome)]) -> a grid figure.

    ``colorbar``: (top value, text) draws a turbo colour bar for the heatmap scale.
    """
    n_cols = max(1, n_cols)
    ratios = []  # one entry per line of thumbnails; an empty group gets a short line saying "none"
    for _, items in rows:
        ratios += [1.0] * (-(-len(items) // n_cols)) if items else [0.3]
    extra = 0.6 if colorbar else 0.0
    height = sum(ratios) * (cell + 0.3) + extra
    fig = Figure(figsize=(n_cols * cell + 0.4, height))
    gs = fig.add_gridspec(
        len(ratios),
        n_cols,
        hspace=0.22,
        wspace=0.06,
        height_ratios=ratios,
        bottom=(0.65 / height) if colorbar else 0.02,
        top=1 - 0.05 / height * 4,
    )
    r = 0
    for title, items in rows:
        lines = max(1, -(-len(items) // n_cols))
        for k in range(lines * n_cols):
            ax = fig.add_subplot(gs[r + k // n_cols, k % n_cols])
            ax.set_xticks([])
            ax.set_yticks([])
            for s in ax.spines.values():
                s.set_visible(False)
            if k == 0:
                ax.text(
                    -0.06,
                    0.5,
                    title,
                    transform=ax.transAxes,
                    rotation=90,
                    ha="right",
                    va="center",
                    fontsize=9,
                    fontweight="bold",
                )
            if k >= len(items):
                if k == 0:
                    ax.text(0.5, 0.5, "none", ha="center", va="center", color="#888888", fontsize=9)
                continue
            img, caption, outcome = items[k]
            ax.imshow(
                img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255, interpolation="antialiased"
            )
            ax.set_title(caption, fontsize=6.5, pad=2)
            colour = OUTCOME_COLOURS.get(outcome)
            if colour:
                for s in ax.spines.values():
                    s.set_visible(True)
                    s.set_edgecolor(colour)
                    s.set_linewidth(2.5)
        r += lines
    if colorbar:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        top, text = colorbar
        cax = fig.add_axes([0.3, 0.2 / height, 0.4, 0.12 / height])
        cb = fig.colorbar(ScalarMappable(Normalize(0, top), "turbo"), cax=cax, orientation="horizontal")
        cb.ax.tick_params(labelsize=7)
        cb.set_label(text, fontsize=7)
    return fig


__all__ = [
    "DPI",
    "confusion_figure",
    "histogram_figure",
    "image_grid",
    "pr_figure",
    "reliability_figure",
    "roc_figure",
    "to_png",
]
