"""Many studies at once: ``collect(paths)`` -> :class:`Collection` of the image files to open.

Each path the user gives is one *source*:

- a **folder**: walked recursively (directory links are not followed; hidden files and folders are
  skipped); a DICOMDIR met on the way is opened as below, a ZIP as below;
- a **DICOMDIR** (a CD, DVD or USB medium): the image files it indexes, resolved inside the medium
  (:mod:`viewer.core.io.dicomdir`);
- a **ZIP archive**: unpacked safely into a private temporary folder (:mod:`viewer.core.io.archive`), then
  walked like a folder; the folder lives as long as the :class:`Collection` (``close()`` or ``with``);
- a **file**: itself, whatever it holds (``load_study`` says later why it cannot be opened).

Images found twice (the same SOP Instance UID, or for PNG / JPEG / TIFF and DICOM without one the same
bytes) are kept once and reported with :class:`~viewer.core.errors.DuplicateStudyError`. Two files with
one SOP Instance UID but different bytes (another encoding, a damaged copy) are both kept with a
:class:`~viewer.core.errors.ConflictingCopiesError` notice: picking one unseen could drop the good one. Every problem
is a named :class:`~viewer.core.errors.StudyError` in ``Collection.problems``; nothing raises for a bad
medium. ``progress(done, total, text)`` (total 0 while the walk does not know it yet) and ``cancel()``
let a worker report and stop; a cancelled collection keeps the entries it had already checked.

Only cheap work happens here (names, the first bytes, a DICOM header up to the SOP Instance UID, a
hash of rasters): pixels are decoded by ``load_study`` when each entry is opened.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from viewer.config import DIST_NAME
from viewer.core.errors import ConflictingCopiesError, DuplicateStudyError, StudyError
from viewer.core.io.archive import DEFAULT_LIMITS, ArchiveLimits, extract_zip, is_zip
from viewer.core.io.dicomdir import is_dicomdir, read_dicomdir
from viewer.core.io.sniff import is_probably_study, sniff_format

Progress = Callable[[int, int, str], None]
Cancel = Callable[[], bool]
_HEAD = 512


class SourceKind(str, Enum):
    FILE = "file"
    FOLDER = "folder"
    DICOMDIR = "DICOMDIR"
    ZIP = "ZIP"


@dataclass(frozen=True)
class Source:
    """What the user opened (Open recent records this, not each image)."""

    path: str
    kind: SourceKind


@dataclass(frozen=True)
class Entry:
    path: Path  # the file to read (inside the private temporary folder for a ZIP)
    display: str  # where the user finds it: the path, or "archive.zip/inner/name.dcm"
    source: Source
    key: str  # "sop:<SOP Instance UID>" or "sha256:<hex>" (or "path:<path>" if unreadable); not unique:
    # two files with one UID but different bytes are both kept (ConflictingCopiesError)


@dataclass
class Collection:
    entries: list[Entry] = field(default_factory=list)
    problems: list[StudyError] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    cancelled: bool = False
    _tempdirs: list[tempfile.TemporaryDirectory] = field(default_factory=list, repr=False)

    def close(self) -> None:
        """Delete the temporary folders of unpacked archives (their entries can no longer be read)."""
        for tmp in self._tempdirs:
            tmp.cleanup()
        self._tempdirs.clear()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class _Candidate:
    path: Path
    display: str
    source: Source
    key: str = ""


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(_HEAD)
    except OSError:
        return b""


def identity(path: Path) -> str:
    """The de-duplication key of one file: its SOP Instance UID for DICOM, else a SHA-256 of its bytes."""
    head = _head(path)
    if sniff_format(head[:132]) in ("DICOM", "ACR-NEMA") or path.suffix.lower() in (".dcm", ".dicom"):
        try:
            import pydicom  # noqa: PLC0415 - only when DICOM files are collected

            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["SOPInstanceUID"], force=True)
            uid = str(ds.get("SOPInstanceUID", "") or "").strip()
            if uid:
                return f"sop:{uid}"
        except Exception:  # noqa: BLE001 - unreadable header: fall back to the bytes
            pass
    digest = _sha256(path)
    return f"path:{path}" if digest.startswith("unreadable:") else f"sha256:{digest}"


class _Collector:
    def __init__(self, limits: ArchiveLimits, progress: Progress | None, cancel: Cancel | None, temp_dir):
        self.limits = limits
        self.progress = progress or (lambda done, total, text: None)
        self.cancel_cb = cancel or (lambda: False)
        self.temp_dir = temp_dir
        self.out = Collection()
        self.candidates: list[_Candidate] = []
        self.seen_paths: set[Path] = set()

    def cancelled(self) -> bool:
        if not self.out.cancelled and self.cancel_cb():
            self.out.cancelled = True
        return self.out.cancelled

    def add(self, path: Path, display: str, source: Source, key: str = "") -> None:
        try:
            real = path.resolve()
        except OSError:
            real = path
        if real in self.seen_paths:
            return
        self.seen_paths.add(real)
        self.candidates.append(_Candidate(path, display, source, key))
        if len(self.candidates) % 50 == 0:
            self.progress(len(self.candidates), 0, f"Found {len(self.candidates)} images")

    # ------------------------------------------------------------------ sources
    def open_path(self, arg: str | os.PathLike[str]) -> None:
        path = Path(arg)
        if path.is_dir():
            source = Source(str(path), SourceKind.FOLDER)
            self.out.sources.append(source)
            self.walk(path, source, lambda p: str(p), nested=False)
            return
        if not path.is_file():
            self.out.problems.append(StudyError("The file or folder does not exist.", path))
            return
        head = _head(path)
        if is_dicomdir(path, head):
            source = Source(str(path), SourceKind.DICOMDIR)
            self.out.sources.append(source)
            self.dicomdir(path, source, lambda p: str(p))
        elif is_zip(path, head):
            source = Source(str(path), SourceKind.ZIP)
            self.out.sources.append(source)
            self.zip(path, source, str(path))
        else:
            source = Source(str(path), SourceKind.FILE)
            self.out.sources.append(source)
            self.add(path, str(arg), source)

    def dicomdir(self, path: Path, source: Source, display: Callable[[Path], str]) -> None:
        refs, problems = read_dicomdir(path)
        self.out.problems.extend(problems)
        for ref in refs:
            key = f"sop:{ref.sop_instance_uid}" if ref.sop_instance_uid else ""
            self.add(ref.path, display(ref.path), source, key)

    def zip(self, path: Path, source: Source, display: str) -> None:
        tmp = tempfile.TemporaryDirectory(prefix=f"{DIST_NAME}-zip-", dir=self.temp_dir)
        self.out._tempdirs.append(tmp)
        root = Path(tmp.name).resolve()
        self.progress(len(self.candidates), 0, f"Unpacking {path.name}")
        _, problems = extract_zip(path, root, self.limits, self.cancelled)
        self.out.problems.extend(problems)

        def shown(p: Path) -> str:
            return f"{display}/{p.resolve().relative_to(root).as_posix()}"

        self.walk(root, source, shown, nested=True)

    def walk(self, top: Path, source: Source, display: Callable[[Path], str], *, nested: bool) -> None:
        def on_error(exc: OSError) -> None:
            self.out.problems.append(
                StudyError(f"A folder cannot be read ({exc.strerror or exc}).", exc.filename or top)
            )

        for folder, dirs, files in os.walk(top, onerror=on_error, followlinks=False):
            if self.cancelled():
                return
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
            here = Path(folder)
            names = sorted(files)
            for name in names:  # the DICOMDIR first: it knows each file's UID, so they need not be read
                if name.upper() == "DICOMDIR":
                    self.dicomdir(here / name, source, display)
            for name in names:
                if self.cancelled():
                    return
                path = here / name
                if name.upper() == "DICOMDIR" or name.startswith("."):
                    continue
                if not nested and path.suffix.lower() == ".zip" and is_zip(path, _head(path)):
                    self.zip(path, source, display(path))
                elif is_probably_study(path):
                    self.add(path, display(path), source)

    # ------------------------------------------------------------------ de-duplication
    def finish(self) -> Collection:
        total = len(self.candidates)
        kept: dict[str, list[_Candidate]] = {}
        for i, cand in enumerate(self.candidates):
            if self.cancelled():
                break
            if not cand.key:
                cand.key = identity(cand.path)
            if i % 20 == 0 or i == total - 1:
                self.progress(i + 1, total, f"Checked {i + 1} of {total} images")
            same = kept.setdefault(cand.key, [])
            if not same:
                pass
            elif not cand.key.startswith("sop:") or any(_same_bytes(k.path, cand.path) for k in same):
                what = "SOP Instance UID and bytes" if cand.key.startswith("sop:") else "bytes"
                self.out.problems.append(
                    DuplicateStudyError(
                        f"The same image (same {what}) as {same[0].display}; this copy was skipped.",
                        cand.display,
                    )
                )
                continue
            else:
                self.out.problems.append(
                    ConflictingCopiesError(
                        f"Same SOP Instance UID as {same[0].display} but different content (another encoding "
                        "or a damaged copy): both are listed.",
                        cand.display,
                    )
                )
            same.append(cand)
            self.out.entries.append(Entry(cand.path, cand.display, cand.source, cand.key))
        return self.out


def _same_bytes(a: Path, b: Path) -> bool:
    """Two files with the same SOP Instance UID: duplicates only when their bytes match."""
    try:
        if a.stat().st_size != b.stat().st_size:
            return False
    except OSError:
        return False
    return _sha256(a) == _sha256(b)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return f"unreadable:{path}"
    return digest.hexdigest()


def collect(
    paths: Iterable[str | os.PathLike[str]],
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    temp_dir: str | os.PathLike[str] | None = None,
) -> Collection:
    """Find the image files of folders, DICOMDIRs, ZIP archives and files (see the module docstring).

    ``temp_dir``: where the private folders of unpacked archives are created (default: the system's).
    """
    c = _Collector(limits, progress, cancel, temp_dir)
    for p in paths:
        if c.cancelled():
            break
        c.open_path(p)
    return c.finish()


__all__ = ["Collection", "Entry", "Source", "SourceKind", "collect", "identity"]
