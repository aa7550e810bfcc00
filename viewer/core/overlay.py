"""The AI heatmap as the viewer shows it: colour maps, CAM scaling, threshold, contours, compositing.

Qt-free (numpy + OpenCV) so the GUI, the export, the CLI and the self-test draw the same overlay.

- The model returns a raw class-activation map (CAM) on the frame geometry, in arbitrary positive units.
  :func:`normalise_cam` maps it to [0, 1] either on the model's fixed scale (``0 .. heatmap_scale``, chosen
  on validation data, so colours mean the same in every study) or per image (min-max: every map then
  looks equally confident, which is what most tools do and why it is not our default).
- A colour map is a 256-entry LUT. The GUI shows the map as an 8-bit index image through an RGBA LUT whose
  alpha is 0 below the threshold, so moving the threshold only changes the LUT and moving the opacity only
  changes the item's opacity: the image itself is never recomputed.
- :func:`composite` burns image + heatmap (+ contours) into one RGB array for export, with the same
  blending the screen uses: ``out = grey * (1 - a) + colour * a`` where ``a = opacity`` above the
  threshold and 0 below it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import cv2
import numpy as np

#: Colour maps offered to the user, first = default. Values: OpenCV colour map ids.
_CV_MAPS = {
    "turbo": cv2.COLORMAP_TURBO,
    "jet": cv2.COLORMAP_JET,
    "inferno": cv2.COLORMAP_INFERNO,
    "viridis": cv2.COLORMAP_VIRIDIS,
    "hot": cv2.COLORMAP_HOT,
}
COLORMAP_NAMES: tuple[str, ...] = tuple(_CV_MAPS)
DEFAULT_COLORMAP = "turbo"


class ScaleMode(str, Enum):
    """How raw CAM values become colours."""

    MODEL = "model"  # fixed 0 .. heatmap_scale from the model card: comparable across studies
    IMAGE = "image"  # per-image min .. max: relative, every map looks equally confident


@dataclass(frozen=True)
class OverlayStyle:
    """Everything that decides how a heatmap looks (for export and tests)."""

    colormap: str = DEFAULT_COLORMAP
    opacity: float = 0.4  # 0..1
    threshold: float = 0.2  # 0..1 on the normalised map; weaker activation is hidden
    outline: bool = False  # draw iso-contours instead of the filled map
    scale_mode: ScaleMode = ScaleMode.MODEL


def colormap_lut(name: str) -> np.ndarray:
    """(256, 3) uint8 RGB lookup table for a colour map name (see :data:`COLORMAP_NAMES`)."""
    try:
        cv_id = _CV_MAPS[name]
    except KeyError:
        raise ValueError(f"unknown colour map {name!r}; choose one of {', '.join(COLORMAP_NAMES)}") from None
    ramp = np.arange(256, dtype=np.uint8).reshape(256, 1)
    bgr = cv2.applyColorMap(ramp, cv_id).reshape(256, 3)
    return np.ascontiguousarray(bgr[:, ::-1])


def threshold_index(threshold: float) -> int:
    """First LUT index that is shown for a threshold in [0, 1] (index 0 = no activation, never shown)."""
    t = float(np.clip(threshold, 0.0, 1.0))
    return max(1, int(np.ceil(t * 255.0)))


def heatmap_lut_rgba(name: str, threshold: float = 0.0) -> np.ndarray:
    """(256, 4) uint8 RGBA LUT: the colour map, fully transparent below the threshold."""
    lut = np.empty((256, 4), dtype=np.uint8)
    lut[:, :3] = colormap_lut(name)
    lut[:, 3] = 255
    lut[: threshold_index(threshold), 3] = 0
    return lut


def fit_to_shape(cam: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a map to (rows, cols) with bilinear interpolation (no-op when it already fits)."""
    cam = np.asarray(cam, dtype=np.float32)
    if cam.shape == tuple(shape):
        return cam
    return cv2.resize(cam, (int(shape[1]), int(shape[0])), interpolation=cv2.INTER_LINEAR)


def reduce_map(cam: np.ndarray, max_side: int) -> np.ndarray:
    """A map shrunk so that its longer side is at most ``max_side`` (float32; unchanged when it is already).

    For display: a heatmap is a model-scale map (7 x 7 cells) smoothly upsampled, so a few hundred pixels
    hold all it says. Stretched over the frame (cell ``(i, j)`` of an ``h x w`` map covering
    ``[j W / w, (j + 1) W / w] x [i H / h, (i + 1) H / h]`` of an ``H x W`` frame, the convention of
    :func:`fit_to_shape`), it shows the picture of the full-size map at a fraction of the work. Bilinear
    sampling at the cells' centres (no row or column dropped, so no shift): on such a smooth map it is
    within 1e-3 of the map's range of area averaging, at a fraction of the cost (OpenCV's fractional
    ``INTER_AREA`` takes ~10 ms on a 2000 x 2000 map); not meant for maps with detail finer than a cell.
    """
    cam = np.asarray(cam, dtype=np.float32)
    h, w = cam.shape[:2]
    longest = max(h, w)
    if longest <= max_side or cam.size == 0:
        return cam
    s = max_side / longest
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return cv2.resize(cam, size, interpolation=cv2.INTER_LINEAR)


def normalise_cam(
    cam: np.ndarray, mode: ScaleMode | str = ScaleMode.MODEL, model_scale: float | None = None
) -> np.ndarray:
    """Raw CAM -> float32 in [0, 1].

    ``MODEL``: ``clip(cam / model_scale, 0, 1)`` (falls back to per-image when the scale is missing).
    ``IMAGE``: ``(cam - min) / (max - min)``; a flat map gives zeros.
    """
    cam = np.nan_to_num(np.asarray(cam, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    mode = ScaleMode(mode)
    if mode is ScaleMode.MODEL and model_scale is not None and model_scale > 0:
        return np.clip(cam * np.float32(1.0 / model_scale), 0.0, 1.0)
    if cam.size == 0:
        return cam
    lo, hi = float(cam.min()), float(cam.max())
    if hi - lo <= 1e-12:
        return np.zeros_like(cam)
    return ((cam - lo) * np.float32(1.0 / (hi - lo))).clip(0.0, 1.0)


def to_index(norm: np.ndarray) -> np.ndarray:
    """Normalised map in [0, 1] -> uint8 LUT index 0..255 (rounded)."""
    return np.clip(np.rint(np.asarray(norm, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def threshold_mask(norm: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean mask of the pixels the overlay shows (same rule as the LUT: index >= threshold index)."""
    return to_index(norm) >= threshold_index(threshold)


def contour_levels(threshold: float, n: int = 3) -> list[float]:
    """Iso-levels for outline mode: the threshold itself and ``n - 1`` levels evenly above it."""
    t = float(np.clip(threshold, 0.0, 1.0))
    t = max(t, 1.0 / 255.0)
    if n <= 1 or t >= 0.95:
        return [t]
    return [float(v) for v in np.linspace(t, 1.0, n + 1)[:-1]]


def extract_contours(norm: np.ndarray, level: float, min_area_px: float = 0.0) -> list[np.ndarray]:
    """Outlines of ``norm >= level`` as (N, 2) float32 arrays of (x, y) image coordinates.

    Pixel ``(row, col)`` covers ``[col, col + 1] x [row, row + 1]``, so points sit on pixel centres
    (``+ 0.5``), the convention the image items use.
    """
    mask = threshold_mask(norm, level).astype(np.uint8)
    found, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    out: list[np.ndarray] = []
    for c in found:
        if min_area_px and cv2.contourArea(c) < min_area_px:
            continue
        out.append(c.reshape(-1, 2).astype(np.float32) + 0.5)
    return out


def colourise(norm: np.ndarray, colormap: str, threshold: float = 0.0) -> np.ndarray:
    """(H, W, 4) uint8 RGBA picture of a normalised map (alpha 0 below the threshold)."""
    return heatmap_lut_rgba(colormap, threshold)[to_index(norm)]


def line_thickness(shape: tuple[int, ...]) -> int:
    """Contour / annotation line width for a burned-in export of this size (about 2 px per 1000 px)."""
    return max(1, int(round(min(shape[:2]) / 500.0)))


def composite(
    grey_u8: np.ndarray,
    norm: np.ndarray | None,
    style: OverlayStyle = OverlayStyle(),
    visible: bool = True,
) -> np.ndarray:
    """Burn a heatmap into a grey image: (H, W) uint8 + (H, W) map in [0, 1] -> (H, W, 3) uint8 RGB.

    ``norm`` is resized to the image when shapes differ. ``visible=False`` or ``norm=None`` gives the grey
    image as RGB. Filled mode blends where the map reaches the threshold; outline mode draws iso-contours
    (see :func:`contour_levels`) in the colour of their level, blended with the same opacity.
    """
    grey = np.asarray(grey_u8, dtype=np.uint8)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    if norm is None or not visible or style.opacity <= 0:
        return rgb
    norm = fit_to_shape(norm, grey.shape)
    lut = colormap_lut(style.colormap)
    a = float(np.clip(style.opacity, 0.0, 1.0))
    if style.outline:
        lines = rgb.copy()
        thick = line_thickness(grey.shape)
        for level in contour_levels(style.threshold):
            colour = tuple(int(v) for v in lut[min(255, threshold_index(level))])
            pts = [
                np.round(c - 0.5).astype(np.int32).reshape(-1, 1, 2) for c in extract_contours(norm, level)
            ]
            if pts:
                cv2.polylines(lines, pts, True, colour, thick, cv2.LINE_AA)
        return cv2.addWeighted(lines, a, rgb, 1.0 - a, 0.0)
    idx = to_index(norm)
    shown = idx >= threshold_index(style.threshold)
    colour = lut[idx]
    out = rgb.astype(np.float32)
    w = (shown.astype(np.float32) * a)[:, :, None]
    out = out * (1.0 - w) + colour.astype(np.float32) * w
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def legend_bar(colormap: str, length: int = 256, thickness: int = 12, vertical: bool = False) -> np.ndarray:
    """RGB colour bar, low values left (or bottom when vertical)."""
    lut = colormap_lut(colormap)
    pos = np.linspace(0, 255, max(2, length)).round().astype(np.intp)
    bar = np.repeat(lut[pos][None, :, :], thickness, axis=0)
    if vertical:
        bar = np.ascontiguousarray(bar.transpose(1, 0, 2)[::-1])
    return bar


def legend_text(mode: ScaleMode | str, model_scale: float | None) -> tuple[str, str, str]:
    """(low label, high label, explanation) for the legend under the colour bar.

    Words, not raw Grad-CAM units: a reader cannot interpret "0.176". On the model scale the top colour is
    the strength reached by the strongest 1% of validation pneumonia images (``heatmap_scale``).
    """
    mode = ScaleMode(mode)
    if mode is ScaleMode.MODEL:
        if not model_scale:
            return "weak", "strong", "model scale unknown: scaled to this image"
        return "weak", "strong", "fixed scale: same colour = same strength in every study"
    return "weakest", "strongest", "per-image scale: colours not comparable across studies"


__all__ = [
    "COLORMAP_NAMES",
    "DEFAULT_COLORMAP",
    "ScaleMode",
    "OverlayStyle",
    "colormap_lut",
    "threshold_index",
    "heatmap_lut_rgba",
    "fit_to_shape",
    "reduce_map",
    "normalise_cam",
    "to_index",
    "threshold_mask",
    "contour_levels",
    "extract_contours",
    "colourise",
    "line_thickness",
    "composite",
    "legend_bar",
    "legend_text",
]
