"""Find the shipped files (icons, the model) the same way from source, from a wheel and from a bundle.

- PyInstaller bundle (``sys.frozen`` and ``sys._MEIPASS`` set): ``<_MEIPASS>/assets``; ``build.spec``
  copies the repository's ``assets/`` folder there.
- Installed wheel: ``viewer/assets`` inside the installed package (``pyproject.toml`` maps the repository's
  top-level ``assets/`` folder to the package-data package ``viewer.assets``), found with
  :mod:`importlib.resources`.
- Source tree (editable install, or ``python -m viewer`` in a checkout): ``<repository>/assets``.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

from viewer.config import ENV_MODEL, MODEL_FILENAME

MODEL_ENV_VAR = ENV_MODEL  # optional override of the default model file
ASSET_DIR = "assets"  # viewer/assets when installed; the repository's assets/ from source; _MEIPASS/assets


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def _installed_assets() -> Path | None:
    """``viewer/assets`` of an installed wheel (installs unpack to real files), or None from source."""
    root = resources.files("viewer").joinpath(ASSET_DIR)
    return Path(str(root)) if root.is_dir() else None


def asset_root() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / ASSET_DIR
    return _installed_assets() or repo_root() / ASSET_DIR


def asset_path(*parts: str) -> Path:
    """Path of a bundled asset, e.g. ``asset_path("models", MODEL_FILENAME)`` (existence not checked)."""
    return asset_root().joinpath(*parts)


def default_model_path() -> Path:
    """The shipped model, unless ``PNEUMOSCOPE_MODEL`` names another file."""
    override = os.environ.get(MODEL_ENV_VAR)
    if override:
        return Path(override).expanduser()
    return asset_path("models", MODEL_FILENAME)


__all__ = [
    "ASSET_DIR",
    "MODEL_ENV_VAR",
    "MODEL_FILENAME",
    "asset_path",
    "asset_root",
    "default_model_path",
    "repo_root",
]
