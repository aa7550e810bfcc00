"""Application setup: pyqtgraph options, the QApplication, theme, icon, logging and crash handler."""

from __future__ import annotations

import sys

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from viewer.config import APP_NAME, SETTINGS_APPLICATION, SETTINGS_ORGANISATION, app_version
from viewer.gui import crash
from viewer.gui.theme import apply_dark_theme


def configure_pyqtgraph() -> None:
    """Must run before any pyqtgraph widget exists: numpy (row, col) images, no antialiasing by default."""
    pg.setConfigOptions(imageAxisOrder="row-major", background="k", foreground="w", antialias=False)


def create_app(argv: list[str] | None = None) -> QtWidgets.QApplication:
    configure_pyqtgraph()
    QtCore.QCoreApplication.setOrganizationName(SETTINGS_ORGANISATION)
    QtCore.QCoreApplication.setApplicationName(SETTINGS_APPLICATION)
    QtCore.QCoreApplication.setApplicationVersion(app_version())
    if QtWidgets.QApplication.instance() is None:
        from viewer.gui.xcb import check_xcb  # noqa: PLC0415 - Linux only, before Qt loads its platform

        check_xcb()  # names missing X11 libraries and the apt-get line, instead of Qt's generic abort
        QtWidgets.QApplication.setHighDpiScaleFactorRoundingPolicy(
            QtCore.Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(
        argv if argv is not None else [sys.argv[0]]
    )
    app.setApplicationDisplayName(APP_NAME)
    apply_dark_theme(app)
    from viewer.gui.icons import app_icon  # noqa: PLC0415 - needs the QApplication

    app.setWindowIcon(app_icon())
    return app


def run(paths: list[str] | None = None, force_cpu: bool = False, model_path: str | None = None) -> int:
    """Start the viewer; blocks until the main window closes; returns the exit code."""
    app = create_app()
    crash.setup_logging()
    crash.install()
    from viewer.gui.main_window import MainWindow  # noqa: PLC0415

    window = MainWindow(model_path=model_path, force_cpu=force_cpu)
    window.show()
    if paths:
        # folders, CDs and ZIPs go to the worklist, files open as studies
        QtCore.QTimer.singleShot(0, window, lambda: window.open_any(list(paths)))
    return app.exec()
