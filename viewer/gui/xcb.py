"""Linux: say which system libraries Qt's xcb platform plugin lacks, before Qt fails with its generic
"Could not load the Qt platform plugin "xcb"" and aborts.

PySide6 wheels bundle Qt but not the X11 helper libraries (``libxcb-cursor0``, ``libxcb-icccm4``...), which
a minimal or fresh Linux install often lacks. :func:`check_xcb` runs ``ldd`` on the plugin (it resolves the
plugin's dependencies recursively, without loading them) before the QApplication exists and prints the
missing libraries and the ``apt-get`` line that installs them. It never stops the start: Qt may still
choose another platform (Wayland).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from viewer.config import APP_NAME

# soname -> Debian/Ubuntu package, where the name does not follow the usual rule (see package_for)
PACKAGES = {
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def package_for(soname: str) -> str:
    """The Debian/Ubuntu package of a library: ``libxcb-icccm.so.4`` -> ``libxcb-icccm4``,
    ``libxcb-render-util.so.0`` -> ``libxcb-render-util0`` (a name ending in a digit takes a hyphen)."""
    if soname in PACKAGES:
        return PACKAGES[soname]
    match = re.match(r"^(lib[\w+.-]+?)\.so\.(\d+)", soname)
    if not match:
        return soname
    name, major = match.group(1).lower(), match.group(2)
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames ``ldd`` could not find, in order, once each."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def help_text(missing: list[str]) -> str:
    packages = " ".join(dict.fromkeys(package_for(s) for s in missing))
    return (
        f"{APP_NAME}: Qt's X11 (xcb) platform plugin cannot load: these system libraries are missing: "
        f"{', '.join(missing)}.\n"
        f"Install them with:  sudo apt-get install {packages}\n"
        "(other distributions: the packages providing these files; or run under Wayland with "
        "QT_QPA_PLATFORM=wayland)"
    )


def xcb_plugin() -> Path | None:
    try:
        import PySide6  # noqa: PLC0415 - only to find its folder
    except ImportError:
        return None
    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def wants_xcb(environ: os._Environ | dict = os.environ) -> bool:
    """Will Qt try xcb? On Linux, unless another platform is chosen (or Wayland is running and chosen)."""
    if not sys.platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "")
    return not chosen or chosen.split(";")[0].split(":")[0] == "xcb"


def check_xcb(run=subprocess.run, stream=None) -> list[str]:
    """Print what is missing (on ``stream``, default stderr) and return the missing sonames ([] if fine,
    not Linux, another platform is chosen, or ``ldd`` is not available)."""
    if not wants_xcb():
        return []
    plugin, ldd = xcb_plugin(), shutil.which("ldd")
    if plugin is None or ldd is None:
        return []
    try:
        out = run([ldd, str(plugin)], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    missing = missing_libraries(out or "")
    if missing:
        print(help_text(missing), file=stream or sys.stderr, flush=True)
    return missing
