"""Shared fixtures.

``../shared`` (third-party data, never committed) is found through ``PNEUMOSCOPE_SHARED`` or next to
the repository. Tests that need it use the ``shared_dir`` fixture: they skip on a developer machine
without the folder, and FAIL under CI (``CI`` set), where the folder is always present.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from shared_data import require_shared

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return require_shared()


@pytest.fixture(scope="session")
def dicom_dir() -> Path:
    return require_shared("data", "dicom")


@pytest.fixture(scope="session")
def kermany_dir() -> Path:
    return require_shared("data", "kermany")


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A valid, contract-compliant ONNX model file (a 4-channel toy network built with ``onnx.helper``,
    no torch; see tests/fixtures_models.py for what it computes). Bright images score PNEUMONIA."""
    pytest.importorskip("onnx")
    from fixtures_models import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("models") / "tiny.onnx")


@pytest.fixture(scope="session")
def shipped_model():
    """The shipped model (assets/models) on the CPU. It is committed with the code: missing is a failure."""
    from viewer.core.assets import default_model_path
    from viewer.core.model.inference import PneumoniaModel

    path = default_model_path()
    assert path.exists(), f"the shipped model is missing: {path}"
    return PneumoniaModel.load(path, force_cpu=True)
