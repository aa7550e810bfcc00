"""Names and texts of the application, written once.

Everything that says what the application is called, where it keeps its settings and logs, which
environment variables it reads, which model file and icons it ships and what its research-use notices say
lives here. ``viewer.core``, the GUI, the CLI, the reports, the diagnostics, ``build.spec`` and
``packaging/make_icons.py`` import it; nothing here imports anything of the project.
"""

from __future__ import annotations

APP_NAME = "Pneumoscope"  # window title, settings organisation/application, log folder, bundle name
DIST_NAME = "pneumoscope"  # the Python distribution (pyproject.toml [project] name) and the GUI command
CLI_NAME = "pneumoscope-cli"
BUNDLE_ID = "org.pneumoscope.viewer"  # macOS bundle identifier
ORGANISATION = "Pneumoscope developers"  # who made it: DICOM Manufacturer, PyInstaller version resource

# Where the application keeps its state. The QSettings organisation and application are both APP_NAME
# (not ORGANISATION): changing them would lose every user's settings.
SETTINGS_ORGANISATION = APP_NAME
SETTINGS_APPLICATION = APP_NAME
SETTINGS_INI = f"{DIST_NAME}.ini"  # the INI file in ENV_SETTINGS_DIR
LOG_FILENAME = f"{DIST_NAME}.log"  # in the log folder (platformdirs' user log folder of APP_NAME)

# What the product says about itself.
TAGLINE = "Offline chest X-ray viewer with on-device pneumonia AI."
RESEARCH_USE = "Research use only - not for diagnostic use."
RESEARCH_TAG = "research use only"  # in short labels: "Pneumoscope AI report (research use only)"
DESCRIPTION = f"{TAGLINE} {RESEARCH_USE}"
TRAINED_ON = "frontal chest radiographs of children aged 1-5 from one hospital"
RESEARCH_NOTICE = f"{RESEARCH_USE} Trained on {TRAINED_ON}."  # the AI panel and Help > About
NOT_A_MEDICAL_DEVICE = (
    "Not a medical device and not validated for clinical use. The AI result is a research output for "
    "the reader's attention, not a diagnosis."
)
OFFLINE_NOTE = f"{APP_NAME} opens no network connection: images, results and logs stay on this computer."

# Shipped files, under assets/ (viewer.core.assets finds the folder).
MODEL_FILENAME = "pneumoscope-mobilenetv2.onnx"  # assets/models/
ICON_FILES = {ext: f"{DIST_NAME}.{ext}" for ext in ("png", "ico", "icns")}  # assets/icons/ (make_icons.py)

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


def app_title() -> str:
    """``"Pneumoscope 0.1.0"``: the name with the version, as crash logs, reports and About show it."""
    return f"{APP_NAME} {app_version()}"


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
    "ICON_FILES",
    "LOG_FILENAME",
    "MODEL_FILENAME",
    "NOT_A_MEDICAL_DEVICE",
    "OFFLINE_NOTE",
    "ORGANISATION",
    "RESEARCH_NOTICE",
    "RESEARCH_TAG",
    "RESEARCH_USE",
    "SETTINGS_APPLICATION",
    "SETTINGS_INI",
    "SETTINGS_ORGANISATION",
    "TAGLINE",
    "TRAINED_ON",
    "app_title",
    "app_version",
]
