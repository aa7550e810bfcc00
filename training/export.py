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

Several checkpoints (``--checkpoint a.pt b.pt ...``) make an ensemble averaged inside the one graph.
``export`` needs the runs' data (``--data``): it fits the out-of-distribution statistics on the training
split, its threshold and the ensemble's calibration on the validation split (``fit_export_stats``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import os
import time
import warnings
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from torch import nn

from training.calibration import fit_temperature, operating_points
from training.checkpoint import load_checkpoint
from training.metrics import expected_calibration_error
from training.models import PneumoniaNet
from training.ood import (
    DEFAULT_COMPONENTS,
    DEFAULT_TAPS,
    LayerStats,
    OodHead,
    fit_member,
    member_scores_np,
    pooled_features,
    tapped_forward,
)
from training.provenance import git_commit, portable_config
from viewer.core.files import write_atomic
from viewer.core.model import (
    CALIBRATION_INITIALIZERS,
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
    """Members -> (logit, cam, ood), the graph body; ``_append_calibration`` adds ``probability``.

    ``logit``: the mean of the members' logits (each with its class-weighting correction folded into its
    bias); ``cam``: the mean of the members' raw Grad-CAM maps, each a 1x1 convolution of its last feature
    maps with its classifier weights / (h*w) (supported and quantisable everywhere, unlike Einsum);
    ``ood``: the mean of the members' Mahalanobis scores (``training.ood``). One network is an ensemble
    of one."""

    def __init__(
        self,
        nets: PneumoniaNet | list[PneumoniaNet],
        ood_heads: list[OodHead],
        input_size: int = MODEL_INPUT_SIZE,
    ):
        super().__init__()
        nets = [nets] if isinstance(nets, PneumoniaNet) else list(nets)
        if len(ood_heads) != len(nets):
            raise ValueError(f"{len(nets)} members but {len(ood_heads)} OOD heads")
        self.nets = nn.ModuleList(n.eval() for n in nets)
        self.ood_heads = nn.ModuleList(ood_heads)
        for i, net in enumerate(self.nets):
            with torch.no_grad():
                fmap = net.forward_features(torch.zeros(1, 1, input_size, input_size))
            h, w = fmap.shape[2], fmap.shape[3]
            weight = net.classifier.weight.detach().reshape(1, -1, 1, 1) / (h * w)
            self.register_buffer(f"cam_weight{i}", weight.clone())

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits, cams, oods = [], [], []
        for i, (net, head) in enumerate(zip(self.nets, self.ood_heads, strict=True)):
            fmap, pooled = tapped_forward(net, image, head.taps)
            logits.append(net.head(fmap))
            cams.append(torch.relu(F.conv2d(fmap, getattr(self, f"cam_weight{i}"))).squeeze(1))
            oods.append(head(pooled))
        n = float(len(logits))
        return sum(logits) / n, sum(cams) / n, sum(oods) / n


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


@dataclass(frozen=True)
class ExportStats:
    """What ``export`` measured on the run's data for the model it writes (see :func:`fit_export_stats`)."""

    ood_stats: list[list[LayerStats]]  # per member, per tapped layer
    ood: dict[str, Any]  # method, taps, components, threshold, quantile, validation / training summaries
    calibration: dict[str, Any]  # ensemble calibration on validation: temperature, logit_shift, points, ...


def build_info(
    ckpt: dict[str, Any],
    stats: ExportStats,
    *,
    name: str | None = None,
    version: str | None = None,
    heatmap_scale: float | None = None,
    members: int = 1,
) -> ModelInfo:
    """ModelInfo (metadata) for a checkpoint (an ensemble: its first member's) and the measured statistics."""
    config = portable_config(_plain(ckpt.get("config") or {}))
    cal = stats.calibration
    arch = config.get("arch", "unknown")
    created = _now_utc()
    head = git_commit()
    source = str(ckpt.get("source_commit") or head or "unknown")
    scale = heatmap_scale if heatmap_scale is not None else cal.get("heatmap_scale")
    if scale is None:
        warnings.warn("no calibrated heatmap_scale; writing 1.0 (pass --heatmap-scale)", stacklevel=2)
        scale = 1.0
    if version is None:
        version = config.get("model_version") or created.strftime("%Y.%m.%d") + (
            f"+{source[:7]}" if source != "unknown" else ""
        )
    data_summary = _plain(ckpt.get("data_summary") or {})
    if "epoch" in ckpt:
        config = {**config, "epoch": _plain(ckpt["epoch"])}
    base = f"pneumoscope-{str(arch).replace('_', '')}"
    return ModelInfo(
        name=name or (base if members == 1 else f"{base}-x{members}"),
        version=str(version),
        architecture=str(arch) if members == 1 else f"ensemble of {members} {arch}",
        precision="fp32",
        class_names=CLASS_NAMES,
        input_size=int(config.get("input_size", MODEL_INPUT_SIZE)),
        input_channels=1,
        input_value_range=VALUE_RANGE,
        resize_policy=RESIZE_POLICY,
        calibrated=bool(cal.get("calibrated", True)),
        temperature=float(cal["temperature"]),
        logit_shift=float(cal.get("logit_shift", 0.0)),
        operating_points={k: float(v) for k, v in cal["operating_points"].items()},
        default_operating_point=str(cal["default_operating_point"]),
        heatmap_scale=float(scale),
        validation_metrics=_plain(cal.get("val_metrics") or {}),
        training_data=data_summary,
        created=created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        source_commit=source,
        intended_use=INTENDED_USE,
        limits=LIMITS,
        training_config=config,
        export_commit=head or "",
        contract_version=CONTRACT_VERSION,
        calibration=_plain(cal.get("source") or {"kind": "validation"}),
        ood=_plain(stats.ood),
        members=int(members),
    )


def _append_calibration(model: onnx.ModelProto, temperature: float, logit_shift: float) -> None:
    """probability = Sigmoid((logit + calibration_logit_shift) / calibration_temperature), as ONNX nodes.

    The two scalars are initialisers with fixed names (``CALIBRATION_INITIALIZERS``): ``calibrate
    --site-data`` rewrites exactly these two and no weight."""
    from onnx import helper, numpy_helper

    g = model.graph
    g.initializer.extend(
        [
            numpy_helper.from_array(np.array(logit_shift, np.float32), CALIBRATION_INITIALIZERS[0]),
            numpy_helper.from_array(np.array(temperature, np.float32), CALIBRATION_INITIALIZERS[1]),
        ]
    )
    g.node.extend(
        [
            helper.make_node(
                "Add", ["logit", CALIBRATION_INITIALIZERS[0]], ["calibration_shifted"], name="calib_add"
            ),
            helper.make_node(
                "Div",
                ["calibration_shifted", CALIBRATION_INITIALIZERS[1]],
                ["calibration_scaled"],
                name="calib_div",
            ),
            helper.make_node("Sigmoid", ["calibration_scaled"], ["probability"], name="calib_sigmoid"),
        ]
    )
    outputs = {o.name: o for o in g.output}
    prob = helper.make_tensor_value_info("probability", onnx.TensorProto.FLOAT, ["batch"])
    outputs["probability"] = prob
    del g.output[:]
    g.output.extend(outputs[n] for n in OUTPUT_NAMES)


def _torch_to_onnx_bytes(
    wrapper: nn.Module, size: int, opset: int, temperature: float, logit_shift: float
) -> bytes:
    buf = io.BytesIO()
    body_outputs = ["logit", "cam", "ood"]
    dynamic = {name: {0: "batch"} for name in (INPUT_NAME, *body_outputs)}
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
            output_names=body_outputs,
            dynamic_axes=dynamic,
            do_constant_folding=True,
            export_params=True,
        )
    model = onnx.load_from_string(buf.getvalue())
    _append_calibration(model, temperature, logit_shift)
    model.producer_name = "pneumoscope-export"
    model.producer_version = f"torch {torch.__version__}"
    model.graph.name = "pneumoscope"
    model.doc_string = INTENDED_USE
    onnx.checker.check_model(model, full_check=True)
    opset_found = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if opset_found > MAX_OPSET:
        raise RuntimeError(f"exported opset {opset_found} exceeds {MAX_OPSET}")
    return model.SerializeToString()


def weights_sha256(model: onnx.ModelProto | bytes) -> str:
    """sha256 over every initialiser except the two calibration scalars (name, dims, data type, bytes):
    equal for a model and its site-calibrated copy, different as soon as one weight changes."""
    from onnx import numpy_helper

    if isinstance(model, (bytes, bytearray)):
        model = onnx.load_from_string(bytes(model))
    h = hashlib.sha256()
    for init in sorted(model.graph.initializer, key=lambda t: t.name):
        if init.name in CALIBRATION_INITIALIZERS:
            continue
        arr = numpy_helper.to_array(init)
        h.update(f"{init.name}|{arr.dtype.str}|{arr.shape}\n".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def export_bytes(
    models: PneumoniaNet | list[PneumoniaNet],
    ckpt_info: dict[str, Any],
    stats: ExportStats,
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
    members = [models] if isinstance(models, PneumoniaNet) else list(models)
    info = build_info(
        ckpt_info, stats, name=name, version=version, heatmap_scale=heatmap_scale, members=len(members)
    )
    members = [m.eval() for m in members]
    heads = [OodHead(s) for s in stats.ood_stats]
    wrapper = OnnxExportWrapper(members, heads, info.input_size).eval()
    raw = _torch_to_onnx_bytes(wrapper, info.input_size, opset, info.temperature, info.logit_shift)
    info = replace(info, weights_sha256=weights_sha256(raw))
    sealed = seal_model_bytes(raw, metadata_from_info(info))
    info = read_contract(sealed)
    logit_diff = cam_diff = float("nan")
    if verify:
        logit_diff, cam_diff = verify_against_torch(sealed, members, heads, info)
    return sealed, info, logit_diff, cam_diff


@torch.no_grad()
def torch_reference(
    members: list[PneumoniaNet],
    heads: list[OodHead],
    x: np.ndarray,
    temperature: float = 1.0,
    logit_shift: float = 0.0,
) -> dict[str, np.ndarray]:
    """What the exported graph must compute, member by member in PyTorch (the parity tests' reference)."""
    xt = torch.from_numpy(np.ascontiguousarray(x))
    logits, cams, oods = [], [], []
    for net, head in zip(members, heads, strict=True):
        fmap, pooled = tapped_forward(net.eval(), xt, head.taps)
        logits.append(net.head(fmap).numpy())
        cams.append(net.cam(fmap).numpy())
        oods.append(head(pooled).numpy())
    logit = np.mean(logits, 0)
    prob = 1.0 / (1.0 + np.exp(-(logit.astype(np.float64) + logit_shift) / temperature))
    return {
        "logit": logit,
        "probability": prob,
        "cam": np.mean(cams, 0),
        "ood": np.mean(oods, 0),
        "member_logits": np.stack(logits),
        "member_cams": np.stack(cams),
    }


def verify_against_torch(
    data: bytes, members: list[PneumoniaNet], heads: list[OodHead], info: ModelInfo
) -> tuple[float, float]:
    """Load ``data`` through the viewer's PneumoniaModel and compare with PyTorch; raise on mismatch."""
    runtime = PneumoniaModel.from_bytes(data, force_cpu=True)
    x = _verification_batch(runtime.info.input_size)
    out = runtime.predict_input(x)
    ref = torch_reference(members, heads, x, info.temperature, info.logit_shift)
    logit_diff = float(np.abs(out["logit"] - ref["logit"]).max())
    cam_diff = float(np.abs(out["cam"] - ref["cam"]).max())
    ood_rel = float(np.abs(out["ood"] - ref["ood"]).max() / max(1e-6, float(np.abs(ref["ood"]).max())))
    tol_logit = 1e-3 * max(1.0, float(np.abs(ref["logit"]).max()))
    tol_cam = 1e-3 * max(1e-3, float(np.abs(ref["cam"]).max()))
    if (
        logit_diff > tol_logit
        or cam_diff > tol_cam
        or ood_rel > 1e-3
        or np.abs(out["probability"] - ref["probability"]).max() > 1e-4
    ):
        raise RuntimeError(
            f"ONNX Runtime disagrees with PyTorch: max |logit diff| {logit_diff:.3g}, max |cam diff| "
            f"{cam_diff:.3g}, OOD relative diff {ood_rel:.3g}"
        )
    return logit_diff, cam_diff


def export_onnx(
    models: PneumoniaNet | list[PneumoniaNet],
    ckpt_info: dict[str, Any],
    stats: ExportStats,
    out_path: str | Path,
    *,
    opset: int = MAX_OPSET,
    force: bool = False,
    name: str | None = None,
    version: str | None = None,
    heatmap_scale: float | None = None,
    verify: bool = True,
) -> ExportResult:
    """Export ``models`` with the metadata from ``ckpt_info`` (a checkpoint dict) to ``out_path``."""
    out_path = Path(out_path)
    if out_path.exists() and not force:
        raise FileExistsError(f"{out_path} exists; pass --force to overwrite it")
    data, info, logit_diff, cam_diff = export_bytes(
        models,
        ckpt_info,
        stats,
        opset=opset,
        name=name,
        version=version,
        heatmap_scale=heatmap_scale,
        verify=verify,
    )
    atomic_write_bytes(out_path, data, force=force)
    return ExportResult(out_path, info, logit_diff, cam_diff, len(data))


# --------------------------------------------------------------------------- statistics from the run's data


def fit_export_stats(
    members: list[PneumoniaNet],
    tr_img: np.ndarray,
    tr_lab: np.ndarray,
    va_img: np.ndarray,
    va_lab: np.ndarray,
    *,
    taps: tuple[int, ...] = DEFAULT_TAPS,
    components: int = DEFAULT_COMPONENTS,
    ood_quantile: float = 99.0,
    min_sensitivity: float = 0.97,
    progress: bool = False,
) -> ExportStats:
    """OOD statistics from the training split, the OOD threshold and the (ensemble) calibration from
    the validation split. Images: cached uint8 (N, S, S) arrays of the run's split (``training.data``)."""
    ood_stats, va_scores, va_logits, va_cam_max = [], [], [], []
    for net in members:
        _, tr_feats = pooled_features(net, tr_img, taps, progress=progress)
        stats = fit_member(tr_feats, tr_lab, taps, components)
        ood_stats.append(stats)
        logits, va_feats = pooled_features(net, va_img, taps, progress=progress)
        va_scores.append(member_scores_np(va_feats, stats))
        va_logits.append(logits)
    heads = [OodHead(s) for s in ood_stats]
    for s in range(0, len(va_img), 64):
        x = va_img[s : s + 64].astype(np.float32)[:, None] / 255.0
        va_cam_max.append(torch_reference(members, heads, x)["cam"].reshape(len(x), -1).max(1))
    va_score = np.mean(va_scores, 0)
    threshold = float(np.percentile(va_score, ood_quantile))
    ood = {
        "method": "mahalanobis-tied-shrinkage-pca",
        "taps": list(taps),
        "components": int(components),
        "threshold": threshold,
        "quantile": float(ood_quantile),
        "fitted_on": {"split": "train", "n": int(len(tr_lab))},
        "threshold_from": {
            "split": "validation",
            "n": int(len(va_lab)),
            "accepted": float((va_score <= threshold).mean()),
        },
    }
    calibration = fit_validation_calibration(
        np.mean(va_logits, 0), va_lab, np.concatenate(va_cam_max), min_sensitivity=min_sensitivity
    )
    return ExportStats(ood_stats, ood, calibration)


def fit_validation_calibration(
    logits: np.ndarray, labels: np.ndarray, cam_max: np.ndarray, *, min_sensitivity: float = 0.97
) -> dict[str, Any]:
    """Temperature (>= 1, see ``fit_temperature``), operating points and heatmap scale on validation."""
    t = fit_temperature(logits, labels)
    probs = 1 / (1 + np.exp(-logits / t))
    points = operating_points(probs, labels, min_sensitivity)
    pos_cam = cam_max[labels == 1]
    scale = float(np.percentile(pos_cam, 99)) if pos_cam.size else float(cam_max.max(initial=1.0))
    from sklearn.metrics import roc_auc_score

    return {
        "calibrated": True,
        "temperature": t,
        "logit_shift": 0.0,
        "operating_points": points,
        "default_operating_point": "high_sensitivity",
        "heatmap_scale": max(scale, 1e-6),
        "val_metrics": {
            "n": int(len(labels)),
            "roc_auc": float(roc_auc_score(labels, probs)),
            "ece": expected_calibration_error(probs, labels),
            "min_sensitivity": min_sensitivity,
        },
        "source": {
            "kind": "validation",
            "name": "patient-grouped validation split of Kermany train",
            "n": int(len(labels)),
            "n_pneumonia": int(labels.sum()),
            "method": "temperature >= 1 (NLL), no shift",
        },
    }


def load_members(paths: list[Path]) -> tuple[list[PneumoniaNet], list[dict[str, Any]]]:
    members, ckpts = [], []
    for p in paths:
        m, ck = load_checkpoint(p)
        members.append(m)
        ckpts.append(ck)
    archs = {ck["config"].get("arch") for ck in ckpts}
    if len(archs) != 1:
        raise SystemExit(f"ensemble members must share one architecture, got {sorted(archs)}")
    return members, ckpts


def member_split(paths: list[Path]) -> Path:
    """The one split.csv all members were trained with (a member trained on another's validation
    images would make the ensemble's validation figures and calibration leak)."""
    splits = [p.parent / "split.csv" for p in paths]
    missing = [str(s) for s in splits if not s.is_file()]
    if missing:
        raise SystemExit(f"no split.csv beside {', '.join(missing)}: export needs the run's split")
    digests = {hashlib.sha256(s.read_bytes()).hexdigest() for s in splits}
    if len(digests) != 1:
        raise SystemExit(
            "the members were trained on different validation splits (split.csv differ); "
            "train them with the same --split-seed"
        )
    return splits[0]


# --------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--checkpoint",
        type=Path,
        required=True,
        nargs="+",
        help="checkpoint(s) (.pt) written by training; several = an ensemble averaged in the graph",
    )
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="the dataset root the runs were trained on (OOD statistics, calibration)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output .onnx file")
    parser.add_argument("--opset", type=int, default=MAX_OPSET, help=f"ONNX opset ({MIN_OPSET}-{MAX_OPSET})")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    parser.add_argument("--model-name", default=None, help="default: pneumoscope-<arch>[-xN]")
    parser.add_argument("--model-version", default=None, help="default: config model_version or date+commit")
    parser.add_argument(
        "--heatmap-scale", type=float, default=None, help="override the calibrated raw-CAM colour-scale top"
    )
    parser.add_argument(
        "--ood-taps",
        default=",".join(map(str, DEFAULT_TAPS)),
        help="feature blocks whose pooled features the OOD score uses (comma-separated)",
    )
    parser.add_argument(
        "--ood-components", type=int, default=DEFAULT_COMPONENTS, help="PCA components per layer"
    )
    parser.add_argument(
        "--ood-quantile",
        type=float,
        default=99.0,
        help="OOD threshold: this percentile of the validation scores",
    )
    parser.add_argument(
        "--min-sensitivity",
        type=float,
        default=0.97,
        help="high_sensitivity operating point: lower 95%% bound of sensitivity >= this",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: all cores)")
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="decoded-image cache (default: beside the run)"
    )
    return parser


def main(args: argparse.Namespace) -> int:
    from training.data import build_cache, load_split

    if args.out.exists() and not args.force:
        raise SystemExit(f"{args.out} exists; pass --force to overwrite it")
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    members, ckpts = load_members(list(args.checkpoint))
    split = member_split(list(args.checkpoint))
    train, val = load_split(split, args.data)
    cache = args.cache_dir or Path(args.checkpoint[0]).parent.parent / ".cache"
    images = build_cache(
        train + val, cache, int(ckpts[0]["config"].get("input_size", MODEL_INPUT_SIZE)), progress=False
    )
    labels = np.array([s.label for s in train + val])
    n = len(train)
    taps = tuple(int(t) for t in str(args.ood_taps).split(","))
    stats = fit_export_stats(
        members,
        images[:n],
        labels[:n],
        images[n:],
        labels[n:],
        taps=taps,
        components=args.ood_components,
        ood_quantile=args.ood_quantile,
        min_sensitivity=args.min_sensitivity,
    )
    ckpt = ckpts[0]
    if len(ckpts) > 1:
        recipes = [portable_config(_plain(c.get("config") or {})) for c in ckpts]
        ckpt = {**ckpt, "config": {**ckpt["config"], "members": recipes}}
    result = export_onnx(
        members,
        ckpt,
        stats,
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
        f"T={info.temperature:.3g}, {info.default_operating_point}={info.threshold:.4g}, "
        f"OOD threshold {stats.ood['threshold']:.4g}, {info.integrity})"
    )
    print(
        f"  ORT vs PyTorch: max |logit diff| {result.max_logit_diff:.2e}, max |cam diff| {result.max_cam_diff:.2e}"
    )
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


__all__ = [
    "CALIBRATION_INITIALIZERS",
    "ExportResult",
    "ExportStats",
    "OnnxExportWrapper",
    "add_arguments",
    "atomic_write_bytes",
    "build_info",
    "export_bytes",
    "export_onnx",
    "fit_export_stats",
    "fit_validation_calibration",
    "main",
    "torch_reference",
    "verify_against_torch",
    "weights_sha256",
]
