"""One real window under Xvfb (X11 platform plugin, not offscreen): chest study + heatmap, screenshot.

The test runs the viewer in a subprocess (the pytest process already has an offscreen QApplication).
Without ``DISPLAY`` it starts its own ``Xvfb``; without Xvfb it skips locally and fails under CI.
The screenshot is saved in the test's tmp folder and, if ``PNEUMOSCOPE_SCREENSHOT_DIR`` is set, there too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from viewer.core.assets import default_model_path

CHEST = "canon_dx_chest_966_fixed.dcm"


@pytest.fixture
def x_display(tmp_path):
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    xvfb = shutil.which("Xvfb")
    if not xvfb:
        msg = "Xvfb not installed (apt-get install xvfb) and DISPLAY unset"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    for number in range(91, 120):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    display = f":{number}"
    proc = subprocess.Popen(
        [xvfb, display, "-screen", "0", "1680x1050x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"Xvfb did not start: {proc.stderr.read().decode(errors='replace')[-500:]}")
        time.sleep(0.05)
    try:
        yield display
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.xvfb
@pytest.mark.shared
def test_real_window_screenshot(x_display, tmp_path, tiny_model_path, dicom_dir):
    shipped = default_model_path()
    model = shipped if shipped.exists() else tiny_model_path
    out = tmp_path / "pneumoscope-window.png"
    env = dict(
        os.environ,
        DISPLAY=x_display,
        QT_QPA_PLATFORM="xcb",
        PNEUMOSCOPE_SETTINGS_DIR=str(tmp_path / "settings"),
        PNEUMOSCOPE_LOG_DIR=str(tmp_path / "logs"),
        PYTHONFAULTHANDLER="1",  # a crash prints every thread's Python stack (issue #15 item 7)
    )
    cmd = [
        sys.executable,
        "-m",
        "viewer.diagnostics.screenshot",
        "--out",
        str(out),
        "--model",
        str(model),
        "--demo",
        "--size",
        "1600x1000",
        str(dicom_dir / "chest" / CHEST),
        str(dicom_dir / "chest"),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    if proc.returncode != 0 and "platform plugin" in proc.stderr and not os.environ.get("CI"):
        pytest.skip(
            "Qt's xcb platform plugin cannot load (apt-get install libxcb-icccm4 libxcb-keysyms1 "
            f"libxcb-cursor0 libxkbcommon-x11-0 ...): {proc.stderr[-300:]}"
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    img = cv2.imread(str(out), cv2.IMREAD_COLOR)
    assert img is not None and img.shape[0] >= 900 and img.shape[1] >= 1500
    assert img.std() > 20  # a real picture, not a blank window
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    coloured = (hsv[:, :, 1] > 120) & (hsv[:, :, 2] > 80)
    assert coloured.mean() > 0.01  # the heatmap (and UI accents) are on screen
    dark = (img.max(axis=2) < 60).mean()
    assert dark > 0.3  # dark theme, black image background
    target = os.environ.get("PNEUMOSCOPE_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy2(out, Path(target) / out.name)
    print(f"screenshot: {out}")
