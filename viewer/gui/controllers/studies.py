"""Opening studies (dialog, drag and drop, recent files), loading them in workers, switching, closing.

Only files are opened here. A folder is never walked on the GUI thread: :meth:`StudiesController.open_paths`
hands folders to ``open_folders`` (the window's worklist, which walks them in a worker).

Keeps the study list in step with the session: one row per entry, its state, its AI state (the score only
when the gate lets it be shown: a withheld study reads "Withheld" whether or not it was revealed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from viewer.gui.jobs import Loaded, load_job, open_job, warm_up_job
from viewer.gui.session import AnalysisState, LoadState, StudyEntry, StudySession
from viewer.gui.settings import Settings
from viewer.gui.widgets.notifications import NotificationBar
from viewer.gui.widgets.study_list import StudyList
from viewer.gui.workers import Failure, TaskRunner

log = logging.getLogger(__name__)
OPEN_FILTER = "Studies (*.dcm *.dicom *.png *.jpg *.jpeg *.tif *.tiff);;All files (*)"


class StudiesController(QtCore.QObject):
    study_loaded = QtCore.Signal(int)
    study_failed = QtCore.Signal(int)

    def __init__(
        self,
        session: StudySession,
        runner: TaskRunner,
        study_list: StudyList,
        recent_menu: QtWidgets.QMenu,
        notifications: NotificationBar,
        settings: Settings,
        dialog_parent: QtWidgets.QWidget,
        status: Callable[[str, int], None],
    ):
        super().__init__(dialog_parent)
        self.session, self.runner, self.study_list = session, runner, study_list
        self.recent_menu, self.notifications, self.settings = recent_menu, notifications, settings
        self._parent, self._status = dialog_parent, status
        self._unrecorded: set[int] = set()  # entries opened from a worklist: Open recent has their folder
        # what a recent item opens (the window routes folders, DICOMDIRs and ZIPs to the worklist)
        self.open_recent: Callable[[list[str]], object] = self.open_paths
        # where folders go (the window: into the worklist, walked in a worker); None: they are refused
        self.open_folders: Callable[[list[str]], object] | None = None
        study_list.current_study_changed.connect(self.select)
        study_list.close_requested.connect(self.close)
        session.entry_added.connect(lambda e: study_list.add_entry(e.id, e.path))
        session.entry_updated.connect(self._show_in_list)
        session.entry_updated.connect(self._maybe_load_full)
        session.model_changed.connect(self._load_full_without_model)
        self._full_requested: set[int] = set()  # previews whose full decode was submitted
        runner.submit(warm_up_job)
        session.entry_removed.connect(lambda e: study_list.remove_entry(e.id))
        session.current_changed.connect(lambda e: e is not None and study_list.select_entry(e.id))
        self.fill_recent_menu()

    # -- opening --------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        paths, _ = QtWidgets.QFileDialog.getOpenFileNames(
            self._parent, "Open studies", self.settings.last_folder, OPEN_FILTER
        )
        if paths:
            self.settings.last_folder = str(Path(paths[0]).parent)
            self.open_paths(paths)

    def open_paths(self, paths, remember: bool = True) -> list[int]:
        """Open files; returns the new entry ids. Never blocks, never raises. Folders are not walked here:
        they go to ``open_folders`` (the worklist's worker). ``remember=False``: not in Open recent (a study
        of a worklist, whose folder or CD is there)."""
        files, folders = split_paths(paths)
        if folders:
            if self.open_folders is not None:
                self.open_folders(folders)
            else:
                self.notifications.add(
                    "Folders open into the worklist",
                    "Open a folder with File > Open folder (or drop it on the window).",
                )
        new: list[StudyEntry] = []
        for f in files:
            existing = self.session.find(f)
            if existing is not None:
                if not new:
                    self.select(existing.id)
                continue
            entry = self.session.add(f)
            new.append(entry)
            if not remember:
                self._unrecorded.add(entry.id)
            entry.tasks.append(
                self.runner.submit(
                    open_job,
                    f,
                    on_result=lambda r, e=entry: self._loaded(e, r),
                    on_error=lambda fl, e=entry: self._load_failed(e, fl),
                )
            )
        current = self.session.current
        if new and (current is None or not current.ready):
            self.select(new[0].id)
        if new:
            self._status(f"Opening {len(new)} file{'s' if len(new) > 1 else ''}…", 3000)
        return [e.id for e in new]

    def _loaded(self, entry: StudyEntry, result: Loaded) -> None:
        if not self.session.is_open(entry):
            return
        self.session.set_loaded(entry, result)
        if entry.id not in self._unrecorded:
            self.settings.add_recent(entry.path)
            self.fill_recent_menu()
        current = self.session.current
        if current is None or current.state is LoadState.FAILED:
            self.select(entry.id)
        self.study_loaded.emit(entry.id)

    def _maybe_load_full(self, entry: StudyEntry) -> None:
        """A JPEG 2000 preview is on screen: decode the full resolution once its analysis is over (or there
        is no model), so that the two cores go to the model and the heatmap first (issue #15 item 11)."""
        s = self.session
        if not entry.full_pending or entry.id in self._full_requested or not s.is_open(entry):
            return
        analysed = entry.ai_state in (AnalysisState.DONE, AnalysisState.FAILED)
        if not analysed and (s.model is not None or s.model_loading):
            return
        self._full_requested.add(entry.id)
        # after this event: the window first shows the result and its heatmap, then the decode takes the cores
        QtCore.QTimer.singleShot(0, self, lambda e=entry: self._load_full(e))

    def _load_full_without_model(self) -> None:
        for entry in list(self.session.entries.values()):  # the model failed: previews need not wait for it
            self._maybe_load_full(entry)

    def _load_full(self, entry: StudyEntry) -> None:
        if not self.session.is_open(entry):
            return
        entry.tasks.append(
            self.runner.submit(
                load_job,
                entry.path,
                on_result=lambda r, e=entry: self.session.set_full_resolution(e, r),
                on_error=lambda fl, e=entry: self._load_failed(e, fl),
            )
        )

    def _load_failed(self, entry: StudyEntry, failure: Failure) -> None:
        if not self.session.is_open(entry):
            return
        self.session.set_failed(entry, failure)
        self.notifications.add(failure.title, failure.message)
        log.info("could not open %s: %s", entry.path, failure.message)
        if self.session.current is entry:
            ready = [e for e in self.session.entries.values() if e.ready]
            if ready:
                self.select(ready[0].id)
        self.study_failed.emit(entry.id)

    def _show_in_list(self, entry: StudyEntry) -> None:
        if entry.state is LoadState.FAILED and entry.failure is not None:
            self.study_list.set_failed(entry.id, entry.path, entry.failure.title, entry.failure.message)
        elif entry.ready and self.study_list.state(entry.id) != LoadState.READY.value:
            meta = entry.study.meta
            sub = (
                " ".join(v for v in (meta.study.modality, meta.study.view_position) if v)
                or meta.source_format
            )
            self.study_list.set_ready(
                entry.id, entry.path, entry.thumb_u8, f"{sub} · {meta.columns}×{meta.rows}"
            )
        if entry.ai_state is AnalysisState.DONE and entry.result is not None:
            result = entry.result
            self.study_list.set_ai_badge(
                entry.id, result.state, list_text(result), result.assessment.headline
            )

    def fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        recent = self.settings.recent_files
        for path in recent:
            act = menu.addAction(Path(path).name)
            act.setToolTip(path)
            act.triggered.connect(lambda checked=False, p=path: self.open_recent([p]))
        if recent:
            menu.addSeparator()
            menu.addAction("Clear list", lambda: (self.settings.clear_recent(), self.fill_recent_menu()))
        menu.setEnabled(bool(recent))

    # -- switching and closing --------------------------------------------------------------------
    def select(self, entry_id: int) -> None:
        entry = self.session.entries.get(entry_id)
        if entry is not None:
            self.session.set_current(entry)

    def step(self, step: int) -> None:
        ids = self.study_list.entry_ids()
        if not ids:
            return
        current = self.session.current
        i = ids.index(current.id) if current is not None and current.id in ids else -1
        self.select(ids[(i + step) % len(ids)])

    def close_current(self) -> None:
        if self.session.current is not None:
            self.close(self.session.current.id)

    def close(self, entry_id: int) -> None:
        ids = self.study_list.entry_ids()
        rest = [i for i in ids if i != entry_id]
        idx = ids.index(entry_id) if entry_id in ids else 0
        successor = self.session.entries.get(rest[min(idx, len(rest) - 1)]) if rest else None
        entry = self.session.remove(entry_id, successor)
        if entry is None:
            return
        self._unrecorded.discard(entry_id)
        self._full_requested.discard(entry_id)
        for task in entry.tasks:  # a queued load or analysis of a closed study would only delay the others
            self.runner.cancel(task)
        entry.tasks.clear()


def split_paths(paths) -> tuple[list[str], list[str]]:
    """(files, folders) of what was given, in order, each once (by resolved path). No folder is listed:
    one ``stat`` a path given, whatever is inside a folder."""
    files: list[str] = []
    folders: list[str] = []
    seen: set[str] = set()
    for raw in paths:
        p = Path(raw)
        key = str(p.resolve())
        if key in seen:
            continue
        seen.add(key)
        (folders if p.is_dir() else files).append(str(p))
    return files, folders


def list_text(result) -> str:
    """The study list's AI line: the state, and the score unless the result is withheld."""
    from viewer.core.model.result import format_probability  # noqa: PLC0415 - onnxruntime: loaded by now

    if result.withheld:
        return result.state.title
    return f"{result.state.title} - {format_probability(result.prediction.probability)}"
