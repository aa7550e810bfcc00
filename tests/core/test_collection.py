"""Folders, DICOMDIRs and ZIP archives -> the image files to open (viewer.core.io.collection), hostile media included."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.fileset import FileSet
from pydicom.uid import ComputedRadiographyImageStorage, generate_uid

from viewer.core.errors import (
    ArchiveTooLargeError,
    ConflictingCopiesError,
    DamagedArchiveError,
    DuplicateStudyError,
    MissingReferencedFileError,
    StudyError,
    UnsafeArchiveEntryError,
)
from viewer.core.io import load_study
from viewer.core.io.archive import ArchiveLimits
from viewer.core.io.collection import SourceKind, collect


def _cr(uid: str | None = None, value: int = 100) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = ComputedRadiographyImageStorage
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID, ds.PatientName, ds.Modality = "P1", "Doe^Jane", "CR"
    ds.StudyDate, ds.StudyTime, ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = (
        "20240102",
        "101010",
        "1",
        1,
        1,
    )
    ds.set_pixel_data(np.full((16, 16), value, np.uint16), "MONOCHROME2", 12)
    ds.SOPInstanceUID = uid or generate_uid()  # after set_pixel_data, which makes a new one
    return ds


def _save(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _png(path: Path, value: int = 7) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((8, 8), value, np.uint8))
    return path


def _of(problems, kind):
    return [p for p in problems if type(p) is kind]


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


# --- folders ---------------------------------------------------------------------------------------


def test_folder_is_walked_recursively_and_duplicates_are_listed_once(tmp_path):
    ds = _cr()
    a = _save(ds, tmp_path / "in" / "a.dcm")
    _save(ds, tmp_path / "in" / "deep" / "er" / "copy_of_a.dcm")  # same UID, same bytes
    b = _save(_cr(), tmp_path / "in" / "deep" / "b.dcm")
    p1 = _png(tmp_path / "in" / "x.png")
    _png(tmp_path / "in" / "sub" / "x_again.png")  # same bytes, other name
    _png(tmp_path / "in" / ".hidden" / "y.png", value=9)
    (tmp_path / "in" / "notes.txt").write_text("not an image")

    c = collect([tmp_path / "in"])

    assert sorted(e.path for e in c.entries) == sorted([a, b, p1])
    assert [s.kind for s in c.sources] == [SourceKind.FOLDER]
    dups = _of(c.problems, DuplicateStudyError)
    assert len(dups) == 2 and len(c.problems) == 2
    assert any("copy_of_a.dcm" in str(d) and "SOP Instance UID" in str(d) for d in dups)
    assert any("x_again.png" in str(d) for d in dups)
    assert {e.key.split(":")[0] for e in c.entries} == {"sop", "sha256"}


def test_same_uid_with_different_content_keeps_both_with_a_notice(tmp_path):
    uid = generate_uid()
    a = _save(_cr(uid, 100), tmp_path / "a.dcm")
    b = _save(_cr(uid, 200), tmp_path / "b.dcm")
    c = collect([tmp_path])
    assert [e.path for e in c.entries] == [a, b]
    (notice,) = c.problems
    assert isinstance(notice, ConflictingCopiesError) and "different content" in str(notice)


def test_a_missing_path_and_an_explicit_non_image_file(tmp_path):
    txt = tmp_path / "readme.txt"
    txt.write_text("hello")
    c = collect([tmp_path / "nope", txt])
    (problem,) = c.problems
    assert problem.path == tmp_path / "nope" and "does not exist" in str(problem)
    assert [e.display for e in c.entries] == [str(txt)]  # a file given by name is always tried
    with pytest.raises(StudyError):
        load_study(c.entries[0].path)


def test_cancel_keeps_what_was_found(tmp_path):
    for i in range(120):
        _png(tmp_path / f"{i:03d}.png", value=i)
    calls = []
    c = collect(
        [tmp_path],
        progress=lambda d, t, s: calls.append((d, t)),
        cancel=lambda: any(t and d > 40 for d, t in calls),
    )
    assert c.cancelled and 40 < len(c.entries) < 120  # the walk found all, the check stopped early
    full = collect([tmp_path], progress=lambda d, t, s: calls.append((d, t)))
    assert not full.cancelled and len(full.entries) == 120 and calls[-1] == (120, 120)


# --- ZIP ---------------------------------------------------------------------------------------------


def _zip(path: Path, members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)  # a ZipInfo keeps the name exactly as given
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def test_zip_opens_in_a_private_folder_and_hostile_entries_are_refused(tmp_path):
    good = _save(_cr(), tmp_path / "src" / "good.dcm").read_bytes()
    png = _png(tmp_path / "src" / "p.png").read_bytes()
    archive = _zip(
        tmp_path / "study.zip",
        {
            "CD/IMAGES/good.dcm": good,
            "p.png": png,
            "../evil.dcm": good,
            "../../evil2.png": png,
            "/tmp/pneumoscope_abs_evil.dcm": good,
            "C:/evil3.dcm": good,
            "sub\\..\\..\\evil4.dcm": good,
            "__MACOSX/._p.png": b"resource fork",
        },
        symlinks={"link.dcm": "/etc/passwd"},
    )
    work = tmp_path / "work"
    work.mkdir()
    before = _files_under(tmp_path) - _files_under(work)

    c = collect([archive], temp_dir=work)

    assert [s.kind for s in c.sources] == [SourceKind.ZIP]
    assert sorted(e.display for e in c.entries) == [f"{archive}/CD/IMAGES/good.dcm", f"{archive}/p.png"]
    (private,) = work.iterdir()
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert all(e.path.resolve().is_relative_to(private.resolve()) for e in c.entries)
    dcm = next(e for e in c.entries if e.display.endswith(".dcm"))
    assert load_study(dcm.path).meta.rows == 16
    unsafe = _of(c.problems, UnsafeArchiveEntryError)
    messages = " ".join(str(p) for p in unsafe)
    assert len(unsafe) == 6 and len(c.problems) == 6
    for phrase in (
        "points outside the archive (../)",
        "is an absolute path",
        "names a drive",
        "symbolic link",
    ):
        assert phrase in messages
    # nothing written anywhere but the private folder
    assert _files_under(tmp_path) - _files_under(work) == before
    assert not Path("/tmp/pneumoscope_abs_evil.dcm").exists()
    assert {p.name for p in private.rglob("*") if p.is_file()} == {"good.dcm", "p.png"}
    c.close()
    assert not private.exists()


def test_zip_bomb_entry_and_archive_are_refused(tmp_path):
    png = _png(tmp_path / "p.png").read_bytes()
    archive = _zip(tmp_path / "bomb.zip", {"zeros.dcm": bytes(64 * 2**20), "p.png": png})
    assert archive.stat().st_size < 2**20  # 64 MB of zeros deflate to ~64 KB: ratio ~1000
    work = tmp_path / "work"
    work.mkdir()
    with collect([archive], temp_dir=work) as c:
        (bomb,) = c.problems
        assert isinstance(bomb, ArchiveTooLargeError) and "zip bomb" in str(bomb) and "zeros.dcm" in str(bomb)
        assert [e.display for e in c.entries] == [f"{archive}/p.png"]
        assert sum(p.stat().st_size for p in work.rglob("*") if p.is_file()) == len(png)

    with collect([archive], temp_dir=work, limits=ArchiveLimits(max_total_bytes=10 * 2**20)) as c:
        (too_big,) = c.problems
        assert isinstance(too_big, ArchiveTooLargeError) and "nothing was extracted" in str(too_big)
        assert c.entries == [] and not any(p.is_file() for p in work.rglob("*"))


def test_damaged_zip_is_one_message(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"p.png": _png(tmp_path / "p.png").read_bytes()})
    broken = tmp_path / "broken.zip"
    broken.write_bytes(archive.read_bytes()[:30])
    c = collect([broken])
    (problem,) = c.problems
    assert isinstance(problem, DamagedArchiveError) and "cannot be read" in str(problem)


def test_a_zip_inside_a_folder_is_opened(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    _zip(folder / "inner.zip", {"a/p.png": _png(tmp_path / "p.png").read_bytes()})
    c = collect([folder])
    assert [e.display for e in c.entries] == [f"{folder / 'inner.zip'}/a/p.png"]


# --- DICOMDIR ------------------------------------------------------------------------------------------


def _medium(root: Path, n: int = 2) -> Path:
    fs = FileSet()
    for i in range(n):
        fs.add(_cr(value=10 * i))
    fs.write(root)
    return root / "DICOMDIR"


def _image_records(ds: Dataset) -> list[Dataset]:
    return [r for r in ds.DirectoryRecordSequence if r.DirectoryRecordType == "IMAGE"]


def test_dicomdir_opens_the_images_it_indexes(tmp_path):
    dicomdir = _medium(tmp_path / "cd", 3)
    c = collect([dicomdir])
    assert c.problems == [] and len(c.entries) == 3
    assert [s.kind for s in c.sources] == [SourceKind.DICOMDIR]
    uids = {r.ReferencedSOPInstanceUIDInFile for r in _image_records(pydicom.dcmread(dicomdir))}
    assert {e.key for e in c.entries} == {f"sop:{u}" for u in uids}
    assert all(load_study(e.path).meta.rows == 16 for e in c.entries)
    # the folder of the medium gives the same images once, the DICOMDIR itself not as a study
    assert len(collect([tmp_path / "cd"]).entries) == 3


def test_dicomdir_with_hostile_and_missing_references(tmp_path):
    dicomdir = _medium(tmp_path / "cd", 4)
    (tmp_path / "secret.dcm").write_bytes(_save(_cr(), tmp_path / "x" / "s.dcm").read_bytes())
    ds = pydicom.dcmread(dicomdir)
    recs = _image_records(ds)
    recs[0].ReferencedFileID = ["..", "secret.dcm"]
    recs[1].ReferencedFileID = ["NOSUCH", "FILE"]
    link_target = Path(*recs[2].ReferencedFileID)
    (dicomdir.parent / link_target).unlink()
    os.symlink(tmp_path / "secret.dcm", dicomdir.parent / link_target)
    ds.save_as(dicomdir)

    c = collect([dicomdir])

    assert len(c.entries) == 1 and c.entries[0].path.resolve().is_relative_to((tmp_path / "cd").resolve())
    unsafe = _of(c.problems, UnsafeArchiveEntryError)
    missing = _of(c.problems, MissingReferencedFileError)
    assert len(unsafe) == 2 and len(missing) == 1 and len(c.problems) == 3
    assert "outside the medium" in str(unsafe[0]) and "link to a file outside" in str(unsafe[1])
    assert "NOSUCH/FILE, which is not on the medium" in str(missing[0])


def test_dicomdir_matches_file_ids_case_insensitively(tmp_path):
    dicomdir = _medium(tmp_path / "cd", 1)
    (ref,) = [Path(*r.ReferencedFileID) for r in _image_records(pydicom.dcmread(dicomdir))]
    on_disk = dicomdir.parent / ref
    lowered = dicomdir.parent / Path(*(p.lower() for p in ref.parts))
    for i in range(len(ref.parts), 0, -1):  # rename from the leaf up: as a lower-case mount shows it
        src = dicomdir.parent / Path(*ref.parts[:i])
        src.rename(src.with_name(src.name.lower()))
    assert not on_disk.exists() and lowered.exists()
    c = collect([dicomdir])
    assert c.problems == [] and [e.path for e in c.entries] == [lowered]


def test_damaged_dicomdir_is_one_message(tmp_path):
    bad = tmp_path / "DICOMDIR"
    bad.write_bytes(b"\x00" * 10)
    c = collect([bad])
    assert c.entries == [] and len(c.problems) == 1 and isinstance(c.problems[0], DamagedArchiveError)


def test_shared_dicomdir_pointing_at_missing_files(dicom_dir):
    """pydicom's test DICOMDIR ships without the files it lists: one clear message, no crash."""
    c = collect([dicom_dir / "broken" / "DICOMDIR"])
    (problem,) = c.problems
    assert c.entries == [] and isinstance(problem, MissingReferencedFileError)
    assert "lists 31 files that are not on the medium (77654033/CR1/6154" in str(problem)
