"""The model contract: what a Pneumoscope ONNX file must contain, defined once.

``training/export.py`` writes it (``metadata_from_info`` + ``onnx_wire.seal_model_bytes``),
``viewer.core.model.inference`` checks it (``onnx_wire.read_contract`` + ``check_io``). This module is
the schema: graph interface, metadata keys, ``ModelInfo`` and its validation. To add a graph output,
add its name to ``OUTPUT_NAMES`` and its rank to ``OUTPUT_RANKS``; ``PneumoniaModel.predict_input``
returns every output by name.

Graph interface (contract version 2)
    input  ``image``        float32 (N, 1, S, S), N dynamic, values in [0, 1]: exactly
                            ``viewer.core.preprocess.prepare_model_input`` output.
    output ``logit``        float32 (N,)        PNEUMONIA logit.
    output ``probability``  float32 (N,)        sigmoid((logit + shift) / temperature): the calibrated
                            probability; ``shift`` and ``temperature`` are the initialisers named in
                            ``CALIBRATION_INITIALIZERS`` (site calibration rewrites them, no weight).
    output ``cam``          float32 (N, h, w)   raw Grad-CAM of the logit at the last conv block (ReLU
                            applied, *not* normalised per image; ``heatmap_scale`` maps it to colours).
    output ``ood``          float32 (N,)        out-of-distribution score of the image (Mahalanobis
                            distance of pooled features to the training data, ~1 for a training image);
                            above the metadata's ``ood.threshold`` the image is withheld.

Metadata (``ModelProto.metadata_props``): string keys ``pneumoscope.*`` listed in ``REQUIRED_KEYS`` and
``OPTIONAL_KEYS``; structured values are JSON.

Integrity: ``viewer.core.model.onnx_wire`` (hash, seal, verify, read without ``onnx``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from viewer.core.preprocess import RESIZE_POLICY, VALUE_RANGE

CONTRACT_VERSION = "2"
SUPPORTED_CONTRACT_VERSIONS = ("2",)  # 1 (no OOD output) ended with the model of 2026-12-02
PREFIX = "pneumoscope."

INPUT_NAME = "image"
OUTPUT_NAMES = ("logit", "probability", "cam", "ood")
OUTPUT_RANKS = {"logit": 1, "probability": 1, "cam": 3, "ood": 1}
CALIBRATION_INITIALIZERS = ("calibration_logit_shift", "calibration_temperature")
CLASS_NAMES = ("NORMAL", "PNEUMONIA")  # index 1 is the positive class the logit scores
PRECISIONS = ("fp32", "int8")


class Key:
    CONTRACT = "pneumoscope.contract"
    NAME = "pneumoscope.model_name"
    VERSION = "pneumoscope.model_version"
    ARCHITECTURE = "pneumoscope.architecture"
    PRECISION = "pneumoscope.precision"
    CLASS_NAMES = "pneumoscope.class_names"
    INPUT_SIZE = "pneumoscope.input_size"
    INPUT_CHANNELS = "pneumoscope.input_channels"
    INPUT_VALUE_RANGE = "pneumoscope.input_value_range"
    RESIZE_POLICY = "pneumoscope.resize_policy"
    CALIBRATED = "pneumoscope.calibrated"
    TEMPERATURE = "pneumoscope.temperature"
    OPERATING_POINTS = "pneumoscope.operating_points"
    DEFAULT_OPERATING_POINT = "pneumoscope.default_operating_point"
    HEATMAP_SCALE = "pneumoscope.heatmap_scale"
    VALIDATION_METRICS = "pneumoscope.validation_metrics"
    TRAINING_DATA = "pneumoscope.training_data"
    CREATED = "pneumoscope.created"
    SOURCE_COMMIT = "pneumoscope.source_commit"
    INTENDED_USE = "pneumoscope.intended_use"
    LIMITS = "pneumoscope.limits"
    INTEGRITY = "pneumoscope.integrity"
    LOGIT_SHIFT = "pneumoscope.logit_shift"
    CALIBRATION = (
        "pneumoscope.calibration"  # JSON: where the calibration was fitted (kind, name, n, date, ...)
    )
    OOD = "pneumoscope.ood"  # JSON: method, threshold, quantile, what it was fitted on
    MEMBERS = "pneumoscope.members"
    WEIGHTS_SHA256 = "pneumoscope.weights_sha256"
    # optional
    TRAINING_CONFIG = "pneumoscope.training_config"
    EXPORT_COMMIT = "pneumoscope.export_commit"


REQUIRED_KEYS = (
    Key.CONTRACT,
    Key.NAME,
    Key.VERSION,
    Key.ARCHITECTURE,
    Key.PRECISION,
    Key.CLASS_NAMES,
    Key.INPUT_SIZE,
    Key.INPUT_CHANNELS,
    Key.INPUT_VALUE_RANGE,
    Key.RESIZE_POLICY,
    Key.CALIBRATED,
    Key.TEMPERATURE,
    Key.OPERATING_POINTS,
    Key.DEFAULT_OPERATING_POINT,
    Key.HEATMAP_SCALE,
    Key.VALIDATION_METRICS,
    Key.TRAINING_DATA,
    Key.CREATED,
    Key.SOURCE_COMMIT,
    Key.INTENDED_USE,
    Key.LIMITS,
    Key.INTEGRITY,
    Key.LOGIT_SHIFT,
    Key.CALIBRATION,
    Key.OOD,
    Key.MEMBERS,
    Key.WEIGHTS_SHA256,
)
OPTIONAL_KEYS = (Key.TRAINING_CONFIG, Key.EXPORT_COMMIT)


class ModelError(Exception):
    """Base class: the AI model cannot be used. ``str(error)`` is written for the user."""


class ModelNotFoundError(ModelError, FileNotFoundError):
    pass


class ModelContractError(ModelError):
    """The file is not a model this viewer understands (or it was damaged / modified)."""


class ModelLoadError(ModelError):
    """ONNX Runtime could not create a session for an otherwise valid-looking file."""


@dataclass(frozen=True)
class ModelInfo:
    """Everything the metadata says about a model. Thresholds apply to the calibrated probability."""

    name: str
    version: str
    architecture: str
    precision: str
    class_names: tuple[str, ...]
    input_size: int
    input_channels: int
    input_value_range: tuple[float, float]
    resize_policy: str
    calibrated: bool
    temperature: float
    operating_points: dict[str, float]
    default_operating_point: str
    heatmap_scale: float
    validation_metrics: dict[str, Any]
    training_data: dict[str, Any]
    created: str
    source_commit: str
    intended_use: str
    limits: str
    training_config: dict[str, Any] = field(default_factory=dict)
    export_commit: str = ""
    contract_version: str = CONTRACT_VERSION
    logit_shift: float = 0.0
    calibration: dict[str, Any] = field(
        default_factory=dict
    )  # kind "validation" | "site", name, n, date, ...
    ood: dict[str, Any] = field(default_factory=dict)  # at least "threshold" (float) and "method"
    members: int = 1
    weights_sha256: str = ""
    integrity: str = ""  # "sha256:<hex>", filled in by seal/parse

    @property
    def ood_threshold(self) -> float:
        return float(self.ood["threshold"])

    @property
    def calibration_label(self) -> str:
        """One line for the AI panel and About: which calibration is in use."""
        cal = self.calibration or {}
        if cal.get("kind") == "site":
            date = f", {cal['date']}" if cal.get("date") else ""
            return f"site calibration on {cal.get('name', '?')} (n={cal.get('n', '?')}{date})"
        return "calibrated on the training validation split"

    @property
    def threshold(self) -> float:
        """Threshold of the default operating point."""
        return self.operating_points[self.default_operating_point]

    @property
    def sha256(self) -> str:
        return self.integrity.partition(":")[2]

    @property
    def positive_class(self) -> str:
        return self.class_names[1]


# --------------------------------------------------------------------------- metadata <-> ModelInfo


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def metadata_from_info(info: ModelInfo) -> dict[str, str]:
    """ModelInfo -> ``pneumoscope.*`` metadata strings (without the integrity hash)."""
    meta = {
        Key.CONTRACT: info.contract_version,
        Key.NAME: info.name,
        Key.VERSION: info.version,
        Key.ARCHITECTURE: info.architecture,
        Key.PRECISION: info.precision,
        Key.CLASS_NAMES: _json(list(info.class_names)),
        Key.INPUT_SIZE: str(int(info.input_size)),
        Key.INPUT_CHANNELS: str(int(info.input_channels)),
        Key.INPUT_VALUE_RANGE: _json([float(v) for v in info.input_value_range]),
        Key.RESIZE_POLICY: info.resize_policy,
        Key.CALIBRATED: "true" if info.calibrated else "false",
        Key.TEMPERATURE: repr(float(info.temperature)),
        Key.OPERATING_POINTS: _json({k: float(v) for k, v in info.operating_points.items()}),
        Key.DEFAULT_OPERATING_POINT: info.default_operating_point,
        Key.HEATMAP_SCALE: repr(float(info.heatmap_scale)),
        Key.VALIDATION_METRICS: _json(info.validation_metrics),
        Key.TRAINING_DATA: _json(info.training_data),
        Key.CREATED: info.created,
        Key.SOURCE_COMMIT: info.source_commit,
        Key.INTENDED_USE: info.intended_use,
        Key.LIMITS: info.limits,
        Key.LOGIT_SHIFT: repr(float(info.logit_shift)),
        Key.CALIBRATION: _json(info.calibration),
        Key.OOD: _json(info.ood),
        Key.MEMBERS: str(int(info.members)),
        Key.WEIGHTS_SHA256: info.weights_sha256,
    }
    if info.training_config:
        meta[Key.TRAINING_CONFIG] = _json(info.training_config)
    if info.export_commit:
        meta[Key.EXPORT_COMMIT] = info.export_commit
    _validate_info(info)  # never write what the viewer would refuse
    return meta


def _load_json(meta: Mapping[str, str], key: str, kind: type) -> Any:
    try:
        value = json.loads(meta[key])
    except (ValueError, TypeError) as exc:
        raise ModelContractError(f"The model's metadata field {key!r} is not valid JSON.") from exc
    if not isinstance(value, kind):
        raise ModelContractError(f"The model's metadata field {key!r} has the wrong type.")
    return value


def _float(meta: Mapping[str, str], key: str) -> float:
    try:
        value = float(meta[key])
    except (ValueError, TypeError) as exc:
        raise ModelContractError(f"The model's metadata field {key!r} is not a number.") from exc
    return value


def _int(meta: Mapping[str, str], key: str) -> int:
    try:
        return int(meta[key])
    except (ValueError, TypeError) as exc:
        raise ModelContractError(f"The model's metadata field {key!r} is not an integer.") from exc


def _value_range(meta: Mapping[str, str]) -> tuple[float, float]:
    value = _load_json(meta, Key.INPUT_VALUE_RANGE, list)
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ModelContractError(
            f"The model's metadata field {Key.INPUT_VALUE_RANGE!r} is not [low, high]."
        ) from exc
    return lo, hi


def check_contract_version(meta: Mapping[str, str]) -> None:
    version = meta.get(Key.CONTRACT)
    if version is None:
        raise ModelContractError(
            "This file is not a Pneumoscope model: it carries no Pneumoscope contract metadata."
        )
    if version not in SUPPORTED_CONTRACT_VERSIONS:
        raise ModelContractError(
            f"This model uses contract version {version!r}, which this version of Pneumoscope does not "
            f"understand (it supports {', '.join(SUPPORTED_CONTRACT_VERSIONS)}). Update Pneumoscope or use "
            "a model made for it."
        )


def info_from_metadata(meta: Mapping[str, str]) -> ModelInfo:
    """Parse and validate ``pneumoscope.*`` metadata. Raises ModelContractError."""
    check_contract_version(meta)
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise ModelContractError(
            "The model file is incomplete: its metadata lacks " + ", ".join(missing) + "."
        )
    try:
        input_size = int(meta[Key.INPUT_SIZE])
        channels = int(meta[Key.INPUT_CHANNELS])
    except ValueError as exc:
        raise ModelContractError("The model's input size metadata is not an integer.") from exc
    calibrated = meta[Key.CALIBRATED]
    if calibrated not in ("true", "false"):
        raise ModelContractError(f"The model's metadata field {Key.CALIBRATED!r} must be true or false.")
    ops = _load_json(meta, Key.OPERATING_POINTS, dict)
    try:
        ops = {str(k): float(v) for k, v in ops.items()}
    except (TypeError, ValueError) as exc:
        raise ModelContractError("The model's operating points are not numbers.") from exc
    info = ModelInfo(
        name=meta[Key.NAME],
        version=meta[Key.VERSION],
        architecture=meta[Key.ARCHITECTURE],
        precision=meta[Key.PRECISION],
        class_names=tuple(_load_json(meta, Key.CLASS_NAMES, list)),
        input_size=input_size,
        input_channels=channels,
        input_value_range=_value_range(meta),
        resize_policy=meta[Key.RESIZE_POLICY],
        calibrated=calibrated == "true",
        temperature=_float(meta, Key.TEMPERATURE),
        operating_points=ops,
        default_operating_point=meta[Key.DEFAULT_OPERATING_POINT],
        heatmap_scale=_float(meta, Key.HEATMAP_SCALE),
        validation_metrics=_load_json(meta, Key.VALIDATION_METRICS, dict),
        training_data=_load_json(meta, Key.TRAINING_DATA, dict),
        created=meta[Key.CREATED],
        source_commit=meta[Key.SOURCE_COMMIT],
        intended_use=meta[Key.INTENDED_USE],
        limits=meta[Key.LIMITS],
        training_config=_load_json(meta, Key.TRAINING_CONFIG, dict) if Key.TRAINING_CONFIG in meta else {},
        export_commit=meta.get(Key.EXPORT_COMMIT, ""),
        contract_version=meta[Key.CONTRACT],
        logit_shift=_float(meta, Key.LOGIT_SHIFT),
        calibration=_load_json(meta, Key.CALIBRATION, dict),
        ood=_load_json(meta, Key.OOD, dict),
        members=_int(meta, Key.MEMBERS),
        weights_sha256=meta[Key.WEIGHTS_SHA256],
        integrity=meta[Key.INTEGRITY],
    )
    _validate_info(info)
    return info


def _validate_info(info: ModelInfo) -> None:
    def bad(msg: str) -> ModelContractError:
        return ModelContractError(f"The model's metadata is not usable: {msg}.")

    if info.contract_version not in SUPPORTED_CONTRACT_VERSIONS:
        raise bad(f"unknown contract version {info.contract_version!r}")
    if tuple(info.class_names) != CLASS_NAMES:
        raise bad(f"class names {list(info.class_names)} are not {list(CLASS_NAMES)}")
    if info.precision not in PRECISIONS:
        raise bad(f"unknown precision {info.precision!r}")
    if info.input_channels != 1:
        raise bad(f"it expects {info.input_channels} input channels, the viewer provides 1 (grey)")
    if not 16 <= info.input_size <= 4096:
        raise bad(f"implausible input size {info.input_size}")
    if tuple(float(v) for v in info.input_value_range) != tuple(float(v) for v in VALUE_RANGE):
        raise bad(f"input value range {list(info.input_value_range)} is not {list(VALUE_RANGE)}")
    if info.resize_policy != RESIZE_POLICY:
        raise bad(f"resize policy {info.resize_policy!r} differs from this viewer's {RESIZE_POLICY!r}")
    if not (math.isfinite(info.temperature) and info.temperature > 0):
        raise bad(f"temperature {info.temperature} must be a positive number")
    if not (math.isfinite(info.heatmap_scale) and info.heatmap_scale > 0):
        raise bad(f"heatmap scale {info.heatmap_scale} must be a positive number")
    if not math.isfinite(info.logit_shift):
        raise bad(f"logit shift {info.logit_shift} is not a number")
    threshold = info.ood.get("threshold") if isinstance(info.ood, dict) else None
    if (
        not isinstance(threshold, (int, float))
        or isinstance(threshold, bool)
        or not (math.isfinite(threshold) and threshold > 0)
    ):
        raise bad("its out-of-distribution threshold (ood.threshold) is missing or not a positive number")
    if not isinstance(info.ood.get("method"), str):
        raise bad("its out-of-distribution method (ood.method) is missing")
    if info.members < 1:
        raise bad(f"{info.members} ensemble members")
    if not info.operating_points:
        raise bad("no operating points")
    for name, thr in info.operating_points.items():
        if not (math.isfinite(thr) and 0.0 <= thr <= 1.0):
            raise bad(f"operating point {name!r} has threshold {thr}, outside [0, 1]")
    if info.default_operating_point not in info.operating_points:
        raise bad(
            f"default operating point {info.default_operating_point!r} is not among the operating points"
        )
    for label, text in (("name", info.name), ("version", info.version), ("intended use", info.intended_use)):
        if not text.strip():
            raise bad(f"empty {label}")


# --------------------------------------------------------------------------- graph interface


def check_io(
    inputs: Sequence[tuple[str, str, Sequence[Any]]],
    outputs: Sequence[tuple[str, str, Sequence[Any]]],
    input_size: int,
) -> None:
    """Check the graph interface. ``inputs``/``outputs``: (name, type, shape) as ONNX Runtime reports
    them (type ``"tensor(float)"``, shape entries int or a str/None for a dynamic dimension)."""
    if len(inputs) != 1 or inputs[0][0] != INPUT_NAME:
        names = ", ".join(repr(i[0]) for i in inputs)
        raise ModelContractError(
            f"The model must take one input named {INPUT_NAME!r}; it takes {names or 'none'}."
        )
    _, itype, shape = inputs[0]
    if itype != "tensor(float)":
        raise ModelContractError(f"The model input must be float32, not {itype}.")
    shape = list(shape)
    expected = [1, input_size, input_size]
    if len(shape) != 4 or list(shape[1:]) != expected:
        raise ModelContractError(
            f"The model input has shape {shape}; the viewer provides (batch, {', '.join(map(str, expected))})."
        )
    if isinstance(shape[0], int):
        raise ModelContractError("The model input has a fixed batch size; the contract needs a dynamic one.")
    found = {name: (otype, list(oshape)) for name, otype, oshape in outputs}
    for name in OUTPUT_NAMES:
        if name not in found:
            raise ModelContractError(
                f"The model lacks the output {name!r}"
                + (
                    " (the out-of-distribution score of contract 2: export it again with this version)."
                    if name == "ood"
                    else "."
                )
            )
        otype, oshape = found[name]
        if otype != "tensor(float)" or len(oshape) != OUTPUT_RANKS[name]:
            raise ModelContractError(
                f"The model output {name!r} is {otype} with shape {oshape}; expected float32 of rank "
                f"{OUTPUT_RANKS[name]}."
            )


__all__ = [
    "CALIBRATION_INITIALIZERS",
    "CLASS_NAMES",
    "CONTRACT_VERSION",
    "INPUT_NAME",
    "OUTPUT_NAMES",
    "OUTPUT_RANKS",
    "PREFIX",
    "SUPPORTED_CONTRACT_VERSIONS",
    "Key",
    "REQUIRED_KEYS",
    "OPTIONAL_KEYS",
    "ModelError",
    "ModelNotFoundError",
    "ModelContractError",
    "ModelLoadError",
    "ModelInfo",
    "metadata_from_info",
    "info_from_metadata",
    "check_contract_version",
    "check_io",
]
