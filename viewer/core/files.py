"""Atomic file writing, shared by the viewer's exports, the CLI, the self-test and the training exports."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _read_umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it; put it back at once
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, at import, before the loader's threads exist


def write_atomic(path: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> Path:
    """Write ``data`` to a temporary file in the target folder, fsync it, then rename it onto ``path``.

    A reader never sees half a file, and a failure leaves any existing file untouched. With
    ``overwrite=False`` an existing target raises :class:`FileExistsError` (checked before writing and
    again just before the rename, in case the file appeared meanwhile). Returns the path written.
    """
    path = Path(path)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} already exists")
    # mkstemp creates the file 0600; give the result the target's mode, or what open() would for a new file
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_UMASK
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with contextlib.suppress(OSError):  # not supported everywhere (some network shares)
            os.chmod(tmp, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if not overwrite and path.exists():
            raise FileExistsError(f"{path} already exists")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
