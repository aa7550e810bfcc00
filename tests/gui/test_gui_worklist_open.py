"""Folders are never walked on the GUI thread (issue #13): however a folder reaches the window (``open_paths``,
``open_any``, a drop, Open recent), it goes into the worklist and is listed in a worker."""

from __future__ import annotations

import os
import threading

import pytest
from gui_support import block_image, make_window, write_dicom
from PySide6 import QtCore, QtGui

from viewer.gui.controllers.studies import StudiesController, split_paths


@pytest.fixture
def folder(tmp_path):
    exam = tmp_path / "exam"
    (exam / "sub").mkdir(parents=True)
    write_dicom(exam / "a.dcm", block_image(), view="PA")
    write_dicom(exam / "sub" / "b.dcm", block_image(), view="AP")
    return exam


@pytest.fixture
def listings(monkeypatch, folder):
    """Threads that listed a directory of the exam folder (os.scandir: os.walk and pathlib's glob use it)."""
    seen: list[tuple[str, threading.Thread]] = []
    real = os.scandir

    def spy(path="."):
        if str(os.fspath(path)).startswith(str(folder)):
            seen.append((str(path), threading.current_thread()))
        return real(path)

    monkeypatch.setattr(os, "scandir", spy)
    return seen


def _on_gui_thread(listings):
    return [p for p, t in listings if t is threading.main_thread()]


def _drop(win, paths) -> None:
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(p)) for p in paths])
    ev = QtGui.QDropEvent(
        QtCore.QPointF(20, 20),
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    win.dropEvent(ev)


@pytest.mark.parametrize("how", ["open_paths", "open_any", "drop", "recent"])
def test_a_folder_is_walked_in_a_worker_never_on_the_gui_thread(qtbot, folder, listings, how):
    win = make_window(qtbot, load_model=False)
    if how == "recent":
        win.settings.add_recent(str(folder))
        win.studies.fill_recent_menu()
    with qtbot.waitSignal(win.worklist.opened, timeout=20_000) as blocker:
        if how == "open_paths":
            assert win.open_paths([folder]) == []  # no study opened directly: the worklist has the folder
        elif how == "open_any":
            win.open_any([folder])
        elif how == "drop":
            _drop(win, [folder])
        else:
            (item,) = [a for a in win.recent_menu.actions() if a.toolTip() == str(folder.resolve())]
            item.trigger()
    assert blocker.args == [2]
    assert sorted(r.entry.path.name for r in win.worklist.view.model.rows()) == ["a.dcm", "b.dcm"]
    assert listings, "the folder was not listed at all"
    assert _on_gui_thread(listings) == []  # every listing ran in the worklist's worker
    qtbot.waitUntil(lambda: win.current is not None and win.current.ready, timeout=20_000)
    assert _on_gui_thread(listings) == []  # nor did opening the first row list anything


def test_files_and_a_folder_together(qtbot, folder, listings, tmp_path):
    """Files open as studies at once (their ids returned), the folder goes to the worklist."""
    single = write_dicom(tmp_path / "single.dcm", block_image())
    win = make_window(qtbot, load_model=False)
    with qtbot.waitSignal(win.worklist.opened, timeout=20_000):
        ids = win.open_paths([single, folder, single])  # the file twice: opened once
    assert len(ids) == 1 and win.entries[ids[0]].path == str(single)
    assert win.worklist.view.model.rowCount() == 2
    assert _on_gui_thread(listings) == []


def test_studies_controller_opens_files_only():
    assert not hasattr(StudiesController, "open_folder_dialog")  # File > Open folder is the worklist's
    files, folders = split_paths(["/nonexistent/a.dcm", os.path.dirname(__file__), "/nonexistent/a.dcm"])
    assert files == ["/nonexistent/a.dcm"] and folders == [os.path.dirname(__file__)]


def test_a_folder_without_a_worklist_is_refused_with_a_message(qtbot, folder, listings):
    win = make_window(qtbot, load_model=False)
    win.studies.open_folders = None  # a studies controller on its own
    assert win.studies.open_paths([folder]) == []
    assert [t for t, _ in win.notifications.messages] == ["Folders open into the worklist"]
    assert listings == [] and win.entries == {}
