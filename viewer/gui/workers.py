"""Background work (decode, render, inference) on a QThreadPool, reported back to the GUI thread by signals.

:class:`TaskRunner` runs any plain function in a worker thread and calls ``on_result(value)`` or
``on_error(failure)`` later in the GUI thread (queued connections), so callers never touch widgets
from a worker. A :class:`Failure` carries a short title and a user-readable message: ``StudyError``
subclasses keep theirs, a Rust decoder's panic (``PanicException``, a ``BaseException``) becomes the
"Damaged image data" of :class:`~viewer.core.errors.CorruptPixelDataError`, anything else becomes
"Unexpected error" with the traceback kept for the log. A task always reports back, whatever it raised.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from PySide6 import QtCore

from viewer.core.errors import CorruptPixelDataError, StudyError
from viewer.core.io.panics import is_decoder_panic, panic_detail
from viewer.core.model import ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    title: str
    message: str
    detail: str = ""  # traceback for the log, never shown as the main message


def failure_from_exception(exc: BaseException) -> Failure:
    if isinstance(exc, StudyError):
        return Failure(exc.title, str(exc))
    if isinstance(exc, ModelError):  # written for the user, like StudyError
        return Failure("AI model unavailable", str(exc))
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if is_decoder_panic(exc):
        message = f"The image data is damaged and its decoder failed (PanicException: {panic_detail(exc)})."
        return Failure(CorruptPixelDataError.title, message, detail)
    title = getattr(exc, "title", None) or "Unexpected error"
    return Failure(str(title), f"{type(exc).__name__}: {exc}", detail)


class _Signals(QtCore.QObject):
    """The runner's one pair of signals, shared by all its tasks (it lives in the GUI thread)."""

    result = QtCore.Signal(object, object)  # task, value
    error = QtCore.Signal(object, object)  # task, Failure


class Task(QtCore.QRunnable):
    """One submitted call; :meth:`TaskRunner.submit` returns it so that its owner can cancel it.

    Signals (issue #15 item 7, an intermittent SIGSEGV): a task used to own a QObject for its signals,
    deleted (``deleteLater``) as soon as the GUI thread had delivered its result, while the worker thread
    could still be inside that object's ``emit`` (the queued event is posted before ``emit`` returns; a GUI
    thread spinning its event loop, as the screenshot tool does, runs the deferred delete at once). The
    signals now belong to the runner and live as long as it. The QRunnable itself cannot be freed under
    its thread: PySide's QThreadPool keeps a reference to every runnable it started. (That hazard was never
    seen to crash; the SIGSEGV that CI did catch came from the worklist's modal progress dialog, see
    ``WorklistController._show_open_dialog``.)
    """

    def __init__(self, fn: Callable, args: tuple, kwargs: dict, signals: _Signals):
        super().__init__()
        self.setAutoDelete(False)  # Python owns it (PySide's pool keeps a reference, see the class docstring)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.signals = signals
        self.on_result: Callable | None = None
        self.on_error: Callable | None = None
        self.cancelled = False

    def run(self) -> None:  # worker thread
        if self.cancelled:  # still report back, so the runner forgets the task (its callback is skipped)
            self.signals.result.emit(self, None)
            return
        try:
            value = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:  # noqa: BLE001 - every failure reaches the GUI (pyo3 panics included)
            failure = failure_from_exception(exc)
            if failure.detail:
                log.error("background task failed: %s", failure.detail)
            self.signals.error.emit(self, failure)
        else:
            self.signals.result.emit(self, value)
            del value  # the GUI thread owns the result now


class TaskRunner(QtCore.QObject):
    """Submit functions to a thread pool; callbacks run in the GUI thread."""

    busy_changed = QtCore.Signal(int)  # number of tasks still running or queued

    def __init__(self, parent: QtCore.QObject | None = None, max_threads: int = 2):
        super().__init__(parent)
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, max_threads))
        self._tasks: set[Task] = set()
        self._signals = _Signals(self)
        self._signals.result.connect(self._deliver_result, QtCore.Qt.ConnectionType.QueuedConnection)
        self._signals.error.connect(self._deliver_error, QtCore.Qt.ConnectionType.QueuedConnection)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def submit(
        self,
        fn: Callable,
        *args,
        on_result: Callable | None = None,
        on_error: Callable | None = None,
        priority: int = 0,
        **kwargs,
    ) -> Task:
        task = Task(fn, args, kwargs, self._signals)
        task.on_result, task.on_error = on_result, on_error
        self._tasks.add(task)
        self.busy_changed.emit(len(self._tasks))
        self.pool.start(task, priority)
        return task

    def _finish(self, task: Task) -> None:
        self._tasks.discard(task)
        # QThreadPool keeps a reference to tasks that are not auto-deleted: drop what they hold (the study's
        # frames, the callbacks and through them the study entry), or every closed study stays in memory.
        task.fn = task.args = task.kwargs = task.on_result = task.on_error = None
        self.busy_changed.emit(len(self._tasks))

    @QtCore.Slot(object, object)
    def _deliver_result(self, task: Task, value) -> None:
        try:
            if task.on_result is not None and not task.cancelled:
                task.on_result(value)
        finally:
            self._finish(task)

    @QtCore.Slot(object, object)
    def _deliver_error(self, task: Task, failure: Failure) -> None:
        try:
            if task.on_error is not None and not task.cancelled:
                task.on_error(failure)
        finally:
            self._finish(task)

    def cancel(self, task: Task) -> None:
        """Drop a queued task, or ignore the result of a running one (it reports back and is forgotten)."""
        if task not in self._tasks:
            return
        task.cancelled = True
        if self.pool.tryTake(task):
            self._finish(task)

    def cancel_all(self) -> None:
        """Drop queued tasks and ignore the results of running ones (used when the window closes)."""
        for task in list(self._tasks):
            task.cancelled = True
            if self.pool.tryTake(task):
                self._finish(task)
        self.busy_changed.emit(len(self._tasks))

    def wait(self, msecs: int = 10_000) -> bool:
        return self.pool.waitForDone(msecs)
