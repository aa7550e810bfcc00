"""The open studies and the AI model: the state every part of the window is derived from.

:class:`StudySession` owns one :class:`StudyEntry` per opened file, which one is current, and the model
state. Controllers change it only through its methods, which emit the signals the other parts react to
(``entry_added`` / ``entry_updated`` / ``entry_removed`` / ``current_changed`` / ``frame_changed`` /
``model_changed``). Each entry keeps its own window/level, orientation, frame and annotations (with their
undo stack), so switching studies restores how it was left.

The AI result of an entry is one :class:`~viewer.core.model.result.AiResult` (prediction + the gate's
assessment): the panel, the study list, the heatmap and the exports all derive from it. A withheld result
shows its score only after a deliberate "show anyway" (``revealed``), which belongs to that entry alone
and is forgotten when another study becomes current.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6 import QtCore

from viewer.core import display
from viewer.core.display import Window
from viewer.core.study import Study
from viewer.gui.annotations import AnnotationLayer
from viewer.gui.orientation import Orientation
from viewer.gui.workers import Failure

if TYPE_CHECKING:
    from viewer.core.model.inference import PneumoniaModel
    from viewer.core.model.result import AiResult
    from viewer.gui.jobs import Loaded
    from viewer.gui.workers import Task


class LoadState(str, Enum):
    """Where a file is in being opened. (``str``: scripts comparing with ``"ready"`` keep working.)"""

    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


class AnalysisState(str, Enum):
    """Where a study is in being analysed by the model."""

    WAITING = "waiting"  # for the study to load or the model to be ready
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(eq=False)
class StudyEntry:
    """One opened file: its decoded study once loaded, how it is displayed, and its AI result."""

    id: int
    path: str
    state: LoadState = LoadState.LOADING
    study: Study | None = None
    failure: Failure | None = None
    default_u8: np.ndarray | None = None  # frame 0 at the default window: shown first, and the model input
    thumb_u8: np.ndarray | None = None
    # the study is a reduced-resolution preview at the full geometry until the full decode replaces it
    # (set_full_resolution); the AI result of the preview is kept (scores differ by < 0.01)
    full_pending: bool = False
    preview: tuple[Study, np.ndarray] | None = None  # the preview at its own size, rendered: the model input
    layer: AnnotationLayer | None = None  # created when the study is ready
    # how it is displayed
    frame: int = 0
    window: Window | None = None  # None = the file's default window
    invert: bool = False
    orientation: Orientation = Orientation()
    # the AI
    ai_state: AnalysisState = AnalysisState.WAITING
    result: AiResult | None = None  # prediction + the gate's state and reasons (frame 0, default window)
    revealed: bool = False  # the user asked to see a withheld score ("show anyway"); never carried over
    ai_error: str = ""
    # bookkeeping
    t_open: float = 0.0
    load_ms: float = 0.0
    tasks: list[Task] = field(default_factory=list)  # queued/running worker tasks, cancelled when it closes
    wl_limits: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)  # per frame

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def ready(self) -> bool:
        return self.state is LoadState.READY and self.study is not None

    def model_input(self) -> tuple[Study, np.ndarray] | None:
        """What the model analyses: frame 0 at the default window, from the reduced-resolution preview while
        there is one (the model sees 224 x 224; scores within 0.01 of the full image, tests/core)."""
        if self.preview is not None:
            return self.preview
        if not self.ready or self.study is None or self.default_u8 is None:
            return None
        return self.study, self.default_u8

    # -- what is shown: pure functions of the entry's state ------------------------------------------
    def current_frame(self) -> np.ndarray | None:
        return self.study.frames[self.frame] if self.ready else None

    def displayed_u8(self) -> np.ndarray | None:
        """The frame at the current window, inverted if asked: exactly what the image item shows."""
        if not self.ready:
            return None
        if self.frame == 0 and self.window is None:
            u8 = self.default_u8
        else:
            u8 = display.render(self.study.frames[self.frame], self.study.meta, self.effective_window())
        return 255 - u8 if self.invert else u8

    def effective_window(self) -> Window | None:
        """The window in use: the one chosen, else the series' default (an automatic window is computed once,
        from frame 0, not again for every frame: see :func:`viewer.core.display.default_window`)."""
        if not self.ready:
            return None
        if self.window is not None:
            return self.window
        return display.default_window(self.study)

    @property
    def score_shown(self) -> bool:
        """A result whose score (and heatmap) may be shown: not withheld, or revealed on request."""
        return self.result is not None and (not self.result.withheld or self.revealed)

    @property
    def heatmap_applies(self) -> bool:
        """The AI heatmap is on screen: a shown result, which belongs to frame 0 at the default rendering."""
        return self.ready and self.score_shown and self.frame == 0


class StudySession(QtCore.QObject):
    """The open studies, the current one, and the AI model. Emits a signal for every change."""

    entry_added = QtCore.Signal(object)  # StudyEntry
    entry_updated = QtCore.Signal(object)  # StudyEntry: loaded, failed, analysis started / done / failed
    entry_removed = QtCore.Signal(object)  # StudyEntry (already out of ``entries``)
    current_changed = QtCore.Signal(object)  # StudyEntry | None
    frame_changed = QtCore.Signal(object)  # StudyEntry whose frame (or its pixels: full resolution) changed
    model_changed = QtCore.Signal()  # the model loaded, failed or started loading

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.entries: dict[int, StudyEntry] = {}  # in opening order
        self.current: StudyEntry | None = None
        self._next_id = 1
        self.model: PneumoniaModel | None = None
        self.model_error: str | None = None
        self.model_loading = False

    # -- entries ------------------------------------------------------------------------------
    def add(self, path: str) -> StudyEntry:
        entry = StudyEntry(self._next_id, path, t_open=time.perf_counter())
        self._next_id += 1
        self.entries[entry.id] = entry
        self.entry_added.emit(entry)
        return entry

    def find(self, path: str) -> StudyEntry | None:
        key = Path(path).resolve()
        return next((e for e in self.entries.values() if Path(e.path).resolve() == key), None)

    def is_open(self, entry: StudyEntry) -> bool:
        return self.entries.get(entry.id) is entry

    def set_loaded(self, entry: StudyEntry, loaded: Loaded) -> None:
        entry.study, entry.default_u8, entry.thumb_u8 = loaded.study, loaded.default_u8, loaded.thumb_u8
        entry.load_ms = loaded.elapsed_ms
        entry.layer = AnnotationLayer(loaded.study.meta.pixel_spacing)
        entry.full_pending, entry.preview = loaded.preview, loaded.small
        entry.state = LoadState.READY
        self.entry_updated.emit(entry)

    def set_full_resolution(self, entry: StudyEntry, loaded: Loaded) -> None:
        """Replace a preview's pixels by the full decode. The preview already had the full image's rows and
        columns, so zoom, pan, orientation, window, annotations and the heatmap stay as they are; the view
        redraws the frame in place (``frame_changed``)."""
        shown = entry.study
        if not self.is_open(entry) or shown is None or not entry.ready or not entry.full_pending:
            return
        if (loaded.study.meta.rows, loaded.study.meta.columns) != (shown.meta.rows, shown.meta.columns):
            return  # cannot happen (same file, same header); never swap in another geometry
        entry.study, entry.default_u8 = loaded.study, loaded.default_u8
        entry.full_pending, entry.preview = False, None
        entry.wl_limits.clear()
        self.frame_changed.emit(entry)
        self.entry_updated.emit(entry)

    def set_failed(self, entry: StudyEntry, failure: Failure) -> None:
        entry.state, entry.failure = LoadState.FAILED, failure
        self.entry_updated.emit(entry)

    def set_analysis_running(self, entry: StudyEntry) -> None:
        entry.ai_state = AnalysisState.RUNNING
        self.entry_updated.emit(entry)

    def set_result(self, entry: StudyEntry, result: AiResult) -> None:
        entry.result, entry.ai_state, entry.revealed = result, AnalysisState.DONE, False
        if self.is_open(entry):
            self.entry_updated.emit(entry)

    def set_revealed(self, entry: StudyEntry, on: bool) -> None:
        """Show (or hide again) a withheld score of this entry only; nothing else changes."""
        on = bool(on) and entry.result is not None and entry.result.withheld
        if on != entry.revealed:
            entry.revealed = on
            if self.is_open(entry):
                self.entry_updated.emit(entry)

    def set_analysis_failed(self, entry: StudyEntry, message: str) -> None:
        entry.ai_state, entry.ai_error = AnalysisState.FAILED, message
        if self.is_open(entry):
            self.entry_updated.emit(entry)

    def remove(self, entry_id: int, successor: StudyEntry | None = None) -> StudyEntry | None:
        """Forget an entry. If it was the current one, ``successor`` becomes current (unless a slot of
        ``entry_removed`` already picked another); the closed entry is never current meanwhile."""
        entry = self.entries.pop(entry_id, None)
        if entry is None:
            return None
        was_current = self.current is entry
        if was_current:
            self.current = None
        self.entry_removed.emit(entry)
        if was_current and self.current is None:
            self.current = successor if successor is not None and self.is_open(successor) else None
            if self.current is not None:
                self.current.revealed = False
            self.current_changed.emit(self.current)
        return entry

    # -- the current entry and its frame ----------------------------------------------------------
    def set_current(self, entry: StudyEntry | None) -> None:
        if entry is self.current:
            return
        for e in (self.current, entry):  # a reveal is for the study it was asked on, while it is shown
            if e is not None:
                e.revealed = False
        self.current = entry
        self.current_changed.emit(entry)

    def set_frame(self, entry: StudyEntry, index: int) -> None:
        if not entry.ready:
            return
        index = int(np.clip(index, 0, entry.study.n_frames - 1))
        if index != entry.frame:
            entry.frame = index
            self.frame_changed.emit(entry)

    # -- the model --------------------------------------------------------------------------------
    def set_model_loading(self) -> None:
        self.model_loading = True
        self.model_changed.emit()

    def set_model(self, model: PneumoniaModel | None, error: str | None = None) -> None:
        self.model, self.model_error, self.model_loading = model, error, False
        self.model_changed.emit()

    # -- counts for the status bar ----------------------------------------------------------------
    def count(self, state: LoadState | AnalysisState) -> int:
        if isinstance(state, LoadState):
            return sum(1 for e in self.entries.values() if e.state is state)
        return sum(1 for e in self.entries.values() if e.ai_state is state)
