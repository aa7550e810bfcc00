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


class CollectionError(StudyError):
    """A folder, DICOMDIR or ZIP archive (or one of its entries) that cannot be opened as a whole."""

    title = "Cannot open the collection"


class UnsafeArchiveEntryError(CollectionError):
    """A ZIP entry or DICOMDIR reference that points outside its medium (``../``, an absolute path,
    a drive letter) or is a symbolic link: refused, never written or read."""

    title = "Unsafe entry refused"


class ArchiveTooLargeError(CollectionError):
    """A ZIP archive whose content would expand beyond the limits (too many files, too many bytes,
    an implausible compression ratio): a zip bomb, or simply too big to unpack."""

    title = "Archive too large"


class DamagedArchiveError(CollectionError):
    """A ZIP archive or DICOMDIR that cannot be read (truncated, encrypted, wrong checksum)."""

    title = "Damaged archive or DICOMDIR"


class MissingReferencedFileError(CollectionError):
    """A DICOMDIR names a file that is not on the medium."""

    title = "File listed in DICOMDIR is missing"


class DuplicateStudyError(StudyError):
    """The same image (same SOP Instance UID, or the same bytes for PNG/JPEG/TIFF) was found twice:
    the second copy is skipped. A notice, not a failure."""

    title = "Duplicate image skipped"


class ConflictingCopiesError(StudyError):
    """Two files claim the same SOP Instance UID but differ in content (another encoding, or a damaged
    copy): both are kept, since choosing one unseen could drop the good one. A notice."""

    title = "Same image identifier, different content"


__all__ = [
    "StudyError",
    "NotAnImageError",
    "NoImageInDicomError",
    "UnsupportedCompressionError",
    "CorruptPixelDataError",
    "ImageTooLargeError",
    "CollectionError",
    "UnsafeArchiveEntryError",
    "ArchiveTooLargeError",
    "DamagedArchiveError",
    "MissingReferencedFileError",
    "DuplicateStudyError",
    "ConflictingCopiesError",
]
