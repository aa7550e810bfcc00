"""``python -m training study``: the recipe table of ``docs/MODEL_STUDY.md``, every row scored the same way.

Each ``--recipe NAME=CKPT[+CKPT...][@tta]`` is a checkpoint or an ensemble (mean logit), optionally with
test-time augmentation (``@tta``: mean logit over the image and two small zooms). For each:

- validation (the runs' patient-grouped split) and the test folder (``kermany_test_a``): AUROC with a
  patient-level bootstrap 95% CI, ECE (15 bins);
- the operating point chosen on validation exactly as export does (temperature >= 1, then
  ``high_sensitivity`` = lower 95% bound of sensitivity >= 0.97) and the sensitivity / specificity it gives
  on the test folder - the honest figure, since nothing was chosen on it;
- training time (sum of the runs' epoch times from ``epochs.csv``).

Scoring is PyTorch fp32 on the decoded-image cache, through the same preprocessing as the viewer; the
shipped file itself is measured by ``evaluate`` and ``gate``.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from training import metrics as M
from training.calibration import fit_temperature, operating_points
from training.checkpoint import load_checkpoint
from training.data import build_cache, decode_grey, discover, load_split, patient_key
from viewer.core.files import write_atomic
from viewer.core.preprocess import resize_for_model

TTA_ZOOMS = (1.0, 0.92, 1.08)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--recipe",
        action="append",
        required=True,
        metavar="NAME=CKPT[+CKPT][@tta]",
        help="a row of the table (repeatable)",
    )
    p.add_argument("--data", type=Path, required=True, help="dataset root the runs were trained on")
    p.add_argument(
        "--split", type=Path, required=True, help="the runs' split.csv (one split for every recipe)"
    )
    p.add_argument("--test", type=Path, required=True, help="labelled test folder, e.g. kermany_test_a")
    p.add_argument("--cache-dir", type=Path, required=True, help="decoded-image cache of the runs")
    p.add_argument("--out", type=Path, required=True, help="JSON file with every figure")
    p.add_argument("--bootstrap", type=int, default=1000)
    p.add_argument("--threads", type=int, default=0)


@torch.no_grad()
def logits_of(net, images: np.ndarray, tta: bool, batch: int = 64) -> np.ndarray:
    out = []
    for s in range(0, len(images), batch):
        x = torch.from_numpy(np.array(images[s : s + batch])).float().div_(255.0).unsqueeze(1)
        views = [x] if not tta else [_zoom(x, z) for z in TTA_ZOOMS]
        out.append(np.mean([net(v).numpy() for v in views], axis=0))
    return np.concatenate(out)


def _zoom(x: torch.Tensor, z: float) -> torch.Tensor:
    if z == 1.0:
        return x
    theta = torch.tensor([[1 / z, 0, 0], [0, 1 / z, 0]], dtype=x.dtype).expand(len(x), 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _train_seconds(ckpt_path: Path) -> float:
    log = ckpt_path.parent / "epochs.csv"
    if not log.is_file():
        return float("nan")
    with open(log, newline="") as f:
        return sum(float(r["train_seconds"]) + float(r.get("val_seconds") or 0) for r in csv.DictReader(f))


def score_recipe(spec: str, va_img, va_lab, va_groups, te_img, te_lab, te_groups, n_boot: int) -> dict:
    name, _, rest = spec.partition("=")
    rest, _, flag = rest.partition("@")
    paths = [Path(p) for p in rest.split("+")]
    tta = flag == "tta"
    va_logits, te_logits, seconds = [], [], 0.0
    for p in paths:
        net, _ = load_checkpoint(p)
        va_logits.append(logits_of(net, va_img, tta))
        te_logits.append(logits_of(net, te_img, tta))
        seconds += _train_seconds(p)
    zv, zt = np.mean(va_logits, 0), np.mean(te_logits, 0)
    t = fit_temperature(zv, va_lab)
    pv, pt = 1 / (1 + np.exp(-zv / t)), 1 / (1 + np.exp(-zt / t))
    points = operating_points(pv, va_lab, 0.97)
    row = {
        "name": name,
        "checkpoints": [str(p) for p in paths],
        "tta": tta,
        "members": len(paths),
        "temperature": t,
        "train_minutes": seconds / 60.0,
        "operating_points": points,
    }
    for key, y, p, g in (("val", va_lab, pv, va_groups), ("test", te_lab, pt, te_groups)):
        row[key] = {
            "roc_auc": M.roc_auc(y, p),
            "roc_auc_ci95": M.bootstrap_ci(y, p, M.roc_auc, n_boot, 0, groups=g),
            "ece": M.expected_calibration_error(p, y),
            "at_high_sensitivity": M.threshold_metrics(y, p, points["high_sensitivity"]),
            "at_balanced": M.threshold_metrics(y, p, points["balanced"]),
        }
    return row


def markdown(rows: list[dict]) -> str:
    def ci(v):
        return f"({v[0]:.3f}-{v[1]:.3f})" if v else ""

    head = (
        "| recipe | val AUROC (95% CI) | test_a AUROC (95% CI) | test_a sens / spec @ high_sensitivity "
        "(val-chosen) | test_a sens / spec @ balanced | ECE val / test_a | train min |"
    )
    lines = [head, "|---|---|---|---|---|---|---|"]
    for r in rows:
        v, t = r["val"], r["test"]
        hs, ba = t["at_high_sensitivity"], t["at_balanced"]
        lines.append(
            f"| {r['name']} | {v['roc_auc']:.4f} {ci(v['roc_auc_ci95'])} | {t['roc_auc']:.4f} {ci(t['roc_auc_ci95'])} "
            f"| {hs['sensitivity']:.3f} / {hs['specificity']:.3f} | {ba['sensitivity']:.3f} / {ba['specificity']:.3f} "
            f"| {v['ece']:.3f} / {t['ece']:.3f} | {r['train_minutes']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    train, val = load_split(args.split, args.data)
    images = build_cache(train + val, args.cache_dir, progress=False)
    va_img, va_lab = images[len(train) :], np.array([s.label for s in val])
    test = discover(args.test)
    te_img = np.stack([resize_for_model(decode_grey(s.path)) for s in test])
    te_lab = np.array([s.label for s in test])
    va_groups = [patient_key(s.name) for s in val]
    te_groups = [patient_key(s.name) for s in test]
    rows = []
    for spec in args.recipe:
        rows.append(score_recipe(spec, va_img, va_lab, va_groups, te_img, te_lab, te_groups, args.bootstrap))
        print(markdown(rows[-1:]).splitlines()[-1], flush=True)
    write_atomic(args.out, json.dumps(rows, indent=2).encode(), overwrite=True)
    print(markdown(rows))
    return 0


__all__ = ["add_arguments", "logits_of", "main", "markdown", "score_recipe"]
