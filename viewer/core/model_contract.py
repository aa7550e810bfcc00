"""The model contract: what a Pneumoscope ONNX file must contain, defined once.

``training/export.py`` writes it, ``viewer/core/inference.py`` checks it, and neither needs the
``onnx`` package for that: this module reads and writes the few top-level fields of the ONNX
``ModelProto`` it cares about straight from the protobuf wire format (the viewer ships ONNX Runtime,
not ``onnx``).

Graph interface (contract version 1)
    input  ``image``        float32 (N, 1, S, S), N dynamic, values in [0, 1]: exactly
                            ``viewer.core.preprocess.prepare_model_input`` output.
    output ``logit``        float32 (N,)        PNEUMONIA logit.
    output ``probability``  float32 (N,)        sigmoid(logit / temperature): the calibrated probability.
    output ``cam``          float32 (N, h, w)   raw Grad-CAM of the logit at the last conv block (ReLU
                            applied, *not* normalised per image; ``heatmap_scale`` maps it to colours).

Metadata (``ModelProto.metadata_props``): string keys ``pneumoscope.*`` listed in ``REQUIRED_KEYS`` and
``OPTIONAL_KEYS``; structured values are JSON.

Integrity (``pneumoscope.integrity`` = ``"sha256:<hex>"``)
    A hash cannot sit inside the bytes it hashes, so it covers everything *except* the
    ``metadata_props`` records: sha256 over ``b"pneumoscope-integrity-v1\\0"``, then every top-level
    ``ModelProto`` field record other than field 14 (``metadata_props``) exactly as stored in the file
    (tag and payload, file order: ir_version, opset_import, producer, graph with all weights, ...),
    then each ``pneumoscope.*`` metadata entry except the hash itself, sorted by key, as
    length-prefixed UTF-8 key and value. So a changed weight, node, opset or metadata value (temperature,
    threshold, ...) fails the check, while metadata keys outside ``pneumoscope.*`` may be added.
    ``seal_model_bytes`` writes the metadata records where protobuf serialisation puts field 14
    (after fields 1-13), so ``onnx.load`` + ``onnx.save`` of a sealed file keeps it valid. The hash
    detects damage and accidental edits; it is not a signature (anyone can recompute it).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from viewer.core.preprocess import RESIZE_POLICY, VALUE_RANGE

CONTRACT_VERSION = "1"
SUPPORTED_CONTRACT_VERSIONS = ("1",)
PREFIX = "pneumoscope."

INPUT_NAME = "image"
OUTPUT_NAMES = ("logit", "probability", "cam")
OUTPUT_RANKS = {"logit": 1, "probability": 1, "cam": 3}
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
    integrity: str = ""  # "sha256:<hex>", filled in by seal/parse

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
            raise ModelContractError(f"The model lacks the output {name!r}.")
        otype, oshape = found[name]
        if otype != "tensor(float)" or len(oshape) != OUTPUT_RANKS[name]:
            raise ModelContractError(
                f"The model output {name!r} is {otype} with shape {oshape}; expected float32 of rank "
                f"{OUTPUT_RANKS[name]}."
            )


# --------------------------------------------------------------------------- protobuf wire format

_METADATA_FIELD = 14  # ModelProto.metadata_props (repeated StringStringEntryProto {key = 1; value = 2})
_GRAPH_FIELD = 7
_INTEGRITY_DOMAIN = b"pneumoscope-integrity-v1\0"


def _varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated or invalid varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _records(buf: bytes | memoryview) -> Iterable[tuple[int, int, int, int]]:
    """Top-level fields of a protobuf message: (field number, record start, payload start, end)."""
    pos, n = 0, len(buf)
    while pos < n:
        start = pos
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise ValueError("field number 0")
        if wire == 0:
            _, pos = _varint(buf, pos)
            payload = pos
        elif wire == 1:
            payload, pos = pos, pos + 8
        elif wire == 2:
            length, payload = _varint(buf, pos)
            pos = payload + length
        elif wire == 5:
            payload, pos = pos, pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > n:
            raise ValueError("truncated field")
        yield number, start, payload, pos


def _parse_entry(payload: memoryview) -> tuple[str, str]:
    key = value = ""
    for number, _, start, end in _records(payload):
        if number == 1:
            key = bytes(payload[start:end]).decode("utf-8")
        elif number == 2:
            value = bytes(payload[start:end]).decode("utf-8")
    return key, value


def _encode_entry(key: str, value: str) -> bytes:
    kb, vb = key.encode("utf-8"), value.encode("utf-8")
    entry = b"\x0a" + _encode_varint(len(kb)) + kb + b"\x12" + _encode_varint(len(vb)) + vb
    return _encode_varint((_METADATA_FIELD << 3) | 2) + _encode_varint(len(entry)) + entry


@dataclass(frozen=True)
class ModelBytes:
    """An ONNX file split into what the contract needs. ``content``: the hashed, non-metadata records."""

    metadata: dict[str, str]
    content: tuple[memoryview, ...] = field(repr=False)
    graph_size: int = 0


def parse_model_bytes(data: bytes) -> ModelBytes:
    """Split serialized ModelProto bytes into metadata and the (hashed) rest, without ``onnx``."""
    view = memoryview(data)
    metadata: dict[str, str] = {}
    content: list[memoryview] = []
    graphs = 0
    graph_size = 0
    try:
        for number, start, payload, end in _records(view):
            if number == _METADATA_FIELD:
                key, value = _parse_entry(view[payload:end])
                if key in metadata:
                    raise ModelContractError(f"The model metadata repeats the key {key!r}.")
                metadata[key] = value
                continue
            if number == _GRAPH_FIELD:
                graphs += 1
                graph_size = end - payload
            content.append(view[start:end])
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelContractError("This file is not an ONNX model (it cannot be parsed).") from exc
    if graphs != 1:
        raise ModelContractError("This file is not an ONNX model (it has no single graph).")
    return ModelBytes(metadata=metadata, content=tuple(content), graph_size=graph_size)


def integrity_hash(content: Iterable[bytes | memoryview], metadata: Mapping[str, str]) -> str:
    """``"sha256:<hex>"`` over the non-metadata records and the ``pneumoscope.*`` metadata."""
    h = hashlib.sha256(_INTEGRITY_DOMAIN)
    for record in content:
        h.update(record)
    for key in sorted(k for k in metadata if k.startswith(PREFIX) and k != Key.INTEGRITY):
        for part in (key.encode("utf-8"), metadata[key].encode("utf-8")):
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
    return "sha256:" + h.hexdigest()


def verify_integrity(parsed: ModelBytes) -> None:
    stored = parsed.metadata.get(Key.INTEGRITY)
    if not stored:
        raise ModelContractError("The model file carries no integrity hash; it cannot be trusted.")
    if integrity_hash(parsed.content, parsed.metadata) != stored:
        raise ModelContractError(
            "The model file failed its integrity check: it was damaged or modified after export. "
            "Reinstall the model."
        )


def seal_model_bytes(data: bytes, metadata: Mapping[str, str]) -> bytes:
    """Return ``data`` with its metadata_props replaced by ``metadata`` plus the integrity hash.

    Existing metadata records are dropped. The new records go where protobuf serialisation puts
    field 14 (before any field numbered above 14), so a later ``onnx.load``/``onnx.save`` round trip
    leaves the bytes, and therefore the hash, unchanged.
    """
    meta = {k: v for k, v in metadata.items() if k != Key.INTEGRITY}
    for k, v in meta.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"metadata must be str -> str, got {k!r}: {type(v).__name__}")
    parsed = parse_model_bytes(data)
    meta[Key.INTEGRITY] = integrity_hash(parsed.content, meta)
    meta_records = b"".join(_encode_entry(k, v) for k, v in meta.items())
    out = bytearray()
    inserted = False
    view = memoryview(data)
    for number, start, _, end in _records(view):
        if number == _METADATA_FIELD:
            continue
        if number > _METADATA_FIELD and not inserted:
            out += meta_records
            inserted = True
        out += view[start:end]
    if not inserted:
        out += meta_records
    return bytes(out)


def read_contract(data: bytes) -> ModelInfo:
    """Parse, verify integrity and validate metadata of serialized model bytes -> ModelInfo."""
    parsed = parse_model_bytes(data)
    check_contract_version(parsed.metadata)
    verify_integrity(parsed)
    return info_from_metadata(parsed.metadata)


__all__ = [
    "CLASS_NAMES",
    "CONTRACT_VERSION",
    "INPUT_NAME",
    "OUTPUT_NAMES",
    "SUPPORTED_CONTRACT_VERSIONS",
    "Key",
    "REQUIRED_KEYS",
    "OPTIONAL_KEYS",
    "ModelError",
    "ModelNotFoundError",
    "ModelContractError",
    "ModelLoadError",
    "ModelInfo",
    "ModelBytes",
    "metadata_from_info",
    "info_from_metadata",
    "check_contract_version",
    "check_io",
    "parse_model_bytes",
    "integrity_hash",
    "verify_integrity",
    "seal_model_bytes",
    "read_contract",
]
