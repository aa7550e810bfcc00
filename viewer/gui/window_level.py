"""Window/level interaction: mouse drags to new windows, clamped to what the image allows.

Convention (as in most PACS): with the window/level tool, dragging right widens the window (less
contrast), dragging left narrows it; dragging down raises the level (image darker), up lowers it.
One screen pixel moves the width and level by 1/1000 of the allowed width range, so a drag across the
view covers a useful span on 8-bit and 16-bit data alike.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from viewer.core import display
from viewer.core.study import StudyMetadata, VoiLut, WindowPreset

SENSITIVITY = 1.0 / 1000.0


def linear_base(window, meta: StudyMetadata, frame: np.ndarray) -> WindowPreset:
    """The linear window a drag starts from (a VOI LUT has no centre/width: start from auto)."""
    if window is None:
        window = display.default_window(meta, frame)
    if isinstance(window, VoiLut):
        return display.auto_window(frame)
    return window


def clamp_window(window: WindowPreset, limits: tuple[float, float, float, float]) -> WindowPreset:
    min_w, max_w, min_c, max_c = limits
    return replace(
        window,
        width=float(np.clip(window.width, min_w, max_w)),
        center=float(np.clip(window.center, min_c, max_c)),
    )


def drag_window(
    base: WindowPreset, dx: float, dy: float, limits: tuple[float, float, float, float]
) -> WindowPreset:
    """``base`` moved by a mouse drag of (dx, dy) screen pixels; the name is dropped (it is custom now)."""
    min_w, max_w, _, _ = limits
    step = max(max_w - min_w, 1e-9) * SENSITIVITY
    moved = replace(base, width=base.width + dx * step, center=base.center + dy * step, name="")
    if moved.function.upper() == "SIGMOID":
        return clamp_window(moved, limits)
    return clamp_window(replace(moved, function=base.function or "LINEAR"), limits)


def window_label(window) -> str:
    if window is None:
        return "Default"
    if isinstance(window, VoiLut):
        return f"VOI LUT {window.name}".strip()
    name = f" - {window.name}" if window.name else ""
    return f"W {window.width:.0f} / L {window.center:.0f}{name}"
