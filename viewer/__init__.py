"""Pneumoscope: the desktop viewer (``viewer.gui``), its Qt-free core (``viewer.core``) and the CLI."""


def app_version() -> str:
    """The installed distribution's version ("development" when running from an uninstalled tree)."""
    from importlib import metadata

    try:
        return metadata.version("pneumoscope")
    except metadata.PackageNotFoundError:
        return "development"
