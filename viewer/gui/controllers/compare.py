"""Side-by-side comparison: the current study (the reading view) beside another one (the compare pane).

- **Which study**: any other displayed study (View > Compare with…), or the same patient's previous one
  (:func:`previous_study`: same Patient ID, the latest study date and time before the current one's).
- **Synchronised** (a toggle, on by default): zoom and pan follow from either side, as the same fraction of
  each image (a fitted image stays fitted, the same region stays in the middle, also when the two images
  differ in size), and the window/level chosen on either side applies to both (the file's own default
  window stays each study's own). Unsynchronised, each side keeps its own.
- **Each side** shows its own AI result line (state and probability, from its ``entry.result``; a withheld
  score stays withheld) and its own heatmap, in the heatmap style of the window.
- Leaving compare mode (or closing either study) restores the single view. When the compared study becomes
  the current one, the two sides swap.

The main view is the display controller's: this controller only reads it and asks, through the callables it
is given, for a window to be applied there (controllers do not import each other).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6 import QtCore, QtWidgets

from viewer.core import display
from viewer.core.display import Window
from viewer.core.overlay import OverlayStyle
from viewer.gui.session import StudyEntry, StudySession
from viewer.gui.widgets.compare_pane import ComparePane, ResultLine
from viewer.gui.widgets.image_view import ImageView
from viewer.gui.window_level import drag_window, linear_base

SYNC_TOLERANCE = 1e-4  # relative: a view closer than this to the target is not moved (no ping-pong)


def study_key(entry: StudyEntry) -> tuple[str, str] | None:
    """(study date, time) in ISO form, or None when the study has no date (it cannot be ordered)."""
    if not entry.ready or not entry.study.meta.study.date:
        return None
    return entry.study.meta.study.date, entry.study.meta.study.time


def previous_study(entries: Iterable[StudyEntry], current: StudyEntry | None) -> StudyEntry | None:
    """The same patient's latest study before ``current`` (by Patient ID, then study date and time), or None
    when ``current`` has no Patient ID or date, or the session holds no earlier study of that patient."""
    if current is None or not current.ready:
        return None
    pid, key = current.study.meta.patient.id.strip(), study_key(current)
    if not pid or key is None:
        return None
    earlier = [
        (k, e)
        for e in entries
        if e is not current
        and e.ready
        and e.study.meta.patient.id.strip() == pid
        and (k := study_key(e)) is not None
        and k < key
    ]
    return max(earlier, key=lambda ke: ke[0])[1] if earlier else None


def result_line(entry: StudyEntry | None) -> str:
    """The study's AI result, date and name in one line (the score only when it may be shown; the name last,
    as it is the part a narrow side cuts off)."""
    if entry is None:
        return ""
    r = entry.result
    if r is None:
        parts = ["AI: " + ("analysis failed" if entry.ai_error else "no result yet")]
    elif r.withheld and not entry.revealed:
        parts = [f"AI: {r.state.title} (no score)"]
    else:
        parts = [f"AI: {r.state.title} - {r.prediction.probability:.0%} {r.label_text}"]
    if entry.ready and entry.study.meta.study.date:
        parts.append(entry.study.meta.study.date)
    parts.append(entry.name)
    return "  ·  ".join(parts)


class CompareController(QtCore.QObject):
    changed = QtCore.Signal()  # compare mode entered or left, or sync toggled (checkable actions follow)

    def __init__(
        self,
        session: StudySession,
        main_view: ImageView,
        main_line: ResultLine,
        pane: ComparePane,
        set_main_window: Callable[[Window | None], None],
        heatmap_style: Callable[[], OverlayStyle],
        heatmap_visible: Callable[[], bool],
        parent_widget: QtWidgets.QWidget,
        status: Callable[[str], None],
        letters: Callable[[StudyEntry], dict[str, str]] = lambda _e: {},
    ):
        super().__init__(pane)
        self.session, self.main_view, self.main_line, self.pane = session, main_view, main_line, pane
        self.view = pane.view
        self._set_main_window = set_main_window
        self._heatmap_style, self._heatmap_visible = heatmap_style, heatmap_visible
        self.parent_widget, self.status = parent_widget, status
        self._letters = letters  # the orientation letters of a study as displayed
        self.other: StudyEntry | None = None  # the compared study (None: not comparing)
        self.sync = True
        self._main: StudyEntry | None = None  # the current study when compare mode was last rendered
        self._shown_id: int | None = None  # the entry whose image the pane holds
        self._syncing = False
        main_view.view_changed.connect(lambda: self._sync_views(self.main_view, self.view))
        self.view.view_changed.connect(lambda: self._sync_views(self.view, self.main_view))
        self.view.window_drag.connect(self._drag_window)
        session.entry_removed.connect(self._removed)
        session.entry_updated.connect(lambda e: e is self.other and self._render_other())

    @property
    def active(self) -> bool:
        return self.other is not None

    # -- entering and leaving ---------------------------------------------------------------------
    def compare_with(self, entry_id: int) -> bool:
        cur, other = self.session.current, self.session.entries.get(entry_id)
        if cur is None or not cur.ready or other is None or other is cur or not other.ready:
            return False
        self.other, self._main, self._shown_id = other, cur, None
        self.pane.show()
        self.main_line.show()
        self.render(cur)
        QtCore.QTimer.singleShot(0, self, self._after_layout)  # the views have their new sizes after layout
        self.changed.emit()
        return True

    def compare_previous(self) -> StudyEntry | None:
        cur = self.session.current
        prev = previous_study(self.session.entries.values(), cur)
        if prev is None:
            who = cur.study.meta.patient.id.strip() if cur is not None and cur.ready else ""
            self.status(
                f"No earlier study of patient {who} is open." if who else "This study has no Patient ID."
            )
            return None
        self.compare_with(prev.id)
        self.status(f"Compared with the previous study, {prev.name}")
        return prev

    def compare_with_dialog(self) -> None:
        cur = self.session.current
        others = [e for e in self.session.entries.values() if e is not cur and e.ready]
        if cur is None or not others:
            self.status("Open another study to compare with.")
            return
        names = [f"{e.name}  ({e.study.meta.study.date or 'no date'})" for e in others]
        name, ok = QtWidgets.QInputDialog.getItem(
            self.parent_widget, "Compare with", "Show beside the current study:", names, 0, False
        )
        if ok and name in names:
            self.compare_with(others[names.index(name)].id)

    def stop(self) -> None:
        if self.other is None:
            return
        self.other, self._main, self._shown_id = None, None, None
        self.view.clear()
        self.pane.letters.set_letters({})
        self.pane.hide()
        self.main_line.hide()
        QtCore.QTimer.singleShot(0, self, self._refit_main)
        self.changed.emit()

    def set_sync(self, on: bool) -> None:
        self.sync = bool(on)
        if self.sync and self.active:
            self._sync_window_to_other()
            self._sync_views(self.main_view, self.view)
        self.changed.emit()

    # -- rendering (from MainWindow.render_current) ------------------------------------------------
    def render(self, entry: StudyEntry | None) -> None:
        if self.other is None:
            return
        if entry is None or not entry.ready:
            if entry is None:
                self.stop()
            return
        if entry is self.other:  # the compared study became current: the sides swap
            self.other, self._shown_id = self._main, None
            if self.other is None or not self.session.is_open(self.other):
                self.stop()
                return
        self._main = entry
        self.main_line.setText(result_line(entry))
        self._render_other()

    def refresh_window(self) -> None:
        """The main study's window changed: the compared one follows when synchronised."""
        if self.active and self.sync:
            self._sync_window_to_other()

    def _render_other(self) -> None:
        e = self.other
        if e is None or not e.ready:
            return
        self.pane.line.setText(result_line(e))
        self.pane.letters.set_letters(self._letters(e))
        reset = self._shown_id != e.id
        if reset:
            self._shown_id = e.id
            self.view.orientation = e.orientation
        self.view.set_image(e.displayed_u8(), reset_view=reset)
        if reset:
            self.view.set_orientation(e.orientation, refit=True)
        self.render_heatmap()
        if reset and self.sync:
            self._sync_window_to_other()
            self._sync_views(self.main_view, self.view)

    def render_heatmap(self) -> None:
        e, layer = self.other, self.view.heatmap
        if e is None or not e.ready:
            return
        layer.set_style(self._heatmap_style())
        pred = e.result.prediction if e.score_shown else None
        if pred is None:
            layer.set_map(None, None)
        elif layer.source is not pred.heatmap:
            layer.set_map(pred.heatmap, pred.heatmap_scale, e.study.frames[0].shape)
        layer.setVisible(self._heatmap_visible() and e.heatmap_applies)

    def _removed(self, entry: StudyEntry) -> None:
        if entry is self.other or entry is self._main:
            self.stop()

    def _after_layout(self) -> None:
        if self.active:
            self.view.fit()
            if self.main_view.fit_mode:
                self.main_view.fit()
            if self.sync:
                self._sync_views(self.main_view, self.view)

    def _refit_main(self) -> None:
        if self.main_view.fit_mode:
            self.main_view.fit()

    # -- window / level ------------------------------------------------------------------------------
    def _sync_window_to_other(self) -> None:
        main, e = self.session.current, self.other
        if main is None or e is None or not main.ready or not e.ready:
            return
        if e.window != main.window:
            e.window = main.window  # None: each study's own default window
            self.view.set_image(e.displayed_u8())

    def _drag_window(self, dx: float, dy: float) -> None:
        """A W/L drag on the compare pane: its study's window, and the main one's too when synchronised."""
        e = self.other
        if e is None or not e.ready:
            return
        frame = e.current_frame()
        if e.frame not in e.wl_limits:
            e.wl_limits[e.frame] = display.window_range(e.study.meta, frame)
        e.window = drag_window(
            linear_base(e.effective_window(), e.study.meta, frame), dx, dy, e.wl_limits[e.frame]
        )
        self.view.set_image(e.displayed_u8())
        if self.sync:
            self._set_main_window(e.window)

    def set_window(self, window: Window | None) -> None:
        """Set the compared study's window (and the main one's when synchronised)."""
        e = self.other
        if e is None or not e.ready:
            return
        e.window = window
        self.view.set_image(e.displayed_u8())
        if self.sync:
            self._set_main_window(window)

    # -- zoom and pan ----------------------------------------------------------------------------------
    def _sync_views(self, source: ImageView, target: ImageView) -> None:
        if self._syncing or not self.sync or not self.active:
            return
        src_rect, dst_rect = source.oriented_rect(), target.oriented_rect()
        if src_rect.isEmpty() or dst_rect.isEmpty() or source.vb.width() < 2 or target.vb.width() < 2:
            return
        self._syncing = True
        try:
            if source.fit_mode:
                if not target.fit_mode:
                    target.fit()
                return
            rel = source.zoom() / _fit_zoom(source)  # magnification relative to the fitted image
            c = source.vb.viewRect().center()
            cx = c.x() / src_rect.width() * dst_rect.width()
            cy = c.y() / src_rect.height() * dst_rect.height()
            zoom = rel * _fit_zoom(target)
            tc = target.vb.viewRect().center()
            scale = max(dst_rect.width(), dst_rect.height())
            if (
                abs(target.zoom() - zoom) <= SYNC_TOLERANCE * zoom
                and abs(tc.x() - cx) <= SYNC_TOLERANCE * scale
                and abs(tc.y() - cy) <= SYNC_TOLERANCE * scale
                and not target.fit_mode
            ):
                return
            target.set_zoom(zoom, QtCore.QPointF(cx, cy))
        finally:
            self._syncing = False

    # -- for tests and scripts ---------------------------------------------------------------------------
    def normalised_view(self, view: ImageView) -> tuple[float, float, float]:
        """(magnification relative to the fitted image, centre x, centre y as fractions of the image)."""
        rect = view.oriented_rect()
        c = view.vb.viewRect().center()
        return view.zoom() / _fit_zoom(view), c.x() / rect.width(), c.y() / rect.height()


def _fit_zoom(view: ImageView) -> float:
    """Screen pixels per image pixel when the whole oriented image fits the view (ignoring the corner texts)."""
    rect = view.oriented_rect()
    w, h = float(view.vb.width()), float(view.vb.height())
    return max(min(w / rect.width(), h / rect.height()) * view.devicePixelRatioF(), 1e-9)
