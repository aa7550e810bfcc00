"""Run the whole test suite the way CI does: import contracts, lint, format, types, then pytest.

Usage (after installing the project with the ``train,dev`` extras): ``python tests/run_all.py [pytest args]``.
Installs Debian's ``xvfb`` first when it is missing and we are root (the real-window test needs it), and
``dcmtk`` and ``poppler-utils`` (the report tests check exports with dcmdump, dsr2xml, pdftotext).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LINTED = ["viewer", "training", "tests", "benchmarks", "packaging", "build.spec", "setup.py"]


# Xvfb plus the X client libraries Qt's xcb platform plugin loads (a minimal Debian lacks them)
X_PACKAGES = [
    "xvfb",
    "xauth",
    "libxkbcommon-x11-0",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-randr0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-xinerama0",
    "libxcb-xkb1",
]


def xcb_ready() -> bool:
    """Xvfb is on PATH and the dynamic loader knows libxcb-cursor (the library Qt >= 6.5 needs first)."""
    if not shutil.which("Xvfb"):
        return False
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    try:
        listing = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return True  # cannot tell; let the test say what is missing
    return "libxcb-cursor.so.0" in listing


def ensure_xvfb() -> None:
    if sys.platform != "linux" or xcb_ready():
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing xvfb (needed by the real-window test) ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", *X_PACKAGES], check=False, env=env, stdout=subprocess.DEVNULL
        )
    if not shutil.which("Xvfb"):
        print("warning: Xvfb not available; the real-window test will fail under CI", flush=True)


# DCMTK (dcmdump, dsr2xml, dcmj2pnm) and poppler (pdftotext, pdftoppm): the report tests check the DICOM
# and PDF exports with tools that are not ours
REPORT_PACKAGES = {
    "dcmdump": "dcmtk",
    "dsr2xml": "dcmtk",
    "dcmj2pnm": "dcmtk",
    "pdftotext": "poppler-utils",
    "pdftoppm": "poppler-utils",
}


def ensure_report_tools() -> None:
    missing = sorted({pkg for tool, pkg in REPORT_PACKAGES.items() if not shutil.which(tool)})
    if not missing or sys.platform != "linux":
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing {' '.join(missing)} (needed by the report tests) ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", *missing], check=False, env=env, stdout=subprocess.DEVNULL
        )
    if any(not shutil.which(tool) for tool in REPORT_PACKAGES):
        print("warning: dcmtk / poppler-utils not available; the report tests will fail under CI", flush=True)


def run(cmd: list[str]) -> int:
    print("$", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT).returncode


def main() -> int:
    ensure_xvfb()
    ensure_report_tools()
    failures = 0
    failures += run([str(BIN / "lint-imports"), "pyproject.toml"]) != 0
    failures += run([str(BIN / "ruff"), "check", *LINTED]) != 0
    failures += run([str(BIN / "ruff"), "format", "--check", *LINTED]) != 0
    failures += run([str(BIN / "mypy")]) != 0  # files and options: [tool.mypy] in pyproject.toml
    rc = run([sys.executable, "-m", "pytest", *sys.argv[1:]])
    if rc == 5:  # no tests collected is a failure here, never a pass
        print("pytest collected no tests", flush=True)
    return 1 if (failures or rc != 0) else 0


if __name__ == "__main__":
    sys.exit(main())
