"""Export a checkpoint to the ONNX file the viewer runs (``python -m training export ...``).

One graph gives everything (engineering guide section 3): input ``image`` float32 (N, 1, S, S);
outputs ``logit`` (N,), ``probability`` = sigmoid(logit / temperature) (N,) and ``cam`` (N, h, w), the
raw Grad-CAM of the logit at the last conv block. For a pool -> linear head, Grad-CAM's channel weights
are the linear weights / (h*w), so the map is ReLU(1x1 conv of the features) - no backward pass.

Exporter: the TorchScript exporter (``dynamo=False``). In torch 2.14 the dynamo exporter emits opset 18
and cannot convert this graph down to opset 17 (onnx's ReduceMean 18->17 adapter fails), while DirectML
wants <= 17. The file is written in one piece (no external-data sidecar), checked with
``onnx.checker``, compared against PyTorch, sealed with the contract metadata and integrity hash
(``viewer.core.model``), loaded back through the viewer's own ``PneumoniaModel`` and only
then moved into place atomically. Graph optimisation is left to ONNX Runtime at session creation
(ORT_ENABLE_ALL): a copy optimised offline by ORT ran within measurement noise of the plain file, and
ORT-saved models declare ORT-only opset domains that other providers need not accept.

``--quantize int8`` also writes ``<out stem>-int8.onnx`` (see ``training/quantize.py``).
"""

from __future__ import annotations

import argparse
import io
import math
import os
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from torch import nn

from training.checkpoint import calibration_of, load_checkpoint
from training.models import PneumoniaNet
from training.provenance import git_commit, portable_config
from viewer.core.files import write_atomic
from viewer.core.model import (
    CLASS_NAMES,
    CONTRACT_VERSION,
    INPUT_NAME,
    OUTPUT_NAMES,
    ModelInfo,
    metadata_from_info,
    read_contract,
    seal_model_bytes,
)
from viewer.core.model.inference import PneumoniaModel
from viewer.core.preprocess import MODEL_INPUT_SIZE, RESIZE_POLICY, VALUE_RANGE

MAX_OPSET = 17
MIN_OPSET = 13
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")

INTENDED_USE = (
    "Research use only, not a medical device. Estimates the probability that a frontal chest "
    "radiograph shows pneumonia and where the network looked (Grad-CAM), for research and teaching. "
    "It must not be used to diagnose, triage or treat anyone."
)
LIMITS = (
    "Trained on frontal (AP) chest radiographs of children aged 1-5 from one hospital (Guangzhou Women "
    "and Children's Medical Center; Kermany et al., Cell 2018, CC BY 4.0), half of them available only as "
    "squashed 224 x 224 JPEG copies. Not validated for adults, lateral or PA views, other hospitals, "
    "devices or populations, or for any finding other than pneumonia (it cannot tell bacterial from viral). "
    "Thresholds and calibration were chosen on a validation split of the same source and are likely "
    "over-optimistic elsewhere. The heatmap shows which regions drove the score, not where disease is."
)


class OnnxExportWrapper(nn.Module):
    """PneumoniaNet -> (logit, probability, cam) for export. Same maths as ``PneumoniaNet.cam``, written
    as a 1x1 convolution (supported and quantisable everywhere, unlike Einsum)."""

    def __init__(self, net: PneumoniaNet, temperature: float = 1.0, input_size: int = MODEL_INPUT_SIZE):
        super().__init__()
        if not (math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.net = net.eval()
        with torch.no_grad():
            fmap = net.forward_features(torch.zeros(1, 1, input_size, input_size))
        h, w = fmap.shape[2], fmap.shape[3]
        weight = net.classifier.weight.detach().reshape(1, -1, 1, 1) / (h * w)
        self.register_buffer("cam_weight", weight.clone())
        self.register_buffer("temperature", torch.tensor(float(temperature), dtype=torch.float32))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        fmap = self.net.forward_features(image)
        logit = self.net.head(fmap)
        cam = torch.relu(F.conv2d(fmap, self.cam_weight)).squeeze(1)
        return logit, torch.sigmoid(logit / self.temperature), cam


@dataclass(frozen=True)
class ExportResult:
    path: Path | None
    info: ModelInfo
    max_logit_diff: float  # ORT vs PyTorch on the verification batch
    max_cam_diff: float
    size_bytes: int


# --------------------------------------------------------------------------- helpers


def _now_utc() -> datetime:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")  # reproducible builds
    if epoch:
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    return datetime.now(timezone.utc)


def _plain(obj: Any) -> Any:
    """Checkpoint values -> JSON-safe Python (tensors, numpy, paths, tuples; NaN/inf -> None)."""
    if isinstance(obj, torch.Tensor):
        obj = obj.detach().cpu()
        return _plain(obj.item() if obj.numel() == 1 else obj.tolist())
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.generic):
        return _plain(obj.item())
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_plain(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    return str(obj)


def atomic_write_bytes(path: Path, data: bytes, *, force: bool = False) -> Path:
    """Atomic write (temporary file + rename) that refuses to overwrite unless ``force``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return write_atomic(path, data, overwrite=force)
    except FileExistsError:
        raise FileExistsError(f"{path} exists; pass --force to overwrite it") from None


def _verification_batch(size: int) -> np.ndarray:
    """Deterministic non-trivial inputs: a chest-like radial gradient, noise, and a bright/dark split."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    radial = np.clip(1.0 - np.hypot(xx - 0.5, yy - 0.5) * 1.6, 0, 1)
    noise = np.random.default_rng(0).random((size, size), dtype=np.float32)
    split = (xx < 0.5).astype(np.float32) * 0.9 + 0.05
    return np.stack([radial, noise, split])[:, None].astype(np.float32)


# --------------------------------------------------------------------------- export


def build_info(
    ckpt: dict[str, Any],
    *,
    name: str | None = None,
    version: str | None = None,
    heatmap_scale: float | None = None,
) -> ModelInfo:
    """ModelInfo (metadata) for a checkpoint; calibration defaults when the checkpoint has none."""
    config = portable_config(_plain(ckpt.get("config") or {}))
    cal = calibration_of(ckpt)
    arch = config.get("arch", "unknown")
    created = _now_utc()
    head = git_commit()
    source = str(ckpt.get("source_commit") or head or "unknown")
    scale = heatmap_scale if heatmap_scale is not None else cal["heatmap_scale"]
    if scale is None:
        warnings.warn(
            "checkpoint has no calibrated heatmap_scale; writing 1.0 (pass --heatmap-scale)", stacklevel=2
        )
        scale = 1.0
    if version is None:
        version = config.get("model_version") or created.strftime("%Y.%m.%d") + (
            f"+{source[:7]}" if source != "unknown" else ""
        )
    data_summary = _plain(ckpt.get("data_summary") or {})
    if "epoch" in ckpt:
        config = {**config, "epoch": _plain(ckpt["epoch"])}
    return ModelInfo(
        name=name or f"pneumoscope-{str(arch).replace('_', '')}",
        version=str(version),
        architecture=str(arch),
        precision="fp32",
        class_names=CLASS_NAMES,
        input_size=int(config.get("input_size", MODEL_INPUT_SIZE)),
        input_channels=1,
        input_value_range=VALUE_RANGE,
        resize_policy=RESIZE_POLICY,
        calibrated=bool(cal["calibrated"]),
        temperature=float(cal["temperature"]),
        operating_points=dict(cal["operating_points"]),
        default_operating_point=str(cal["default_operating_point"]),
        heatmap_scale=float(scale),
        validation_metrics=_plain(cal["val_metrics"]),
        training_data=data_summary,
        created=created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        source_commit=source,
        intended_use=INTENDED_USE,
        limits=LIMITS,
        training_config=config,
        export_commit=head or "",
        contract_version=CONTRACT_VERSION,
    )


def _torch_to_onnx_bytes(wrapper: nn.Module, size: int, opset: int) -> bytes:
    buf = io.BytesIO()
    dynamic = {name: {0: "batch"} for name in (INPUT_NAME, *OUTPUT_NAMES)}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        warnings.filterwarnings("ignore", message="The feature will be removed", category=DeprecationWarning)
        torch.onnx.export(
            wrapper,
            (torch.zeros(2, 1, size, size),),
            buf,
            dynamo=False,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=dynamic,
            do_constant_folding=True,
            export_params=True,
        )
    model = onnx.load_from_string(buf.getvalue())
    model.producer_name = "pneumoscope-export"
    model.producer_version = f"torch {torch.__version__}"
    model.graph.name = "pneumoscope"
    model.doc_string = INTENDED_USE
    onnx.checker.check_model(model, full_check=True)
    opset_found = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if opset_found > MAX_OPSET:
        raise RuntimeError(f"exported opset {opset_found} exceeds {MAX_OPSET}")
    return model.SerializeToString()


def export_bytes(
    model: PneumoniaNet,
    ckpt_info: dict[str, Any],
    *,
    opset: int = MAX_OPSET,
    name: str | None = None,
    version: str | None = None,
    heatmap_scale: float | None = None,
    verify: bool = True,
) -> tuple[bytes, ModelInfo, float, float]:
    """In-memory export: (sealed ONNX bytes, ModelInfo, max |logit| diff, max |cam| diff vs PyTorch)."""
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"opset must be between {MIN_OPSET} and {MAX_OPSET}, got {opset}")
    info = build_info(ckpt_info, name=name, version=version, heatmap_scale=heatmap_scale)
    model = model.eval()
    wrapper = OnnxExportWrapper(model, info.temperature, info.input_size).eval()
    raw = _torch_to_onnx_bytes(wrapper, info.input_size, opset)
    sealed = seal_model_bytes(raw, metadata_from_info(info))
    info = read_contract(sealed)
    logit_diff = cam_diff = float("nan")
    if verify:
        logit_diff, cam_diff = verify_against_torch(sealed, model, info.temperature)
    return sealed, info, logit_diff, cam_diff


def verify_against_torch(data: bytes, model: PneumoniaNet, temperature: float) -> tuple[float, float]:
    """Load ``data`` through the viewer's PneumoniaModel and compare with PyTorch; raise on mismatch."""
    runtime = PneumoniaModel.from_bytes(data, force_cpu=True)
    x = _verification_batch(runtime.info.input_size)
    out = runtime.predict_input(x)
    with torch.no_grad():
        logit, cam = model.eval().forward_with_cam(torch.from_numpy(x))
    logit, cam = logit.numpy(), cam.numpy()
    prob = 1.0 / (1.0 + np.exp(-logit.astype(np.float64) / temperature))
    logit_diff = float(np.abs(out["logit"] - logit).max())
    cam_diff = float(np.abs(out["cam"] - cam).max())
    tol_logit = 1e-3 * max(1.0, float(np.abs(logit).max()))
    tol_cam = 1e-3 * max(1e-3, float(np.abs(cam).max()))
    if logit_diff > tol_logit or cam_diff > tol_cam or np.abs(out["probability"] - prob).max() > 1e-4:
        raise RuntimeError(
            f"ONNX Runtime disagrees with PyTorch: max |logit diff| {logit_diff:.3g}, max |cam diff| {cam_diff:.3g}"
        )
    return logit_diff, cam_diff


def export_onnx(
    model: PneumoniaNet,
    ckpt_info: dict[str, Any],
    out_path: str | Path,
    *,
    opset: int = MAX_OPSET,
    force: bool = False,
    name: str | None = None,
    version: str | None = None,
    heatmap_scale: float | None = None,
    verify: bool = True,
) -> ExportResult:
    """Export ``model`` with the metadata from ``ckpt_info`` (a checkpoint dict) to ``out_path``."""
    out_path = Path(out_path)
    if out_path.exists() and not force:
        raise FileExistsError(f"{out_path} exists; pass --force to overwrite it")
    data, info, logit_diff, cam_diff = export_bytes(
        model, ckpt_info, opset=opset, name=name, version=version, heatmap_scale=heatmap_scale, verify=verify
    )
    atomic_write_bytes(out_path, data, force=force)
    return ExportResult(out_path, info, logit_diff, cam_diff, len(data))


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--checkpoint", type=Path, required=True, help="checkpoint (.pt) written by training")
    parser.add_argument("--out", type=Path, required=True, help="output .onnx file")
    parser.add_argument("--opset", type=int, default=MAX_OPSET, help=f"ONNX opset ({MIN_OPSET}-{MAX_OPSET})")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    parser.add_argument("--model-name", default=None, help="default: pneumoscope-<arch>")
    parser.add_argument("--model-version", default=None, help="default: config model_version or date+commit")
    parser.add_argument(
        "--heatmap-scale", type=float, default=None, help="override the calibrated raw-CAM colour-scale top"
    )
    parser.add_argument("--quantize", choices=["int8"], default=None, help="also write a quantised model")
    parser.add_argument("--quantize-out", type=Path, default=None, help="default: <out stem>-int8.onnx")
    parser.add_argument(
        "--calibration-data", type=Path, default=None, help="image folder for int8 calibration"
    )
    parser.add_argument("--calibration-count", type=int, default=256, help="images used for calibration")
    return parser


def main(args: argparse.Namespace) -> int:
    if args.quantize and args.calibration_data is None:
        raise SystemExit("--quantize int8 needs --calibration-data DIR")
    quant_out = None
    if args.quantize:
        quant_out = args.quantize_out or args.out.with_name(f"{args.out.stem}-int8.onnx")
    for path in (args.out, quant_out):
        if path is not None and path.exists() and not args.force:
            raise SystemExit(f"{path} exists; pass --force to overwrite it")
    t0 = time.perf_counter()
    model, ckpt = load_checkpoint(args.checkpoint)
    result = export_onnx(
        model,
        ckpt,
        args.out,
        opset=args.opset,
        force=args.force,
        name=args.model_name,
        version=args.model_version,
        heatmap_scale=args.heatmap_scale,
    )
    info = result.info
    print(
        f"wrote {result.path} ({result.size_bytes / 1e6:.1f} MB, {info.name} {info.version}, {info.architecture}, "
        f"{'calibrated' if info.calibrated else 'UNCALIBRATED'}, T={info.temperature:.3g}, "
        f"{info.default_operating_point}={info.threshold:.4g}, {info.integrity})"
    )
    print(
        f"  ORT vs PyTorch: max |logit diff| {result.max_logit_diff:.2e}, max |cam diff| {result.max_cam_diff:.2e}"
    )
    if args.quantize:
        from training.quantize import quantize_int8

        q = quantize_int8(
            args.out, quant_out, args.calibration_data, count=args.calibration_count, force=args.force
        )
        print(f"wrote {q.path} ({q.size_bytes / 1e6:.1f} MB, int8 QDQ, {q.info.integrity})")
        print(
            f"  int8 vs fp32 on {q.n_images} calibration images: max |logit diff| {q.max_logit_diff:.3g}, "
            f"logit r={q.logit_pearson:.4f}, max |prob diff| {q.max_probability_diff:.3g}, "
            f"CAM r min {q.min_cam_pearson:.4f} / median {q.median_cam_pearson:.4f}, max |cam diff| "
            f"{q.max_cam_error_of_scale:.1%} of heatmap_scale. Ship only if validation AUROC drops <= 0.002."
        )
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


__all__ = [
    "OnnxExportWrapper",
    "ExportResult",
    "add_arguments",
    "main",
    "build_info",
    "export_bytes",
    "export_onnx",
    "verify_against_torch",
    "atomic_write_bytes",
]
