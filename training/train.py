"""``python -m training train``: transfer learning with a patient-grouped validation split.

Shape of torchvision's reference ``train.py``: ``add_arguments()`` -> ``main(args)`` ->
``train_one_epoch()`` / ``evaluate()``, argparse at the edge, a frozen :class:`TrainConfig` inside
(saved in every checkpoint). Resumable from ``RUN_DIR/last.pt``; ``RUN_DIR/best.pt`` holds the
epoch with the lowest validation loss, with calibration (temperature, operating points, heatmap
scale) added at the end of the run.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from training.augment import PRESETS, augment, preset
from training.calibration import fit_temperature, operating_points
from training.data import (
    CLASSES,
    build_cache,
    discover,
    grouped_split,
    load_split,
    manifest_summary,
    save_split,
)
from training.metrics import confusion_counts, expected_calibration_error, predict, rates
from training.models import ARCHITECTURES, build_model
from training.provenance import git_commit
from viewer.core.preprocess import MODEL_INPUT_SIZE


@dataclass(frozen=True)
class TrainConfig:
    data: str
    out: str
    arch: str = "mobilenet_v2"
    init: str = "none"
    epochs: int = 10
    freeze_epochs: int = 1
    freeze_blocks: int = 0
    batch_size: int = 32
    lr: float = 5e-4
    weight_decay: float = 0.05
    label_smoothing: float = 0.05
    dropout: float = 0.3
    pos_weight: float | None = None  # None: n_normal / n_pneumonia of the training subset
    val_fraction: float = 0.15
    seed: int = 0
    split_seed: int = 0
    patience: int = 3
    device: str = "cpu"
    bf16: bool = True
    channels_last: bool = True
    threads: int = 0
    limit: int = 0
    max_steps: int = 0
    cache_dir: str = ""
    input_size: int = MODEL_INPUT_SIZE
    min_sensitivity: float = 0.97
    progress: bool = True
    aug: str = "base"
    mixup: float = 0.0
    swa_start: int = 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data", required=True, help="dataset root: {NORMAL,PNEUMONIA}/ or train/{NORMAL,PNEUMONIA}/"
    )
    p.add_argument(
        "--out", required=True, help="run folder (checkpoints, split.csv, epochs.csv, calibration)"
    )
    p.add_argument(
        "--arch", default="mobilenet_v2", choices=ARCHITECTURES, help="backbone (default mobilenet_v2)"
    )
    p.add_argument(
        "--init",
        default="none",
        help="'imagenet' (torchvision's own weights, must be cached locally), a path to an "
        "ImageNet state-dict file (e.g. ../shared/weights/mobilenet_v2_imagenet.pth), or 'none'",
    )
    p.add_argument("--epochs", type=int, default=10, help="maximum epochs including frozen ones (default 10)")
    p.add_argument(
        "--freeze-epochs", type=int, default=1, help="first epochs with the backbone frozen (default 1)"
    )
    p.add_argument(
        "--freeze-blocks",
        type=int,
        default=0,
        help="feature blocks kept frozen during fine-tuning, for speed (default 0 = none)",
    )
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument(
        "--lr", type=float, default=5e-4, help="peak AdamW learning rate (cosine schedule, warm-up)"
    )
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--label-smoothing", type=float, default=0.05)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument(
        "--pos-weight",
        type=float,
        default=None,
        help="BCE weight of the pneumonia class (default: n_normal / n_pneumonia)",
    )
    p.add_argument(
        "--val-fraction", type=float, default=0.15, help="patient-grouped validation share of train"
    )
    p.add_argument("--seed", type=int, default=0, help="weights, order and augmentation seed")
    p.add_argument(
        "--split-seed",
        type=int,
        default=0,
        help="seed of the patient-grouped validation split (keep it fixed across ensemble members, "
        "so that no member trained on another's validation images)",
    )
    p.add_argument(
        "--patience", type=int, default=3, help="early stopping: epochs without val-loss improvement"
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda (cuda uses fp16 mixed precision)")
    p.add_argument("--no-bf16", dest="bf16", action="store_false", help="CPU: disable bfloat16 autocast")
    p.add_argument("--no-channels-last", dest="channels_last", action="store_false")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: all cores)")
    p.add_argument(
        "--limit", type=int, default=0, help="use at most N images (seeded, both classes): smoke tests"
    )
    p.add_argument("--max-steps", type=int, default=0, help="stop each epoch after N steps: smoke tests")
    p.add_argument("--cache-dir", default="", help="decoded-image cache (default: RUN_DIR/../.cache)")
    p.add_argument(
        "--min-sensitivity",
        type=float,
        default=0.97,
        help="default operating point: lower 95%% bound of validation sensitivity >= this",
    )
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR/last.pt")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    p.add_argument(
        "--aug",
        default="base",
        choices=sorted(PRESETS),
        help="augmentation preset (training/augment.py): base, or strong (exposure, tone curves, "
        "JPEG re-encoding, erased borders and marker patches)",
    )
    p.add_argument(
        "--mixup",
        type=float,
        default=0.0,
        help="mixup Beta(alpha, alpha) on images and targets; 0 = off (default)",
    )
    p.add_argument(
        "--swa-start",
        type=int,
        default=0,
        help="stochastic weight averaging of the weights at the end of epochs >= N (1-based; 0 = off); "
        "the average, with batch-norm statistics recomputed, is written to RUN_DIR/swa.pt",
    )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    names = {f.name for f in fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in vars(args).items() if k in names})


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _autocast(cfg: TrainConfig):
    if cfg.device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.float16)
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16)


def _batch(images: np.ndarray, idx: np.ndarray, cfg: TrainConfig) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(images[idx])).to(cfg.device).float().div_(255.0).unsqueeze(1)
    return x


def set_stage(model, epoch: int, cfg: TrainConfig) -> str:
    frozen_all = epoch < cfg.freeze_epochs
    blocks = list(model.features.children())
    if (
        len(blocks) == 2
        and isinstance(blocks[0], torch.nn.Sequential)
        and isinstance(blocks[1], torch.nn.ReLU)
    ):
        blocks = list(blocks[0].children()) + blocks[1:]  # densenet: Sequential(features, relu)
    for i, b in enumerate(blocks):
        trainable = not frozen_all and i >= cfg.freeze_blocks
        for prm in b.parameters():
            prm.requires_grad_(trainable)
    return "frozen" if frozen_all else "finetune"


def _freeze_bn_of_frozen(model) -> None:
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            if not any(p.requires_grad for p in m.parameters()):
                m.eval()


def train_one_epoch(model, images, labels, opt, sched, cfg, epoch, pos_weight, gen) -> dict:
    model.train()
    _freeze_bn_of_frozen(model)
    order = torch.randperm(len(labels), generator=gen).numpy()
    n_steps = len(order) // cfg.batch_size
    if cfg.max_steps:
        n_steps = min(n_steps, cfg.max_steps)
    aug = preset(cfg.aug)
    pw = torch.tensor(pos_weight, device=cfg.device)
    # fp16 autocast on CUDA needs loss scaling; disabled (a plain optimiser step) on the CPU's bfloat16
    scaler = torch.amp.GradScaler("cuda", enabled=str(cfg.device).startswith("cuda"))
    total, seen, t0 = 0.0, 0, time.perf_counter()
    it = range(n_steps)
    if cfg.progress:
        from tqdm import tqdm

        it = tqdm(it, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", dynamic_ncols=True)
    for step in it:
        idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
        x = augment(_batch(images, idx, cfg), aug, gen)
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = torch.from_numpy(labels[idx]).float().to(cfg.device)
        y_s = y * (1 - cfg.label_smoothing) + 0.5 * cfg.label_smoothing
        if cfg.mixup > 0:
            x, y_s = mixup(x, y_s, cfg.mixup, gen)
        with _autocast(cfg):
            logit = model(x)
        loss = F.binary_cross_entropy_with_logits(logit.float(), y_s, pos_weight=pw)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        sched.step()
        total += loss.item() * len(idx)
        seen += len(idx)
        if cfg.progress:
            it.set_postfix(loss=f"{total / seen:.4f}", lr=f"{sched.get_last_lr()[0]:.2e}")
    dt = time.perf_counter() - t0
    return {"train_loss": total / max(seen, 1), "train_seconds": dt, "images_per_s": seen / max(dt, 1e-9)}


def mixup(
    x: torch.Tensor, y: torch.Tensor, alpha: float, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Zhang et al. 2018: one Beta(alpha, alpha) weight per batch, partner = a seeded permutation.

    The weight is the inverse CDF of a uniform drawn from the training generator (torch's Beta sampler
    takes no generator), so a run stays reproducible and resumable."""
    from scipy.stats import beta as beta_dist

    lam = float(beta_dist.ppf(float(torch.rand(1, generator=gen)), alpha, alpha))
    perm = torch.randperm(x.shape[0], generator=gen).to(x.device)
    return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]


@torch.no_grad()
def predict_arrays(model, images: np.ndarray, cfg: TrainConfig, batch_size: int = 64, with_cam: bool = False):
    """fp32 logits (and raw CAM maxima) for cached uint8 images, no augmentation."""
    model.eval()
    logits, cam_max = [], []
    for s in range(0, len(images), batch_size):
        x = _batch(images, np.arange(s, min(s + batch_size, len(images))), cfg)
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if with_cam:
            lg, cam = model.forward_with_cam(x)
            cam_max.append(cam.flatten(1).amax(1).cpu().numpy())
        else:
            lg = model(x)
        logits.append(lg.float().cpu().numpy())
    out = np.concatenate(logits) if logits else np.zeros(0, np.float32)
    return (out, np.concatenate(cam_max)) if with_cam else out


def evaluate(model, images, labels, cfg: TrainConfig) -> dict:
    from sklearn.metrics import roc_auc_score

    logits = predict_arrays(model, images, cfg)
    y = labels.astype(np.float64)
    probs = 1 / (1 + np.exp(-logits))
    loss = float(F.binary_cross_entropy_with_logits(torch.from_numpy(logits).double(), torch.from_numpy(y)))
    pred = probs >= 0.5
    tp, tn = int(((pred == 1) & (y == 1)).sum()), int(((pred == 0) & (y == 0)).sum())
    npos, nneg = int(y.sum()), int((1 - y).sum())
    auc = float(roc_auc_score(y, probs)) if 0 < npos < len(y) else float("nan")
    return {
        "val_loss": loss,
        "val_auroc": auc,
        "val_accuracy": float((pred == y).mean()),
        "val_sensitivity": tp / max(npos, 1),
        "val_specificity": tn / max(nneg, 1),
    }


def _lr_lambda(total_steps: int, warmup: int):
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        prog = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * prog))

    return f


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def prepare_data(cfg: TrainConfig, out: Path, reuse_split: bool = False):
    all_samples = discover(cfg.data, split="train")
    if cfg.limit:
        rng = np.random.default_rng(cfg.seed)
        keep = []
        for label in range(len(CLASSES)):
            idx = [i for i, s in enumerate(all_samples) if s.label == label]
            keep += list(rng.permutation(idx)[: cfg.limit // len(CLASSES)])
        all_samples = [all_samples[i] for i in sorted(keep)]
    split_path = out / "split.csv"
    if reuse_split and split_path.exists():  # a resumed run, or calibrate: exactly the run's own split
        train, val = load_split(split_path, cfg.data)
    else:  # a fresh run: the split follows this run's data, seed and fraction (an old file is replaced)
        train, val = grouped_split(all_samples, cfg.val_fraction, cfg.split_seed)
        save_split(split_path, train, val, cfg.split_seed, str(Path(cfg.data).resolve()))
    cache_dir = Path(cfg.cache_dir) if cfg.cache_dir else out.parent / ".cache"
    images = build_cache(train + val, cache_dir, cfg.input_size, progress=cfg.progress)
    labels = np.array([s.label for s in train + val], np.int64)
    n_tr = len(train)
    return train, val, images[:n_tr], labels[:n_tr], images[n_tr:], labels[n_tr:]


def resolve_pos_weight(cfg: TrainConfig, train_labels: np.ndarray) -> float:
    """The BCE weight of the pneumonia class: ``--pos-weight``, else n_normal / n_pneumonia of the training part."""
    if cfg.pos_weight is not None:
        return float(cfg.pos_weight)
    return float((train_labels == 0).sum() / max(train_labels.sum(), 1))


def calibrate(
    model, val_images, val_labels, cfg: TrainConfig, pos_weight: float = 1.0
) -> tuple[dict, np.ndarray]:
    """Calibration of a trained model on the validation split -> (calibration dict, calibrated logits).

    1. ``logit_shift`` = -log(pos_weight), not fitted: BCE with ``pos_weight`` w trains the logit towards
       log-odds + log(w), so this undoes the class weighting exactly; probabilities then reflect the
       training prevalence. ``training.checkpoint.load_checkpoint`` folds it into the classifier bias.
    2. A temperature T >= 1 fitted on the shifted logits (see ``fit_temperature``).
    3. Operating points and the fixed heatmap scale (the CAM does not depend on the bias).
    """
    raw, cam_max = predict_arrays(model, val_images, cfg, with_cam=True)
    shift = -math.log(pos_weight)
    logits = raw + shift
    t = fit_temperature(logits, val_labels)
    probs = 1 / (1 + np.exp(-logits / t))
    pos_cam = cam_max[val_labels == 1]
    scale = float(np.percentile(pos_cam, 99)) if pos_cam.size else float(cam_max.max(initial=1.0))
    from sklearn.metrics import roc_auc_score

    points = operating_points(probs, val_labels, cfg.min_sensitivity)
    at_points = {}
    for name, thr in points.items():
        r = rates(confusion_counts(val_labels, predict(probs, thr)))
        at_points[name] = {"threshold": thr, "sensitivity": r["recall"], "specificity": r["specificity"]}
    return {
        "logit_shift": shift,
        "pos_weight": pos_weight,
        "temperature": t,
        "operating_points": points,
        "default_operating_point": "high_sensitivity",
        "min_sensitivity": cfg.min_sensitivity,
        "heatmap_scale": max(scale, 1e-6),
        "val_metrics": {
            "n": int(len(val_labels)),
            "roc_auc": float(roc_auc_score(val_labels, probs)),
            "ece_before": expected_calibration_error(1 / (1 + np.exp(-raw)), val_labels),
            "ece_after": expected_calibration_error(probs, val_labels),
            "operating_points": at_points,
        },
    }, logits


# Settings a resumed run may change: where and how fast it runs, and how long it goes on.
# min_sensitivity only shapes the calibration written at the end.
RESUME_MAY_CHANGE = frozenset(
    {"progress", "threads", "device", "epochs", "patience", "cache_dir", "out", "min_sensitivity"}
)


def check_resume_config(saved: dict, now: dict) -> None:
    """Refuse to resume with other data, model or recipe settings than the checkpoint was trained with."""
    diff = {
        k: (saved.get(k), now.get(k))
        for k in now
        if k not in RESUME_MAY_CHANGE and saved.get(k) != now.get(k)
    }
    if diff:
        lines = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in sorted(diff.items()))
        raise SystemExit(
            f"--resume with settings that differ from the checkpoint's ({lines}); "
            "use the same options, or start a new run folder"
        )
    if saved.get("epochs") != now.get("epochs"):
        print(
            f"--resume: epochs {saved.get('epochs')} -> {now.get('epochs')}; the cosine learning-rate schedule "
            "is stretched over the new total from here on"
        )


def _trim_epoch_log(log_path: Path, start: int) -> None:
    """Keep only the rows of epochs 1..``start`` (the epochs the run resumes after; none on a fresh start)."""
    if not log_path.exists():
        return
    if start == 0:
        log_path.unlink()  # a fresh run in an old folder: the old log belongs to another run
        return
    with open(log_path, newline="") as f:
        reader = csv.DictReader(f)
        fieldnames, rows = reader.fieldnames or [], [r for r in reader if int(r["epoch"]) <= start]
    tmp = log_path.with_name(log_path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fieldnames)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, log_path)


def main(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    train, val, tr_img, tr_lab, va_img, va_lab = prepare_data(
        cfg, out, reuse_split=bool(getattr(args, "resume", False))
    )
    print(
        f"train {len(train)} images ({int(tr_lab.sum())} pneumonia), val {len(val)} ({int(va_lab.sum())} pneumonia)"
    )
    pos_weight = resolve_pos_weight(cfg, tr_lab)

    model = build_model(cfg.arch, cfg.init, cfg.dropout).to(cfg.device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = len(tr_lab) // cfg.batch_size
    if cfg.max_steps:
        steps_per_epoch = min(steps_per_epoch, cfg.max_steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, _lr_lambda(steps_per_epoch * cfg.epochs, warmup=min(100, steps_per_epoch))
    )
    gen = torch.Generator().manual_seed(cfg.seed)
    start, best_loss, bad_epochs = 0, float("inf"), 0
    swa_state, swa_n = None, 0
    last = out / "last.pt"
    if getattr(args, "resume", False) and last.exists():
        ck = torch.load(last, map_location="cpu", weights_only=False)  # RNG states must stay CPU tensors
        check_resume_config(ck.get("config") or {}, asdict(cfg))
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        gen.set_state(ck["rng"]["torch_gen"])
        torch.set_rng_state(ck["rng"]["torch"])
        if ck["rng"].get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ck["rng"]["cuda"])  # dropout on the GPU
        start, best_loss, bad_epochs = ck["epoch"] + 1, ck["best_loss"], ck["bad_epochs"]
        swa_state, swa_n = ck.get("swa_state"), int(ck.get("swa_n", 0))
        print(f"resumed from {last} at epoch {start + 1}")
    elif getattr(args, "resume", False):
        print(f"--resume: no {last} yet, starting from epoch 1")

    data_summary = {
        **manifest_summary(cfg.data),
        "n_train": len(train),
        "n_val": len(val),
        "train_pneumonia": int(tr_lab.sum()),
        "val_pneumonia": int(va_lab.sum()),
    }
    log_path = out / "epochs.csv"
    _trim_epoch_log(log_path, start)
    for epoch in range(start, cfg.epochs):
        if bad_epochs >= cfg.patience:
            print(f"early stopping: no val-loss improvement for {cfg.patience} epochs")
            break
        stage = set_stage(model, epoch, cfg)
        row = {"epoch": epoch + 1, "stage": stage, "lr": sched.get_last_lr()[0]}
        row.update(train_one_epoch(model, tr_img, tr_lab, opt, sched, cfg, epoch, pos_weight, gen))
        t0 = time.perf_counter()
        row.update(evaluate(model, va_img, va_lab, cfg))
        row["val_seconds"] = time.perf_counter() - t0
        if cfg.swa_start and epoch + 1 >= cfg.swa_start:
            swa_state, swa_n = swa_update(swa_state, swa_n, model)
        improved = row["val_loss"] < best_loss
        best_loss = min(best_loss, row["val_loss"])
        bad_epochs = 0 if improved else bad_epochs + 1
        # Log first, checkpoint second: a crash in between leaves a row that resuming trims away
        # (_trim_epoch_log), never a trained epoch without its row.
        new = not log_path.exists()
        with open(log_path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            if new:
                w.writeheader()
            w.writerow(row)
        state = {
            "model": model.state_dict(),
            "config": asdict(cfg),
            "epoch": epoch,
            "val_metrics": row,
            "data_summary": data_summary,
            "source_commit": git_commit() or "",
            "classes": list(CLASSES),
        }
        if improved:
            _atomic_save(state, out / "best.pt")
        _atomic_save(
            {
                **state,
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "best_loss": best_loss,
                "bad_epochs": bad_epochs,
                "swa_state": swa_state,
                "swa_n": swa_n,
                "rng": {
                    "torch": torch.get_rng_state(),
                    "torch_gen": gen.get_state(),
                    "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                },
            },
            last,
        )
        print(
            json.dumps({k: (round(v, 5) if isinstance(v, float) else v) for k, v in row.items()}), flush=True
        )

    if swa_n:
        finalize_swa(out, model, swa_state, swa_n, tr_img, va_img, va_lab, cfg, pos_weight)
    finalize(out, model, val, va_img, va_lab, cfg, pos_weight)
    return 0


def swa_update(avg: dict | None, n: int, model) -> tuple[dict, int]:
    """Running mean of the floating-point weights (Izmailov et al. 2018); buffers are recomputed at the end."""
    cur = {k: v.detach().float().clone() for k, v in model.state_dict().items() if v.is_floating_point()}
    if avg is None:
        return cur, 1
    return {k: avg[k] + (cur[k] - avg[k]) / (n + 1) for k in avg}, n + 1


@torch.no_grad()
def recompute_bn(model, images: np.ndarray, cfg: TrainConfig, batch_size: int = 64) -> None:
    """Batch-norm running statistics of the trainable blocks re-estimated on un-augmented training images
    (averaged weights do not match any epoch's statistics); frozen blocks keep theirs."""
    bns = [
        m
        for m in model.modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
        and any(p.requires_grad for p in m.parameters())
    ]
    model.eval()
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the pass
        m.train()
    for s in range(0, len(images), batch_size):
        x = _batch(images, np.arange(s, min(s + batch_size, len(images))), cfg)
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with _autocast(cfg):
            model(x)
    for m in bns:
        m.momentum = 0.1
    model.eval()


def finalize_swa(out: Path, model, swa_state, swa_n, tr_img, va_img, va_lab, cfg, pos_weight) -> None:
    """Write RUN_DIR/swa.pt: the weight average with fresh batch-norm statistics, scored and calibrated on
    validation like best.pt. ``model`` is left holding the average (finalize() reloads best.pt)."""
    sd = model.state_dict()
    model.load_state_dict({k: (swa_state[k].to(v.dtype) if k in swa_state else v) for k, v in sd.items()})
    recompute_bn(model, tr_img, cfg)
    row = evaluate(model, va_img, va_lab, cfg)
    print(f"swa over {swa_n} epochs:", json.dumps({k: round(v, 5) for k, v in row.items()}), flush=True)
    calib, _ = calibrate(model, va_img, va_lab, cfg, pos_weight)
    template = torch.load(out / "best.pt", map_location="cpu", weights_only=False)  # config, data summary
    swa = {
        **{k: v for k, v in template.items() if k not in ("model", "calibration")},
        "model": model.state_dict(),
        "val_metrics": row,
        "swa_epochs": swa_n,
        "calibration": calib,
    }
    _atomic_save(swa, out / "swa.pt")


def finalize(out: Path, model, val, va_img, va_lab, cfg: TrainConfig, pos_weight: float) -> dict:
    """Load ``best.pt`` into ``model``, calibrate it on validation and store the calibration in ``best.pt``,
    ``calibration.json`` and ``val_predictions.csv``. Also the ``calibrate`` command's work."""
    best = torch.load(out / "best.pt", map_location="cpu", weights_only=False)
    model.load_state_dict(best["model"])
    calib, val_logits = calibrate(model, va_img, va_lab, cfg, pos_weight)
    best["calibration"] = calib
    _atomic_save(best, out / "best.pt")
    (out / "calibration.json").write_text(json.dumps(calib, indent=2))
    with open(out / "val_predictions.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "label", "logit", "probability"])
        for s, lg in zip(val, val_logits, strict=True):
            w.writerow([s.rel, s.label, f"{lg:.6f}", f"{1 / (1 + math.exp(-lg / calib['temperature'])):.6f}"])
    print("calibration:", json.dumps(calib))
    return calib
