"""Names and texts of the application, written once.

Everything that says what the application is called, which environment variables it reads, which model
file it ships and what its research-use notice says lives here. ``viewer.core``, the GUI, the CLI, the
diagnostics and ``build.spec`` import it; nothing here imports anything of the project.
"""

from __future__ import annotations

APP_NAME = "Pneumoscope"  # window title, settings organisation/application, log folder, bundle name
DIST_NAME = "pneumoscope"  # the Python distribution (pyproject.toml [project] name) and the GUI command
CLI_NAME = "pneumoscope-cli"
BUNDLE_ID = "org.pneumoscope.viewer"  # macOS bundle identifier
ORGANISATION = "Pneumoscope developers"

RESEARCH_USE = "Research use only - not for diagnostic use."
DESCRIPTION = f"Offline chest X-ray viewer with on-device pneumonia AI. {RESEARCH_USE}"

# The shipped model, under assets/models/ (viewer.core.assets finds the folder).
MODEL_FILENAME = "pneumoscope-mobilenetv2.onnx"

# Environment variables the application reads.
ENV_MODEL = "PNEUMOSCOPE_MODEL"  # another model file instead of the shipped one
ENV_SETTINGS_DIR = "PNEUMOSCOPE_SETTINGS_DIR"  # settings in an INI file in this folder (tests)
ENV_LOG_DIR = "PNEUMOSCOPE_LOG_DIR"  # crash logs here instead of platformdirs' user log folder
ENV_BENCH_T0 = "PNEUMOSCOPE_BENCH_T0"  # start-up benchmark: time.time() just before the process started


def app_version() -> str:
    """The installed distribution's version ("development" when running from an uninstalled tree)."""
    from importlib import metadata

    try:
        return metadata.version(DIST_NAME)
    except metadata.PackageNotFoundError:
        return "development"


__all__ = [
    "APP_NAME",
    "BUNDLE_ID",
    "CLI_NAME",
    "DESCRIPTION",
    "DIST_NAME",
    "ENV_BENCH_T0",
    "ENV_LOG_DIR",
    "ENV_MODEL",
    "ENV_SETTINGS_DIR",
    "MODEL_FILENAME",
    "ORGANISATION",
    "RESEARCH_USE",
    "app_version",
]
