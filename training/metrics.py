"""Binary-classification metrics for the evaluation report: pure numpy (+ scikit-learn for AP).

Conventions used everywhere (and by the viewer): label 1 = PNEUMONIA is the positive class and an
image is called positive when ``probability >= threshold``. A figure that is undefined for the data
(precision with no positive calls, AUROC with one class present, ...) is ``None``, never NaN, so it
survives JSON and is shown as a dash.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

DEFAULT_ECE_BINS = 15
DEFAULT_TABLE_THRESHOLDS = tuple(round(0.1 * k, 1) for k in range(1, 10))


def _arrays(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).astype(np.int64).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length: {y.size} vs {s.size}")
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    return y, s


def safe_div(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


def predict(probabilities, threshold: float) -> np.ndarray:
    """0/1 decisions: positive iff ``probability >= threshold`` (the viewer's rule)."""
    return (np.asarray(probabilities, dtype=np.float64) >= float(threshold)).astype(np.int64)


def confusion_counts(labels, predictions) -> dict[str, int]:
    """{"tn", "fp", "fn", "tp"} for 0/1 labels and 0/1 predictions."""
    y, p = _arrays(labels, predictions)
    p = p.astype(np.int64)
    return {
        "tn": int(((y == 0) & (p == 0)).sum()),
        "fp": int(((y == 0) & (p == 1)).sum()),
        "fn": int(((y == 1) & (p == 0)).sum()),
        "tp": int(((y == 1) & (p == 1)).sum()),
    }


def rates(cm: Mapping[str, int]) -> dict[str, float | None]:
    """Accuracy, precision (= PPV), recall (= sensitivity), specificity, NPV and F1 from counts."""
    tn, fp, fn, tp = (int(cm[k]) for k in ("tn", "fp", "fn", "tp"))
    recall = safe_div(tp, tp + fn)
    precision = safe_div(tp, tp + fp)
    return {
        "accuracy": safe_div(tp + tn, tn + fp + fn + tp),
        "precision": precision,
        "recall": recall,
        "sensitivity": recall,
        "specificity": safe_div(tn, tn + fp),
        "npv": safe_div(tn, tn + fn),
        "f1": safe_div(2 * tp, 2 * tp + fp + fn),
    }


def threshold_metrics(labels, probabilities, threshold: float) -> dict:
    """Rates and the confusion matrix at one threshold."""
    cm = confusion_counts(labels, predict(probabilities, threshold))
    return {"threshold": float(threshold), **rates(cm), "confusion_matrix": cm}


def roc_auc(labels, scores) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks for ties); None with one class."""
    from scipy.stats import rankdata

    y, s = _arrays(labels, scores)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(s)  # average ranks: a tie between a positive and a negative counts 1/2
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def average_precision(labels, scores) -> float | None:
    """scikit-learn's average precision (step-wise area under the PR curve); None without positives."""
    from sklearn.metrics import average_precision_score

    y, s = _arrays(labels, scores)
    if y.sum() == 0 or y.sum() == y.size:
        return None if y.sum() == 0 else 1.0
    return float(average_precision_score(y, s))


def brier_score(labels, probabilities) -> float | None:
    y, p = _arrays(labels, probabilities)
    return float(np.mean((p - y) ** 2)) if y.size else None


def reliability_bins(probabilities, labels, n_bins: int = DEFAULT_ECE_BINS) -> list[dict]:
    """Equal-width bins over the positive-class probability (a probability of 1.0 goes in the last bin).

    Each bin: ``lo``, ``hi``, ``count``, ``mean_probability`` and ``fraction_positive`` (None when empty).
    """
    y, p = _arrays(labels, probabilities)
    idx = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    out = []
    for b in range(n_bins):
        m = idx == b
        n = int(m.sum())
        out.append(
            {
                "lo": b / n_bins,
                "hi": (b + 1) / n_bins,
                "count": n,
                "mean_probability": float(p[m].mean()) if n else None,
                "fraction_positive": float(y[m].mean()) if n else None,
            }
        )
    return out


def ece_from_bins(bins: Sequence[Mapping]) -> float | None:
    total = sum(b["count"] for b in bins)
    if not total:
        return None
    return float(
        sum(
            b["count"] / total * abs(b["mean_probability"] - b["fraction_positive"])
            for b in bins
            if b["count"]
        )
    )


def expected_calibration_error(probabilities, labels, n_bins: int = DEFAULT_ECE_BINS) -> float | None:
    """ECE = sum over bins of (bin share) * |mean probability - fraction positive|."""
    return ece_from_bins(reliability_bins(probabilities, labels, n_bins))


def bootstrap_ci(
    labels,
    scores,
    statistic: Callable[[np.ndarray, np.ndarray], float | None],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    groups: Sequence | None = None,
) -> list[float] | None:
    """Percentile bootstrap interval ``[lo, hi]`` of ``statistic(labels, scores)``.

    Resampling is stratified (positives and negatives resampled separately, so every replicate keeps
    the prevalence and both classes, as pROC does for AUROC). With ``groups`` (e.g. the patient of each
    image) whole groups are resampled within each class: images of one patient are not independent, and
    resampling them one by one gives intervals that are too narrow. Deterministic for a seed. None when
    ``n_boot`` is 0, a class is missing, or the statistic is undefined on every replicate.
    """
    y, s = _arrays(labels, scores)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if n_boot <= 0 or pos.size == 0 or neg.size == 0:
        return None
    if groups is None:
        strata = [[np.array([i]) for i in pos], [np.array([i]) for i in neg]]
    else:
        g = np.asarray(groups)
        if g.shape[0] != y.shape[0]:
            raise ValueError("groups must have one entry per sample")
        strata = []
        for members in (pos, neg):
            _, inverse = np.unique(g[members], return_inverse=True)
            strata.append([members[inverse == k] for k in range(int(inverse.max()) + 1)])
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(int(n_boot)):
        parts = [clusters[j] for clusters in strata for j in rng.integers(0, len(clusters), len(clusters))]
        idx = np.concatenate(parts)
        v = statistic(y[idx], s[idx])
        if v is not None and np.isfinite(v):
            values.append(v)
    if not values:
        return None
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(np.asarray(values), [alpha, 1.0 - alpha])
    return [float(lo), float(hi)]


def threshold_table(labels, probabilities, thresholds: Mapping[str, float] | Iterable[float]) -> list[dict]:
    """One row per threshold, sorted: ``name`` ("" for plain grid values), ``threshold``, sensitivity,
    specificity, PPV, NPV, accuracy, F1, positive calls and the confusion counts."""
    items = thresholds.items() if isinstance(thresholds, Mapping) else (("", t) for t in thresholds)
    rows = []
    for name, t in items:
        m = threshold_metrics(labels, probabilities, t)
        cm = m["confusion_matrix"]
        rows.append(
            {
                "name": str(name),
                "threshold": float(t),
                "sensitivity": m["sensitivity"],
                "specificity": m["specificity"],
                "ppv": m["precision"],
                "npv": m["npv"],
                "accuracy": m["accuracy"],
                "f1": m["f1"],
                "positive_calls": cm["tp"] + cm["fp"],
                **cm,
            }
        )
    return sorted(rows, key=lambda r: (r["threshold"], r["name"]))


def subtype_sensitivity(labels, predictions, subtypes: Sequence[str]) -> dict[str, dict]:
    """Per pneumonia subtype ("bacteria", "virus"): ``n`` positives, ``detected`` and ``sensitivity``."""
    y, p = _arrays(labels, predictions)
    sub = np.asarray(list(subtypes), dtype=object)
    out = {}
    for name in ("bacteria", "virus"):
        m = (y == 1) & (sub == name)
        n, hit = int(m.sum()), int((p[m] == 1).sum())
        out[name] = {"n": n, "detected": hit, "sensitivity": safe_div(hit, n)}
    return out


__all__ = [
    "DEFAULT_ECE_BINS",
    "DEFAULT_TABLE_THRESHOLDS",
    "average_precision",
    "bootstrap_ci",
    "brier_score",
    "confusion_counts",
    "ece_from_bins",
    "expected_calibration_error",
    "predict",
    "rates",
    "reliability_bins",
    "roc_auc",
    "safe_div",
    "subtype_sensitivity",
    "threshold_metrics",
    "threshold_table",
]
