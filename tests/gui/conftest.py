"""GUI tests (pytest-qt, offscreen): every test runs with settings and logs in its tmp folder."""

from __future__ import annotations

import pytest
from gui_support import isolate


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Settings and logs in tmp, never the user's real QSettings or log folder; no PNEUMOSCOPE_MODEL."""
    return isolate(tmp_path, monkeypatch)
