"""training.metrics: exact values on small hand-computed cases, and agreement with scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training import metrics as M

Y = [0, 0, 1, 1, 1]
CALLS = [0, 1, 1, 1, 0]


def test_predict_is_inclusive_at_the_threshold():
    assert M.predict([0.2, 0.5, 0.7], 0.5).tolist() == [0, 1, 1]
    assert M.predict([0.0, 1.0], 0.0).tolist() == [1, 1]


def test_confusion_counts_and_rates_exact():
    cm = M.confusion_counts(Y, CALLS)
    assert cm == {"tn": 1, "fp": 1, "fn": 1, "tp": 2}
    r = M.rates(cm)
    assert r["accuracy"] == pytest.approx(3 / 5)
    assert r["precision"] == pytest.approx(2 / 3)
    assert r["recall"] == r["sensitivity"] == pytest.approx(2 / 3)
    assert r["specificity"] == pytest.approx(1 / 2)
    assert r["npv"] == pytest.approx(1 / 2)
    assert r["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))


def test_undefined_rates_are_none_not_nan():
    r = M.rates({"tn": 3, "fp": 0, "fn": 2, "tp": 0})  # no positive calls
    assert r["precision"] is None
    assert r["f1"] == 0.0 and r["recall"] == 0.0 and r["specificity"] == 1.0
    assert all(v is None for v in M.rates({"tn": 0, "fp": 0, "fn": 0, "tp": 0}).values())


def test_threshold_metrics_matches_sklearn():
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.3 * y + rng.random(200) * 0.7, 0, 1)
    m = M.threshold_metrics(y, p, 0.45)
    pred = (p >= 0.45).astype(int)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(precision_score(y, pred))
    assert m["recall"] == pytest.approx(recall_score(y, pred))
    assert m["specificity"] == pytest.approx(recall_score(y, pred, pos_label=0))
    assert m["f1"] == pytest.approx(f1_score(y, pred))


def test_roc_auc_exact_and_ties():
    assert M.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert M.roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts one half
    assert M.roc_auc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]) == 1.0
    assert M.roc_auc([1, 1, 1], [0.1, 0.2, 0.3]) is None
    assert M.roc_auc([], []) is None


def test_roc_auc_equals_sklearn_with_many_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 500)
    s = np.round(rng.random(500) * 0.6 + 0.4 * y, 1)  # rounding makes many ties
    assert M.roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_average_precision_exact():
    # ranked: 0.8 (pos) P=1 R=.5; 0.4 (neg); 0.35 (pos) P=2/3 R=1 -> AP = .5 * 1 + .5 * 2/3
    assert M.average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.5 + 1 / 3)
    assert M.average_precision([0, 0], [0.1, 0.2]) is None


def test_brier():
    assert M.brier_score([0, 1], [0.2, 0.6]) == pytest.approx((0.04 + 0.16) / 2)


def test_ece_exact():
    # bin [0.1, 0.2): mean 0.1, half positive -> 0.4 * 1/2; bin [0.9, 1.0): mean 0.9, all positive -> 0.1 * 1/2
    probs, labels = [0.1, 0.1, 0.9, 0.9], [0, 1, 1, 1]
    assert M.expected_calibration_error(probs, labels, n_bins=10) == pytest.approx(0.25)
    assert M.expected_calibration_error([0.25] * 4, [1, 0, 0, 0]) == pytest.approx(0.0)
    assert M.expected_calibration_error([], []) is None


def test_reliability_bins_put_one_in_the_last_bin():
    bins = M.reliability_bins([0.0, 1.0, 1.0, 0.5], [0, 1, 0, 1], n_bins=4)
    assert [b["count"] for b in bins] == [1, 0, 1, 2]
    assert bins[3]["mean_probability"] == 1.0 and bins[3]["fraction_positive"] == 0.5
    assert bins[1]["mean_probability"] is None and bins[1]["fraction_positive"] is None
    assert bins[0]["lo"] == 0.0 and bins[3]["hi"] == 1.0


def test_ece_matches_a_direct_per_sample_computation():
    rng = np.random.default_rng(3)
    p = rng.random(1000)
    y = (rng.random(1000) < p**1.5).astype(int)
    for n_bins in (10, 15):
        idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
        direct = sum(
            (idx == b).mean() * abs(p[idx == b].mean() - y[idx == b].mean())
            for b in range(n_bins)
            if (idx == b).any()
        )
        assert M.expected_calibration_error(p, y, n_bins) == pytest.approx(direct, abs=1e-12)


def test_bootstrap_is_stratified_and_deterministic():
    y = np.array([0] * 30 + [1] * 10)
    s = np.linspace(0, 1, 40)
    # a statistic that counts positives: constant under stratified resampling
    assert M.bootstrap_ci(y, s, lambda yy, ss: float(yy.sum()), 200) == [10.0, 10.0]
    a = M.bootstrap_ci(y, s + np.sin(np.arange(40)), M.roc_auc, 300, seed=5)
    b = M.bootstrap_ci(y, s + np.sin(np.arange(40)), M.roc_auc, 300, seed=5)
    c = M.bootstrap_ci(y, s + np.sin(np.arange(40)), M.roc_auc, 300, seed=6)
    assert a == b and a != c and a[0] < a[1]


def test_bootstrap_degenerate_cases():
    assert M.bootstrap_ci([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8], M.roc_auc, 100) == [1.0, 1.0]
    assert M.bootstrap_ci([0, 1], [0.1, 0.9], M.roc_auc, 0) is None
    assert M.bootstrap_ci([1, 1], [0.1, 0.9], M.roc_auc, 100) is None


def test_bootstrap_auc_interval_has_the_expected_width():
    """Against the Hanley-McNeil standard error of the AUC (binormal data, fixed seed)."""
    rng = np.random.default_rng(7)
    n0, n1 = 300, 300
    y = np.r_[np.zeros(n0, int), np.ones(n1, int)]
    s = np.r_[rng.normal(0, 1, n0), rng.normal(1.2, 1, n1)]
    auc = M.roc_auc(y, s)
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    se = math.sqrt((auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n0 - 1) * (q2 - auc**2)) / (n0 * n1))
    lo, hi = M.bootstrap_ci(y, s, M.roc_auc, 1000, seed=0)
    assert lo < auc < hi
    assert (hi - lo) == pytest.approx(2 * 1.96 * se, rel=0.2)


def test_threshold_table_rows():
    y = [0, 0, 1, 1]
    p = [0.1, 0.6, 0.4, 0.9]
    rows = M.threshold_table(y, p, {"youden": 0.5, "high_sensitivity": 0.3})
    assert [r["name"] for r in rows] == ["high_sensitivity", "youden"]  # sorted by threshold
    hs, yd = rows
    assert (hs["tp"], hs["fp"], hs["fn"], hs["tn"]) == (2, 1, 0, 1)
    assert hs["sensitivity"] == 1.0 and hs["specificity"] == 0.5 and hs["ppv"] == pytest.approx(2 / 3)
    assert hs["npv"] == 1.0 and hs["positive_calls"] == 3
    assert (yd["tp"], yd["fp"], yd["fn"], yd["tn"]) == (1, 1, 1, 1)
    grid = M.threshold_table(y, p, [0.95, 0.05])
    assert [r["threshold"] for r in grid] == [0.05, 0.95] and grid[0]["name"] == ""
    assert grid[1]["ppv"] is None and grid[1]["positive_calls"] == 0


def test_subtype_sensitivity():
    labels = [1, 1, 1, 1, 1, 0]
    calls = [1, 0, 1, 1, 0, 1]
    subtypes = ["bacteria", "bacteria", "virus", "virus", "virus", ""]
    out = M.subtype_sensitivity(labels, calls, subtypes)
    assert out["bacteria"] == {"n": 2, "detected": 1, "sensitivity": 0.5}
    assert out["virus"] == {"n": 3, "detected": 2, "sensitivity": pytest.approx(2 / 3)}
    assert M.subtype_sensitivity([0], [1], [""])["virus"] == {"n": 0, "detected": 0, "sensitivity": None}


def test_length_mismatch_and_bad_labels_raise():
    with pytest.raises(ValueError):
        M.roc_auc([0, 1], [0.5])
    with pytest.raises(ValueError):
        M.confusion_counts([0, 2], [0, 1])


def test_patient_bootstrap_is_wider_when_images_of_a_patient_agree():
    rng = np.random.default_rng(5)
    y_pat = np.array([1] * 30 + [0] * 30)
    s_pat = np.where(y_pat == 1, rng.normal(1.0, 1.0, 60), rng.normal(0.0, 1.0, 60))
    y, s = np.repeat(y_pat, 6), np.repeat(s_pat, 6)  # six near-identical images per patient
    groups = np.repeat(np.arange(60), 6)
    by_image = M.bootstrap_ci(y, s, M.roc_auc, 300, 0)
    by_patient = M.bootstrap_ci(y, s, M.roc_auc, 300, 0, groups=groups)
    assert by_patient[1] - by_patient[0] > 1.8 * (by_image[1] - by_image[0])
    assert by_patient == M.bootstrap_ci(y, s, M.roc_auc, 300, 0, groups=groups)  # deterministic
    singletons = M.bootstrap_ci(y, s, M.roc_auc, 300, 0, groups=np.arange(y.size))
    assert singletons[0] == pytest.approx(by_image[0], abs=0.03)
