"""PNG / JPEG / TIFF -> :class:`~viewer.core.study.Study` through OpenCV.

The file is read into memory by Python and decoded with ``cv2.imdecode`` (so non-ASCII Windows
paths work), ``IMREAD_UNCHANGED`` to keep 16-bit samples. The size is read from the file header
first and checked against the limit before OpenCV allocates anything (decompression bombs).
EXIF orientation is not applied (``IMREAD_UNCHANGED`` ignores it): pixels are shown as stored.

``load_raster(..., min_side=N)`` is the reduced decode for the model (:func:`viewer.core.io.load_for_model`):
an 8-bit grey DCT JPEG (baseline, extended or progressive) is decoded at 1/2, 1/4 or 1/8 of its size by
libjpeg's scaled inverse DCT (``cv2.IMREAD_REDUCED_GRAYSCALE_*``, EXIF orientation still ignored), the
largest reduction whose shorter side stays >= N. The metadata stays that of the full image (rows and
columns included), as for the JPEG 2000 preview. Every other file is decoded in full: a 3-component JPEG
too, since only its full decode tells a colour image from grey stored as colour (the AI gate withholds
colour, and a scaled decode could drop faint chroma detail).

Colour becomes grey with ITU-R BT.601 luma (``cv2.COLOR_BGR2GRAY`` weights) and a notice. An image
stored as colour whose three channels are identical (most Kermany training JPEGs) is simply grey:
no conversion, no notice, the values unchanged.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import cv2
import numpy as np

from viewer.core.errors import CorruptPixelDataError
from viewer.core.io.common import DEFAULT_MAX_PIXELS, check_dimensions, value_range
from viewer.core.study import PatientInfo, PixelSpacing, SpacingSource, Study, StudyInfo, StudyMetadata

# Backstop behind the header check below: OpenCV reads this once, at its first decode.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(1 << 28))

RASTER_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}
# JPEG SOFn frame headers (C4 DHT, C8 JPG and CC DAC excluded) and F7 (JPEG-LS SOF55).
_SOF_MARKERS = frozenset(
    [*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0), 0xF7]
)
BGR_LUMA = np.array([0.114, 0.587, 0.299], dtype=np.float32)
# DCT frames libjpeg decodes at a reduced scale (SOF0 baseline, SOF1 extended, SOF2 progressive; Huffman)
_DCT_SOF = frozenset({0xC0, 0xC1, 0xC2})
_REDUCED_GREY = {
    2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
    4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
    8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
}


def sniff_raster(head: bytes) -> str:
    """The raster format ("PNG", "JPEG" or "TIFF") from the first bytes, or an empty string."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    return ""


# --- header sizes (no decoding) -------------------------------------------------------------------


def _png_size(data: bytes) -> tuple[int, int, int] | None:
    if len(data) < 26 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    colour_type = data[25]
    samples = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour_type, 4)
    return width, height, samples


def jpeg_size(data: bytes) -> tuple[int, int, int] | None:
    """(width, height, components) from a JPEG / JPEG-LS frame header, or None."""
    frame = jpeg_frame(data)
    return None if frame is None else frame[2:]


def jpeg_frame(data: bytes) -> tuple[int, int, int, int, int] | None:
    """(SOF marker, sample precision, width, height, components) from a JPEG / JPEG-LS frame header."""
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF_MARKERS and i + 10 <= n:
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return marker, data[i + 4], width, height, data[i + 9]
        if length < 2:
            return None
        i += 2 + length
    return None


def _tiff_size(data: bytes) -> tuple[int, int, int] | None:
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or len(data) < 16:
        return None
    (magic,) = struct.unpack(order + "H", data[2:4])
    if magic == 42:
        (offset,) = struct.unpack(order + "I", data[4:8])
        count_fmt, entry_size, value_at, count_size = "H", 12, 8, 2
    elif magic == 43:
        (offset,) = struct.unpack(order + "Q", data[8:16])
        count_fmt, entry_size, value_at, count_size = "Q", 20, 12, 8
    else:
        return None
    if offset + count_size > len(data):
        return None
    (count,) = struct.unpack(order + count_fmt, data[offset : offset + count_size])
    found: dict[int, int] = {}
    for k in range(min(count, 4096)):
        start = offset + count_size + k * entry_size
        entry = data[start : start + entry_size]
        if len(entry) < entry_size:
            break
        tag, kind = struct.unpack(order + "HH", entry[:4])
        fmt = {3: "H", 4: "I", 16: "Q"}.get(kind)
        if tag in (256, 257, 277) and fmt:
            (found[tag],) = struct.unpack(order + fmt, entry[value_at : value_at + struct.calcsize(fmt)])
    if 256 not in found or 257 not in found:
        return None
    return found[256], found[257], found.get(277, 1)


def header_size(data: bytes, fmt: str) -> tuple[int, int, int] | None:
    """(width, height, samples per pixel) from the header, or None when it cannot be read."""
    try:
        reader = {"PNG": _png_size, "JPEG": jpeg_size, "TIFF": _tiff_size}[fmt]
        return reader(data)
    except (struct.error, KeyError, IndexError):
        return None


def jpeg_reduction(data: bytes, min_side: int) -> int:
    """The reduced-decode scale denominator (1, 2, 4 or 8) for a JPEG: the largest that keeps the shorter
    side >= ``min_side`` (libjpeg rounds the scaled size up); 1 for anything but an 8-bit grey DCT JPEG."""
    try:
        frame = jpeg_frame(data)
    except (struct.error, IndexError):
        return 1
    if frame is None:
        return 1
    marker, precision, width, height, components = frame
    if marker not in _DCT_SOF or precision != 8 or components != 1 or min_side < 1:
        return 1
    factor = 1
    while factor < 8 and -(-min(width, height) // (2 * factor)) >= min_side:
        factor *= 2
    return factor


def _decode(data: bytes, flags: int) -> np.ndarray | None:
    try:
        img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    except cv2.error:
        return None
    return None if img is None or img.size == 0 else img


# --- decoding -------------------------------------------------------------------------------------


def _grey(img: np.ndarray, notices: list[str]) -> tuple[np.ndarray, bool]:
    """OpenCV's (H, W[, C]) BGR(A) array -> (float32 grey, was colour)."""
    if img.ndim == 2:
        return img.astype(np.float32), False
    channels = img.shape[2]
    if channels in (2, 4):
        notices.append("The image's transparency (alpha channel) is ignored.")
    if channels < 3:
        return img[:, :, 0].astype(np.float32), False
    b, g, r = img[:, :, 0], img[:, :, 1], img[:, :, 2]
    if np.array_equal(b, g) and np.array_equal(g, r):
        return b.astype(np.float32), False
    notices.append("Colour image converted to grey.")
    return np.ascontiguousarray(img[:, :, :3].astype(np.float32) @ BGR_LUMA), True


def load_raster(
    path: Path, data: bytes, fmt: str, *, max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int | None = None
) -> Study:
    """The image as a :class:`Study`. ``min_side``: the reduced decode for the model (module docstring):
    the frame may then be smaller than ``meta.rows`` x ``meta.columns``, its shorter side >= ``min_side``."""
    size = header_size(data, fmt)
    if size is None or size[0] < 1 or size[1] < 1:
        raise CorruptPixelDataError(f"The {fmt} image header is damaged: its size cannot be read.", path)
    width, height, samples = size
    check_dimensions(path, height, width, 1, max(samples, 1), max_pixels=max_pixels)
    if fmt == "JPEG" and data.find(b"\xff\xd9", max(data.rfind(b"\xff\xda"), 0)) < 0:
        raise CorruptPixelDataError("The JPEG image is truncated (its end marker is missing).", path)
    img = None
    factor = jpeg_reduction(data, min_side) if fmt == "JPEG" and min_side else 1
    if factor > 1:
        img = _decode(data, _REDUCED_GREY[factor] | cv2.IMREAD_IGNORE_ORIENTATION)
        if img is not None and img.shape[:2] != (-(-height // factor), -(-width // factor)):
            img = None  # anything unexpected: the full decode below (and its error messages)
    if img is None:
        img = _decode(data, cv2.IMREAD_UNCHANGED)
        if img is None:
            raise CorruptPixelDataError(
                f"The {fmt} image is damaged or truncated and cannot be decoded.", path
            )
        if img.shape[:2] != (height, width):
            raise CorruptPixelDataError(
                f"The {fmt} image decodes to {img.shape[1]} x {img.shape[0]} pixels, not the {width} x "
                f"{height} its header states: the file is damaged.",
                path,
            )
    notices: list[str] = []
    bits = int(img.dtype.itemsize * 8)
    floating = img.dtype.kind == "f"
    grey, was_colour = _grey(img, notices)
    del img
    if floating:  # a float TIFF may hold NaN / infinity; 8- and 16-bit integer samples cannot
        value_range(grey, notices)
    notices.append("Not a DICOM file: no patient or study data, no pixel spacing (measurements in pixels).")
    grey.setflags(write=False)
    meta = StudyMetadata(
        patient=PatientInfo(),
        study=StudyInfo(),
        source_format=fmt,
        transfer_syntax="",
        photometric="RGB" if was_colour else "MONOCHROME2",
        bits_allocated=bits,
        bits_stored=bits,
        rows=height,
        columns=width,
        n_frames=1,
        pixel_spacing=PixelSpacing(None, None, SpacingSource.NONE),
        was_colour=was_colour,
        notices=tuple(notices),
        raw_tags=(
            ("", "Format", "", fmt),
            ("", "Width", "", str(width)),
            ("", "Height", "", str(height)),
            ("", "Samples per pixel", "", str(samples)),
            ("", "Bits per sample", "", str(bits)),
        ),
    )
    return Study(path=str(path), frames=(grey,), meta=meta)
