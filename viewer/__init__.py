"""Pneumoscope: the desktop viewer (``viewer.gui``), its Qt-free core (``viewer.core``), the CLI
(``viewer.cli``), diagnostics (``viewer.diagnostics``) and the names and texts of the app (``viewer.config``)."""

import os

from viewer.config import app_version

# Before anything imports ONNX Runtime: its telemetry off. Importing onnxruntime otherwise writes
# ~/.cache/Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db} and $TMPDIR/.ses (ORT reads the
# variable when its environment is created; ``onnxruntime.disable_telemetry_events()`` comes too late, after
# the import; viewer.core.model.inference calls it too, for Windows' ETW events). An offline viewer leaves no
# traces outside its settings, log and export folders, and no setting of the environment turns that off.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

__all__ = ["app_version"]
