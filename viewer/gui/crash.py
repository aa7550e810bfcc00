"""Crash handler: any uncaught exception is logged to a file and shown in a (non-blocking) dialog.

The log folder is ``platformdirs.user_log_dir(APP_NAME)`` unless ``ENV_LOG_DIR`` is set (tests set it;
both names in :mod:`viewer.config`). The dialog is shown with ``show()``, never ``exec()``, so an exception
raised inside a slot cannot stack modal loops, and under tests nothing waits for a click.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import platform
import sys
import traceback
from pathlib import Path

import platformdirs
from PySide6 import QtCore, QtWidgets

from viewer.config import APP_NAME, ENV_LOG_DIR, LOG_FILENAME, app_title

_previous_hook = None
_dialogs: list[QtWidgets.QMessageBox] = []
_in_handler = False


def log_dir() -> Path:
    folder = os.environ.get(ENV_LOG_DIR) or platformdirs.user_log_dir(APP_NAME, appauthor=False)
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def setup_logging(level: int = logging.INFO) -> Path:
    """Log to ``LOG_FILENAME`` in the log folder (kept small: one file, rotated at 1 MB)."""
    from logging.handlers import RotatingFileHandler

    path = log_dir() / LOG_FILENAME
    root = logging.getLogger()
    if not any(
        isinstance(h, RotatingFileHandler) and getattr(h, "baseFilename", "") == str(path)
        for h in root.handlers
    ):
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(min(root.level or level, level))
    return path


def write_crash_log(exc_type, exc_value, exc_tb) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    path = log_dir() / f"crash-{stamp}.log"
    text = "".join(traceback.format_exception(exc_type, exc_value, exc_tb))
    header = (
        f"{app_title()} crash report\n"
        f"time: {_dt.datetime.now().isoformat(timespec='seconds')}\n"
        f"python: {sys.version.split()[0]}  platform: {platform.platform()}\n"
        f"qt: {QtCore.qVersion()}\n\n"
    )
    path.write_text(header + text, encoding="utf-8")
    logging.getLogger(__name__).error("uncaught exception, report written to %s\n%s", path, text)
    return path


def handle_exception(exc_type, exc_value, exc_tb) -> None:
    global _in_handler
    if issubclass(exc_type, KeyboardInterrupt):
        if _previous_hook is not None:
            _previous_hook(exc_type, exc_value, exc_tb)
        return
    if _in_handler:  # an error while reporting an error: print, never recurse
        traceback.print_exception(exc_type, exc_value, exc_tb)
        return
    _in_handler = True
    try:
        try:
            path = write_crash_log(exc_type, exc_value, exc_tb)
        except OSError:
            path = None
        traceback.print_exception(exc_type, exc_value, exc_tb)
        show_crash_dialog(exc_value, path)
    finally:
        _in_handler = False


def show_crash_dialog(exc: BaseException, path: Path | None) -> QtWidgets.QMessageBox | None:
    app = QtWidgets.QApplication.instance()
    if app is None:
        return None
    box = QtWidgets.QMessageBox()
    box.setIcon(QtWidgets.QMessageBox.Icon.Critical)
    box.setWindowTitle(f"{APP_NAME} - unexpected error")
    box.setText("Something went wrong. Your open studies are still available; save any export you need.")
    where = f"A report was written to:\n{path}" if path else "The report could not be written."
    box.setInformativeText(f"{type(exc).__name__}: {exc}\n\n{where}")
    box.setDetailedText("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    box.setWindowModality(QtCore.Qt.WindowModality.NonModal)
    box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose, True)
    box.finished.connect(lambda *_: _dialogs.remove(box) if box in _dialogs else None)
    _dialogs.append(box)
    box.show()
    return box


def install() -> None:
    """Install the hook (idempotent)."""
    global _previous_hook
    if sys.excepthook is not handle_exception:
        _previous_hook = sys.excepthook
        sys.excepthook = handle_exception


def uninstall() -> None:
    global _previous_hook
    if sys.excepthook is handle_exception:
        sys.excepthook = _previous_hook or sys.__excepthook__
        _previous_hook = None
