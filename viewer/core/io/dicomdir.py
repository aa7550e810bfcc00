"""DICOMDIR: the index of a DICOM medium (CD, DVD, USB stick), PS3.10 section 8 and PS3.3 F.

The DICOMDIR sits at the root of the medium; each directory record that references a file names it by
Referenced File ID, a list of up to eight path components relative to that root. The IDs come from the
medium, so they are resolved defensively: a component that is empty, ``.``, ``..``, absolute or holds a
separator is refused, the resolved path must stay inside the root (symbolic links included), and a
missing file is reported by name. Media written on one system and mounted on another often differ in
case (``IMAGES/IM0001`` on disk as ``images/im0001``): a case-insensitive match is accepted.

Only IMAGE records are opened (SR, presentation states, waveforms... are not images); the record's
Referenced SOP Instance UID travels with the file so that de-duplication need not read it again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from viewer.core.errors import (
    DamagedArchiveError,
    MissingReferencedFileError,
    StudyError,
    UnsafeArchiveEntryError,
)

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"  # Media Storage Directory Storage
IMAGE_RECORD_TYPES = frozenset({"IMAGE"})
MAX_NAMED_MISSING = 3  # more missing files than this become one message


@dataclass(frozen=True)
class DicomdirRef:
    path: Path  # the referenced file, inside the medium's root
    file_id: str  # the Referenced File ID as written, components joined with "/"
    sop_instance_uid: str  # Referenced SOP Instance UID in File ("" if absent)


def is_dicomdir(path: Path, head: bytes = b"") -> bool:
    """Named DICOMDIR (PS3.10 requires the name), or a Part 10 file whose meta says Media Storage Directory."""
    if path.name.upper() == "DICOMDIR":
        return True
    return head[128:132] == b"DICM" and DICOMDIR_SOP_CLASS.encode() + b"\x00" in head


def _bad_component(c: str) -> bool:
    return c in ("", ".", "..") or any(sep in c for sep in ("/", "\\", ":", "\x00")) or os.path.isabs(c)


def _case_insensitive(root: Path, parts: list[str]) -> Path | None:
    here = root
    for part in parts:
        exact = here / part
        if exact.exists():
            here = exact
            continue
        try:
            match = next((p for p in here.iterdir() if p.name.casefold() == part.casefold()), None)
        except OSError:
            return None
        if match is None:
            return None
        here = match
    return here


def resolve_file_id(root: Path, parts: list[str], dicomdir: Path) -> Path:
    """The file a Referenced File ID names, inside ``root``; raises a named error otherwise."""
    file_id = "/".join(parts)
    if not parts or any(_bad_component(c) for c in parts):
        raise UnsafeArchiveEntryError(
            f"The DICOMDIR lists a file {file_id!r} outside the medium (an absolute path or '..'); it was skipped.",
            dicomdir,
        )
    found = _case_insensitive(root, parts)
    if found is None or not found.is_file():
        raise MissingReferencedFileError(
            f"The DICOMDIR lists {file_id}, which is not on the medium; it was skipped.", dicomdir
        )
    if not found.resolve().is_relative_to(root.resolve()):
        raise UnsafeArchiveEntryError(
            f"The DICOMDIR lists {file_id}, a link to a file outside the medium; it was skipped.", dicomdir
        )
    return found


def read_dicomdir(path: Path) -> tuple[list[DicomdirRef], list[StudyError]]:
    """The image files a DICOMDIR indexes (in record order) and the problems met. Never raises for a bad file."""
    import pydicom  # noqa: PLC0415 - only when a DICOMDIR is opened (keeps "open folder" light)

    try:
        ds = pydicom.dcmread(path, force=True)
        records = ds.get("DirectoryRecordSequence")
    except Exception as exc:  # noqa: BLE001 - any parser failure is "damaged" for the user
        return [], [DamagedArchiveError(f"The DICOMDIR cannot be read ({type(exc).__name__}: {exc}).", path)]
    if records is None:
        return [], [DamagedArchiveError("The DICOMDIR has no directory records: it indexes nothing.", path)]
    root = path.parent
    refs: list[DicomdirRef] = []
    problems: list[StudyError] = []
    missing: list[str] = []
    try:
        for rec in records:
            fid = rec.get("ReferencedFileID")
            if (
                fid is None
                or str(rec.get("DirectoryRecordType", "")).strip().upper() not in IMAGE_RECORD_TYPES
            ):
                continue
            parts = [str(c).strip() for c in ([fid] if isinstance(fid, str) else fid)]  # str or MultiValue
            try:
                target = resolve_file_id(root, parts, path)
            except MissingReferencedFileError:
                missing.append("/".join(parts))
                continue
            except StudyError as exc:
                problems.append(exc)
                continue
            uid = str(rec.get("ReferencedSOPInstanceUIDInFile", "") or "").strip()
            refs.append(DicomdirRef(target, "/".join(parts), uid))
    except Exception as exc:  # noqa: BLE001 - a record that cannot be parsed (truncated file...)
        problems.append(DamagedArchiveError(f"The DICOMDIR is damaged ({type(exc).__name__}: {exc}).", path))
    if len(missing) > MAX_NAMED_MISSING:
        shown = ", ".join(missing[:MAX_NAMED_MISSING])
        problems.append(
            MissingReferencedFileError(
                f"The DICOMDIR lists {len(missing)} files that are not on the medium ({shown} and "
                f"{len(missing) - MAX_NAMED_MISSING} more); they were skipped.",
                path,
            )
        )
    else:
        problems += [
            MissingReferencedFileError(
                f"The DICOMDIR lists {fid}, which is not on the medium; it was skipped.", path
            )
            for fid in missing
        ]
    return refs, problems


__all__ = ["DICOMDIR_SOP_CLASS", "DicomdirRef", "is_dicomdir", "read_dicomdir", "resolve_file_id"]
