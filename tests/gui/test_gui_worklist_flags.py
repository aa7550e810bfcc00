"""Worklist flags persist (issue #13): kept in the settings by study identity (SOP Instance UID or SHA-256),
bounded, and shown again when the same folder or ZIP is reopened in a new window."""

from __future__ import annotations

import zipfile

import cv2
import numpy as np
import pytest
from gui_support import PATIENT_ID, PATIENT_NAME, block_image, make_window, write_dicom

from viewer.config import SETTINGS_INI
from viewer.gui import settings as settings_mod
from viewer.gui.settings import Settings
from viewer.gui.widgets.worklist import Flag


@pytest.fixture
def folder(tmp_path):
    exam = tmp_path / f"{PATIENT_NAME}-exam"  # a folder named after the patient: never in the settings
    exam.mkdir()
    write_dicom(exam / "a.dcm", block_image(), view="PA")
    write_dicom(exam / "b.dcm", block_image(), view="AP")
    img = np.full((64, 64), 60, np.uint8)
    img[16:48, 16:48] = 200
    assert cv2.imwrite(str(exam / "c.png"), img)
    return exam


def _open(qtbot, win, paths):
    with qtbot.waitSignal(win.worklist.opened, timeout=20_000):
        win.open_any([str(p) for p in paths])


def _flags(win) -> dict[str, Flag]:
    return {r.entry.path.name: r.flag for r in win.worklist.view.model.rows()}


def _flag_row(win, name: str, times: int) -> None:
    model = win.worklist.view.model
    (row,) = [r for r in model.rows() if r.entry.path.name == name]
    win.worklist.open_entry(row.entry)  # the row becomes the current study, then G
    for _ in range(times):
        win.actions_["worklist_flag"].trigger()


def test_flags_come_back_when_the_folder_is_reopened_in_a_new_window(qtbot, folder, tmp_path):
    win = make_window(qtbot, load_model=False)
    _open(qtbot, win, [folder])
    _flag_row(win, "b.dcm", 1)  # red
    _flag_row(win, "c.png", 3)  # red, yellow, green
    assert _flags(win) == {"a.dcm": Flag.NONE, "b.dcm": Flag.RED, "c.png": Flag.GREEN}
    win.close()

    again = make_window(qtbot, load_model=False)  # same settings (the test's INI file), a new controller
    _open(qtbot, again, [folder])
    assert _flags(again) == {"a.dcm": Flag.NONE, "b.dcm": Flag.RED, "c.png": Flag.GREEN}
    # clearing a flag (the cycle back to none) is remembered too
    _flag_row(again, "b.dcm", 3)  # yellow, green, none
    again.close()
    third = make_window(qtbot, load_model=False)
    _open(qtbot, third, [folder])
    assert _flags(third)["b.dcm"] is Flag.NONE and _flags(third)["c.png"] is Flag.GREEN
    # only identities are stored: no patient name, ID, folder or file name
    text = (tmp_path / "settings" / SETTINGS_INI).read_text("utf-8", errors="replace")
    flags_line = next(line for line in text.splitlines() if line.startswith("flags="))
    for secret in (PATIENT_NAME, PATIENT_ID, folder.name, "a.dcm", "c.png", str(tmp_path), "sop:", "sha256:"):
        assert secret not in flags_line


def test_flags_follow_the_study_not_where_it_is(qtbot, folder, tmp_path):
    """The same files in a ZIP elsewhere: the flag is found by SOP Instance UID / SHA-256."""
    win = make_window(qtbot, load_model=False)
    _open(qtbot, win, [folder])
    _flag_row(win, "a.dcm", 2)  # yellow
    _flag_row(win, "c.png", 1)  # red
    win.close()
    archive = tmp_path / "elsewhere" / "copy.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(folder.iterdir()):
            zf.write(p, f"inner/{p.name}")
    again = make_window(qtbot, load_model=False)
    _open(qtbot, again, [archive])
    assert _flags(again) == {"a.dcm": Flag.YELLOW, "b.dcm": Flag.NONE, "c.png": Flag.RED}


def test_the_store_is_bounded_and_keeps_only_uids_and_hashes(tmp_path, monkeypatch):
    monkeypatch.setattr(settings_mod, "MAX_FLAGS", 5)
    s = Settings()
    uids = [f"sop:1.2.826.0.1.{i}" for i in range(8)]
    for uid in uids:
        assert s.set_worklist_flag(uid, "red")
    s.set_worklist_flag(uids[4], "green")  # set again: the most recent now
    s.sync()
    kept = Settings().worklist_flags()  # a new QSettings on the same file
    assert list(kept) == [Settings.flag_id(u) for u in (uids[3], uids[5], uids[6], uids[7], uids[4])]
    assert kept[Settings.flag_id(uids[4])] == "green"  # the oldest went first, above
    assert Settings().worklist_flags_for(uids) == {u: "red" for u in uids[5:8]} | {
        uids[4]: "green",
        uids[3]: "red",
    }
    # a digest is stored, never the UID itself
    assert not any("1.2.826" in fid for fid in kept) and all(fid.startswith("f:") for fid in kept)
    # a key with a path, a name or anything but a UID / SHA-256 is never written
    for bad in ("path:/data/Doe^Jane/a.dcm", "sop:Doe^Jane", "sha256:xyz", "sop:" + "1" * 65, ""):
        assert not s.set_worklist_flag(bad, "red")
    assert s.set_worklist_flag("sha256:" + "ab" * 32, "yellow")
    assert s.set_worklist_flag(uids[7], "")  # no flag: forgotten
    assert uids[7] not in s.worklist_flags_for(uids)
    assert s.worklist_flags_for(["sha256:" + "ab" * 32]) == {"sha256:" + "ab" * 32: "yellow"}
    # a damaged value reads as no flags, and is replaced by the next flag
    s.q.setValue("worklist/flags", "[[not json")
    assert s.worklist_flags() == {}
    assert s.set_worklist_flag(uids[0], "red") and s.worklist_flags_for(uids) == {uids[0]: "red"}
