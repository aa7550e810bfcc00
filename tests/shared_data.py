"""Where the third-party test data (``../shared``, never committed) is: ``PNEUMOSCOPE_SHARED`` or next to the
repository. A plain module, not conftest.py: with one conftest per test area, ``import conftest`` would be
ambiguous."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_path() -> Path:
    return Path(os.environ.get("PNEUMOSCOPE_SHARED", REPO_ROOT.parent / "shared")).resolve()


def require_shared(*parts: str) -> Path:
    """Path inside ../shared; skip (locally) or fail (CI) when it is missing."""
    path = shared_path().joinpath(*parts)
    if not path.exists():
        msg = f"shared data not found: {path} (set PNEUMOSCOPE_SHARED)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path
