"""``--benchmark-startup FILE``: the real main window opens a study, shows the AI result, prints timings, quits.

Guards the hooks ``benchmarks/bench_startup.py`` relies on (``MainWindow.study_shown`` / ``prediction_ready``).
Runs in a child process, as the benchmark does: a cold start is a process-level event, and the benchmark's
own QApplication/event loop must not share a process with the pytest-qt tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import cv2
import pytest

from viewer.diagnostics.phantoms import chest_phantom, to_u8


def run_benchmark(*args: str) -> tuple[int, str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PNEUMOSCOPE_BENCH_T0": repr(time.time())}
    proc = subprocess.run(
        [sys.executable, "-m", "viewer", "--benchmark-startup", *args, "--timeout", "60"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stdout


def test_benchmark_startup_reports_milestones_in_order(tmp_path):
    pytest.importorskip("onnx")  # the tiny model is built with onnx.helper
    from fixtures_models import write_tiny_model

    study = tmp_path / "phantom.png"
    cv2.imwrite(str(study), to_u8(chest_phantom()))
    model = write_tiny_model(tmp_path / "tiny.onnx")
    out = tmp_path / "startup.json"
    rc, stdout = run_benchmark(str(study), "--model", str(model), "--json-out", str(out))
    result = json.loads(out.read_text())
    assert rc == 0, result
    assert result["ok"] and result["process_start"] == "launcher"
    assert json.loads(stdout.strip().splitlines()[-1]) == result
    ms = result["ms"]
    order = ["python_main", "qt_app", "window_created", "window_shown", "image_shown", "result_shown"]
    assert set(ms) == set(order), ms
    assert all(ms[a] <= ms[b] for a, b in zip(order, order[1:], strict=False)), ms
    assert 0.0 <= result["probability"] <= 1.0


def test_benchmark_startup_fails_cleanly_without_model(tmp_path):
    study = tmp_path / "phantom.png"
    cv2.imwrite(str(study), to_u8(chest_phantom()))
    rc, stdout = run_benchmark(str(study), "--model", str(tmp_path / "missing.onnx"))
    result = json.loads(stdout.strip().splitlines()[-1])
    assert rc == 1 and not result["ok"] and "model" in result["error"].lower()
