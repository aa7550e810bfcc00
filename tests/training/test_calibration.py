"""training.calibration: temperature scaling and the operating points stored with the model."""

from __future__ import annotations

import numpy as np
import pytest

from training.calibration import (
    fit_temperature,
    high_sensitivity_threshold,
    wilson_lower_bound,
    youden_threshold,
)


def test_temperature_recovers_the_overconfidence_of_synthetic_logits():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, 20000)
    labels = (rng.random(20000) < 1 / (1 + np.exp(-true_logits))).astype(int)
    assert fit_temperature(true_logits * 3, labels) == pytest.approx(3.0, rel=0.05)
    assert fit_temperature(true_logits, labels) == pytest.approx(1.0, abs=0.05)
    # T >= 1 by construction: never sharpen an under-confident model's outputs
    assert fit_temperature(true_logits / 2, labels) == pytest.approx(1.0)


def test_wilson_lower_bound_known_values():
    assert wilson_lower_bound(0, 0) == 0.0
    assert wilson_lower_bound(95, 100, 0.95) == pytest.approx(0.9008, abs=2e-4)  # by hand: 0.92521 / 1.02706
    assert wilson_lower_bound(950, 1000, 0.95) == pytest.approx(0.9374, abs=2e-4)
    assert wilson_lower_bound(100, 100, 0.95) < 1.0


def _scores(n_pos=600, n_neg=200, seed=1):
    rng = np.random.default_rng(seed)
    probs = np.concatenate([rng.beta(5, 1.5, n_pos), rng.beta(1.5, 5, n_neg)])
    labels = np.concatenate([np.ones(n_pos, int), np.zeros(n_neg, int)])
    return probs, labels


def test_high_sensitivity_point_estimate_keeps_exactly_the_required_positives():
    probs, labels = _scores()
    thr = high_sensitivity_threshold(probs, labels, 0.95, confidence=None)
    sens = (probs[labels == 1] >= thr).mean()
    assert sens >= 0.95 and sens < 0.95 + 2 / 600  # the most specific threshold that reaches 0.95
    assert not np.any(probs == thr)


def test_high_sensitivity_with_confidence_has_its_lower_bound_above_the_target():
    probs, labels = _scores()
    thr = high_sensitivity_threshold(probs, labels, 0.95)
    passed = int((probs[labels == 1] >= thr).sum())
    assert wilson_lower_bound(passed, 600) >= 0.95
    assert wilson_lower_bound(passed - 1, 600) < 0.95  # and no lower than needed
    assert thr < high_sensitivity_threshold(probs, labels, 0.95, confidence=None)


def test_youden_threshold_separates_disjoint_scores():
    probs = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    labels = np.array([0, 0, 0, 1, 1, 1])
    assert youden_threshold(probs, labels) == pytest.approx(0.5)  # midway, on no sample


def test_operating_points_mean_their_names():
    from training.calibration import operating_points

    rng = np.random.default_rng(4)
    labels = np.r_[np.ones(400, int), np.zeros(200, int)]
    for shift in (0.5, 1.5, 3.0):  # weakly to strongly separated scores
        probs = 1 / (1 + np.exp(-(rng.normal(0, 1, 600) + shift * (labels * 2 - 1))))
        pts = operating_points(probs, labels, 0.97)
        sens = {k: float((probs[labels == 1] >= t).mean()) for k, t in pts.items()}
        assert pts["high_sensitivity"] <= pts["balanced"] and sens["high_sensitivity"] >= sens["balanced"]
        passed = int((probs[labels == 1] >= pts["high_sensitivity"]).sum())
        assert wilson_lower_bound(passed, 400) >= 0.97 or pts["high_sensitivity"] == pts["balanced"]
        assert pts["balanced"] == youden_threshold(probs, labels)
