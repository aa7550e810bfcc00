"""``python -m training calibrate --run RUN_DIR``: redo the post-training calibration of a run.

Fits the temperature, the operating points and the heatmap scale again on the run's own validation split
(``split.csv``) with the current code, and stores them in ``best.pt`` exactly as ``train`` does at its end.
Use it after changing how operating points are chosen, or with another ``--min-sensitivity``, without
training again. The weights are not touched.
"""

from __future__ import annotations

import argparse
from dataclasses import fields, replace
from pathlib import Path

import torch

from training.models import build_model
from training.train import TrainConfig, finalize, prepare_data, resolve_pos_weight


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", required=True, type=Path, help="run folder written by train (best.pt, split.csv)")
    p.add_argument("--min-sensitivity", type=float, default=None,
                   help="sensitivity of the default operating point (default: the run's own)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: all cores)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: the run's own)")


def main(args: argparse.Namespace) -> int:
    out = Path(args.run)
    best_path = out / "best.pt"
    if not best_path.exists() or not (out / "split.csv").exists():
        raise SystemExit(f"{out} is not a finished training run (needs best.pt and split.csv)")
    best = torch.load(best_path, map_location="cpu", weights_only=False)
    known = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in best["config"].items() if k in known})
    overrides = {"progress": False, "threads": args.threads}
    if args.min_sensitivity is not None:
        overrides["min_sensitivity"] = args.min_sensitivity
    if args.device:
        overrides["device"] = args.device
    cfg = replace(cfg, **overrides)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    _, val, _, tr_lab, va_img, va_lab = prepare_data(cfg, out, reuse_split=True)
    model = build_model(cfg.arch, "none", cfg.dropout).to(cfg.device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    finalize(out, model, val, va_img, va_lab, cfg, resolve_pos_weight(cfg, tr_lab))
    return 0
