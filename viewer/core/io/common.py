"""Limits and helpers shared by the DICOM and raster readers."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import cv2
import numpy as np

from viewer.core.errors import ImageTooLargeError

DEFAULT_MAX_PIXELS = 100_000_000  # rows * columns * frames * samples, checked before decoding
MAX_SIDE = 16_384  # pixels per side


def check_dimensions(
    path: str | Path,
    rows: int,
    columns: int,
    frames: int = 1,
    samples: int = 1,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> None:
    """Raise ImageTooLargeError for absurd sizes; call it before anything is decoded or allocated."""
    total = rows * columns * frames * samples
    if rows <= MAX_SIDE and columns <= MAX_SIDE and total <= max_pixels:
        return
    frames_text = f" x {frames} frames" if frames > 1 else ""
    raise ImageTooLargeError(
        f"The image claims to be {columns} x {rows} pixels{frames_text} ({total / 1e6:,.0f} million "
        f"values), more than this viewer opens ({max_pixels / 1e6:,.0f} million values, at most "
        f"{MAX_SIDE} pixels per side). The file is probably damaged.",
        path,
    )


def short_detail(exc: BaseException, limit: int = 160) -> str:
    """An exception's text on one line, shortened, for the technical part of a message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def value_range(values: np.ndarray, notices: list[str]) -> tuple[float, float] | None:
    """(min, max) of the pixel values; NaN / infinity (float data) are replaced in place first.

    NaN becomes the lowest finite value, +inf the highest, -inf the lowest, with a notice, so
    windowing (OpenCV saturating casts) and percentiles behave. ``values`` must be writeable then.
    """
    lo, hi = float(values.min()), float(values.max())  # NaN and inf propagate to min / max
    if math.isfinite(lo) and math.isfinite(hi):
        return lo, hi
    finite = np.isfinite(values)
    if finite.any():
        lo, hi = float(values[finite].min()), float(values[finite].max())
    else:
        lo = hi = 0.0
    np.nan_to_num(values, copy=False, nan=lo, posinf=hi, neginf=lo)
    notices.append(
        "Some pixel values are not numbers (NaN or infinite): shown as the lowest or highest value."
    )
    return lo, hi


def _configure_decoders() -> None:
    """Process-wide decoder settings, made once at import instead of being toggled around every decode
    (toggling global state from the loader's worker threads raced: a filter or log level could stick).

    - OpenCV's own log output is silenced: every decode failure is detected from its return value and
      becomes a named error with a readable message.
    - OpenJPEG decodes code-blocks on all cores (read per decoder instance).
    - pydicom and the pylibjpeg plugins warn about every odd header value; the study's notices carry what
      matters, so their warnings are not shown.
    """
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    os.environ.setdefault("OPJ_NUM_THREADS", "ALL_CPUS")
    warnings.filterwarnings("ignore", module=r"(pydicom|pylibjpeg|openjpeg|libjpeg|rle|viewer\.core\.io)")


_configure_decoders()
