"""viewer.core.files.write_atomic: whole file or nothing, and no silent overwrite when asked."""

from __future__ import annotations

import os

import pytest

from viewer.core.files import write_atomic


def test_writes_and_replaces(tmp_path):
    target = tmp_path / "a.png"
    assert write_atomic(target, b"one") == target
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_refuses_to_overwrite_when_told(tmp_path):
    target = tmp_path / "a.png"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        write_atomic(target, b"new", overwrite=False)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "a.png"
    target.write_bytes(b"old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_new_files_are_readable_by_others_and_existing_modes_are_kept(tmp_path):
    new = write_atomic(tmp_path / "new.png", b"x")
    import viewer.core.files as files

    assert new.stat().st_mode & 0o777 == 0o666 & ~files._UMASK  # as open() would, not mkstemp's 0600
    private = tmp_path / "private.png"
    private.write_bytes(b"old")
    private.chmod(0o600)
    write_atomic(private, b"new")
    assert private.stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_new_files_follow_the_umask(tmp_path, monkeypatch):
    import viewer.core.files as files

    monkeypatch.setattr(files, "_UMASK", 0o077)  # a locked-down workstation: exports stay private
    assert write_atomic(tmp_path / "x.png", b"x").stat().st_mode & 0o777 == 0o600
