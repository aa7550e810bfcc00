"""Find bundled files the same way from the source tree and from a PyInstaller bundle.

Frozen (PyInstaller sets ``sys.frozen`` and ``sys._MEIPASS``): ``<_MEIPASS>/assets``. From source:
``<repository root>/assets``. ``build.spec`` must therefore copy ``assets/`` to ``assets`` in the bundle.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

MODEL_FILENAME = "pneumoscope-mobilenetv2.onnx"
MODEL_ENV_VAR = "PNEUMOSCOPE_MODEL"  # optional override of the default model file


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def asset_root() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "assets"
    return repo_root() / "assets"


def asset_path(*parts: str) -> Path:
    """Path of a bundled asset, e.g. ``asset_path("models", MODEL_FILENAME)`` (existence not checked)."""
    return asset_root().joinpath(*parts)


def default_model_path() -> Path:
    """The shipped model, unless ``PNEUMOSCOPE_MODEL`` names another file."""
    override = os.environ.get(MODEL_ENV_VAR)
    if override:
        return Path(override).expanduser()
    return asset_path("models", MODEL_FILENAME)


__all__ = ["MODEL_FILENAME", "MODEL_ENV_VAR", "repo_root", "asset_root", "asset_path", "default_model_path"]
