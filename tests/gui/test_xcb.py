"""Issue #15 item 10: when Qt's xcb plugin lacks system libraries, the app names them and the apt-get line."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from viewer.gui import xcb

LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffc)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f90)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-render-util.so.0 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f90)
"""


def test_missing_libraries_and_their_packages():
    missing = xcb.missing_libraries(LDD_OUTPUT)
    assert missing == [
        "libxcb-cursor.so.0",
        "libxcb-icccm.so.4",
        "libxcb-render-util.so.0",
        "libxkbcommon-x11.so.0",
    ]
    text = xcb.help_text(missing)
    assert "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-render-util0 libxkbcommon-x11-0" in text
    assert "libxcb-icccm.so.4" in text
    assert xcb.package_for("libxcb-xinerama.so.0") == "libxcb-xinerama0"
    assert xcb.package_for("libfoo2.so.1") == "libfoo2-1"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
def test_check_xcb_prints_before_qt_fails(monkeypatch):
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, stdout=LDD_OUTPUT, stderr="")

    out = io.StringIO()
    assert xcb.check_xcb(run=fake_run, stream=out) == xcb.missing_libraries(LDD_OUTPUT)
    assert calls and calls[0][1].endswith("libqxcb.so")
    assert "apt-get install libxcb-cursor0" in out.getvalue()
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # another platform: nothing to check
    assert xcb.check_xcb(run=fake_run, stream=out) == [] and len(calls) == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
def test_the_real_plugin_is_complete_here(monkeypatch):
    """On this machine (the test installs Qt's X libraries) nothing is missing and nothing is printed."""
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    out = io.StringIO()
    assert xcb.check_xcb(stream=out) == [] and out.getvalue() == ""
