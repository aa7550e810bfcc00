"""Site calibration: ``python -m training calibrate --model IN.onnx --site-data DIR --out OUT.onnx``.

Hospitals that adopt a chest X-ray model recalibrate it on a small labelled local sample before use.
This fits, on the sample (a ``{NORMAL,PNEUMONIA}`` folder, scored through the viewer's own loader and
model code):

- a temperature T and a logit shift b (Platt scaling of the model's logit: p = sigmoid((z + b) / T)),
  by maximum likelihood; b absorbs the site's prevalence, T the over- or under-confidence;
- the operating points on the calibrated probabilities (``training.calibration.operating_points``):
  ``high_sensitivity`` = the most specific threshold whose sensitivity has a one-sided 95% lower bound
  >= ``--min-sensitivity``, ``balanced`` = Youden's J;
- patient-level bootstrap intervals of T, b and of the figures before and after.

The new file differs from the old one only in the two calibration initialisers
(``CALIBRATION_INITIALIZERS``) and its metadata, which records the source (name, n, date, sha256 of the
sorted file list); the weights hash is checked to be unchanged. The weights are never touched.

Figures "after" are in-sample (fitted and measured on the same images); ``cross_fitted`` gives the
honest out-of-sample estimate: calibration fitted on one half of the patients, measured on the other,
both ways.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from training import metrics as M
from training.calibration import operating_points
from training.data import discover, patient_key
from viewer.core.model import CALIBRATION_INITIALIZERS, metadata_from_info, read_contract, seal_model_bytes

T_BOUNDS = (0.05, 20.0)


def _nll(params: np.ndarray, z: np.ndarray, y: np.ndarray) -> float:
    log_t, b = params
    s = (z + b) / np.exp(log_t)
    # log(1 + e^s) - y s, stable
    return float(np.mean(np.logaddexp(0.0, s) - y * s))


def fit_platt(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(temperature, shift) maximising the likelihood of sigmoid((z + shift) / temperature)."""
    from scipy.optimize import minimize

    z, y = np.asarray(logits, np.float64), np.asarray(labels, np.float64)
    res = minimize(
        _nll,
        x0=np.array([0.0, 0.0]),
        args=(z, y),
        method="L-BFGS-B",
        bounds=[tuple(np.log(T_BOUNDS)), (-50.0, 50.0)],
    )
    return float(np.exp(res.x[0])), float(res.x[1])


def calibrated(logits: np.ndarray, temperature: float, shift: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(np.asarray(logits, np.float64) + shift) / temperature))


def figures(
    labels: np.ndarray, probs: np.ndarray, points: dict[str, float], groups: list[str], n_boot: int, seed: int
) -> dict[str, Any]:
    """AUROC, ECE, Brier and sensitivity / specificity at each named threshold, with patient-level CIs."""
    out: dict[str, Any] = {
        "roc_auc": M.roc_auc(labels, probs),
        "roc_auc_ci95": M.bootstrap_ci(labels, probs, M.roc_auc, n_boot, seed, groups=groups),
        "ece": M.expected_calibration_error(probs, labels),
        "ece_ci95": M.bootstrap_ci(
            labels, probs, lambda y, p: M.expected_calibration_error(p, y), n_boot, seed, groups=groups
        ),
        "brier": M.brier_score(labels, probs),
        "operating_points": {},
    }
    for name, thr in points.items():

        def sens(y, p, t=thr):
            return M.threshold_metrics(y, p, t)["sensitivity"]

        def spec(y, p, t=thr):
            return M.threshold_metrics(y, p, t)["specificity"]

        at = M.threshold_metrics(labels, probs, thr)
        out["operating_points"][name] = {
            "threshold": float(thr),
            "sensitivity": at["sensitivity"],
            "sensitivity_ci95": M.bootstrap_ci(labels, probs, sens, n_boot, seed, groups=groups),
            "specificity": at["specificity"],
            "specificity_ci95": M.bootstrap_ci(labels, probs, spec, n_boot, seed, groups=groups),
            "accuracy": at["accuracy"],
        }
    return out


def _patient_halves(groups: list[str], labels: np.ndarray, seed: int) -> np.ndarray:
    """0/1 per image: patients split in two halves, stratified by label."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(groups), np.int64)
    for lab in (0, 1):
        pats = sorted({g for g, y in zip(groups, labels, strict=True) if y == lab})
        order = rng.permutation(len(pats))
        second = {pats[i] for i in order[len(pats) // 2 :]}
        for i, (g, y) in enumerate(zip(groups, labels, strict=True)):
            if y == lab and g in second:
                fold[i] = 1
    return fold


def cross_fitted(
    logits: np.ndarray, labels: np.ndarray, groups: list[str], min_sensitivity: float, seed: int = 0
) -> dict[str, Any]:
    """Out-of-sample figures: fit on one half of the patients, score the other half, both ways."""
    fold = _patient_halves(groups, labels, seed)
    probs = np.zeros(len(labels))
    preds = {"high_sensitivity": np.zeros(len(labels), bool), "balanced": np.zeros(len(labels), bool)}
    for k in (0, 1):
        fit, test = fold != k, fold == k
        t, b = fit_platt(logits[fit], labels[fit])
        p_fit = calibrated(logits[fit], t, b)
        pts = operating_points(p_fit, labels[fit], min_sensitivity)
        probs[test] = calibrated(logits[test], t, b)
        for name, thr in pts.items():
            preds[name][test] = probs[test] >= thr
    out: dict[str, Any] = {
        "ece": M.expected_calibration_error(probs, labels),
        "brier": M.brier_score(labels, probs),
    }
    for name, pred in preds.items():
        cm = M.confusion_counts(labels, pred.astype(int))
        r = M.rates(cm)
        out[name] = {"sensitivity": r["recall"], "specificity": r["specificity"]}
    return out


def bootstrap_params(
    logits: np.ndarray, labels: np.ndarray, groups: list[str], n_boot: int, seed: int
) -> dict[str, list[float]]:
    """Patient-level bootstrap 95% intervals of the fitted temperature and shift."""
    rng = np.random.default_rng(seed)
    g = np.asarray(groups)
    strata = []
    for lab in (0, 1):
        members = np.flatnonzero(labels == lab)
        _, inv = np.unique(g[members], return_inverse=True)
        strata.append([members[inv == k] for k in range(int(inv.max()) + 1)])
    ts, bs = [], []
    for _ in range(n_boot):
        idx = np.concatenate([cl[j] for cl in strata for j in rng.integers(0, len(cl), len(cl))])
        t, b = fit_platt(logits[idx], labels[idx])
        ts.append(t)
        bs.append(b)
    return {
        "temperature_ci95": [float(v) for v in np.quantile(ts, [0.025, 0.975])],
        "logit_shift_ci95": [float(v) for v in np.quantile(bs, [0.025, 0.975])],
    }


def file_list_sha256(rel_paths: list[str], labels: np.ndarray) -> str:
    """sha256 of the sorted ``label/relative path`` lines: which images the calibration saw."""
    lines = sorted(f"{int(y)}\t{p}" for p, y in zip(rel_paths, labels, strict=True))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def rewrite_calibration(data: bytes, temperature: float, shift: float) -> bytes:
    """The model bytes with the two calibration initialisers replaced (unsealed; metadata kept)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(data)
    found = set()
    for init in model.graph.initializer:
        if init.name in CALIBRATION_INITIALIZERS:
            value = shift if init.name == CALIBRATION_INITIALIZERS[0] else temperature
            init.CopyFrom(numpy_helper.from_array(np.array(value, np.float32), init.name))
            found.add(init.name)
    if found != set(CALIBRATION_INITIALIZERS):
        raise SystemExit(
            "this model has no calibration initialisers (exported before contract 2?): "
            "export it again with this version"
        )
    return model.SerializeToString()


def calibrate_site(
    model_path: Path,
    site: Path,
    out: Path,
    *,
    name: str | None,
    min_sensitivity: float,
    n_boot: int,
    seed: int,
    force: bool,
    threads: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    from training.evaluate import OnnxScorer, score
    from training.export import atomic_write_bytes, weights_sha256

    if out.exists() and not force:
        raise SystemExit(f"{out} exists; pass --force to overwrite it")
    data = model_path.read_bytes()
    scorer = OnnxScorer(model_path, threads)
    info = scorer.runtime.info
    samples = discover(site)
    scores = score(scorer, samples, progress=progress)
    y = scores.labels
    if y.min() == y.max():
        raise SystemExit("the site sample needs both NORMAL and PNEUMONIA images")
    groups = [patient_key(Path(f).name) for f in scores.files]
    z = scores.logits
    before_p = calibrated(z, info.temperature, info.logit_shift)
    t, b = fit_platt(z, y)
    after_p = calibrated(z, t, b)
    points = operating_points(after_p, y, min_sensitivity)
    source = {
        "kind": "site",
        "name": name or site.resolve().name,
        "n": int(len(y)),
        "n_pneumonia": int(y.sum()),
        "n_patients": len(set(groups)),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "files_sha256": file_list_sha256(scores.files, y),
        "method": "Platt scaling of the logit (temperature + shift, maximum likelihood); operating points "
        f"high_sensitivity (lower 95% bound of sensitivity >= {min_sensitivity}) and balanced (Youden)",
        "min_sensitivity": min_sensitivity,
        "temperature": t,
        "logit_shift": b,
        **bootstrap_params(z, y, groups, min(n_boot, 300), seed),
        "previous": {
            "temperature": info.temperature,
            "logit_shift": info.logit_shift,
            "operating_points": dict(info.operating_points),
            "calibration": dict(info.calibration),
        },
        "before": figures(y, before_p, dict(info.operating_points), groups, n_boot, seed),
        "after_in_sample": figures(y, after_p, points, groups, n_boot, seed),
        "cross_fitted": cross_fitted(z, y, groups, min_sensitivity, seed),
    }
    rewritten = rewrite_calibration(data, t, b)
    old_hash, new_hash = weights_sha256(data), weights_sha256(rewritten)
    if old_hash != new_hash or (info.weights_sha256 and info.weights_sha256 != new_hash):
        raise RuntimeError("the weights changed while rewriting the calibration; nothing written")
    base_version = info.version.split("+site.")[0]
    new_info = replace(
        info,
        version=f"{base_version}+site.{source['date'].replace('-', '')}",
        temperature=t,
        logit_shift=b,
        operating_points=points,
        default_operating_point="high_sensitivity",
        calibrated=True,
        calibration=source,
        integrity="",
    )
    sealed = seal_model_bytes(rewritten, metadata_from_info(new_info))
    read_contract(sealed)  # what the viewer will accept
    atomic_write_bytes(out, sealed, force=force)
    return source


def table(source: dict[str, Any]) -> str:
    """The before / after table printed by the command."""
    b, a, x = source["before"], source["after_in_sample"], source["cross_fitted"]

    def ci(v):
        return f"({v[0]:.3f}-{v[1]:.3f})" if v else ""

    lines = [
        f"site sample {source['name']}: n={source['n']} ({source['n_pneumonia']} pneumonia, "
        f"{source['n_patients']} patients), files sha256 {source['files_sha256'][:16]}...",
        f"temperature {source['previous']['temperature']:.4g} -> {source['temperature']:.4g} "
        f"{ci(source['temperature_ci95'])}; logit shift {source['previous']['logit_shift']:+.4g} -> "
        f"{source['logit_shift']:+.4g} {ci(source['logit_shift_ci95'])}",
        f"{'':24}{'before':>28}{'after (in-sample)':>28}{'cross-fitted':>14}",
        f"{'AUROC':24}{b['roc_auc']:>12.4f} {ci(b['roc_auc_ci95']):>15}{a['roc_auc']:>12.4f} "
        f"{ci(a['roc_auc_ci95']):>15}{'':>14}",
        f"{'ECE':24}{b['ece']:>12.4f} {ci(b['ece_ci95']):>15}{a['ece']:>12.4f} {ci(a['ece_ci95']):>15}"
        f"{x['ece']:>14.4f}",
    ]
    for name in a["operating_points"]:
        pa = a["operating_points"][name]
        pb = b["operating_points"].get(name) or b["operating_points"].get(
            {"balanced": "youden"}.get(name, name)
        )
        xb = x.get(name, {})
        for metric in ("sensitivity", "specificity"):
            before = f"{pb[metric]:>12.4f} {ci(pb[metric + '_ci95']):>15}" if pb else f"{'-':>28}"
            lines.append(
                f"{name + ' ' + metric[:4]:24}{before}{pa[metric]:>12.4f} {ci(pa[metric + '_ci95']):>15}"
                f"{xb.get(metric, float('nan')):>14.4f}"
            )
        lines.append(f"{name + ' threshold':24}{'':>28}{pa['threshold']:>28.6f}")
    return "\n".join(lines)


__all__ = [
    "calibrate_site",
    "calibrated",
    "cross_fitted",
    "file_list_sha256",
    "fit_platt",
    "rewrite_calibration",
    "table",
]
