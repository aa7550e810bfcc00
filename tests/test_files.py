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
