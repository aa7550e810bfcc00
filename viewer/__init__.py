"""Pneumoscope: the desktop viewer (``viewer.gui``), its Qt-free core (``viewer.core``), the CLI
(``viewer.cli``), diagnostics (``viewer.diagnostics``) and the names and texts of the app (``viewer.config``)."""

from viewer.config import app_version

__all__ = ["app_version"]
