"""Corrupt files from the fuzz corpus, rebuilt with pydicom (issue #15 item 9). A plain module (like
``shared_data.py``), shared by tests/core and tests/gui."""

from __future__ import annotations

import struct

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ComputedRadiographyImageStorage, RLELossless, generate_uid

# The high-byte segment repeats its value 12 times into an 8-pixel frame.
PANIC_SEGMENTS = (b"\xf5\x07", b"\xf9\x01")


def rle_frame(*segments: bytes) -> bytes:
    offsets, at = [], 64
    for seg in segments:
        offsets.append(at)
        at += len(seg)
    header = struct.pack("<16I", len(segments), *offsets, *([0] * (15 - len(segments))))
    return header + b"".join(segments)


def panicking_rle_dicom(path):
    """2 x 4 pixels, 16-bit RLE: the high-byte segment repeats its value 12 times into an 8-pixel frame.
    pylibjpeg-rle checks ``idx + 12 <= 16`` but writes every second byte, so it writes past the end."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = RLELossless
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = ComputedRadiographyImageStorage, generate_uid(), "CR"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 2, 4, 1
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = encapsulate([rle_frame(*PANIC_SEGMENTS)])
    ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)
    return path
