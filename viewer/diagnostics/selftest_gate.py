"""The AI-gate step of the packaging self-test (:mod:`viewer.diagnostics.selftest`): synthetic studies the gate
must withhold, and one it must not.

Each study is written to a file and goes through the real pipeline (``load_study`` -> ``render_default`` ->
the model -> :func:`viewer.core.model.result.analyse`, i.e. :func:`viewer.core.scope.assess`):

- by the rules, whatever the model: a **blank** image (uniform grey) and a **colour** picture are withheld
  (rules ``blank`` and ``colour``); a **Kermany-like chest** (the phantom as an 8-bit JPEG, like the
  training images) is not withheld by any rule (a caution for its unknown age is expected);
- by the model's out-of-distribution score (every contract-2 model has one): **uniform noise** and an
  **inverted chest** (the phantom with bone dark and lungs bright) are withheld by the ``image-ood`` finding.

Without a model the rule checks still run (``assess`` on the image and its metadata) and the OOD checks are
skipped. Qt-free.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from viewer.diagnostics.phantoms import chest_phantom, to_u8

OOD_RULE = "image-ood"


@dataclass(frozen=True)
class GateCase:
    name: str
    expect: str  # "withheld by rule", "not withheld by a rule", "withheld by the OOD score"
    rule: str = ""  # the rule expected to fire (withheld cases)
    needs_ood: bool = False  # only checked with a model that has an OOD score (contract 2)


CASES = (
    GateCase("blank", "withheld by rule", "blank"),
    GateCase("colour", "withheld by rule", "colour"),
    GateCase("kermany-like chest", "not withheld by a rule"),
    GateCase("uniform noise", "withheld by the OOD score", OOD_RULE, needs_ood=True),
    GateCase("inverted chest", "withheld by the OOD score", OOD_RULE, needs_ood=True),
)


def _image(name: str) -> tuple[np.ndarray, str]:
    """(pixels, file suffix) of a synthetic study: grey uint8 (H, W) or BGR uint8 (H, W, 3)."""
    chest = to_u8(chest_phantom())
    if name == "blank":
        return np.full_like(chest, 128), ".png"
    if name == "colour":
        bgr = cv2.applyColorMap(chest, cv2.COLORMAP_JET)  # a false-colour picture of the chest
        return bgr, ".png"
    if name == "kermany-like chest":
        return chest, ".jpeg"
    if name == "uniform noise":
        return np.random.default_rng(11).integers(0, 256, (224, 224), dtype=np.uint8), ".png"
    if name == "inverted chest":
        return 255 - chest, ".png"
    raise ValueError(name)


def _write(pixels: np.ndarray, path: Path) -> Path:
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if path.suffix == ".jpeg" else []
    ok, buf = cv2.imencode(path.suffix, pixels, params)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {path.suffix}")
    path.write_bytes(buf.tobytes())
    return path


def _assessment(model, study, grey):
    if model is None:
        from viewer.core.scope import assess

        return assess(study.meta, grey.shape, grey=grey), None
    from viewer.core.model.result import analyse

    result = analyse(model, study, 0, grey=grey)
    return result.assessment, result


def _judge(case: GateCase, assessment) -> str | None:
    """None when the gate did what the case expects, else what went wrong."""
    rules = [f.rule for f in assessment.findings]
    hard = [f.rule for f in assessment.findings if f.severity.value == "hard" and f.rule != OOD_RULE]
    if case.expect == "not withheld by a rule":
        return f"withheld by the rules {hard}" if hard else None
    if not assessment.withheld:
        return f"not withheld (state {assessment.state.value}, findings {rules or 'none'})"
    if case.rule not in rules:
        return f"withheld, but not by {case.rule!r} (findings {rules})"
    return None


def check_gate(model, out_dir: Path) -> dict:
    """Run every :data:`CASES` study through the gate. Never raises: each case records its status."""
    out_dir.mkdir(parents=True, exist_ok=True)
    info = getattr(model, "info", None)
    contract = getattr(info, "contract_version", None)
    ood = model is not None
    report: dict = {
        "status": "passed",
        "model_contract": contract,
        "ood_checked": ood,
        "calibration": getattr(info, "calibration_label", None),
        "studies": {},
    }
    from viewer.core.display import render_default
    from viewer.core.io import load_study

    for case in CASES:
        entry: dict = {"expect": case.expect + (f" ({case.rule})" if case.rule else "")}
        report["studies"][case.name] = entry
        if case.needs_ood and not ood:
            entry["status"] = "skipped"
            entry["note"] = "no model loaded"
            continue
        try:
            pixels, suffix = _image(case.name)
            path = _write(pixels, out_dir / f"gate-{case.name.replace(' ', '-')}{suffix}")
            study = load_study(path)
            grey = render_default(study, 0)
            assessment, result = _assessment(model, study, grey)
            entry.update(
                file=str(path),
                state=assessment.state.value,
                findings=[f.rule for f in assessment.findings],
                headline=assessment.headline,
            )
            if result is not None and ood:
                score = result.prediction.ood_score
                entry["ood_score"] = round(float(score), 4) if np.isfinite(score) else None
                limit = result.prediction.ood_threshold
                entry["ood_threshold"] = float(limit) if np.isfinite(limit) else None
            error = _judge(case, assessment)
            entry["status"] = "failed" if error else "passed"
            if error:
                entry["error"] = error
        except Exception as exc:  # noqa: BLE001 - the self-test reports each failure and goes on
            entry.update(status="failed", error=f"{type(exc).__name__}: {exc}")
            entry["traceback"] = traceback.format_exc(limit=6)
        if entry["status"] == "failed":
            report["status"] = "failed"
    return report


def gate_failures(report: dict) -> list[str]:
    return [
        f"AI gate: {name} should be {entry['expect']}: {entry.get('error')}"
        for name, entry in report.get("studies", {}).items()
        if entry.get("status") == "failed"
    ]


__all__ = ["CASES", "GateCase", "check_gate", "gate_failures"]
