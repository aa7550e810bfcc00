"""The AI model: its contract (``contract``), its ONNX bytes (``onnx_wire``) and ONNX Runtime inference
(``inference``). This module only re-exports; ``from viewer.core.model import PneumoniaModel`` is lazy
so that reading a model card does not import ONNX Runtime."""

from __future__ import annotations

from typing import TYPE_CHECKING

from viewer.core.model.contract import (
    CALIBRATION_INITIALIZERS,
    CLASS_NAMES,
    CONTRACT_VERSION,
    INPUT_NAME,
    OPTIONAL_KEYS,
    OUTPUT_NAMES,
    OUTPUT_RANKS,
    REQUIRED_KEYS,
    SUPPORTED_CONTRACT_VERSIONS,
    Key,
    ModelContractError,
    ModelError,
    ModelInfo,
    ModelLoadError,
    ModelNotFoundError,
    check_contract_version,
    check_io,
    info_from_metadata,
    metadata_from_info,
)
from viewer.core.model.onnx_wire import (
    ModelBytes,
    integrity_hash,
    parse_model_bytes,
    read_contract,
    seal_model_bytes,
    verify_integrity,
)

if TYPE_CHECKING:
    from viewer.core.model.inference import PneumoniaModel, Prediction

_LAZY = {"PneumoniaModel", "Prediction"}


def __getattr__(name: str) -> object:
    if name in _LAZY:  # onnxruntime + OpenCV take about a second to import
        from viewer.core.model import inference

        return getattr(inference, name)
    raise AttributeError(f"module 'viewer.core.model' has no attribute {name!r}")


__all__ = [
    "CALIBRATION_INITIALIZERS",
    "CLASS_NAMES",
    "CONTRACT_VERSION",
    "INPUT_NAME",
    "OPTIONAL_KEYS",
    "OUTPUT_NAMES",
    "OUTPUT_RANKS",
    "REQUIRED_KEYS",
    "SUPPORTED_CONTRACT_VERSIONS",
    "Key",
    "ModelBytes",
    "ModelContractError",
    "ModelError",
    "ModelInfo",
    "ModelLoadError",
    "ModelNotFoundError",
    "PneumoniaModel",
    "Prediction",
    "check_contract_version",
    "check_io",
    "info_from_metadata",
    "integrity_hash",
    "metadata_from_info",
    "parse_model_bytes",
    "read_contract",
    "seal_model_bytes",
    "verify_integrity",
]
