"""``pneumoscope --benchmark-startup FILE [--timeout S] [--json-out FILE]``: cold-start timings, then quit.

Starts the viewer as ``viewer.gui.app.run`` does (same ``create_app``, same ``MainWindow``, but
throwaway settings so the user's are not touched), opens FILE, and when the AI result is on screen prints one JSON object with the milliseconds from
process start to each milestone and exits (0 = a result was shown, 1 = error or timeout):

- ``python_main``: the viewer's ``main()`` runs (interpreter + bootloader start-up before it),
- ``window_shown``: the main window's first paint,
- ``image_shown``: the study's image is displayed (``MainWindow.study_shown`` + a synchronous repaint),
- ``result_shown``: the AI result is displayed (``MainWindow.prediction_ready`` + a synchronous repaint).

Process start: ``PNEUMOSCOPE_BENCH_T0`` (a ``time.time()`` taken by the launcher just before it started
the process: includes the PyInstaller bootloader and one-file unpacking), else the operating system's
process creation time (Linux ``/proc``, Windows ``GetProcessTimes``), else this module's import time.
``benchmarks/bench_startup.py`` drives it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from viewer.config import DIST_NAME, ENV_BENCH_T0

T_IMPORT = time.time()
T0_ENV = ENV_BENCH_T0


def process_start_time() -> tuple[float, str]:
    """(epoch seconds when this process started, where that number came from)."""
    env = os.environ.get(T0_ENV)
    if env:
        try:
            return float(env), "launcher"
        except ValueError:
            pass
    if sys.platform.startswith("linux"):
        try:
            fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
            start_ticks = int(fields[19])  # field 22 of stat(5); fields[0] is field 3
            uptime = float(Path("/proc/uptime").read_text().split()[0])
            age = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
            return time.time() - age, "/proc (10 ms resolution)"
        except (OSError, ValueError, IndexError):
            pass
    if sys.platform == "win32":
        try:
            import ctypes
            from ctypes import wintypes

            ft = [wintypes.FILETIME() for _ in range(4)]
            handle = ctypes.windll.kernel32.GetCurrentProcess()
            if ctypes.windll.kernel32.GetProcessTimes(handle, *[ctypes.byref(f) for f in ft]):
                ticks = (ft[0].dwHighDateTime << 32) | ft[0].dwLowDateTime  # 100 ns since 1601-01-01
                return ticks / 1e7 - 11644473600.0, "GetProcessTimes"
        except Exception:  # noqa: BLE001 - no process start time: fall back to the import time
            pass
    return T_IMPORT, "module import (process start unknown)"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"{DIST_NAME} --benchmark-startup", description=__doc__.split("\n\n")[0])
    p.add_argument("--benchmark-startup", dest="file", required=True, metavar="FILE", help="study to open")
    p.add_argument("--timeout", type=float, default=120.0, help="give up after this many seconds")
    p.add_argument("--json-out", type=Path, metavar="FILE", help="also write the JSON result to FILE")
    p.add_argument("--force-cpu", action="store_true", help="run the AI model on the CPU only")
    p.add_argument("--model", default=None, metavar="FILE", help="model file (default: the shipped model)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    t0, t0_source = process_start_time()
    marks: dict[str, float] = {"python_main": time.time()}
    result: dict = {
        "benchmark": "startup",
        "file": str(Path(args.file).resolve()),
        "process_start": t0_source,
    }

    from PySide6 import QtCore

    from viewer.core.files import write_atomic
    from viewer.gui.app import create_app

    app = create_app()
    marks["qt_app"] = time.time()
    from viewer.gui.main_window import MainWindow
    from viewer.gui.settings import Settings

    # Throwaway settings: a benchmark must not change the user's window layout or recent files.
    ini = Path(tempfile.gettempdir()) / f"{DIST_NAME}-benchmark-{os.getpid()}.ini"
    settings = Settings(QtCore.QSettings(str(ini), QtCore.QSettings.Format.IniFormat))
    window = MainWindow(settings=settings, model_path=args.model, force_cpu=args.force_cpu)
    marks["window_created"] = time.time()

    class FirstPaint(QtCore.QObject):
        def eventFilter(self, obj, event):
            if event.type() == QtCore.QEvent.Type.Paint and "window_shown" not in marks:
                marks["window_shown"] = time.time()
            return False

    painter_watch = FirstPaint(window)
    window.installEventFilter(painter_watch)

    def finish(error: str | None = None) -> None:
        if "done" in marks:
            return
        marks["done"] = time.time()
        result["ok"] = error is None
        if error:
            result["error"] = error
        result["ms"] = {k: round((v - t0) * 1000.0, 1) for k, v in marks.items() if k != "done"}
        model = getattr(window, "model", None)
        if model is not None:
            result["provider"] = model.provider
        entry = getattr(window, "current", None)
        ai = getattr(entry, "result", None)
        if ai is not None:
            result["probability"] = round(float(ai.prediction.probability), 4)
            result["ai_state"] = ai.state.value
        result["frozen"] = bool(getattr(sys, "frozen", False))
        result["qt_platform"] = app.platformName()
        QtCore.QTimer.singleShot(0, app.quit)

    def shown(_entry_id: int) -> None:
        if "image_shown" not in marks:
            window.repaint()
            marks["image_shown"] = time.time()

    def predicted(_entry_id: int) -> None:
        entry = getattr(window, "current", None)
        if getattr(entry, "result", None) is None:
            finish(
                f"no AI result: {getattr(entry, 'ai_error', None) or window.model_error or 'prediction failed'}"
            )
            return
        window.repaint()
        marks["result_shown"] = time.time()
        finish()

    def model_state() -> None:
        if window.model is None and window.model_error:
            finish(f"AI model unavailable: {window.model_error}")

    window.study_shown.connect(shown)
    window.prediction_ready.connect(predicted)
    window.study_failed.connect(lambda _id: finish("the study could not be opened"))
    window.model_state_changed.connect(model_state)
    QtCore.QTimer.singleShot(int(args.timeout * 1000), lambda: finish(f"timeout after {args.timeout:g} s"))
    window.show()
    QtCore.QTimer.singleShot(0, lambda: window.open_paths([args.file]))
    app.exec()
    window.close()
    with contextlib.suppress(OSError):
        ini.unlink()

    text = json.dumps(result)
    if args.json_out:
        write_atomic(args.json_out, (text + "\n").encode("utf-8"))
    if sys.stdout is not None:
        print(text, flush=True)
    return 0 if result.get("ok") else 1


__all__ = ["main", "process_start_time"]
