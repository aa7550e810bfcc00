"""The study object: pixels in modality units plus frozen metadata.

``viewer.core.io.load_study(path)`` returns a :class:`Study`. Everything here is plain data
(frozen dataclasses and numpy arrays), so the GUI, the CLI, the training package and the frozen
self-test can all share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np


class SpacingSource(str, Enum):
    """Where a pixel spacing comes from (OHIF/Cornerstone convention)."""

    DETECTOR = "detector plane"  # ImagerPixelSpacing only, or PixelSpacing == ImagerPixelSpacing
    CALIBRATED = "calibrated"  # PixelSpacing differs from ImagerPixelSpacing
    UNKNOWN = "unknown"  # PixelSpacing alone: unknown whether at detector or patient
    NONE = "none"  # nothing usable (absent, or zeros such as 0.000\0.000): measure in pixels


@dataclass(frozen=True)
class PixelSpacing:
    row_mm: float | None  # spacing between rows (vertical), mm
    col_mm: float | None  # spacing between columns (horizontal), mm
    source: SpacingSource = SpacingSource.NONE

    @property
    def usable(self) -> bool:
        return self.source is not SpacingSource.NONE and bool(self.row_mm) and bool(self.col_mm)


@dataclass(frozen=True)
class WindowPreset:
    center: float
    width: float
    name: str = ""  # e.g. the file's WindowCenterWidthExplanation, "Auto", "Lung"
    function: str = "LINEAR"  # LINEAR | LINEAR_EXACT | SIGMOID


@dataclass(frozen=True)
class VoiLut:
    """A VOI LUT Sequence item: output = lut[clip(value - first_mapped, 0, len-1)]."""

    first_mapped: float
    lut: np.ndarray = field(repr=False)  # 1-D array of output values
    bits: int = 16  # LUT Descriptor's third value: output bit depth
    name: str = ""


@dataclass(frozen=True)
class PatientInfo:
    name: str = ""
    id: str = ""
    sex: str = ""
    birth_date: str = ""  # ISO 8601 YYYY-MM-DD (read from DICOM DA), or "" when absent or unreadable
    age: str = ""  # DICOM AS as found, e.g. "004Y", or ""
    age_years: float | None = None  # from PatientAge, else birth date and study date


@dataclass(frozen=True)
class StudyInfo:
    date: str = ""  # ISO 8601 YYYY-MM-DD (read from DICOM DA / DT), or "" when absent or unreadable
    time: str = ""  # ISO 8601 HH:MM:SS[.ffffff] (read from DICOM TM / DT), or ""
    description: str = ""
    series_description: str = ""
    modality: str = ""
    body_part: str = ""
    view_position: str = ""  # AP, PA, LL, LATERAL ...
    laterality: str = ""
    institution: str = ""
    sop_class: str = ""
    accession: str = ""


@dataclass(frozen=True)
class StudyMetadata:
    patient: PatientInfo
    study: StudyInfo
    source_format: str  # "DICOM", "DICOM (no file meta)", "PNG", "JPEG", "TIFF"
    transfer_syntax: str  # e.g. "JPEG 2000 Image Compression (Lossless Only)"; "" for non-DICOM
    photometric: str  # MONOCHROME1, MONOCHROME2, RGB, PALETTE COLOR, YBR_FULL ...
    bits_allocated: int
    bits_stored: int
    rows: int
    columns: int
    n_frames: int
    presentation_lut_shape: str = ""  # IDENTITY | INVERSE | ""
    window_presets: tuple[WindowPreset, ...] = ()  # the file's own windows, first = default
    voi_luts: tuple[VoiLut, ...] = ()  # VOI LUT Sequence items, first = default if no window
    pixel_spacing: PixelSpacing = PixelSpacing(None, None)
    was_colour: bool = False  # converted to grey on load
    notices: tuple[str, ...] = ()  # human-readable notices (colour converted, frame count...)
    raw_tags: tuple[tuple[str, str, str, str], ...] = ()  # (tag "(0010,0010)", keyword, VR, value text)

    @property
    def inverted(self) -> bool:
        """True when the stored values must be inverted to show bones bright.

        MONOCHROME1 means "the minimum value is white" (PS3.3 C.7.6.3.1.2). Presentation LUT Shape
        INVERSE on a MONOCHROME1 image restates that same inversion (the DX IOD requires INVERSE with
        MONOCHROME1 and IDENTITY with MONOCHROME2, PS3.3 C.8.11.6.1.2): it does not cancel it. On a
        MONOCHROME2 image INVERSE does invert (as pydicom's apply_presentation_lut does).
        """
        return self.photometric == "MONOCHROME1" or self.presentation_lut_shape == "INVERSE"


@dataclass(frozen=True)
class Study:
    path: str
    frames: tuple[np.ndarray, ...] = field(repr=False)  # float32 (rows, cols), modality units
    meta: StudyMetadata

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    def frame(self, index: int = 0) -> np.ndarray:
        return self.frames[index]
