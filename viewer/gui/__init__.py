"""Qt widgets of the viewer (PySide6 + pyqtgraph). Start with :func:`viewer.gui.app.run`."""

from viewer.gui.qt_compat import protect_singletons

protect_singletons()  # before any other Qt call: see viewer/gui/qt_compat.py

from viewer.gui.app import configure_pyqtgraph, create_app, run  # noqa: E402

__all__ = ["configure_pyqtgraph", "create_app", "run"]
