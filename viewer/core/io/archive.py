"""ZIP archives of studies, unpacked safely into a private temporary folder.

An archive is data from someone else: its entry names decide where bytes would be written. Every entry
is checked before anything is written, and refused with a named error when it

- climbs out of the folder (``../``, also written ``..\\``), is an absolute path or names a drive (``C:``),
- is a symbolic link (Unix mode in the external attributes) or has control characters in its name,
- is encrypted, or would expand beyond :class:`ArchiveLimits` (count, total bytes, bytes of one entry,
  compression ratio: the "zip bomb" checks, on the sizes the central directory declares and again on the
  bytes really produced while inflating, because the declared sizes can lie).

Accepted entries are written below ``dest`` only (each target resolved and checked to lie inside it, files
opened with ``O_EXCL``); the caller owns ``dest`` (a private ``TemporaryDirectory``, mode 0700). Hidden
entries and macOS ``__MACOSX`` resource forks are skipped without a message.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from viewer.core.errors import (
    ArchiveTooLargeError,
    DamagedArchiveError,
    StudyError,
    UnsafeArchiveEntryError,
)

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header; the end record of an empty archive
_CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ArchiveLimits:
    """What an archive may expand to. The defaults fit a CD or DVD of radiographs with room to spare."""

    max_members: int = 100_000
    max_total_bytes: int = 8 * 2**30
    max_member_bytes: int = 2 * 2**30
    max_ratio: float = 200.0  # uncompressed / compressed size, checked for entries above ratio_min_bytes
    ratio_min_bytes: int = 4 * 2**20


DEFAULT_LIMITS = ArchiveLimits()


class _TooBig(Exception):
    pass


def is_zip(path: Path, head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC) or (path.suffix.lower() == ".zip" and zipfile.is_zipfile(path))


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def member_parts(info: zipfile.ZipInfo) -> tuple[list[str], str | None]:
    """The entry's path components, or why it is refused (a phrase that follows "The archive entry X")."""
    name = info.filename
    if any(ord(c) < 32 for c in name):
        return [], "has control characters in its name"
    if stat.S_ISLNK(info.external_attr >> 16):
        return [], "is a symbolic link"
    normalized = name.replace("\\", "/")
    if normalized.startswith("/"):
        return [], "is an absolute path"
    if _DRIVE.match(normalized):
        return [], "names a drive (an absolute path)"
    parts = [p for p in normalized.split("/") if p not in ("", ".")]
    if ".." in parts:
        return [], "points outside the archive (../)"
    if not parts:
        return [], "has an empty name"
    return parts, None


def _skipped_quietly(parts: list[str]) -> bool:
    return parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts)


def extract_zip(
    path: Path,
    dest: Path,
    limits: ArchiveLimits = DEFAULT_LIMITS,
    cancel: Callable[[], bool] | None = None,
) -> tuple[int, list[StudyError]]:
    """Unpack the safe entries of ``path`` into the existing folder ``dest``.

    Returns (files written, problems). Problems are named errors (unsafe entry, too large, damaged);
    the archive as a whole is refused (nothing written) when its entry count or declared total size is
    beyond the limits. Never raises for a bad archive.
    """
    problems: list[StudyError] = []
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        return 0, [DamagedArchiveError(f"The ZIP archive cannot be read ({exc}).", path)]
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > limits.max_members:
            return 0, [
                ArchiveTooLargeError(
                    f"The archive holds {len(infos):,} files, more than the {limits.max_members:,} allowed; "
                    "nothing was extracted.",
                    path,
                )
            ]
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_total_bytes:
            return 0, [
                ArchiveTooLargeError(
                    f"The archive would expand to {_size(declared)}, more than the "
                    f"{_size(limits.max_total_bytes)} allowed (a 'zip bomb', or simply too large); "
                    "nothing was extracted.",
                    path,
                )
            ]
        root = dest.resolve()
        written_total = 0
        n_files = 0
        for info in infos:
            if cancel is not None and cancel():
                break
            parts, reason = member_parts(info)
            if reason is None and _skipped_quietly(parts):
                continue
            if reason is None and info.flag_bits & 0x1:
                reason = "is encrypted (password-protected archives are not supported)"
            if reason is not None:
                err_type = DamagedArchiveError if "encrypted" in reason else UnsafeArchiveEntryError
                problems.append(
                    err_type(f"The archive entry {info.filename!r} {reason}; it was skipped.", path)
                )
                continue
            if info.file_size > limits.max_member_bytes or (
                info.file_size > limits.ratio_min_bytes
                and info.file_size > limits.max_ratio * max(info.compress_size, 1)
            ):
                problems.append(
                    ArchiveTooLargeError(
                        f"The archive entry {info.filename!r} would expand from {_size(info.compress_size)} to "
                        f"{_size(info.file_size)} (a 'zip bomb'); it was skipped.",
                        path,
                    )
                )
                continue
            target = root.joinpath(*parts)
            if not target.resolve().is_relative_to(root):  # defence in depth: the checks above forbid it
                problems.append(
                    UnsafeArchiveEntryError(
                        f"The archive entry {info.filename!r} points outside the archive; it was skipped.",
                        path,
                    )
                )
                continue
            created = False
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "xb") as out:
                    created = True
                    produced = 0
                    while chunk := src.read(_CHUNK):
                        produced += len(chunk)
                        if produced > info.file_size or written_total + produced > limits.max_total_bytes:
                            raise _TooBig
                        out.write(chunk)
                written_total += produced
                n_files += 1
            except _TooBig:
                target.unlink()
                problems.append(
                    ArchiveTooLargeError(
                        f"The archive entry {info.filename!r} expands beyond its declared size or the archive's "
                        "limit (a 'zip bomb'); it was skipped.",
                        path,
                    )
                )
            except FileExistsError:
                problems.append(
                    DamagedArchiveError(
                        f"The archive holds {info.filename!r} twice; the second copy was skipped.", path
                    )
                )
            except (
                zipfile.BadZipFile,
                zlib.error,
                OSError,
                EOFError,
                NotImplementedError,
                RuntimeError,
            ) as exc:
                if created:
                    target.unlink(missing_ok=True)
                problems.append(
                    DamagedArchiveError(
                        f"The archive entry {info.filename!r} cannot be extracted ({exc}); it was skipped.",
                        path,
                    )
                )
    return n_files, problems


__all__ = ["DEFAULT_LIMITS", "ZIP_MAGIC", "ArchiveLimits", "extract_zip", "is_zip", "member_parts"]
