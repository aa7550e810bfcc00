"""ONNX bytes without the ``onnx`` package: the protobuf wire format of ``ModelProto``'s top level.

The viewer ships ONNX Runtime, not ``onnx``, so this module reads and writes the few top-level fields
of the ONNX ``ModelProto`` that the contract (``viewer.core.model.contract``) cares about straight
from the protobuf wire format, and seals / verifies the integrity hash.

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from viewer.core.model.contract import (
    PREFIX,
    Key,
    ModelContractError,
    ModelInfo,
    check_contract_version,
    info_from_metadata,
)

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
    "ModelBytes",
    "parse_model_bytes",
    "integrity_hash",
    "verify_integrity",
    "seal_model_bytes",
    "read_contract",
]
