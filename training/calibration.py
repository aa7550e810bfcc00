"""Post-hoc calibration and operating points, fitted on the validation split only."""

from __future__ import annotations

import math

import numpy as np


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    p = np.clip(_sigmoid(np.asarray(logits, np.float64) / temperature), 1e-12, 1 - 1e-12)
    y = np.asarray(labels, np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def fit_temperature(logits: np.ndarray, labels: np.ndarray, t_min: float = 1.0, t_max: float = 10.0) -> float:
    """Temperature minimising validation NLL, searched on a log grid then refined.

    ``t_min`` defaults to 1: on a near-separable validation split (this one scores AUROC ~0.99)
    the NLL-optimal temperature sharpens the model beyond what it has shown it can do on unseen
    hospitals/patients; we allow softening but never sharpening beyond the trained model.
    """
    grid = np.exp(np.linspace(np.log(t_min), np.log(t_max), 200))
    losses = [nll(logits, labels, t) for t in grid]
    best = int(np.argmin(losses))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    fine = np.linspace(lo, hi, 100)
    return float(fine[int(np.argmin([nll(logits, labels, t) for t in fine]))])


def wilson_lower_bound(successes: int, n: int, confidence: float = 0.95) -> float:
    """One-sided lower confidence bound of a proportion (Wilson score interval)."""
    if n <= 0:
        return 0.0
    from statistics import NormalDist

    z = NormalDist().inv_cdf(confidence)
    p = successes / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, (centre - margin) / (1 + z * z / n))


def high_sensitivity_threshold(
    probs: np.ndarray, labels: np.ndarray, min_sensitivity: float = 0.95, confidence: float | None = 0.95
) -> float:
    """The highest threshold (most specific) whose sensitivity is still >= ``min_sensitivity``.

    With ``confidence`` (default 0.95) the requirement is on the one-sided Wilson lower bound of the
    validation sensitivity, not on the point estimate: a threshold placed so that exactly 95% of the
    validation positives pass would miss more than 5% of new positives about half of the time. With
    ``confidence=None`` the point estimate is used. The threshold lies midway between the positive score
    that must stay above it and the next lower score, so that it does not sit on a validation sample.
    """
    probs = np.asarray(probs, np.float64)
    pos = np.sort(probs[np.asarray(labels) == 1])
    n = pos.size
    if n == 0:
        return 0.5
    k = int(np.floor((1 - min_sensitivity) * n + 1e-9))  # positives allowed below the threshold
    if confidence is not None:
        while k > 0 and wilson_lower_bound(n - k, n, confidence) < min_sensitivity:
            k -= 1
    upper = pos[k]
    below = probs[probs < upper]
    lower = below.max() if below.size else 0.0
    return float((upper + lower) / 2)


def youden_threshold(probs: np.ndarray, labels: np.ndarray) -> float:
    """The threshold maximising sensitivity + specificity, placed midway between the lowest score it
    keeps positive and the next lower score (like :func:`high_sensitivity_threshold`): a threshold equal
    to a validation score would make that image's label depend on rounding."""
    from sklearn.metrics import roc_curve

    probs = np.asarray(probs, np.float64)
    fpr, tpr, thr = roc_curve(labels, probs)
    i = int(np.argmax(tpr - fpr))
    upper = min(float(thr[i]), 1.0)
    below = probs[probs < upper]
    lower = below.max() if below.size else 0.0
    return float((upper + lower) / 2)


def operating_points(
    probs: np.ndarray, labels: np.ndarray, min_sensitivity: float = 0.97
) -> dict[str, float]:
    """The two named thresholds, defined on the calibration sample so that they mean their names:

    - ``high_sensitivity``: the most specific threshold whose sensitivity has a one-sided 95% lower
      (Wilson) bound >= ``min_sensitivity`` - never the point estimate;
    - ``balanced``: Youden's J (sensitivity + specificity maximal).

    If Youden's threshold happens to be the lower one, ``high_sensitivity`` takes it: the point named for
    sensitivity is never less sensitive than the balanced one (the model of 2026-12-01 had 0.86 against
    0.77).
    """
    balanced = youden_threshold(probs, labels)
    return {
        "high_sensitivity": min(high_sensitivity_threshold(probs, labels, min_sensitivity), balanced),
        "balanced": balanced,
    }
