"""Open a study file: the one front door for the GUI, the CLI, training and the self-test.

``load_study(path)`` returns a :class:`~viewer.core.study.Study` (float32 frames in modality
units plus frozen metadata) or raises a :class:`~viewer.core.errors.StudyError` subclass whose
message a radiologist can read. Nothing else escapes: decoder exceptions of any kind
(``ValueError``, ``RuntimeError``, ``RecursionError``...) become ``CorruptPixelDataError`` at this
boundary and ``MemoryError`` becomes ``ImageTooLargeError``.

The format is decided from the file's first bytes, not its name: ``DICM`` at offset 128 (DICOM),
the PNG / JPEG / TIFF signatures, else an attempt to read DICOM without preamble (ACR-NEMA style).
"""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

from viewer.core.errors import (
    CorruptPixelDataError,
    ImageTooLargeError,
    NotAnImageError,
    StudyError,
)
from viewer.core.io_common import DEFAULT_MAX_PIXELS, MAX_SIDE, short_detail
from viewer.core.io_dicom import load_dicom
from viewer.core.io_raster import RASTER_SUFFIXES, load_raster, sniff_raster
from viewer.core.study import Study

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_SIDE",
    "SUPPORTED_SUFFIXES",
    "is_probably_study",
    "load_study",
    "sniff_format",
]

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".dcm", ".dicom", ".png", ".jpg", ".jpeg", ".tif", ".tiff", "")
_EXPLICIT_VRS = {
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB", b"OD",
    b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM", b"UC", b"UI",
    b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
}  # fmt: skip
_OTHER_FORMATS = {
    b"\x1f\x8b": "a gzip-compressed file: unpack it first",
    b"PK\x03\x04": "a ZIP archive: extract it first",
    b"%PDF": "a PDF document",
    b"GIF8": "a GIF image, which this viewer does not open",
    b"BM": "a BMP image, which this viewer does not open",
}


def _looks_like_acr_nema(head: bytes) -> bool:
    """A DICOM data set without preamble: first tag in groups 0002-0028, then a VR or a length."""
    if len(head) < 8:
        return False
    for order in ("<", ">"):
        group, element = struct.unpack(order + "HH", head[:4])
        if not (0x0002 <= group <= 0x0028 and group % 2 == 0 and element < 0x1000):
            continue
        if head[4:6] in _EXPLICIT_VRS:
            return True
        (length,) = struct.unpack(order + "I", head[4:8])
        if length < 0x10000 or length == 0xFFFFFFFF:
            return True
    return False


def sniff_format(head: bytes) -> str:
    """The format from the first 132 bytes: DICOM, PNG, JPEG, TIFF, ACR-NEMA (DICOM without
    preamble) or an empty string when unrecognised."""
    if head[128:132] == b"DICM":
        return "DICOM"
    raster = sniff_raster(head)
    if raster:
        return raster
    return "ACR-NEMA" if _looks_like_acr_nema(head) else ""


def is_probably_study(path: str | os.PathLike[str]) -> bool:
    """Cheap check for "open folder": known suffix, DICOM/PNG/JPEG/TIFF signature or ACR-NEMA header."""
    try:
        p = Path(path)
        if p.name.upper() == "DICOMDIR" or p.name.startswith(".") or not p.is_file():
            return False
        if p.suffix.lower() in SUPPORTED_SUFFIXES[:-1]:
            return True
        with open(p, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return bool(sniff_format(head))


def _not_an_image(path: Path, head: bytes) -> NotAnImageError:
    for magic, what in _OTHER_FORMATS.items():
        if head.startswith(magic):
            return NotAnImageError(f"This is {what}, not a DICOM, PNG, JPEG or TIFF image.", path)
    if not head:
        return NotAnImageError("The file is empty.", path)
    return NotAnImageError("The file is neither DICOM nor a PNG, JPEG or TIFF image.", path)


def _load(path: Path, max_pixels: int) -> Study:
    try:
        if not path.is_file():
            raise StudyError("The file does not exist or is not a regular file.", path)
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError as exc:
        raise StudyError(f"The file cannot be read ({exc.strerror or exc}).", path) from None
    if not head:
        raise _not_an_image(path, head)  # "The file is empty."
    fmt = sniff_format(head)
    if fmt in ("DICOM", "ACR-NEMA"):
        return load_dicom(path, max_pixels=max_pixels)
    if fmt:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StudyError(f"The file cannot be read ({exc.strerror or exc}).", path) from None
        return load_raster(path, data, fmt, max_pixels=max_pixels)
    if path.suffix.lower() in RASTER_SUFFIXES:
        raise CorruptPixelDataError(
            f"The file is named like a {RASTER_SUFFIXES[path.suffix.lower()]} image but its content is "
            "not one: it is damaged or of another type.",
            path,
        )
    if path.suffix.lower() in (".dcm", ".dicom"):
        # Named like DICOM: let pydicom try (it decides between junk and a header-less data set).
        return load_dicom(path, max_pixels=max_pixels)
    raise _not_an_image(path, head)


def load_study(path: str | os.PathLike[str], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Study:
    """Open a DICOM, PNG, JPEG or TIFF file.

    ``max_pixels`` limits rows * columns * frames * samples (checked from the header, before
    decoding); a side longer than ``MAX_SIDE`` is refused too. Raises only ``StudyError`` subclasses.
    """
    p = Path(path)
    try:
        return _load(p, max_pixels)  # decoder warnings: see io_common._configure_decoders
    except StudyError:
        raise
    except MemoryError:
        raise ImageTooLargeError("There is not enough memory to open this image.", p) from None
    except RecursionError:
        raise CorruptPixelDataError("The file's structure is damaged (nested too deeply).", p) from None
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # the boundary: no decoder exception escapes (pyo3 panics included)
        log.debug("load_study(%s) failed", p, exc_info=True)
        raise CorruptPixelDataError(
            f"The file is damaged and cannot be opened ({type(exc).__name__}: {short_detail(exc)}).", p
        ) from None
