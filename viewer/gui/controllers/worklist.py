"""The worklist: opening a folder, a CD (DICOMDIR) or a ZIP, batch triage over it, and its CSV export.

- **Opening** walks the sources with :func:`viewer.core.io.collection.collect` in a worker (a progress dialog
  with Cancel), then reads each file's header there too (patient, date, modality, view: no pixels). The
  problems found (unsafe or damaged archive entries, missing files, duplicates) become one notification.
  Open recent records what was opened (the folder, the DICOMDIR, the ZIP), not the images inside it.
- **Pixels on demand**: a row becomes a study of the session (decoded, displayed, analysed) only when it is
  chosen, and at most :data:`MAX_OPEN` studies opened from the worklist stay decoded: the least recently
  chosen one without annotations is closed when another is opened, so a CD of 1,000 films stays small.
- **Analyse all** runs :func:`viewer.core.model.triage.triage` (batched, the same gate as a single study) in a
  worker; rows fill in as each batch is scored, with progress, rate and time left, and Cancel. The GUI thread
  takes the results in batches (every :data:`FLUSH_MS` ms: one ``dataChanged`` a run of rows, one progress
  update), so that sorting, filtering and painting 1,000 rows do not stall it.
- **Thumbnails** (:data:`~viewer.gui.widgets.worklist.THUMB_SIDE` px grey) fill in behind the table once it is
  shown: :func:`thumbnail_job` decodes each file as small as it allows (a JPEG at 1/8 of its size, a JPEG 2000
  at its smallest resolution level, anything else in full) in the background, a batch reaching the table every
  :data:`FLUSH_MS` ms. Analyse all stops that pass and takes over (the triage's own rendering of each image,
  shrunk in its decode thread: ``triage(thumbnail_side=...)``); rows it did not reach are done after it. A
  study opened from the worklist gives its row its own thumbnail. A file that cannot be read has none.
- **Flags** are remembered in the settings by study identity (``Entry.key``: SOP Instance UID or SHA-256),
  so reopening the same folder, CD or ZIP shows them again.
- **Export worklist** writes :mod:`viewer.core.model.worklist_csv` (the CLI's columns) atomically, asking before
  it replaces a file; patient identifiers only when the user ticks the box.

Long jobs (walking, triage) run on their own one-thread runner, so opening a study is never stuck behind them,
and at a lower CPU priority than the GUI thread (Linux: :data:`BACKGROUND_NICE`), so that the window stays
responsive while they keep every core busy (``benchmarks/bench_worklist_gui.py`` measures it).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
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
from viewer.gui.widgets.worklist import THUMB_SIDE, Flag, parse_flag, thumbnail_image, thumbnail_u8
from viewer.gui.widgets.worklist_panel import ExportWorklistDialog, WorklistPanel
from viewer.gui.workers import Failure, TaskRunner

if TYPE_CHECKING:
    from viewer.core.model.triage import TriageRow

log = logging.getLogger(__name__)
MAX_OPEN = 12  # studies opened from the worklist that stay decoded
FLUSH_MS = 100  # triage results reach the table at most this often (a batch of rows each time)
OPEN_DIALOG_MS = 300  # a walk that lasts longer shows a progress dialog (a quicker one shows nothing)
DOCK_SHARE = 0.42  # of the window's height: the worklist dock when it first opens (about 5 rows at 1000 px)
BACKGROUND_NICE = 10  # the batch triage's threads: this much nicer than the GUI thread (Linux)
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

    _background_priority()  # hashing every file is CPU work too
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


def _background_priority() -> None:
    """Lower the calling worker thread's CPU priority (Linux: its nice value, per thread), so that the GUI
    thread runs first whenever both want a core; the threads it starts inherit it (the triage's decode
    threads). Nothing elsewhere, and nothing if the system refuses."""
    if not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        now = os.getpriority(os.PRIO_PROCESS, tid)
        if now < BACKGROUND_NICE:
            os.setpriority(os.PRIO_PROCESS, tid, BACKGROUND_NICE)
    except (AttributeError, OSError) as exc:
        log.debug("worklist: thread priority unchanged (%s)", exc)


def thumbnail_job(
    entries: list[Entry], indices: list[int], emit: Callable, cancel: Callable[[], bool]
) -> int:
    """Thumbnails of the rows ``indices`` (their ``entries``): ``emit(index, entry, QImage)`` per file that
    could be read. Each is decoded as small as it allows (``load_for_model`` with a thumbnail-sized bound)
    and rendered at its default window; nothing is kept but the thumbnail."""
    from viewer.core.display import render_default  # noqa: PLC0415
    from viewer.core.errors import StudyError  # noqa: PLC0415
    from viewer.core.io.load import load_for_model  # noqa: PLC0415 - pydicom: in the worker

    _background_priority()
    n = 0
    for index, entry in zip(indices, entries, strict=True):
        if cancel():
            break
        try:
            grey = render_default(load_for_model(entry.path, min_side=2 * THUMB_SIDE), 0)
        except (StudyError, MemoryError):  # its analysis (or opening it) says what is wrong
            continue
        image = thumbnail_image(thumbnail_u8(grey))
        if image is not None:
            emit(index, entry, image)
            n += 1
    return n


def triage_job(
    model, entries: list[Entry], indices: list[int], emit: Callable, cancel: Callable[[], bool]
) -> int:
    """The model over ``entries`` (rows ``indices`` of the worklist); ``emit(index, row, thumbnail)`` per
    result (thumbnail: a :data:`~viewer.gui.widgets.worklist.THUMB_SIDE` px grey QImage, made here rather
    than on the GUI thread (QImage is reentrant), or None)."""
    from viewer.core.model.triage import triage  # noqa: PLC0415 - ONNX Runtime: loaded with the model

    _background_priority()
    n = 0
    rows = triage(model, entries, cancel=cancel, thumbnail_side=THUMB_SIDE)
    for index, row in zip(indices, rows, strict=False):
        emit(index, dataclasses.replace(row, thumbnail=None), thumbnail_image(row.thumbnail))
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
    row = QtCore.Signal(object, int, object, object)  # run, worklist row index, TriageRow, thumbnail or None
    thumbnail = QtCore.Signal(object, int, object, object)  # run, worklist row index, Entry, QImage


@dataclass(eq=False)
class _Run:
    kind: str  # "open", "triage" or "thumbnails"
    total: int = 0
    done: int = 0
    t0: float = field(default_factory=time.perf_counter)
    stop: threading.Event = field(default_factory=threading.Event)
    dialog: QtWidgets.QProgressDialog | None = None  # made only if the walk lasts (OPEN_DIALOG_MS)
    last: tuple[int, int, str] = (0, 0, "Looking for studies…")  # the walk's last progress report
    pending: list = field(default_factory=list)  # (row index, Entry, payload): not in the table yet


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
        self.thumbnailing: _Run | None = None
        self._dock_sized = False
        self._opened: list[
            int
        ] = []  # session entry ids opened from the worklist, least recently chosen first
        self._bridge = _Bridge(self)
        queued = QtCore.Qt.ConnectionType.QueuedConnection
        self._bridge.progress.connect(self._on_progress, queued)
        self._bridge.row.connect(self._on_row, queued)
        self._bridge.thumbnail.connect(self._on_thumbnail, queued)
        self._flush_timer = QtCore.QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush_rows)
        self._flush_timer.timeout.connect(self._flush_thumbnails)
        self.view.activated.connect(self.open_entry)
        self.view.model.flag_changed.connect(self._remember_flag)
        panel.cancel_requested.connect(self.cancel_triage)
        session.current_changed.connect(lambda e: e is not None and self.view.select_path(e.path))
        session.entry_updated.connect(self._from_session)
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
        self._stop_thumbnails()
        run = _Run("open")
        self.opening = run
        # the dialog is made when it is needed: building and laying it out costs tens of ms of the GUI thread
        QtCore.QTimer.singleShot(OPEN_DIALOG_MS, self, lambda: self._show_open_dialog(run))
        self.runner.submit(
            collect_job,
            paths,
            lambda done, total, text: self._bridge.progress.emit(run, done, total, text),
            run.stop.is_set,
            on_result=lambda value: self._opened_collection(run, paths, *value),
            on_error=lambda failure: self._open_failed(run, failure),
        )
        self._status("Looking for studies…", 3000)

    def _show_open_dialog(self, run: _Run) -> None:
        """The walk is still going: a progress dialog with Cancel."""
        if self.opening is not run or run.dialog is not None:
            return
        dlg = QtWidgets.QProgressDialog("Looking for studies…", "Cancel", 0, 0, self._parent)
        dlg.setWindowTitle("Opening")
        # never modal: a modal QProgressDialog.setValue runs processEvents, so a progress report delivered the
        # walk's result inside setValue, which deleted the dialog under Qt's feet (SIGSEGV). Non-modal, the
        # user reads the open study while the folder is walked; a second folder is refused until this ends.
        dlg.setWindowModality(QtCore.Qt.WindowModality.NonModal)
        dlg.setMinimumDuration(0)
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        dlg.canceled.connect(run.stop.set)
        run.dialog = dlg
        self._on_progress(run, *run.last)
        dlg.show()

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
        remembered = self.settings.worklist_flags_for(e.key for e in entries)
        flags = {key: parse_flag(value) for key, value in remembered.items()}
        self.view.model.set_entries(entries, flags, enumerate(headers))  # one reset, one sort
        names = ", ".join(Path(s.path).name or s.path for s in found.sources) or ", ".join(paths)
        n = len(entries)
        summary = f"{names}: {n} {'study' if n == 1 else 'studies'}"
        if found.cancelled:
            summary += " (stopped early: opening was cancelled)"
        self.panel.set_summary(summary)
        self.panel.finish_progress("")
        self._show_dock()
        self.opened.emit(n)
        self._start_thumbnails()
        if entries:
            self.view.step(+1)  # the first row becomes the current study; the others decode when chosen
        elif not found.problems:
            self.notifications.add(
                "Nothing to open", f"No DICOM, PNG, JPEG or TIFF files were found in {names}."
            )

    def _show_dock(self) -> None:
        """The worklist dock, visible; the first time, tall enough for several rows (a third of the window or
        more), later as the user left it."""
        first = not self.dock.isVisible() and not self._dock_sized
        self.dock.show()
        self.dock.raise_()
        window = self.dock.parentWidget()
        if first and isinstance(window, QtWidgets.QMainWindow):
            self._dock_sized = True
            height = max(self.dock.height(), int(window.height() * DOCK_SHARE))
            window.resizeDocks([self.dock], [height], QtCore.Qt.Orientation.Vertical)

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
        run.last = (done, total, text)
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

    def _from_session(self, entry: StudyEntry) -> None:
        """A study opened from the worklist was decoded: its row shows its thumbnail; analysed: its result
        too (without heatmap)."""
        if not entry.ready:
            return
        i = self.view.model.index_of(entry.path)
        if i < 0:
            return
        row = self.view.model.row(i)
        if row.thumbnail is None and entry.thumb_u8 is not None:  # the study list's: shrunk again (µs)
            full = entry.default_u8.shape if entry.default_u8 is not None else None
            self.view.model.set_thumbnail(i, thumbnail_u8(entry.thumb_u8, of_shape=full))
        if entry.result is None or (row.source is not None and row.source.result is not None):
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

    def _remember_flag(self, entry: Entry, flag: Flag) -> None:
        """In the settings, by the study's identity: the same folder, CD or ZIP reopened shows it again."""
        if not self.settings.set_worklist_flag(entry.key, flag.value):
            log.info("flag of %s not remembered: the study has no UID or hash", entry.display)

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
        self._stop_thumbnails()  # the triage makes the thumbnails of the rows it scores
        run = _Run("triage", total=len(todo))
        self.analysing = run
        self.panel.show_progress(0, run.total, 0.0)
        self.runner.submit(
            triage_job,
            model,
            [rows[i].entry for i in todo],
            todo,
            lambda index, row, thumb: self._bridge.row.emit(run, index, row, thumb),
            run.stop.is_set,
            on_result=lambda n: self._triage_done(run),
            on_error=lambda failure: self._triage_failed(run, failure),
        )

    def cancel_triage(self) -> None:
        if self.analysing is not None:
            self.analysing.stop.set()

    @QtCore.Slot(object, int, object, object)
    def _on_row(self, run: _Run, index: int, row: TriageRow, thumb) -> None:
        if run is not self.analysing:  # a cancelled run's last batch still shows; an old run's does not
            return
        run.pending.append((index, row.entry, (row, thumb)))
        run.done += 1
        if run.done == 1:  # the first result shows at once, the next ones in batches
            self._flush_rows()
        elif not self._flush_timer.isActive():
            self._flush_timer.start()

    def _flush_rows(self) -> None:
        """The results received since the last flush into the table, at once; one progress update."""
        run = self.analysing
        if run is None or not run.pending:
            return
        self.view.model.set_results([(i, r, t) for i, (r, t) in self._take_pending(run)])
        self.panel.show_progress(run.done, run.total, time.perf_counter() - run.t0)

    def _triage_done(self, run: _Run) -> None:
        if self.analysing is run:
            self._flush_rows()
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
        self._start_thumbnails()  # rows a cancelled run did not reach

    def _triage_failed(self, run: _Run, failure: Failure) -> None:
        if self.analysing is run:
            self._flush_rows()
            self.analysing = None
        self.panel.finish_progress(f"Analysis stopped: {failure.message}")
        self.notifications.add(failure.title, failure.message)
        self.triage_finished.emit(run.done)
        self._start_thumbnails()

    # ------------------------------------------------------------------ thumbnails in the background
    def _start_thumbnails(self) -> None:
        """A background pass over the rows without a thumbnail (none while a triage or another pass runs)."""
        if self.thumbnailing is not None or self.analysing is not None:
            return
        rows = self.view.model.rows()
        todo = [i for i, r in enumerate(rows) if r.thumbnail is None]
        if not todo:
            return
        run = _Run("thumbnails", total=len(todo))
        self.thumbnailing = run
        self.runner.submit(
            thumbnail_job,
            [rows[i].entry for i in todo],
            todo,
            lambda index, entry, image: self._bridge.thumbnail.emit(run, index, entry, image),
            run.stop.is_set,
            on_result=lambda n: self._thumbnails_done(run),
            on_error=lambda failure: self._thumbnails_done(run),
        )

    def _stop_thumbnails(self) -> None:
        run, self.thumbnailing = self.thumbnailing, None
        if run is not None:
            run.stop.set()
            run.pending.clear()

    @QtCore.Slot(object, int, object, object)
    def _on_thumbnail(self, run: _Run, index: int, entry: Entry, image) -> None:
        if run is not self.thumbnailing:  # stopped: the triage or a new worklist owns the rows now
            return
        run.pending.append((index, entry, image))
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _flush_thumbnails(self) -> None:
        run = self.thumbnailing
        if run is None or not run.pending:
            return
        self.view.model.set_thumbnails(self._take_pending(run))

    def _take_pending(self, run: _Run) -> list[tuple[int, object]]:
        """``run``'s (row index, payload) received since the last flush whose row still holds the entry it
        was made for (a new worklist may have replaced it); cleared."""
        model = self.view.model
        n = model.rowCount()
        items = [(i, payload) for i, entry, payload in run.pending if i < n and model.row(i).entry is entry]
        run.pending.clear()
        return items

    def _thumbnails_done(self, run: _Run) -> None:
        if self.thumbnailing is run:
            self._flush_thumbnails()
            self.thumbnailing = None

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
        for run in (self.opening, self.analysing, self.thumbnailing):
            if run is not None:
                run.stop.set()
        self.runner.cancel_all()
        self.runner.wait(msecs)
        for c in self.collections:
            c.close()
        self.collections.clear()


__all__ = ["MAX_OPEN", "WorklistController", "is_collection"]
