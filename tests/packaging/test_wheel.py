"""The wheel that `pip install .` builds carries what the app needs at run time: the shipped model, the icons
and py.typed, under viewer/ where viewer.core.assets looks (not the source tree's parents[2])."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from viewer.config import MODEL_FILENAME

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(out),
        str(ROOT),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=out)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = out.glob("pneumoscope-*.whl")
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist())


def test_wheel_ships_model_icons_and_py_typed(wheel_names):
    assert f"viewer/assets/models/{MODEL_FILENAME}" in wheel_names
    for icon in ("pneumoscope.png", "pneumoscope.ico", "pneumoscope.icns"):
        assert f"viewer/assets/icons/{icon}" in wheel_names
    assert "viewer/py.typed" in wheel_names
    models = [n for n in wheel_names if n.startswith("viewer/assets/models/")]
    assert models == [f"viewer/assets/models/{MODEL_FILENAME}"]  # only the file the app looks for


def test_wheel_has_every_package_and_no_tests(wheel_names):
    for package in ROOT.joinpath("viewer").rglob("__init__.py"):
        assert package.relative_to(ROOT).as_posix() in wheel_names
    assert not any(n.startswith(("tests/", "packaging/", "benchmarks/")) for n in wheel_names)
