"""A tiny contract-compliant ONNX model built with ``onnx.helper`` (no torch), for GUI and inference tests.

The network is small enough to compute by hand (``tiny_reference``):

- ``image`` (N, 1, 224, 224) -> Conv 32x32 stride 32 (4 channels, each the mean of its 32x32 patch
  ``m`` plus a bias) -> ReLU -> ``fmap`` (N, 4, 7, 7) with channels relu(m - 0.5), relu(0.5 - m),
  relu(m - 0.25), relu(0.75 - m);
- ``logit`` = GlobalAveragePool -> Gemm with weights (8, -8, 4, -4), no bias: bright images are
  "PNEUMONIA" (all-white: logit 7), dark ones "NORMAL" (all-black: -7), mid-grey 128/255 ~ 0;
- ``probability`` = sigmoid((logit + logit_shift) / temperature), with the two calibration initialisers of
  the contract (``CALIBRATION_INITIALIZERS``), so site calibration can rewrite them;
- ``cam`` = ReLU(sum_k w_k fmap_k / 49): exactly Grad-CAM of the logit for this head. A white patch has
  cam 7/49, a black one 0;
- ``ood`` = 10 x the mean absolute difference of horizontally adjacent input pixels ("roughness"): smooth
  images (uniform, patches) score ~0, uniform noise ~3.3; the metadata threshold is 1, so a noise image is
  out of distribution and everything else the tests draw is in.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from viewer.core.model import CALIBRATION_INITIALIZERS, ModelInfo, metadata_from_info, seal_model_bytes
from viewer.core.preprocess import RESIZE_POLICY, VALUE_RANGE

TINY_HEAD = np.array([8.0, -8.0, 4.0, -4.0], dtype=np.float32)
TINY_BIAS = np.array([-0.5, 0.5, -0.25, 0.75], dtype=np.float32)
TINY_SIGNS = np.array([1.0, -1.0, 1.0, -1.0], dtype=np.float32)
PATCH = 32

TINY_INFO = ModelInfo(
    name="tiny-test-model",
    version="0.0.1",
    architecture="tiny-conv",
    precision="fp32",
    class_names=("NORMAL", "PNEUMONIA"),
    input_size=224,
    input_channels=1,
    input_value_range=VALUE_RANGE,
    resize_policy=RESIZE_POLICY,
    calibrated=True,
    temperature=2.0,
    operating_points={"high_sensitivity": 0.3, "youden": 0.5},
    default_operating_point="high_sensitivity",
    heatmap_scale=0.1,
    validation_metrics={"auroc": 0.5, "n": 0},
    training_data={"manifest_sha256": "0" * 64, "counts": {"NORMAL": 0, "PNEUMONIA": 0}},
    created="2024-01-01T00:00:00Z",
    source_commit="test",
    intended_use="Tests only. Not a medical device.",
    limits="A toy network that scores brightness; it knows nothing about pneumonia.",
    ood={"method": "tiny-test-roughness", "threshold": 1.0, "quantile": 99.0},
    weights_sha256="",  # real exports record training.export.weights_sha256
)
TINY_OOD_GAIN = 10.0


def tiny_model_bytes(
    info: ModelInfo = TINY_INFO,
    *,
    input_name: str = "image",
    batch_dim: str | int = "batch",
    seal: bool = True,
    metadata_overrides: dict[str, str | None] | None = None,
) -> bytes:
    """Serialized tiny model. ``metadata_overrides``: key -> new value, or None to delete the key
    (applied before sealing, so the integrity hash is valid for the changed metadata)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    size = info.input_size
    cells = size // PATCH
    conv_w = np.repeat(TINY_SIGNS[:, None, None, None], PATCH * PATCH, axis=3).reshape(4, 1, PATCH, PATCH)
    conv_w = (conv_w / (PATCH * PATCH)).astype(np.float32)
    cam_w = (TINY_HEAD / (cells * cells)).reshape(1, 4, 1, 1).astype(np.float32)
    inits = [
        numpy_helper.from_array(conv_w, "conv_w"),
        numpy_helper.from_array(TINY_BIAS, "conv_b"),
        numpy_helper.from_array(TINY_HEAD.reshape(1, 4), "head_w"),
        numpy_helper.from_array(np.zeros(1, np.float32), "head_b"),
        numpy_helper.from_array(cam_w, "cam_w"),
        numpy_helper.from_array(np.array(info.logit_shift, np.float32), CALIBRATION_INITIALIZERS[0]),
        numpy_helper.from_array(np.array(info.temperature, np.float32), CALIBRATION_INITIALIZERS[1]),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.array([1.0, -1.0], np.float32).reshape(1, 1, 1, 2), "dx_w"),
        numpy_helper.from_array(np.array(TINY_OOD_GAIN, np.float32), "ood_gain"),
    ]
    nodes = [
        helper.make_node("Conv", [input_name, "conv_w", "conv_b"], ["pre"], strides=[PATCH, PATCH]),
        helper.make_node("Relu", ["pre"], ["fmap"]),
        helper.make_node("GlobalAveragePool", ["fmap"], ["pooled4"]),
        helper.make_node("Flatten", ["pooled4"], ["pooled"], axis=1),
        helper.make_node("Gemm", ["pooled", "head_w", "head_b"], ["logit2"], transB=1),
        helper.make_node("Squeeze", ["logit2", "axis1"], ["logit"]),
        helper.make_node("Add", ["logit", CALIBRATION_INITIALIZERS[0]], ["shifted"]),
        helper.make_node("Div", ["shifted", CALIBRATION_INITIALIZERS[1]], ["scaled"]),
        helper.make_node("Sigmoid", ["scaled"], ["probability"]),
        helper.make_node("Conv", ["fmap", "cam_w"], ["cam4"]),
        helper.make_node("Relu", ["cam4"], ["cam_relu"]),
        helper.make_node("Squeeze", ["cam_relu", "axis1"], ["cam"]),
        helper.make_node("Conv", [input_name, "dx_w"], ["dx"]),
        helper.make_node("Abs", ["dx"], ["adx"]),
        helper.make_node("ReduceMean", ["adx"], ["rough"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("Mul", ["rough", "ood_gain"], ["ood"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [batch_dim, 1, size, size])],
        [
            helper.make_tensor_value_info("logit", TensorProto.FLOAT, [batch_dim]),
            helper.make_tensor_value_info("probability", TensorProto.FLOAT, [batch_dim]),
            helper.make_tensor_value_info("cam", TensorProto.FLOAT, [batch_dim, cells, cells]),
            helper.make_tensor_value_info("ood", TensorProto.FLOAT, [batch_dim]),
        ],
        initializer=inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="pneumoscope-tests"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    if not seal:
        return data
    meta = metadata_from_info(info)
    for key, value in (metadata_overrides or {}).items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    return seal_model_bytes(data, meta)


def write_tiny_model(path: Path, info: ModelInfo = TINY_INFO, **kwargs) -> Path:
    path = Path(path)
    path.write_bytes(tiny_model_bytes(info, **kwargs))
    return path


def tiny_reference(grey_u8: np.ndarray, info: ModelInfo = TINY_INFO) -> dict[str, np.ndarray]:
    """NumPy reference of the tiny model for one preprocessed frame: logit, probability, cam (7, 7)."""
    from viewer.core.preprocess import prepare_model_input

    x = prepare_model_input(grey_u8, info.input_size)[0, 0].astype(np.float64)
    cells = info.input_size // PATCH
    means = x.reshape(cells, PATCH, cells, PATCH).mean(axis=(1, 3))
    fmap = np.maximum(TINY_SIGNS[:, None, None] * means[None] + TINY_BIAS[:, None, None], 0.0)
    logit = float((TINY_HEAD[:, None, None] * fmap).mean(axis=(1, 2)).sum())
    cam = np.maximum((TINY_HEAD[:, None, None] * fmap).sum(axis=0) / (cells * cells), 0.0)
    ood = TINY_OOD_GAIN * float(np.abs(np.diff(x, axis=1)).mean())
    return {
        "logit": logit,
        "probability": 1.0 / (1.0 + np.exp(-(logit + info.logit_shift) / info.temperature)),
        "cam": cam,
        "ood": ood,
    }


def tiny_info(**changes) -> ModelInfo:
    return replace(TINY_INFO, **changes)
