"""The worklist: opening a folder, a CD (DICOMDIR) or a ZIP, batch triage over it, and its CSV export.

- **Opening** walks the sources with :func:`viewer.core.io.collection.collect` in a worker (a progress dialog
  with Cancel), then reads each file's header there too (patient, date, modality, view: no pixels). The
  problems found (unsafe or damaged archive entries, missing files, duplicates) become one notification.
  Open recent records what was opened (the folder, the DICOMDIR, the ZIP), not the images inside it.
- **Pixels on demand**: a row becomes a study of the session (decoded, displayed, analysed) only when it is
  chosen, and at most :data:`MAX_OPEN` studies opened from the worklist stay decoded: the least recently
  chosen one without annotations is closed when another is opened, so a CD of 1,000 films stays small.
- **Analyse all** runs :func:`viewer.core.model.triage.triage` (batched, the same gate as a single study) in a
  worker; rows fill in as each batch is scored, with progress, rate and time left, and Cancel.
- **Export worklist** writes :mod:`viewer.core.model.worklist_csv` (the CLI's columns) atomically, asking before
  it replaces a file; patient identifiers only when the user ticks the box.

Long jobs (walking, triage) run on their own one-thread runner, so opening a study is never stuck behind them.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from PySide6 import QtCore, QtWidgets

from viewer.core.errors import ConflictingCopiesError, DuplicateStudyError
from viewer.core.files import write_atomic
from viewer.core.io.archive import is_zip
from viewer.core.io.collection import Collection, Entry, SourceKind
from viewer.core.io.dicomdir import is_dicomdir
from viewer.core.model.worklist_csv import csv_row, csv_text
from viewer.gui.export import confirm_overwrite
from viewer.gui.session import StudyEntry, StudySession
from viewer.gui.settings import Settings
from viewer.gui.widgets.notifications import NotificationBar
from viewer.gui.widgets.worklist_panel import ExportWorklistDialog, WorklistPanel
from viewer.gui.workers import Failure, TaskRunner

if TYPE_CHECKING:
    from viewer.core.model.triage import TriageRow

log = logging.getLogger(__name__)
MAX_OPEN = 12  # studies opened from the worklist that stay decoded
OPEN_FILTER = "CD index or ZIP archive (DICOMDIR dicomdir *.zip *.ZIP);;All files (*)"
_NO_HEATMAP = np.zeros((0, 0), np.float32)
_NO_HEATMAP.setflags(write=False)


def is_collection(path: str | Path) -> bool:
    """A folder, a DICOMDIR or a ZIP archive: opened into the worklist (anything else opens as one study)."""
    p = Path(path)
    if p.is_dir():
        return True
    if not p.is_file():
        return False
    try:
        with open(p, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    return is_dicomdir(p, head) or is_zip(p, head)


# ---------------------------------------------------------------------------------------- worker side
def collect_job(paths: list[str], progress: Callable[[int, int, str], None], cancel: Callable[[], bool]):
    """Walk the sources, then read every file's header (no pixels): ``(Collection, [TriageRow])``."""
    from viewer.core.errors import StudyError  # noqa: PLC0415
    from viewer.core.io.collection import collect  # noqa: PLC0415
    from viewer.core.io.load import load_header  # noqa: PLC0415 - pydicom: in the worker
    from viewer.core.model.triage import TriageRow  # noqa: PLC0415 - its rows are what the table shows

    found = collect(paths, progress=progress, cancel=cancel)
    headers: list[TriageRow] = []
    total = len(found.entries)
    for i, entry in enumerate(found.entries):
        if cancel():
            found.cancelled = True
            headers.extend(TriageRow(e) for e in found.entries[i:])
            break
        try:
            meta = load_header(entry.path)
        except StudyError:  # a PNG, or a header pydicom cannot read: the analysis will say more
            meta = None
        headers.append(TriageRow(entry, meta))
        if i % 20 == 0 or i == total - 1:
            progress(i + 1, total, f"Read {i + 1} of {total} headers")
    return found, headers


def triage_job(
    model, entries: list[Entry], indices: list[int], emit: Callable, cancel: Callable[[], bool]
) -> int:
    """The model over ``entries`` (rows ``indices`` of the worklist); ``emit(index, row)`` per result."""
    from viewer.core.model.triage import triage  # noqa: PLC0415 - ONNX Runtime: loaded with the model

    n = 0
    for index, row in zip(indices, triage(model, entries, cancel=cancel), strict=False):
        emit(index, row)
        n += 1
    return n


class StudyOpener(Protocol):
    """What the worklist needs of the studies controller (controllers do not import each other)."""

    def open_paths(self, paths, remember: bool = True) -> list[int]: ...

    def close(self, entry_id: int) -> None: ...

    def fill_recent_menu(self) -> None: ...


class _Bridge(QtCore.QObject):
    """Signals that workers emit; delivered in the GUI thread (queued)."""

    progress = QtCore.Signal(object, int, int, str)  # run, done, total, text
    row = QtCore.Signal(object, int, object)  # run, worklist row index, TriageRow


@dataclass(eq=False)
class _Run:
    kind: str  # "open" or "triage"
    total: int = 0
    done: int = 0
    t0: float = field(default_factory=time.perf_counter)
    stop: threading.Event = field(default_factory=threading.Event)
    dialog: QtWidgets.QProgressDialog | None = None


# ---------------------------------------------------------------------------------------- the controller
class WorklistController(QtCore.QObject):
    opened = QtCore.Signal(int)  # a collection is in the worklist: its number of rows
    triage_finished = QtCore.Signal(int)  # a batch analysis ended: rows scored

    def __init__(
        self,
        session: StudySession,
        studies: StudyOpener,
        panel: WorklistPanel,
        dock: QtWidgets.QDockWidget,
        notifications: NotificationBar,
        settings: Settings,
        dialog_parent: QtWidgets.QWidget,
        status: Callable[[str, int], None],
    ):
        super().__init__(dialog_parent)
        self.session, self.studies, self.panel, self.dock = session, studies, panel, dock
        self.view = panel.view
        self.notifications, self.settings, self._parent, self._status = (
            notifications,
            settings,
            dialog_parent,
            status,
        )
        self.runner = TaskRunner(self, max_threads=1)  # walking and triage: never in the way of a study load
        self.collections: list[Collection] = []  # alive until the window closes (a ZIP's files live there)
        self.opening: _Run | None = None
        self.analysing: _Run | None = None
        self._opened: list[
            int
        ] = []  # session entry ids opened from the worklist, least recently chosen first
        self._bridge = _Bridge(self)
        queued = QtCore.Qt.ConnectionType.QueuedConnection
        self._bridge.progress.connect(self._on_progress, queued)
        self._bridge.row.connect(self._on_row, queued)
        self.view.activated.connect(self.open_entry)
        panel.cancel_requested.connect(self.cancel_triage)
        session.current_changed.connect(lambda e: e is not None and self.view.select_path(e.path))
        session.entry_updated.connect(self._result_from_session)
        session.entry_removed.connect(self._forget)

    # ------------------------------------------------------------------ opening
    def open_folder_dialog(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(
            self._parent, "Open folder", self.settings.last_folder
        )
        if folder:
            self.settings.last_folder = folder
            self.open_collection([folder])

    def open_collection_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self._parent, "Open a CD (DICOMDIR) or a ZIP archive", self.settings.last_folder, OPEN_FILTER
        )
        if path:
            self.settings.last_folder = str(Path(path).parent)
            self.open_collection([path])

    def open_collection(self, paths) -> None:
        """Walk folders / DICOMDIRs / ZIPs in a worker; the worklist shows what it found. Never blocks."""
        paths = [str(p) for p in paths]
        if self.opening is not None:
            self._status("Still looking through the last folder: wait or cancel it first.", 4000)
            return
        self.cancel_triage()  # its rows would belong to the worklist about to be replaced
        run = _Run("open")
        self.opening = run
        dlg = QtWidgets.QProgressDialog("Looking for studies…", "Cancel", 0, 0, self._parent)
        dlg.setWindowTitle("Opening")
        dlg.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        dlg.setMinimumDuration(300)  # a quick walk shows no dialog at all
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        dlg.canceled.connect(run.stop.set)
        run.dialog = dlg
        self.runner.submit(
            collect_job,
            paths,
            lambda done, total, text: self._bridge.progress.emit(run, done, total, text),
            run.stop.is_set,
            on_result=lambda value: self._opened_collection(run, paths, *value),
            on_error=lambda failure: self._open_failed(run, failure),
        )
        self._status("Looking for studies…", 3000)

    def cancel_open(self) -> None:
        if self.opening is not None:
            self.opening.stop.set()

    def _end_open(self, run: _Run) -> None:
        if run.dialog is not None:
            run.dialog.close()
            run.dialog.deleteLater()
            run.dialog = None
        if self.opening is run:
            self.opening = None

    def _open_failed(self, run: _Run, failure: Failure) -> None:
        self._end_open(run)
        self.notifications.add(failure.title, failure.message)

    def _opened_collection(self, run: _Run, paths: list[str], found: Collection, headers: list) -> None:
        self._end_open(run)
        self.collections.append(found)
        for source in found.sources:
            if source.kind is not SourceKind.FILE:
                self.settings.add_recent(source.path)
        self.studies.fill_recent_menu()
        self._report_problems(found)
        entries = found.entries
        self.view.model.set_entries(entries)
        for i, header in enumerate(headers):
            self.view.model.set_header(i, header)
        names = ", ".join(Path(s.path).name or s.path for s in found.sources) or ", ".join(paths)
        n = len(entries)
        summary = f"{names}: {n} {'study' if n == 1 else 'studies'}"
        if found.cancelled:
            summary += " (stopped early: opening was cancelled)"
        self.panel.set_summary(summary)
        self.panel.finish_progress("")
        self.dock.show()
        self.dock.raise_()
        self.opened.emit(n)
        if entries:
            self.view.step(+1)  # the first row becomes the current study; the others decode when chosen
        elif not found.problems:
            self.notifications.add(
                "Nothing to open", f"No DICOM, PNG, JPEG or TIFF files were found in {names}."
            )

    def _report_problems(self, found: Collection) -> None:
        """One notification for everything that was skipped (the app goes on)."""
        if not found.problems:
            return
        dupes = [p for p in found.problems if isinstance(p, DuplicateStudyError | ConflictingCopiesError)]
        others = [p for p in found.problems if p not in dupes]
        parts = []
        if others:
            lines = [f"{Path(str(p.path)).name if p.path else ''}: {p}".lstrip(": ") for p in others[:4]]
            more = f"; and {len(others) - 4} more" if len(others) > 4 else ""
            parts.append(f"{len(others)} skipped - " + "; ".join(lines) + more)
        if dupes:
            parts.append(f"{len(dupes)} duplicate{'s' if len(dupes) > 1 else ''} listed once")
        title = (
            others[0].title if len(others) == 1 else ("Some files were skipped" if others else "Duplicates")
        )
        self.notifications.add(title, ". ".join(parts) + ".")
        for p in found.problems:
            log.info("collection: %s: %s", p.path, p)

    @QtCore.Slot(object, int, int, str)
    def _on_progress(self, run: _Run, done: int, total: int, text: str) -> None:
        dlg = run.dialog
        if dlg is None:
            return
        dlg.setLabelText(text)
        dlg.setRange(0, total)  # 0: busy (the walk does not know the total yet)
        dlg.setValue(done if total else 0)

    # ------------------------------------------------------------------ rows -> studies (pixels on demand)
    def open_entry(self, entry: Entry) -> None:
        """Make a row the current study: decoded now if it is not open yet."""
        path = str(entry.path)
        existing = self.session.find(path)
        if existing is None:
            ids = self.studies.open_paths([path], remember=False)
            existing = self.session.entries.get(ids[0]) if ids else None
        if existing is None:
            return
        self.session.set_current(existing)
        if existing.id in self._opened:
            self._opened.remove(existing.id)
        self._opened.append(existing.id)
        self._bound_memory()

    def _forget(self, entry: StudyEntry) -> None:
        if entry.id in self._opened:
            self._opened.remove(entry.id)

    def _bound_memory(self) -> None:
        excess = len(self._opened) - MAX_OPEN
        for eid in list(self._opened):
            if excess <= 0:
                break
            e = self.session.entries.get(eid)
            if e is None or e is self.session.current or (e.layer is not None and e.layer.items):
                continue  # the current study and studies with annotations stay
            self.studies.close(eid)
            excess -= 1
            self._status(f"Closed {e.name}: at most {MAX_OPEN} worklist studies stay open (memory).", 3000)

    def _result_from_session(self, entry: StudyEntry) -> None:
        """A study opened from the worklist was analysed: its row shows the result too (without heatmap)."""
        if entry.result is None or not entry.ready:
            return
        i = self.view.model.index_of(entry.path)
        if i < 0:
            return
        row = self.view.model.row(i)
        if row.source is not None and row.source.result is not None:
            return
        from viewer.core.model.triage import TriageRow  # noqa: PLC0415 - ONNX Runtime is loaded by now

        result = entry.result
        light = dataclasses.replace(
            result, prediction=dataclasses.replace(result.prediction, heatmap=_NO_HEATMAP)
        )
        self.view.model.set_result(i, TriageRow(row.entry, entry.study.meta, light))

    # ------------------------------------------------------------------ navigation and flags
    def step(self, delta: int) -> None:
        if self.view.proxy.rowCount() == 0:
            self._status("The worklist is empty: open a folder, a CD or a ZIP.", 3000)
            return
        self._follow_current()
        self.view.step(delta)

    def _follow_current(self) -> None:
        """The table's selection is the current study again (a filter may have cleared it meanwhile)."""
        if self.session.current is not None:
            self.view.select_path(self.session.current.path)

    def cycle_flag(self) -> None:
        self._follow_current()
        if self.view.current_proxy_row() < 0:
            self._status("Choose a worklist row to flag.", 3000)
            return
        self.view.cycle_flag()

    # ------------------------------------------------------------------ batch triage
    def analyse_all(self) -> None:
        model = self.session.model
        if model is None:
            why = (
                "it is still loading"
                if self.session.model_loading
                else (self.session.model_error or "not loaded")
            )
            self._status(f"The AI model is not available: {why}.", 5000)
            return
        if self.analysing is not None:
            self._status("The worklist is already being analysed.", 3000)
            return
        rows = self.view.model.rows()
        todo = [i for i, r in enumerate(rows) if r.source is None or r.source.result is None]
        if not todo:
            self._status(
                "Every study of the worklist has a result." if rows else "The worklist is empty.", 3000
            )
            return
        run = _Run("triage", total=len(todo))
        self.analysing = run
        self.panel.show_progress(0, run.total, 0.0)
        self.runner.submit(
            triage_job,
            model,
            [rows[i].entry for i in todo],
            todo,
            lambda index, row: self._bridge.row.emit(run, index, row),
            run.stop.is_set,
            on_result=lambda n: self._triage_done(run),
            on_error=lambda failure: self._triage_failed(run, failure),
        )

    def cancel_triage(self) -> None:
        if self.analysing is not None:
            self.analysing.stop.set()

    @QtCore.Slot(object, int, object)
    def _on_row(self, run: _Run, index: int, row: TriageRow) -> None:
        if run is not self.analysing:  # a cancelled run's last batch still shows; an old run's does not
            return
        if index < self.view.model.rowCount() and self.view.model.row(index).entry is row.entry:
            self.view.model.set_result(index, row)
        run.done += 1
        self.panel.show_progress(run.done, run.total, time.perf_counter() - run.t0)

    def _triage_done(self, run: _Run) -> None:
        if self.analysing is run:
            self.analysing = None
        elapsed = time.perf_counter() - run.t0
        if run.stop.is_set() and run.done < run.total:
            text = f"Analysis cancelled: {run.done:,} of {run.total:,} analysed."
        else:
            rate = run.done / elapsed if elapsed > 0 else 0.0
            text = f"Analysed {run.done:,} of {run.total:,} in {elapsed:.1f} s ({rate:.1f} images/s)."
        self.panel.finish_progress(text)
        self._status(text, 5000)
        self.triage_finished.emit(run.done)

    def _triage_failed(self, run: _Run, failure: Failure) -> None:
        if self.analysing is run:
            self.analysing = None
        self.panel.finish_progress(f"Analysis stopped: {failure.message}")
        self.notifications.add(failure.title, failure.message)
        self.triage_finished.emit(run.done)

    # ------------------------------------------------------------------ export
    def export_dialog(self) -> None:
        if self.view.model.rowCount() == 0:
            self._status("The worklist is empty: nothing to export.", 3000)
            return
        dlg = ExportWorklistDialog(self._parent, self.view.model.rowCount())
        if dlg.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return
        include = dlg.patient_check.isChecked()
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self._parent,
            "Export worklist",
            str(Path(self.settings.last_folder) / "worklist.csv"),
            "CSV (*.csv)",
            options=QtWidgets.QFileDialog.Option.DontConfirmOverwrite,  # asked below, then written atomically
        )
        if not path:
            return
        if not path.lower().endswith(".csv"):
            path += ".csv"
        self.settings.last_folder = str(Path(path).parent)
        self.export_to(path, include)

    def export_to(self, path, include_patient: bool = False, ask=confirm_overwrite) -> Path | None:
        """Every study of the worklist, in the order found; None when the user kept an existing file."""
        path = Path(path)
        existed = path.exists()
        if existed and not ask(self._parent, path):
            return None
        model = self.session.model
        version = model.info.version if model is not None else ""
        rows = [
            csv_row(r.source, version, include_patient)
            for r in self.view.model.rows()
            if r.source is not None
        ]
        try:
            written = write_atomic(path, csv_text(rows, include_patient).encode("utf-8"), overwrite=existed)
        except OSError as exc:
            self.notifications.add("Export failed", f"{path} could not be written ({exc.strerror or exc}).")
            return None
        self._status(f"Wrote {len(rows)} rows to {path}", 4000)
        return written

    # ------------------------------------------------------------------ the window closes
    def shutdown(self, msecs: int = 5000) -> None:
        for run in (self.opening, self.analysing):
            if run is not None:
                run.stop.set()
        self.runner.cancel_all()
        self.runner.wait(msecs)
        for c in self.collections:
            c.close()
        self.collections.clear()


__all__ = ["MAX_OPEN", "WorklistController", "is_collection"]
