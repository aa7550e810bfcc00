"""Persistent user settings (QSettings; organisation, application and file names from :mod:`viewer.config`).

:data:`viewer.config.ENV_SETTINGS_DIR` (``PNEUMOSCOPE_SETTINGS_DIR``) redirects the settings to an INI file in
that folder (:data:`viewer.config.SETTINGS_INI`): tests use it so they never read or write the user's real
settings.

Worklist flags are kept by study identity (:attr:`viewer.core.io.collection.Entry.key`: ``sop:<SOP Instance
UID>`` or ``sha256:<hex>`` of the file), never by path or name, and only as a digest of it
(:meth:`Settings.flag_id`: a UID can be linked to a patient, its digest cannot be read back); at most
:data:`MAX_FLAGS` of them (the least recently set go first).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np
from PySide6 import QtCore

from viewer.config import ENV_SETTINGS_DIR, SETTINGS_APPLICATION, SETTINGS_INI, SETTINGS_ORGANISATION
from viewer.core.overlay import COLORMAP_NAMES, DEFAULT_COLORMAP, ScaleMode
from viewer.core.study import WindowPreset

MAX_RECENT = 10
MAX_FLAGS = 3000  # worklist flags remembered (about 100 bytes each in the settings file)
# what a flag may be remembered by: a DICOM UID (digits and dots, 64 at most) or a SHA-256 (a "path:" key
# names the file and could carry patient data: not remembered)
_FLAG_KEY = re.compile(r"(?:sop:[0-9.]{1,64}|sha256:[0-9a-f]{64})")
_FLAG_ID = re.compile(r"f:[0-9a-f]{32}")  # what the settings file holds: a digest of the key
CINE_DEFAULT_FPS, CINE_FPS_RANGE = 10.0, (1.0, 60.0)  # frames a second of cine play
USER_PRESET_SLOTS = range(1, 10)  # the number keys of the user's window presets


def _to_bool(value, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on")


def _to_float(value, default: float, lo: float, hi: float) -> float:
    try:
        return min(hi, max(lo, float(value)))
    except (TypeError, ValueError):
        return default


class Settings:
    """Typed access to the few things that persist between runs."""

    def __init__(self, qsettings: QtCore.QSettings | None = None):
        if qsettings is None:
            folder = os.environ.get(ENV_SETTINGS_DIR)
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)
                path = str(Path(folder) / SETTINGS_INI)
                qsettings = QtCore.QSettings(path, QtCore.QSettings.Format.IniFormat)
            else:
                qsettings = QtCore.QSettings(SETTINGS_ORGANISATION, SETTINGS_APPLICATION)
        self.q = qsettings

    # -- generic -------------------------------------------------------------------------------
    def _get(self, key: str, default=None):
        return self.q.value(key, default)

    def _set(self, key: str, value) -> None:
        self.q.setValue(key, value)

    def sync(self) -> None:
        self.q.sync()

    # -- files ---------------------------------------------------------------------------------
    @property
    def last_folder(self) -> str:
        value = self._get("files/last_folder", "")
        return value if isinstance(value, str) and value and Path(value).is_dir() else str(Path.home())

    @last_folder.setter
    def last_folder(self, folder: str) -> None:
        self._set("files/last_folder", str(folder))

    @property
    def recent_files(self) -> list[str]:
        value = self._get("files/recent", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])][:MAX_RECENT]

    def add_recent(self, path: str) -> list[str]:
        path = str(Path(path).resolve())
        items = [p for p in self.recent_files if p != path]
        items.insert(0, path)
        items = items[:MAX_RECENT]
        self._set("files/recent", items)
        return items

    def clear_recent(self) -> None:
        self._set("files/recent", [])

    # -- heatmap -------------------------------------------------------------------------------
    @property
    def colormap(self) -> str:
        value = self._get("heatmap/colormap", DEFAULT_COLORMAP)
        return value if value in COLORMAP_NAMES else DEFAULT_COLORMAP

    @colormap.setter
    def colormap(self, name: str) -> None:
        self._set("heatmap/colormap", name)

    @property
    def opacity(self) -> float:
        return _to_float(self._get("heatmap/opacity"), 0.4, 0.0, 1.0)

    @opacity.setter
    def opacity(self, value: float) -> None:
        self._set("heatmap/opacity", float(value))

    @property
    def threshold(self) -> float:
        return _to_float(self._get("heatmap/threshold"), 0.2, 0.0, 0.95)

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._set("heatmap/threshold", float(value))

    @property
    def heatmap_visible(self) -> bool:
        return _to_bool(self._get("heatmap/visible"), True)

    @heatmap_visible.setter
    def heatmap_visible(self, value: bool) -> None:
        self._set("heatmap/visible", bool(value))

    @property
    def outline(self) -> bool:
        return _to_bool(self._get("heatmap/outline"), False)

    @outline.setter
    def outline(self, value: bool) -> None:
        self._set("heatmap/outline", bool(value))

    @property
    def scale_mode(self) -> ScaleMode:
        try:
            return ScaleMode(self._get("heatmap/scale_mode", ScaleMode.MODEL.value))
        except ValueError:
            return ScaleMode.MODEL

    @scale_mode.setter
    def scale_mode(self, mode: ScaleMode) -> None:
        self._set("heatmap/scale_mode", ScaleMode(mode).value)

    # -- view ----------------------------------------------------------------------------------
    @property
    def info_overlay(self) -> bool:
        return _to_bool(self._get("view/info_overlay"), True)

    @info_overlay.setter
    def info_overlay(self, value: bool) -> None:
        self._set("view/info_overlay", bool(value))

    @property
    def geometry(self) -> QtCore.QByteArray | None:
        value = self._get("window/geometry")
        return value if isinstance(value, QtCore.QByteArray) else None

    @geometry.setter
    def geometry(self, value: QtCore.QByteArray) -> None:
        self._set("window/geometry", value)

    @property
    def window_state(self) -> QtCore.QByteArray | None:
        value = self._get("window/state")
        return value if isinstance(value, QtCore.QByteArray) else None

    @window_state.setter
    def window_state(self, value: QtCore.QByteArray) -> None:
        self._set("window/state", value)

    # -- export --------------------------------------------------------------------------------
    @property
    def export_full_resolution(self) -> bool:
        return _to_bool(self._get("export/full_resolution"), True)

    @export_full_resolution.setter
    def export_full_resolution(self, value: bool) -> None:
        self._set("export/full_resolution", bool(value))

    # -- user window/level presets (number keys 1-9) ---------------------------------------------
    def user_preset(self, slot: int) -> WindowPreset | None:
        """The user's window preset on number key ``slot`` (1-9), or None when that key has none."""
        if slot not in USER_PRESET_SLOTS:
            return None
        try:
            center = float(self._get(f"wl_presets/{slot}/center"))
            width = float(self._get(f"wl_presets/{slot}/width"))
        except (TypeError, ValueError):  # absent or unreadable: no preset on that key
            return None
        if not (np.isfinite(center) and np.isfinite(width)) or width < 1.0:
            return None
        name = self._get(f"wl_presets/{slot}/name", "")
        return WindowPreset(center=center, width=width, name=name if isinstance(name, str) else "")

    def set_user_preset(self, slot: int, preset: WindowPreset | None) -> None:
        if slot not in USER_PRESET_SLOTS:
            raise ValueError(f"preset keys are 1-9, not {slot}")
        if preset is None:
            self.q.remove(f"wl_presets/{slot}")
            return
        self._set(f"wl_presets/{slot}/center", float(preset.center))
        self._set(f"wl_presets/{slot}/width", max(1.0, float(preset.width)))
        self._set(f"wl_presets/{slot}/name", preset.name)

    def user_presets(self) -> dict[int, WindowPreset | None]:
        return {slot: self.user_preset(slot) for slot in USER_PRESET_SLOTS}

    # -- cine --------------------------------------------------------------------------------------
    @property
    def cine_fps(self) -> float:
        return _to_float(self._get("cine/fps"), CINE_DEFAULT_FPS, CINE_FPS_RANGE[0], CINE_FPS_RANGE[1])

    @cine_fps.setter
    def cine_fps(self, value: float) -> None:
        self._set("cine/fps", float(min(CINE_FPS_RANGE[1], max(CINE_FPS_RANGE[0], value))))

    # -- worklist flags ----------------------------------------------------------------------------
    @staticmethod
    def is_flag_key(key: str) -> bool:
        """Whether a flag can be remembered by this study key (a UID or a hash, nothing else)."""
        return isinstance(key, str) and _FLAG_KEY.fullmatch(key) is not None

    @classmethod
    def flag_id(cls, key: str) -> str | None:
        """What the settings file holds for the study ``key``: a 128-bit digest (None: not rememberable)."""
        if not cls.is_flag_key(key):
            return None
        return "f:" + hashlib.sha256(f"{SETTINGS_APPLICATION} worklist flag {key}".encode()).hexdigest()[:32]

    def worklist_flags(self) -> dict[str, str]:
        """The remembered flags, ``{flag id: flag value}``, the least recently set first."""
        raw = self._get("worklist/flags", "")
        try:
            items = json.loads(raw) if isinstance(raw, str) and raw else []
        except ValueError:
            return {}
        flags: dict[str, str] = {}
        for item in items if isinstance(items, list) else ():
            if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
                if _FLAG_ID.fullmatch(item[0]) and isinstance(item[1], str) and item[1]:
                    flags.pop(item[0], None)
                    flags[item[0]] = item[1]
        return flags

    def worklist_flags_for(self, keys) -> dict[str, str]:
        """The remembered flag of each study key that has one: ``{key: flag value}``."""
        stored = self.worklist_flags()
        found = {}
        for key in keys:
            fid = self.flag_id(key)
            if fid is not None and fid in stored:
                found[key] = stored[fid]
        return found

    def set_worklist_flag(self, key: str, flag: str) -> bool:
        """Remember ``flag`` (a :class:`~viewer.gui.widgets.worklist.Flag` value; "" forgets it) for the study
        ``key``; False when the key cannot be remembered (see :meth:`is_flag_key`)."""
        fid = self.flag_id(key)
        if fid is None:
            return False
        flags = self.worklist_flags()
        flags.pop(fid, None)
        if flag:
            flags[fid] = str(flag)
        items = [list(kv) for kv in flags.items()][-MAX_FLAGS:]
        self._set("worklist/flags", json.dumps(items, separators=(",", ":")))
        return True
