"""Read the checkpoints ``training/train.py`` writes.

A checkpoint is a ``torch.save`` dict: ``model`` (PneumoniaNet state_dict), ``config`` (``arch``,
``dropout``, ``input_size``, training settings), ``epoch``, ``val_metrics`` and, once calibration ran,
``calibration`` = {``logit_shift``, ``pos_weight``, ``temperature``, ``operating_points`` (thresholds on the calibrated probability),
``default_operating_point``, ``heatmap_scale``, ``val_metrics``}, plus ``data_summary`` and
``source_commit``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from training.models import PneumoniaNet, build_model

UNCALIBRATED_OPERATING_POINT = "uncalibrated"


def load_checkpoint(path: str | Path) -> tuple[PneumoniaNet, dict[str, Any]]:
    """Rebuild the model from the checkpoint's config, load its weights, eval mode -> (model, ckpt).

    A calibrated checkpoint's ``logit_shift`` is folded into the classifier bias, so the returned model's
    logit is the one the temperature and the operating points were fitted on (and the one exported)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or "model" not in ckpt or "config" not in ckpt:
        raise ValueError(f"{path} is not a Pneumoscope checkpoint (needs 'model' and 'config')")
    config = ckpt["config"]
    arch = config.get("arch")
    if not arch:
        raise ValueError(f"{path}: config has no 'arch'")
    model = build_model(arch, init="none", dropout=float(config.get("dropout", 0.2)))
    state = _strip_prefixes(ckpt["model"])
    model.load_state_dict(state, strict=True)
    shift = float((ckpt.get("calibration") or {}).get("logit_shift", 0.0))
    if shift:  # undo the training-time class weighting (see training.train.calibrate); the CAM is unchanged
        with torch.no_grad():
            model.classifier.bias += shift
    model.eval()
    return model, ckpt


def _strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Undo ``torch.compile`` (``_orig_mod.``) and DataParallel (``module.``) key prefixes."""
    for prefix in ("_orig_mod.", "module."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    return state


def calibration_of(ckpt: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint's calibration, or the neutral default (temperature 1, threshold 0.5).

    Returns a dict with ``calibrated`` (bool), ``temperature``, ``operating_points``,
    ``default_operating_point``, ``heatmap_scale`` (None when unknown) and ``val_metrics``.
    """
    cal = ckpt.get("calibration")
    if not cal:
        return {
            "calibrated": False,
            "temperature": 1.0,
            "operating_points": {UNCALIBRATED_OPERATING_POINT: 0.5},
            "default_operating_point": UNCALIBRATED_OPERATING_POINT,
            "heatmap_scale": None,
            "val_metrics": dict(ckpt.get("val_metrics") or {}),
        }
    ops = {str(k): float(v) for k, v in cal["operating_points"].items()}
    default = cal.get("default_operating_point") or next(iter(ops))
    scale = cal.get("heatmap_scale")
    return {
        "calibrated": True,
        "temperature": float(cal.get("temperature", 1.0)),
        "operating_points": ops,
        "default_operating_point": default,
        "heatmap_scale": float(scale) if scale is not None else None,
        "val_metrics": dict(cal.get("val_metrics") or ckpt.get("val_metrics") or {}),
    }


__all__ = ["load_checkpoint", "calibration_of", "UNCALIBRATED_OPERATING_POINT"]
