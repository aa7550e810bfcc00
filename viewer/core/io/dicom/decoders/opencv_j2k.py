"""JPEG 2000 through OpenCV's OpenJPEG: decodes code-blocks on several threads (``OPJ_NUM_THREADS``,
set in ``viewer.core.io.common``), while pylibjpeg-openjpeg 2.x exposes no thread option.

Only single-component unsigned 16-bit-allocated codestreams whose SIZ marker agrees with the DICOM header;
anything else returns None and pydicom decodes it. Verified bit-exact against pydicom in the tests.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames

from viewer.core.io.dicom.geometry import Geometry

DECODER_DEPENDENCIES = {
    "1.2.840.10008.1.2.4.90": ("opencv-python-headless",),  # JPEG 2000 Image Compression (Lossless Only)
    "1.2.840.10008.1.2.4.91": ("opencv-python-headless",),  # JPEG 2000 Image Compression
}


def is_available(uid: str) -> bool:
    """True for the JPEG 2000 syntaxes (OpenCV is a hard dependency; a build without OpenJPEG makes
    ``decode`` return None, so pydicom decodes)."""
    return uid in DECODER_DEPENDENCIES


def j2k_siz(codestream: bytes) -> tuple[int, int, int, int, bool] | None:
    """(rows, columns, components, precision, signed) from a raw J2K codestream's SIZ marker."""
    if len(codestream) < 45 or codestream[:4] != b"\xff\x4f\xff\x51":
        return None
    xsiz, ysiz, xosiz, yosiz = struct.unpack(">4I", codestream[8:24])
    (csiz,) = struct.unpack(">H", codestream[40:42])
    if csiz < 1 or len(codestream) < 42 + 3 * csiz:
        return None
    ssiz = codestream[42]
    return ysiz - yosiz, xsiz - xosiz, csiz, (ssiz & 0x7F) + 1, bool(ssiz & 0x80)


def eligible(geom: Geometry) -> bool:
    return (
        geom.samples == 1
        and geom.pixel_representation == 0
        and geom.bits_allocated == 16
        and not geom.float_data
    )


def decode(ds: Dataset, geom: Geometry) -> np.ndarray | None:
    """All frames via cv2.imdecode, or None when any frame is not a plain unsigned grey codestream."""
    if not eligible(geom):
        return None
    out = np.empty((geom.frames, geom.rows, geom.columns), dtype=np.uint16)
    count = 0
    try:
        for frame in generate_frames(ds.PixelData, number_of_frames=geom.frames):
            siz = j2k_siz(frame) if count < geom.frames else None
            if siz is None or siz[:3] != (geom.rows, geom.columns, 1) or siz[4] or not 8 < siz[3] <= 16:
                return None
            decoded = cv2.imdecode(np.frombuffer(frame, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
            if decoded is None or decoded.dtype != np.uint16 or decoded.shape != (geom.rows, geom.columns):
                return None
            out[count] = decoded
            count += 1
    except Exception:  # noqa: BLE001 - any failure here hands the data set to pydicom
        return None
    return out if count == geom.frames else None
