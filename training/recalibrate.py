"""``python -m training calibrate``: calibration of a run (validation) or of a model file (a site sample).

``--model IN.onnx --site-data DIR --out OUT.onnx``: site calibration (``training.site_calibration``):
temperature, logit shift and operating points fitted on a labelled local sample, written as a new model
version whose metadata records the sample; prints the before / after table.

``--run RUN_DIR``: redo the post-training calibration of a run on its validation split.

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
    p.add_argument("--run", type=Path, help="run folder written by train (best.pt, split.csv)")
    p.add_argument("--model", type=Path, help="site calibration: the exported model to calibrate (.onnx)")
    p.add_argument("--site-data", type=Path, help="site calibration: labelled {NORMAL,PNEUMONIA} folder")
    p.add_argument("--out", type=Path, help="site calibration: the new model file")
    p.add_argument("--name", default=None, help="site calibration: name of the sample (default: folder name)")
    p.add_argument("--bootstrap", type=int, default=1000, help="site calibration: bootstrap replicates")
    p.add_argument("--seed", type=int, default=0, help="site calibration: bootstrap seed")
    p.add_argument("--force", action="store_true", help="site calibration: overwrite --out")
    p.add_argument(
        "--min-sensitivity",
        type=float,
        default=None,
        help="sensitivity of the default operating point (default: the run's own)",
    )
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: all cores)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: the run's own)")


def main(args: argparse.Namespace) -> int:
    site = (args.model, args.site_data, args.out)
    if any(v is not None for v in site):
        if args.run is not None or any(v is None for v in site):
            raise SystemExit("site calibration takes --model, --site-data and --out (and no --run)")
        from training.site_calibration import calibrate_site, table

        source = calibrate_site(
            args.model,
            args.site_data,
            args.out,
            name=args.name,
            min_sensitivity=args.min_sensitivity or 0.97,
            n_boot=args.bootstrap,
            seed=args.seed,
            force=args.force,
            threads=args.threads,
        )
        print(table(source))
        print(f"wrote {args.out}")
        return 0
    if args.run is None:
        raise SystemExit("give --run RUN_DIR (validation) or --model/--site-data/--out (site calibration)")
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
