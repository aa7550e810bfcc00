"""``python -m training evaluate``: score a checkpoint or an exported ONNX model on a labelled folder.

Writes into ``--out``: ``metrics.json`` (every figure of the report), ``predictions.csv`` (one row per
image), the figures as PNG and ``report.html`` (self-contained, see ``training.report``).

- A ``.pt`` checkpoint is rebuilt with ``training.checkpoint.load_checkpoint`` and scored in fp32 with
  its calibration temperature; an ``.onnx`` file is scored through the viewer's own
  ``viewer.core.model.inference.PneumoniaModel``, so the file that ships is the file that is measured.
- Every image takes the app's path: ``training.data.decode_grey`` (viewer loader + default window)
  -> ``viewer.core.preprocess`` (whole-image resize to the model input).
- The data is any folder laid out as ``{NORMAL,PNEUMONIA}/*`` or ``<split>/{NORMAL,PNEUMONIA}/*``, or
  exactly the train/val subset of a run (``--split-file RUN_DIR/split.csv --subset val``).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from training import metrics as M
from training.data import CLASSES, Sample, decode_grey, discover, load_split, patient_key, pneumonia_subtype
from viewer.core.preprocess import resize_for_model, to_model_input

ONNX_SUFFIXES = (".onnx", ".ort")


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class ModelCard:
    """What the report says about the scored model (the same fields for both kinds)."""

    kind: str  # "pytorch" or "onnx"
    path: str
    name: str
    version: str
    architecture: str
    calibrated: bool
    temperature: float
    operating_points: dict[str, float]
    default_operating_point: str
    heatmap_scale: float | None
    input_size: int
    sha256: str
    details: dict = field(default_factory=dict)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class TorchScorer:
    """A training checkpoint, fp32, probability = sigmoid(logit / temperature) like the exported graph."""

    def __init__(self, path: Path, threads: int = 0):
        import torch

        from training.checkpoint import calibration_of, load_checkpoint

        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.model, ckpt = load_checkpoint(path)
        cal = calibration_of(ckpt)
        config = ckpt.get("config") or {}
        epoch = ckpt.get("epoch")
        self.card = ModelCard(
            kind="pytorch",
            path=str(path),
            name=path.name,
            version=f"epoch {int(epoch) + 1}" if epoch is not None else "",
            architecture=str(config.get("arch", "")),
            calibrated=bool(cal["calibrated"]),
            temperature=float(cal["temperature"]),
            operating_points=dict(cal["operating_points"]),
            default_operating_point=str(cal["default_operating_point"]),
            heatmap_scale=cal["heatmap_scale"],
            input_size=int(config.get("input_size", 224)),
            sha256=_sha256(path),
            details={"source_commit": str(ckpt.get("source_commit") or ""), "torch": torch.__version__},
        )

    def predict_input(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        torch = self._torch
        with torch.no_grad():
            logit, cam = self.model.forward_with_cam(torch.from_numpy(np.ascontiguousarray(batch)))
            prob = torch.sigmoid(logit / torch.tensor(self.card.temperature, dtype=torch.float32))
        return {"logit": logit.numpy(), "probability": prob.numpy(), "cam": cam.numpy()}


class OnnxScorer:
    """An exported model, run by the viewer's ``PneumoniaModel`` (contract and integrity checked)."""

    def __init__(self, path: Path, threads: int = 0):
        from viewer.core.model.inference import PneumoniaModel

        self.runtime = PneumoniaModel.load(path, threads=threads or None)
        info = self.runtime.info
        self.card = ModelCard(
            kind="onnx",
            path=str(path),
            name=info.name,
            version=info.version,
            architecture=info.architecture,
            calibrated=bool(info.calibrated),
            temperature=float(info.temperature),
            operating_points=dict(info.operating_points),
            default_operating_point=info.default_operating_point,
            heatmap_scale=float(info.heatmap_scale) if info.heatmap_scale else None,
            input_size=int(info.input_size),
            sha256=info.sha256,
            details={
                "provider": self.runtime.provider,
                "precision": info.precision,
                "source_commit": info.source_commit,
            },
        )

    def predict_input(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        return self.runtime.predict_input(batch)


def load_scorer(path: str | Path, threads: int = 0) -> TorchScorer | OnnxScorer:
    """ONNX for ``.onnx`` files (or anything that is not a torch zip archive), else a checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--model: no file at {path}")
    with open(path, "rb") as f:
        is_zip = f.read(4) == b"PK\x03\x04"  # torch.save's archive format
    if path.suffix.lower() in ONNX_SUFFIXES or not is_zip:
        return OnnxScorer(path, threads)
    return TorchScorer(path, threads)


def resolve_operating_point(card: ModelCard, spec: str | None) -> tuple[str, float]:
    """(name, threshold): the model's default, one of its named operating points, or a number."""
    if spec is None or spec == "":
        return card.default_operating_point, float(card.operating_points[card.default_operating_point])
    if spec in card.operating_points:
        return spec, float(card.operating_points[spec])
    try:
        value = float(spec)
    except ValueError:
        names = ", ".join(card.operating_points)
        raise ValueError(
            f"--operating-point {spec!r}: the model has {names}, or give a number in [0, 1]"
        ) from None
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise ValueError(f"--operating-point {value} is not a probability in [0, 1]")
    return "custom", value


# --------------------------------------------------------------------------- data and scoring


def select_samples(data: str | None, split_file: str | None, subset: str) -> tuple[list[Sample], dict]:
    """Samples to score and a description of where they came from."""
    if split_file:
        split_file_path = Path(split_file)
        root = Path(data) if data else _split_root(split_file_path)
        train, val = load_split(split_file_path, root)
        samples = val if subset == "val" else train
        missing = [s.rel for s in samples if not Path(s.path).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{len(missing)} files of {split_file} not found under {root} (e.g. {missing[0]}); --data must be "
                "the dataset root the run was trained on"
            )
        desc = {"root": str(root.resolve()), "split_file": str(split_file_path.resolve()), "subset": subset}
    else:
        if not data:
            raise ValueError("--data is required without --split-file")
        samples = discover(data)
        desc = {"root": str(Path(data).resolve()), "split_file": None, "subset": None}
    if not samples:
        raise ValueError("no images to evaluate")
    desc.update({f"n_{c.lower()}": sum(s.label == i for s in samples) for i, c in enumerate(CLASSES)})
    return samples, desc


def _split_root(split_file: Path) -> Path:
    with open(split_file) as f:
        head = f.readline()
    for part in head.lstrip("# ").split():
        if part.startswith("root="):
            return Path(part[len("root=") :])
    raise ValueError(f"{split_file} names no data root; pass --data")


def load_model_input(path: str, size: int) -> np.ndarray:
    """A study file -> uint8 (size, size): decode + default window + resize, as the app does."""
    try:
        grey = decode_grey(path)
    except Exception as exc:
        raise RuntimeError(f"cannot open {path}: {exc}") from exc
    return resize_for_model(grey, size)


@dataclass
class Scores:
    files: list[str]  # paths relative to the data root
    paths: list[str]
    labels: np.ndarray  # int64 (N,)
    logits: np.ndarray  # float64 (N,)
    probabilities: np.ndarray  # float64 (N,), calibrated
    cams: np.ndarray  # float32 (N, h, w), raw
    subtypes: list[str]
    ood: np.ndarray | None = None  # float64 (N,) out-of-distribution score (ONNX models)


def score(scorer, samples: list[Sample], batch_size: int = 32, progress: bool = True) -> Scores:
    size = scorer.card.input_size
    logits, probs, cams, oods = [], [], [], []
    starts = range(0, len(samples), max(1, batch_size))
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="evaluate", unit="batch", dynamic_ncols=True)
    for s in starts:
        chunk = samples[s : s + batch_size]
        batch = to_model_input(np.stack([load_model_input(x.path, size) for x in chunk]))
        out = scorer.predict_input(batch)
        logits.append(np.asarray(out["logit"], np.float32).reshape(-1))
        probs.append(np.asarray(out["probability"], np.float32).reshape(-1))
        cams.append(np.asarray(out["cam"], np.float32))
        if "ood" in out:
            oods.append(np.asarray(out["ood"], np.float64).reshape(-1))
    return Scores(
        files=[x.rel for x in samples],
        paths=[x.path for x in samples],
        labels=np.array([x.label for x in samples], np.int64),
        logits=np.concatenate(logits).astype(np.float64),
        probabilities=np.concatenate(probs).astype(np.float64),
        cams=np.concatenate(cams),
        subtypes=[pneumonia_subtype(x.rel) if x.label == 1 else "" for x in samples],
        ood=np.concatenate(oods) if oods else None,
    )


# --------------------------------------------------------------------------- metrics


def compute_metrics(
    labels: np.ndarray,
    probabilities: np.ndarray,
    subtypes: list[str],
    threshold: float,
    operating_point: str,
    model_operating_points: dict[str, float],
    n_boot: int = 1000,
    seed: int = 0,
    groups: list[str] | None = None,
) -> dict:
    """Every figure of the report, JSON-ready (undefined figures are None). ``groups``: the patient of each
    image, for a patient-level bootstrap."""
    y, p = np.asarray(labels), np.asarray(probabilities, np.float64)
    at = M.threshold_metrics(y, p, threshold)
    pred = M.predict(p, threshold)
    n_pos = int(y.sum())
    bins = M.reliability_bins(p, y)
    subtypes_detail = M.subtype_sensitivity(y, pred, subtypes)

    def sens(yy, pp):
        return M.threshold_metrics(yy, pp, threshold)["sensitivity"]

    def spec(yy, pp):
        return M.threshold_metrics(yy, pp, threshold)["specificity"]

    rows = M.threshold_table(y, p, M.DEFAULT_TABLE_THRESHOLDS)
    named = dict(model_operating_points)
    if operating_point not in named:
        named[operating_point] = threshold
    rows = sorted(rows + M.threshold_table(y, p, named), key=lambda r: (r["threshold"], r["name"]))
    return {
        "n": int(y.size),
        "n_positive": n_pos,
        "n_negative": int(y.size - n_pos),
        "prevalence": M.safe_div(n_pos, y.size),
        "operating_point": operating_point,
        "threshold": float(threshold),
        "accuracy": at["accuracy"],
        "precision": at["precision"],
        "recall": at["recall"],
        "sensitivity": at["sensitivity"],
        "specificity": at["specificity"],
        "npv": at["npv"],
        "f1": at["f1"],
        "sensitivity_ci95": M.bootstrap_ci(y, p, sens, n_boot, seed, groups=groups),
        "specificity_ci95": M.bootstrap_ci(y, p, spec, n_boot, seed, groups=groups),
        "roc_auc": M.roc_auc(y, p),
        "roc_auc_ci95": M.bootstrap_ci(y, p, M.roc_auc, n_boot, seed, groups=groups),
        "average_precision": M.average_precision(y, p),
        "ece": M.ece_from_bins(bins),
        "brier": M.brier_score(y, p),
        "confusion_matrix": at["confusion_matrix"],
        "subtype_sensitivity": {k: v["sensitivity"] for k, v in subtypes_detail.items()},
        "subtypes": subtypes_detail,
        "operating_points": {k: float(v) for k, v in model_operating_points.items()},
        "threshold_table": rows,
        "reliability": {"n_bins": len(bins), "bins": bins},
        "bootstrap": {
            "replicates": int(n_boot),
            "seed": int(seed),
            "method": "stratified percentile" + (", resampling patients" if groups is not None else ""),
        },
    }


def write_predictions(path: Path, scores: Scores, threshold: float) -> None:
    """``file,label,probability,prediction,logit,subtype``; probabilities round-trip exactly (repr)."""
    pred = M.predict(scores.probabilities, threshold)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "label", "probability", "prediction", "logit", "subtype"])
        for i, rel in enumerate(scores.files):
            w.writerow(
                [
                    rel,
                    int(scores.labels[i]),
                    repr(float(scores.probabilities[i])),
                    int(pred[i]),
                    f"{scores.logits[i]:.6f}",
                    scores.subtypes[i],
                ]
            )
    os.replace(tmp, path)


def write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, allow_nan=False))
    os.replace(tmp, path)


# --------------------------------------------------------------------------- CLI


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="checkpoint (.pt, from training) or exported model (.onnx)")
    p.add_argument(
        "--data",
        default=None,
        help="folder with {NORMAL,PNEUMONIA}/ (or <split>/{NORMAL,PNEUMONIA}/); with --split-file: "
        "the dataset root of the run (default: the root recorded in the split file)",
    )
    p.add_argument(
        "--out", required=True, help="report folder (metrics.json, predictions.csv, report.html, PNGs)"
    )
    p.add_argument(
        "--operating-point",
        default=None,
        help="high_sensitivity, youden (the model's named thresholds) or a probability in [0, 1] "
        "(default: the model's default operating point)",
    )
    p.add_argument("--split-file", default=None, help="RUN_DIR/split.csv: score exactly one subset of a run")
    p.add_argument("--subset", default="val", choices=("val", "train"), help="subset of --split-file")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument(
        "--gradcam-n",
        type=int,
        default=8,
        help="Grad-CAM gallery: images per outcome (true/false positives/negatives)",
    )
    p.add_argument("--sheet-n", type=int, default=48, help="misclassified contact sheet: at most N images")
    p.add_argument(
        "--bootstrap", type=int, default=1000, help="bootstrap replicates for 95%% intervals (0: none)"
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: library default)")
    p.add_argument("--title", default=None, help="report title (default: model and data names)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    from training.report import write_report

    t0 = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scorer = load_scorer(args.model, args.threads)
    card = scorer.card
    op_name, threshold = resolve_operating_point(card, args.operating_point)
    samples, data_desc = select_samples(args.data, args.split_file, args.subset)
    print(
        f"scoring {len(samples)} images ({data_desc['n_pneumonia']} pneumonia) with {card.kind} model "
        f"{card.name} {card.version}; operating point {op_name} = {threshold:.4g}",
        flush=True,
    )
    scores = score(scorer, samples, args.batch_size, args.progress)
    metrics = compute_metrics(
        scores.labels,
        scores.probabilities,
        scores.subtypes,
        threshold,
        op_name,
        card.operating_points,
        args.bootstrap,
        args.seed,
        groups=[patient_key(f) for f in scores.files],
    )
    metrics["model"] = asdict(card)
    metrics["data"] = data_desc
    metrics["created"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    metrics["arguments"] = {k: v for k, v in vars(args).items() if not k.startswith("_")}
    metrics["seconds"] = round(time.perf_counter() - t0, 1)
    write_json(out / "metrics.json", metrics)
    write_predictions(out / "predictions.csv", scores, threshold)
    # The report is formatted from the file just written: its numbers cannot differ from metrics.json.
    written = json.loads((out / "metrics.json").read_text())
    html = write_report(
        out, written, scores, title=args.title, gradcam_n=args.gradcam_n, sheet_n=args.sheet_n
    )
    auc, ci = written["roc_auc"], written["roc_auc_ci95"]
    print(
        json.dumps(
            {
                k: written[k]
                for k in (
                    "n",
                    "accuracy",
                    "sensitivity",
                    "specificity",
                    "f1",
                    "roc_auc",
                    "average_precision",
                    "ece",
                    "threshold",
                )
            }
        )
    )
    if auc is not None and ci is not None:
        print(f"AUROC {auc:.4f} (95% CI {ci[0]:.4f}-{ci[1]:.4f})")
    print(f"wrote {html} in {time.perf_counter() - t0:.1f} s")
    return 0


__all__ = [
    "ModelCard",
    "OnnxScorer",
    "Scores",
    "TorchScorer",
    "add_arguments",
    "compute_metrics",
    "load_scorer",
    "main",
    "resolve_operating_point",
    "score",
    "select_samples",
]
