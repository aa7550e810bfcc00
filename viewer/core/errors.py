"""Named errors for study files that cannot be shown.

Every error carries a message written for a radiologist (no traceback, no jargon beyond what
a PACS user knows). The GUI and the CLI show ``str(error)``; ``error.path`` names the file.
"""

from __future__ import annotations

from pathlib import Path


class StudyError(Exception):
    """Base class: a file that cannot be opened as an image study."""

    title = "Cannot open file"

    def __init__(self, message: str, path: str | Path | None = None):
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None

    def __str__(self) -> str:
        if self.path is not None:
            return f"{self.path.name}: {self.message}"
        return self.message


class NotAnImageError(StudyError):
    """Neither DICOM nor a supported image format (PNG, JPEG, TIFF)."""

    title = "Not an image file"


class NoImageInDicomError(StudyError):
    """A valid DICOM object without pixel data (SR, RT Plan/Struct/Dose, ECG, DICOMDIR...)."""

    title = "DICOM file contains no image"


class UnsupportedCompressionError(StudyError):
    """Pixel data in a transfer syntax we cannot decode (names the decoder that is missing)."""

    title = "Unsupported compression"


class CorruptPixelDataError(StudyError):
    """Truncated or undecodable pixel data, or inconsistent image attributes."""

    title = "Damaged image data"


class ImageTooLargeError(StudyError):
    """Absurd dimensions (decompression-bomb guard), rejected before any allocation."""

    title = "Image too large"


__all__ = [
    "StudyError",
    "NotAnImageError",
    "NoImageInDicomError",
    "UnsupportedCompressionError",
    "CorruptPixelDataError",
    "ImageTooLargeError",
]
