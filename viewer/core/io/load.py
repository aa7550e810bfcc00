"""Open a study file: the one front door for the GUI, the CLI, training and the self-test.

``load_study(path)`` returns a :class:`~viewer.core.study.Study` (float32 frames in modality
units plus frozen metadata) or raises a :class:`~viewer.core.errors.StudyError` subclass whose
message a radiologist can read. Nothing else escapes: decoder exceptions of any kind
(``ValueError``, ``RuntimeError``, ``RecursionError``...) become ``CorruptPixelDataError`` at this
boundary and ``MemoryError`` becomes ``ImageTooLargeError``.

The format is decided from the file's first bytes, not its name: ``DICM`` at offset 128 (DICOM),
the PNG / JPEG / TIFF signatures, else an attempt to read DICOM without preamble (ACR-NEMA style).

``load_for_model(path, min_side=N)`` is the batch triage's door: the same study, possibly decoded at a
reduced resolution that the model (224 x 224) cannot tell from the full one - a grey JPEG by libjpeg's scaled
inverse DCT to a shorter side >= N (the triage's ``MODEL_DECODE_MIN_SIDE``), a single-frame JPEG 2000 DICOM through its
reduced wavelet level (:func:`viewer.core.io.dicom.preview.load_preview`). Its frames are for scoring only,
never for display or measuring; the viewer and the AI panel use ``load_study``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from viewer.core.errors import (
    CorruptPixelDataError,
    ImageTooLargeError,
    NotAnImageError,
    StudyError,
)
from viewer.core.io.common import DEFAULT_MAX_PIXELS, short_detail
from viewer.core.io.dicom.read import load_dicom, read_header
from viewer.core.io.raster import RASTER_SUFFIXES, load_raster
from viewer.core.io.sniff import OTHER_FORMATS, sniff_format
from viewer.core.study import Study, StudyMetadata

__all__ = ["load_for_model", "load_header", "load_study"]


log = logging.getLogger(__name__)
T = TypeVar("T")


def _not_an_image(path: Path, head: bytes) -> NotAnImageError:
    for magic, what in OTHER_FORMATS.items():
        if head.startswith(magic):
            return NotAnImageError(f"This is {what}, not a DICOM, PNG, JPEG or TIFF image.", path)
    if not head:
        return NotAnImageError("The file is empty.", path)
    return NotAnImageError("The file is neither DICOM nor a PNG, JPEG or TIFF image.", path)


def _load(path: Path, max_pixels: int, min_side: int | None = None) -> Study:
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
        return load_raster(path, data, fmt, max_pixels=max_pixels, min_side=min_side)
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
    return _boundary(p, lambda: _load(p, max_pixels))  # decoder warnings: io.common._configure_decoders


def load_for_model(
    path: str | os.PathLike[str],
    *,
    min_side: int,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Study:
    """Open a study for the model only, at a reduced resolution where that is much cheaper to decode.

    ``Study.meta`` is what :func:`load_study` gives (full rows and columns); a frame may be smaller:

    - a grey 8-bit DCT JPEG: decoded at 1/2, 1/4 or 1/8 keeping the shorter side >= ``min_side``
      (the caller's bound: the batch triage keeps 4 model inputs,
      :data:`viewer.core.model.triage.MODEL_DECODE_MIN_SIDE`);
    - a single-frame grey JPEG 2000 / HTJ2K DICOM: its smallest reduced resolution level whose shorter
      side is still >= ``min_side`` (:func:`viewer.core.io.dicom.preview.load_preview`);
    - anything else: exactly ``load_study``.

    Raises only ``StudyError`` subclasses (the full load's, for the same files).
    """
    p = Path(path)
    side = max(int(min_side), 1)

    def load() -> Study:
        try:
            with open(p, "rb") as f:
                head = f.read(132)
        except OSError:
            head = b""  # the full load names the problem
        if sniff_format(head) in ("DICOM", "ACR-NEMA") or p.suffix.lower() in (".dcm", ".dicom"):
            from viewer.core.io.dicom.preview import load_preview  # noqa: PLC0415 - Pillow: ~0.3 s

            preview = load_preview(p, max_side=side, max_pixels=max_pixels)
            if preview is not None and min(preview.frames[0].shape) >= side:
                return preview
        return _load(p, max_pixels, side)

    return _boundary(p, load)


def load_header(path: str | os.PathLike[str]) -> StudyMetadata:
    """The metadata of a DICOM image file without decoding its pixels (to describe a file whose pixel
    data is damaged). Raises only ``StudyError`` subclasses; ``NotAnImageError`` for non-DICOM files."""
    p = Path(path)

    def read() -> StudyMetadata:
        try:
            with open(p, "rb") as f:
                head = f.read(132)
        except OSError as exc:
            raise StudyError(f"The file cannot be read ({exc.strerror or exc}).", p) from None
        if sniff_format(head) not in ("DICOM", "ACR-NEMA") and p.suffix.lower() not in (".dcm", ".dicom"):
            raise _not_an_image(p, head)
        return read_header(p)

    return _boundary(p, read)


def _boundary(p: Path, work: Callable[[], T]) -> T:
    """Run ``work``; let only ``StudyError`` subclasses out (see the module docstring)."""
    try:
        return work()
    except StudyError:
        raise
    except MemoryError:
        raise ImageTooLargeError("There is not enough memory to open this image.", p) from None
    except RecursionError:
        raise CorruptPixelDataError("The file's structure is damaged (nested too deeply).", p) from None
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # the boundary: no decoder exception escapes (pyo3 panics included)
        log.debug("reading %s failed", p, exc_info=True)
        raise CorruptPixelDataError(
            f"The file is damaged and cannot be opened ({type(exc).__name__}: {short_detail(exc)}).", p
        ) from None
