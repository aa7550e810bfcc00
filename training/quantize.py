"""int8 quantisation of an exported model (``python -m training export ... --quantize int8``).

Static QDQ quantisation with ``onnxruntime.quantization``: per-channel int8 weights, uint8 activations
(u8 x s8 is the VNNI fast path on x86; s8 x s8 ran ~1.4x slower here, measured interleaved), MinMax ranges from
images in a folder read through ``viewer.core.preprocess``. The head after the last feature map
(pooling, linear, temperature, CAM) is excluded and stays float32, so the CAM keeps its raw scale.
The result gets the same metadata with ``precision`` = "int8" and its own integrity hash. Whether to
ship it is decided on validation AUROC (may not drop more than 0.002), not here.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import onnx

from training.export import IMAGE_SUFFIXES, INTENDED_USE, atomic_write_bytes
from viewer.core.model import (
    INPUT_NAME,
    OUTPUT_NAMES,
    ModelInfo,
    metadata_from_info,
    read_contract,
    seal_model_bytes,
)
from viewer.core.model.inference import PneumoniaModel
from viewer.core.preprocess import prepare_model_input


def calibration_files(folder: str | Path, count: int) -> list[Path]:
    """``count`` images spread evenly over the sorted image files below ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"calibration data folder not found: {folder}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) below {folder}")
    if count >= len(files):
        return files
    idx = np.unique(np.linspace(0, len(files) - 1, count).round().astype(int))
    return [files[i] for i in idx]


def load_batch(files: list[Path], size: int) -> np.ndarray:
    arrays = []
    for path in files:
        grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if grey is None:
            raise ValueError(f"cannot decode {path}")
        arrays.append(prepare_model_input(grey, size))
    return np.concatenate(arrays)


def head_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes after the last shared feature map (pool/linear/probability/CAM head).

    Those are the nodes on the way to an output whose result does not feed *both* ``logit`` and ``cam``.
    """
    producer = {out: node for node in model.graph.node for out in node.output}

    def ancestors(tensor: str) -> set[str]:
        seen: set[str] = set()
        stack = [tensor]
        while stack:
            node = producer.get(stack.pop())
            if node is None or node.name in seen:
                continue
            seen.add(node.name)
            stack.extend(node.input)
        return seen

    per_output = {name: ancestors(name) for name in OUTPUT_NAMES}
    shared = per_output["logit"] & per_output["cam"]
    return sorted(set().union(*per_output.values()) - shared)


def _name_nodes(model: onnx.ModelProto) -> None:
    used = {n.name for n in model.graph.node if n.name}
    for i, node in enumerate(model.graph.node):
        if not node.name:
            name = f"{node.op_type}_{i}"
            while name in used:
                name += "_"
            node.name = name
            used.add(name)


def _prune_opset_imports(model: onnx.ModelProto) -> None:
    used = {n.domain or "" for n in model.graph.node}
    keep = [o for o in model.opset_import if (o.domain or "") in used or o.domain in ("", "ai.onnx")]
    del model.opset_import[:]
    model.opset_import.extend(keep)


@dataclass(frozen=True)
class QuantizeResult:
    path: Path | None
    info: ModelInfo
    n_images: int
    max_logit_diff: float  # int8 vs fp32 on the calibration images
    logit_pearson: float
    max_probability_diff: float
    min_cam_pearson: float
    median_cam_pearson: float
    max_cam_error_of_scale: float
    size_bytes: int


def quantize_bytes(
    fp32: bytes, calibration_data: str | Path, *, count: int = 256, batch_size: int = 16
) -> tuple[bytes, ModelInfo, dict[str, float]]:
    """Static QDQ int8 of a sealed fp32 model -> (sealed int8 bytes, info, agreement with fp32)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    info = read_contract(fp32)
    files = calibration_files(calibration_data, count)

    class FolderReader(CalibrationDataReader):
        def __init__(self) -> None:
            self._chunks = iter([files[i : i + batch_size] for i in range(0, len(files), batch_size)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            chunk = next(self._chunks, None)
            return None if chunk is None else {INPUT_NAME: load_batch(chunk, info.input_size)}

    with tempfile.TemporaryDirectory(prefix="pneumoscope-quant-") as tmp:
        src, pre, out = Path(tmp, "fp32.onnx"), Path(tmp, "pre.onnx"), Path(tmp, "int8.onnx")
        src.write_bytes(fp32)
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        pre_model = onnx.load(str(pre))
        _name_nodes(pre_model)
        onnx.save(pre_model, str(pre))
        quantize_static(
            str(pre),
            str(out),
            FolderReader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,  # u8 x s8: the VNNI fast path on x86
            weight_type=QuantType.QInt8,
            nodes_to_exclude=head_nodes(pre_model),
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
        qmodel = onnx.load(str(out))
    _prune_opset_imports(qmodel)
    qmodel.producer_name = "pneumoscope-export"
    qmodel.producer_version = f"onnxruntime.quantization on {qmodel.producer_version or 'torch'}"
    qmodel.doc_string = INTENDED_USE
    onnx.checker.check_model(qmodel, full_check=True)
    qinfo = replace(info, precision="int8", integrity="")
    sealed = seal_model_bytes(qmodel.SerializeToString(), metadata_from_info(qinfo))
    qinfo = read_contract(sealed)

    # Agreement with fp32 on (up to 64 of) the calibration images.
    ref, q = (
        PneumoniaModel.from_bytes(fp32, force_cpu=True),
        PneumoniaModel.from_bytes(sealed, force_cpu=True),
    )
    x = load_batch(files[:: max(1, len(files) // 64)][:64], info.input_size)
    a, b = ref.predict_input(x), q.predict_input(x)
    cams = [_pearson(a["cam"][i], b["cam"][i]) for i in range(len(x))]
    cam_err = np.abs(a["cam"] - b["cam"]).reshape(len(x), -1).max(axis=1) / info.heatmap_scale
    stats = {
        "n_images": float(len(x)),
        "max_logit_diff": float(np.abs(a["logit"] - b["logit"]).max()),
        "logit_pearson": _pearson(a["logit"], b["logit"]),
        "max_probability_diff": float(np.abs(a["probability"] - b["probability"]).max()),
        "min_cam_pearson": float(np.nanmin(cams)) if not np.all(np.isnan(cams)) else float("nan"),
        "median_cam_pearson": float(np.nanmedian(cams)) if not np.all(np.isnan(cams)) else float("nan"),
        "max_cam_error_of_scale": float(cam_err.max()),  # max |cam diff| as a fraction of heatmap_scale
    }
    return sealed, qinfo, stats


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def quantize_int8(
    fp32_path: str | Path,
    out_path: str | Path,
    calibration_data: str | Path,
    *,
    count: int = 256,
    force: bool = False,
) -> QuantizeResult:
    out_path = Path(out_path)
    if out_path.exists() and not force:
        raise FileExistsError(f"{out_path} exists; pass --force to overwrite it")
    sealed, info, stats = quantize_bytes(Path(fp32_path).read_bytes(), calibration_data, count=count)
    atomic_write_bytes(out_path, sealed, force=force)
    return QuantizeResult(
        path=out_path,
        info=info,
        n_images=int(stats["n_images"]),
        max_logit_diff=stats["max_logit_diff"],
        logit_pearson=stats["logit_pearson"],
        max_probability_diff=stats["max_probability_diff"],
        min_cam_pearson=stats["min_cam_pearson"],
        median_cam_pearson=stats["median_cam_pearson"],
        max_cam_error_of_scale=stats["max_cam_error_of_scale"],
        size_bytes=len(sealed),
    )


__all__ = [
    "QuantizeResult",
    "calibration_files",
    "head_nodes",
    "load_batch",
    "quantize_bytes",
    "quantize_int8",
]
