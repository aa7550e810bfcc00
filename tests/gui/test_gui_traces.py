"""A full GUI session writes nothing outside its settings, log and chosen export folders (issue #15 item 8:
ONNX Runtime's telemetry wrote ~/.cache/Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db} and
$TMPDIR/.ses). Run in a subprocess whose HOME and TMPDIR are fresh temporary folders, so that what Qt,
ONNX Runtime and the decoders write there can be listed before and after."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from gui_support import block_image, write_dicom
from shared_data import REPO_ROOT

SESSION = r"""
import json, sys, time
from pathlib import Path
from PySide6 import QtCore
from viewer.gui import crash
from viewer.gui.app import create_app

study, out_dir = sys.argv[1], Path(sys.argv[2])
app = create_app()
crash.setup_logging()
crash.install()
from viewer.gui.export import ExportOptions
from viewer.gui.main_window import MainWindow

win = MainWindow()  # the shipped model, a real ONNX Runtime session
win.resize(1000, 700)
win.show()

def wait(cond, seconds=90):
    end = time.time() + seconds
    while not cond() and time.time() < end:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
    assert cond(), "timed out"

wait(lambda: not win.model_loading)
assert win.model is not None, "the model did not load"
win.open_paths([study])
wait(lambda: win.current is not None and win.current.result is not None)
assert win.export.export_to(out_dir / "session.png", ExportOptions(include_identifiers=False)) is not None
win.settings.sync()
settings_file = win.settings.q.fileName()
win.close()
app.processEvents()
print(json.dumps({"log": str(crash.log_dir()), "settings": settings_file}))
"""


def _listing(*roots) -> set[str]:
    return {str(p) for root in roots for p in root.rglob("*")}


@pytest.mark.slow
def test_a_full_session_leaves_no_traces(tmp_path):
    home, tmp, exports = tmp_path / "home", tmp_path / "tmp", tmp_path / "home" / "exports"
    for folder in (home, tmp, exports):
        folder.mkdir(parents=True, exist_ok=True)
    study = write_dicom(tmp_path / "study.dcm", block_image())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PNEUMOSCOPE_", "ORT_"))}
    env.update(HOME=str(home), TMPDIR=str(tmp), QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO_ROOT))
    before = _listing(home, tmp)
    run = subprocess.run(
        [sys.executable, "-c", SESSION, str(study), str(exports)],
        capture_output=True, text=True, env=env, timeout=240, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    where = json.loads(run.stdout.strip().splitlines()[-1])
    new = _listing(home, tmp) - before
    allowed = [str(exports), where["log"], where["settings"]]
    assert where["settings"].startswith(str(home))  # the real per-user settings, inside the fake HOME
    unexpected = sorted(p for p in new if not any(p == a or p.startswith(a + os.sep) for a in allowed))
    # the parents of the allowed folders appear too (~/.config, ~/.local/state...)
    unexpected = [p for p in unexpected if not any(a.startswith(p + os.sep) for a in allowed)]
    assert unexpected == []
    assert (exports / "session.png").is_file()
