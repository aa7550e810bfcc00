"""What kind of file is this? Decided from the name and the first 132 bytes, without importing pydicom.

Used by "open folder" on the GUI thread (it must stay cheap) and by :func:`viewer.core.io.load_study`.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from viewer.core.io.raster import sniff_raster

SUPPORTED_SUFFIXES = (".dcm", ".dicom", ".png", ".jpg", ".jpeg", ".tif", ".tiff", "")
_EXPLICIT_VRS = {
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB", b"OD",
    b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM", b"UC", b"UI",
    b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
}  # fmt: skip
OTHER_FORMATS = {
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
