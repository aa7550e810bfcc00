"""Main window, part 1: opening files (dialogs, folders, drag and drop, recent), switching, closing.

A mixin of :class:`viewer.gui.main_window.MainWindow`; it uses the window's widgets and state.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6 import QtWidgets

from viewer.core.scope import scope_warnings
from viewer.gui.annotations import AnnotationLayer
from viewer.gui.session import StudyEntry, expand_paths, load_job
from viewer.gui.workers import Failure

log = logging.getLogger(__name__)
OPEN_FILTER = "Studies (*.dcm *.dicom *.png *.jpg *.jpeg *.tif *.tiff);;All files (*)"


class StudiesMixin:
    def open_dialog(self) -> None:
        paths, _ = QtWidgets.QFileDialog.getOpenFileNames(
            self, "Open studies", self.settings.last_folder, OPEN_FILTER
        )
        if paths:
            self.settings.last_folder = str(Path(paths[0]).parent)
            self.open_paths(paths)

    def open_folder_dialog(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Open folder", self.settings.last_folder)
        if folder:
            self.settings.last_folder = folder
            self.open_paths([folder])

    def open_paths(self, paths) -> list[int]:
        """Open files and folders (recursively); returns the new entry ids. Never blocks, never raises."""
        files = expand_paths(paths)
        if not files and paths:
            self.notifications.add("Nothing to open", "No DICOM, PNG, JPEG or TIFF files were found there.")
        already = {str(Path(e.path).resolve()): e for e in self.entries.values()}
        new_ids: list[int] = []
        for f in files:
            existing = already.get(str(Path(f).resolve()))
            if existing is not None:
                if not new_ids:
                    self.select_entry(existing.id)
                continue
            entry = StudyEntry(self._next_id, f, t_open=time.perf_counter())
            self._next_id += 1
            self.entries[entry.id] = entry
            self.study_list.add_entry(entry.id, f)
            new_ids.append(entry.id)
            entry.tasks.append(
                self.runner.submit(
                    load_job,
                    f,
                    on_result=lambda r, e=entry: self._loaded(e, r),
                    on_error=lambda fl, e=entry: self._load_failed(e, fl),
                )
            )
        if new_ids and (self.current is None or not self.current.ready):
            self.select_entry(new_ids[0])
        if new_ids:
            self.statusBar().showMessage(
                f"Opening {len(new_ids)} file{'s' if len(new_ids) > 1 else ''}…", 3000
            )
        return new_ids

    def _loaded(self, entry: StudyEntry, result) -> None:
        if entry.id not in self.entries:
            return
        entry.study, entry.default_u8, entry.thumb_u8 = result.study, result.default_u8, result.thumb_u8
        entry.load_ms = result.elapsed_ms
        entry.state = "ready"
        meta = entry.study.meta
        entry.warnings = scope_warnings(meta, entry.default_u8.shape)
        entry.layer = AnnotationLayer(meta.pixel_spacing)
        self.undo_group.addStack(entry.layer.undo_stack)
        sub = " ".join(v for v in (meta.study.modality, meta.study.view_position) if v) or meta.source_format
        self.study_list.set_ready(entry.id, entry.path, entry.thumb_u8, f"{sub} · {meta.columns}×{meta.rows}")
        self.settings.add_recent(entry.path)
        self._fill_recent_menu()
        if self.model is not None:
            self._start_prediction(entry)
        if self.current is entry:
            self._show_entry(entry)
        elif self.current is None or self.current.state == "failed":
            self.select_entry(entry.id)
        self.study_loaded.emit(entry.id)

    def _load_failed(self, entry: StudyEntry, failure: Failure) -> None:
        if entry.id not in self.entries:
            return
        entry.state, entry.failure = "failed", failure
        self.study_list.set_failed(entry.id, entry.path, failure.title, failure.message)
        self.notifications.add(failure.title, failure.message)
        log.info("could not open %s: %s", entry.path, failure.message)
        if self.current is entry:
            ready = [e for e in self.entries.values() if e.ready]
            if ready:
                self.select_entry(ready[0].id)
            else:
                self._show_entry(entry)
        self.study_failed.emit(entry.id)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_files
        for path in recent:
            act = self.recent_menu.addAction(Path(path).name)
            act.setToolTip(path)
            act.triggered.connect(lambda checked=False, p=path: self.open_paths([p]))
        if recent:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction(
                "Clear list", lambda: (self.settings.clear_recent(), self._fill_recent_menu())
            )
        self.recent_menu.setEnabled(bool(recent))

    # drag and drop anywhere on the window
    def dragEnterEvent(self, ev):
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev):
        paths = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if paths:
            ev.acceptProposedAction()
            self.open_paths(paths)

    # ================================================================== switching / closing
    def select_entry(self, entry_id: int) -> None:
        entry = self.entries.get(entry_id)
        if entry is None:
            return
        self.study_list.select_entry(entry_id)
        if self.current is entry and self._shown_frame is not None and self._shown_frame[0] == entry.id:
            return
        self.current = entry
        self._show_entry(entry)

    def _show_entry(self, entry: StudyEntry) -> None:
        self._shown_frame = None
        if not entry.ready:
            self.view.clear()
            self.view.corners.set_hint(
                f"Loading {entry.name}…"
                if entry.state == "loading"
                else f"{entry.name} could not be opened.\n{entry.failure.message if entry.failure else ''}"
            )
            self.tag_browser.set_tags(())
            self.frame_bar.hide()
            self.undo_group.setActiveStack(None)
            self._refresh_ai_panel()
            self._update_actions()
            return
        self.view.set_annotation_layer(entry.layer)
        self.undo_group.setActiveStack(entry.layer.undo_stack)
        self.view.orientation = entry.orientation
        self._render(reset_view=True)
        self.view.set_orientation(entry.orientation, refit=True)
        self._sync_check(self.actions_["invert"], entry.invert)
        self.tag_browser.set_tags(entry.study.meta.raw_tags)
        n = entry.study.n_frames
        self.frame_bar.setVisible(n > 1)
        self.frame_slider.blockSignals(True)
        self.frame_slider.setRange(0, max(0, n - 1))
        self.frame_slider.setValue(entry.frame)
        self.frame_slider.blockSignals(False)
        self.frame_label.setText(f"{entry.frame + 1} / {n}")
        self._refresh_heatmap()
        self._refresh_ai_panel()
        self._update_actions()
        self.setWindowTitle(f"{entry.name} - Pneumoscope")
        self.study_shown.emit(entry.id)

    def step_study(self, step: int) -> None:
        ids = self.study_list.entry_ids()
        if not ids:
            return
        i = ids.index(self.current.id) if self.current and self.current.id in ids else -1
        self.select_entry(ids[(i + step) % len(ids)])

    def close_current(self) -> None:
        if self.current is not None:
            self.close_entry(self.current.id)

    def close_entry(self, entry_id: int) -> None:
        entry = self.entries.pop(entry_id, None)
        if entry is None:
            return
        for task in entry.tasks:  # a queued load or analysis of a closed study would only delay the others
            self.runner.cancel(task)
        entry.tasks.clear()
        ids = self.study_list.entry_ids()
        idx = ids.index(entry_id) if entry_id in ids else 0
        self.study_list.remove_entry(entry_id)
        if entry.layer is not None:
            self.undo_group.removeStack(entry.layer.undo_stack)
            # the stack's commands and the layer refer to each other through Qt: break the cycle, or the
            # closed study's annotations are never freed
            entry.layer.undo_stack.clear()
        if self.current is entry:
            self.current = None
            self.view.clear()
            remaining = self.study_list.entry_ids()
            if remaining:
                self.select_entry(remaining[min(idx, len(remaining) - 1)])
            else:
                self.ai_panel.show_no_study()
                self.tag_browser.set_tags(())
                self.frame_bar.hide()
                self.setWindowTitle("Pneumoscope")
                self._update_actions()
