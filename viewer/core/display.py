"""Modality values -> the 8-bit grey the screen (and the model) sees, bones bright.

DICOM PS3.3 C.11: after the Modality LUT (done on load, :mod:`viewer.core.io`) comes the VOI
transform, then the Presentation LUT / MONOCHROME1 inversion:

- VOI = a :class:`WindowPreset` with VOI LUT Function (C.11.2.1.2 / C.11.2.1.3)
  ``LINEAR``:       y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255, clamped (w >= 1)
  ``LINEAR_EXACT``: y = ((x - c) / w + 0.5) * 255, clamped (w > 0)
  ``SIGMOID``:      y = 255 / (1 + exp(-4 (x - c) / w))
  or a :class:`VoiLut` (VOI LUT Sequence item): y = lut[clip(x - first_mapped, 0, n - 1)] scaled
  from the LUT's 2**bits - 1 to 255.
- inversion when ``meta.inverted`` (MONOCHROME1, or Presentation LUT Shape INVERSE): y -> 255 - y.

The default window (:func:`default_window`) is the file's first Window Center/Width pair, else its
first VOI LUT, else for 8-bit PNG/JPEG/TIFF (already a presentation) the identity window
``FULL_RANGE_8BIT`` (LINEAR C=128 W=256 maps 0..255 onto itself exactly; C=127.5 would shift every
value by half a grey level), else :func:`auto_window` (0.5-99.5 % percentiles of a subsample).
The automatic default is one window per series: computed from the first frame (shown first, and the
model's input) and kept for every frame, so that paging through a multi-frame study does not change its
brightness (it read W 358 on frame 1 and W 348 on frame 4); an automatic window of the frame shown is
what the user asks for with :func:`auto_window`.

Speed: the linear windows are one ``cv2.addWeighted`` pass with saturating conversion to uint8
(about 1 ms for 2000 x 2000 on this machine); inversion is folded into the same pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from viewer.core.study import Study, StudyMetadata, VoiLut, WindowPreset

Window = WindowPreset | VoiLut

RASTER_FORMATS = ("PNG", "JPEG", "TIFF")
FULL_RANGE_8BIT = WindowPreset(center=128.0, width=256.0, name="Full range (8-bit)", function="LINEAR")
AUTO_PERCENTILES = (0.5, 99.5)
_SAMPLE_TARGET = 1 << 16  # percentiles from about this many pixels


@dataclass(frozen=True)
class RelativePreset:
    """A window defined by percentiles of the *displayed* brightness (0 = darkest on screen).

    Computed per image by :func:`presets`, so one definition suits CR, DX and 8-bit images alike,
    MONOCHROME1 included (its stored values run the other way).
    """

    name: str
    low_pct: float  # this brightness percentile maps to black
    high_pct: float  # this one to white


COMMON_PRESETS: tuple[RelativePreset, ...] = (
    RelativePreset("Auto (0.5-99.5%)", *AUTO_PERCENTILES),
    RelativePreset("Full range", 0.0, 100.0),
    RelativePreset("High contrast (5-95%)", 5.0, 95.0),
    RelativePreset("Lung (dark range)", 0.5, 70.0),
    RelativePreset("Bone (bright range)", 30.0, 99.9),
)


def _meta(study_or_meta: Study | StudyMetadata) -> StudyMetadata:
    return study_or_meta.meta if isinstance(study_or_meta, Study) else study_or_meta


def _as_frame(frame: np.ndarray) -> np.ndarray:
    src = np.asarray(frame)
    if src.ndim != 2:
        raise ValueError(f"expected a 2-D frame, got shape {src.shape}")
    if src.dtype != np.float32 or not src.flags.c_contiguous:
        src = np.ascontiguousarray(src, dtype=np.float32)
    return src


def _sample(frame: np.ndarray) -> np.ndarray:
    """A strided subsample of the finite values (deterministic)."""
    src = np.asarray(frame)
    step = max(1, int(math.sqrt(src.size / _SAMPLE_TARGET)))
    sample = np.asarray(src[::step, ::step], dtype=np.float64).ravel()
    finite = np.isfinite(sample)
    if not finite.all():
        sample = sample[finite]
    return sample if sample.size else np.zeros(1)


def _is_integer_valued(sample: np.ndarray) -> bool:
    return bool(np.array_equal(sample, np.rint(sample)))


def window_from_range(lo: float, hi: float, name: str, integer: bool = True) -> WindowPreset:
    """The window that maps ``lo`` to black and ``hi`` to white (LINEAR for integer data)."""
    if not hi > lo:
        hi = lo + (1.0 if integer else max(abs(lo) * 1e-3, 1e-6))
    if integer:
        lo, hi = math.floor(lo), max(math.ceil(hi), math.floor(lo) + 1)
        return WindowPreset(center=(lo + hi) / 2 + 0.5, width=hi - lo + 1.0, name=name, function="LINEAR")
    return WindowPreset(center=(lo + hi) / 2, width=hi - lo, name=name, function="LINEAR_EXACT")


def auto_window(frame: np.ndarray, low_pct: float = 0.5, high_pct: float = 99.5) -> WindowPreset:
    """Robust window from percentiles of the frame's values (a subsample of about 65k pixels)."""
    sample = _sample(frame)
    lo, hi = np.percentile(sample, [low_pct, high_pct])
    if not hi > lo:
        lo, hi = sample.min(), sample.max()
    return window_from_range(
        float(lo), float(hi), f"Auto ({low_pct:g}-{high_pct:g}%)", _is_integer_valued(sample)
    )


def default_window(study_or_meta: Study | StudyMetadata, frame: np.ndarray | None = None) -> Window:
    """The window a study opens with (see the module docstring for the order). Given a :class:`Study`
    without ``frame``, an automatic window comes from its first frame: the same for the whole series."""
    meta = _meta(study_or_meta)
    if meta.window_presets:
        return meta.window_presets[0]
    if meta.voi_luts:
        return meta.voi_luts[0]
    if meta.source_format in RASTER_FORMATS and meta.bits_stored == 8:
        return FULL_RANGE_8BIT
    if frame is None:
        if not isinstance(study_or_meta, Study):
            raise ValueError("default_window needs the frame for an automatic window")
        frame = study_or_meta.frames[0]
    return auto_window(frame)


def presets(study_or_meta: Study | StudyMetadata, frame: np.ndarray | None = None) -> tuple[Window, ...]:
    """Every window to offer: the file's own (default first), then COMMON_PRESETS for this image."""
    meta = _meta(study_or_meta)
    if frame is None and isinstance(study_or_meta, Study):
        frame = study_or_meta.frames[0]
    own: list[Window] = [*meta.window_presets, *meta.voi_luts]
    if meta.source_format in RASTER_FORMATS and meta.bits_stored == 8:
        own.insert(0, FULL_RANGE_8BIT)
    if frame is None:
        return tuple(own)
    sample = _sample(frame)
    integer = _is_integer_valued(sample)
    pcts = []
    for p in COMMON_PRESETS:  # brightness percentiles -> stored-value percentiles
        pcts += [100.0 - p.high_pct, 100.0 - p.low_pct] if meta.inverted else [p.low_pct, p.high_pct]
    values = np.percentile(sample, pcts)
    computed = [
        window_from_range(float(values[2 * i]), float(values[2 * i + 1]), p.name, integer)
        for i, p in enumerate(COMMON_PRESETS)
    ]
    return (*own, *computed)


def window_range(meta: StudyMetadata, frame: np.ndarray) -> tuple[float, float, float, float]:
    """(min_width, max_width, min_center, max_center) for interactive window/level.

    Widths from 1 (integer data; 1/1000 of the range for float data) to twice the data range;
    centers from half a range below the minimum to half a range above the maximum; widened to
    include the file's own windows.
    """
    sample = _sample(frame)
    src = _as_frame(frame)
    lo, hi = cv2.minMaxLoc(src)[:2]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = float(sample.min()), float(sample.max())
    span = hi - lo if hi > lo else max(abs(lo), 1.0)
    min_width = 1.0 if _is_integer_valued(sample) and span >= 2 else span / 1000.0
    max_width, min_center, max_center = 2.0 * span, lo - span / 2, hi + span / 2
    for p in meta.window_presets:
        max_width = max(max_width, p.width)
        min_center, max_center = min(min_center, p.center), max(max_center, p.center)
    return float(min_width), float(max_width), float(min_center), float(max_center)


# --- rendering ------------------------------------------------------------------------------------


def _render_linear(src: np.ndarray, center: float, width: float, exact: bool, inverted: bool) -> np.ndarray:
    if exact:
        c, w = center, width
    else:  # LINEAR: width >= 1 by definition (PS3.3 C.11.2.1.2.1); narrower is clamped to 1
        c, w = center - 0.5, max(width, 1.0) - 1.0
    if not w > 0:  # a step at c
        out = np.where(src > c, np.uint8(255), np.uint8(0))
        return 255 - out if inverted else out
    alpha = 255.0 / w
    beta = (0.5 - c / w) * 255.0
    if inverted:
        alpha, beta = -alpha, 255.0 - beta
    return cv2.addWeighted(src, alpha, src, 0.0, beta, dtype=cv2.CV_8U)


def _render_sigmoid(src: np.ndarray, center: float, width: float, inverted: bool) -> np.ndarray:
    k = -4.0 / max(width, 1e-12)
    if inverted:  # 255 - 255 / (1 + e^t) == 255 / (1 + e^-t)
        k = -k
    t = cv2.addWeighted(src, k, src, 0.0, -k * center)
    np.minimum(t, 80.0, out=t)  # exp stays finite in float32
    cv2.exp(t, t)
    t += np.float32(1.0)
    return cv2.divide(255.0, t, dtype=cv2.CV_8U)


def voi_lut_table(window: VoiLut, inverted: bool) -> np.ndarray:
    """The VOI LUT as a 65,536-entry uint8 table indexed by (value - first_mapped), clamped."""
    lut = np.asarray(window.lut, dtype=np.float64)
    top = max(float(2 ** int(window.bits) - 1), float(lut.max()) if lut.size else 1.0, 1.0)
    lut8 = np.clip(np.rint(lut * (255.0 / top)), 0, 255).astype(np.uint8)[:65536]
    if inverted:
        lut8 = 255 - lut8
    table = np.empty(65536, dtype=np.uint8)
    table[: lut8.size] = lut8
    table[lut8.size :] = lut8[-1] if lut8.size else 0
    return table


def _render_voi_lut(src: np.ndarray, window: VoiLut, inverted: bool) -> np.ndarray:
    index = cv2.addWeighted(src, 1.0, src, 0.0, -float(window.first_mapped), dtype=cv2.CV_16U)
    return voi_lut_table(window, inverted)[index]


def render(frame: np.ndarray, meta: StudyMetadata, window: Window | None = None) -> np.ndarray:
    """uint8 (H, W) display image of one frame, bones bright; ``window=None`` = the default."""
    src = _as_frame(frame)
    if window is None:
        window = default_window(meta, src)
    if isinstance(window, VoiLut):
        return _render_voi_lut(src, window, meta.inverted)
    function = (window.function or "LINEAR").upper()
    if function == "SIGMOID":
        return _render_sigmoid(src, float(window.center), float(window.width), meta.inverted)
    exact = function == "LINEAR_EXACT"
    return _render_linear(src, float(window.center), float(window.width), exact, meta.inverted)


def render_default(study: Study, index: int = 0) -> np.ndarray:
    """The frame at the study's default window (one per series, see the module docstring): what the
    radiologist sees first and the model's input."""
    return render(study.frames[index], study.meta, default_window(study))


def thumbnail_u8(grey: object, side: int, of_shape: tuple[int, int] | None = None) -> np.ndarray | None:
    """A grey uint8 image shrunk to ``side`` px on its longest side (area average), C-contiguous and
    owning its memory; None for anything that is not a non-empty 2-D uint8 array. ``of_shape``: the (rows,
    columns) of the image ``grey`` is itself a shrunk copy of (the thumbnail then has the size it would
    have had from that image)."""
    if not isinstance(grey, np.ndarray) or grey.ndim != 2 or grey.dtype != np.uint8 or grey.size == 0:
        return None
    h, w = of_shape if of_shape is not None and min(of_shape) > 0 else grey.shape
    scale = min(1.0, side / max(h, w))  # never enlarged
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (grey.shape[1], grey.shape[0]):
        return np.array(grey, order="C", copy=True)
    return np.ascontiguousarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA))
