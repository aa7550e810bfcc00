"""Writing report files: DICOM datasets to bytes, and a set of files written atomically, never replacing
a file nobody agreed to replace."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

from pydicom.dataset import Dataset

from viewer.core.files import write_atomic

_TEXT_VRS = frozenset({"PN", "LO", "SH", "ST", "LT", "UT", "UC"})
_FOLD = {"°": " degrees", "·": "-", "…": "...", "–": "-", "—": "-"}


def plain(text: str) -> str:
    """Report text for DICOM strings: the few typographic characters of the footer in ASCII, so that the
    default character set serves unless a patient's name needs more."""
    for a, b in _FOLD.items():
        text = text.replace(a, b)
    return text


def set_character_set(ds: Dataset) -> None:
    """Specific Character Set: UTF-8 (ISO_IR 192) only when a text value needs it, else the default."""
    needs = any(elem.VR in _TEXT_VRS and not str(elem.value).isascii() for elem in ds.iterall())
    if needs:
        ds.SpecificCharacterSet = "ISO_IR 192"
    elif "SpecificCharacterSet" in ds:
        del ds.SpecificCharacterSet


def dicom_bytes(ds: Dataset) -> bytes:
    """The Part 10 file of ``ds`` (preamble, file meta, the transfer syntax it was built with)."""
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def existing(paths) -> list[Path]:
    return [Path(p) for p in paths if Path(p).exists()]


def write_files(files: Mapping[Path, bytes] | Mapping[str, bytes], *, overwrite: bool = False) -> list[Path]:
    """Write every file atomically. Without ``overwrite`` nothing is written if any target exists
    (checked for all first, then again by each atomic write, in case one appeared meanwhile)."""
    if not overwrite:
        clash = existing(files)
        if clash:
            raise FileExistsError(f"{clash[0]} already exists")
    return [write_atomic(path, data, overwrite=overwrite) for path, data in files.items()]


__all__ = ["dicom_bytes", "existing", "plain", "set_character_set", "write_files"]
