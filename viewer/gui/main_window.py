"""The main window: builds and wires the study list, the reading view, the AI panel, the tag browser and the menus.

Everything slow runs in :class:`~viewer.gui.workers.TaskRunner` workers (decode + default rendering,
model load, inference); this class only reacts to their results. Each open study keeps its own
window/level, orientation, frame and annotations (with their undo stack) in a
:class:`~viewer.gui.session.StudyEntry`, so switching studies restores how it was left.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.core.overlay import OverlayStyle
from viewer.gui.about import AboutDialog
from viewer.gui.ai_panel import AIPanel
from viewer.gui.icons import app_icon, icon
from viewer.gui.image_view import ImageView
from viewer.gui.notifications import NotificationBar
from viewer.gui.session import StudyEntry
from viewer.gui.settings import Settings
from viewer.gui.shortcuts import TOOL_ACTIONS, ShortcutsDialog, create_actions
from viewer.gui.study_list import StudyList
from viewer.gui.tag_browser import TagBrowser
from viewer.gui.window_ai import AIMixin
from viewer.gui.window_display import DisplayMixin
from viewer.gui.window_export import ExportMixin
from viewer.gui.window_studies import StudiesMixin
from viewer.gui.workers import TaskRunner


class MainWindow(StudiesMixin, DisplayMixin, AIMixin, ExportMixin, QtWidgets.QMainWindow):
    """The application window. Behaviour lives in the mixins (window_*.py); this class builds and wires."""

    study_loaded = QtCore.Signal(int)
    study_failed = QtCore.Signal(int)
    study_shown = QtCore.Signal(int)
    prediction_ready = QtCore.Signal(int)
    heatmap_shown = QtCore.Signal(int)
    model_state_changed = QtCore.Signal()

    def __init__(
        self,
        settings: Settings | None = None,
        model_path: str | None = None,
        force_cpu: bool = False,
        load_model: bool = True,
    ):
        super().__init__()
        self.settings = settings or Settings()
        self.runner = TaskRunner(self)
        self.entries: dict[int, StudyEntry] = {}
        self.current: StudyEntry | None = None
        self._next_id = 1
        self.model = None
        self.model_error: str | None = None
        self.model_loading = False
        self._force_cpu = force_cpu
        self._heatmap_visible = self.settings.heatmap_visible
        self._wl_pending = False
        self._wl_limits: dict[tuple[int, int], tuple[float, float, float, float]] = {}
        self._shown_frame: tuple | None = None
        self.undo_group = QtGui.QUndoGroup(self)

        self.setWindowTitle("Pneumoscope")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setDockOptions(
            QtWidgets.QMainWindow.DockOption.AnimatedDocks | QtWidgets.QMainWindow.DockOption.AllowTabbedDocks
        )
        self._build_central()
        self._build_docks()
        self.actions_ = create_actions(self)
        self._build_menus()
        self._build_toolbar()
        self._build_statusbar()
        self._connect()
        self._restore_settings()
        self._update_actions()
        self.resize(1440, 900)
        if self.settings.geometry is not None:
            self.restoreGeometry(self.settings.geometry)
        if self.settings.window_state is not None:
            self.restoreState(self.settings.window_state)
        if load_model:
            self.load_model(model_path)
        else:
            self.model_error = "AI disabled."
            self._refresh_ai_panel()

    # ================================================================== construction
    def _build_central(self) -> None:
        central = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.notifications = NotificationBar()
        lay.addWidget(self.notifications)
        self.view = ImageView()
        lay.addWidget(self.view, 1)
        self.frame_bar = QtWidgets.QWidget()
        fl = QtWidgets.QHBoxLayout(self.frame_bar)
        fl.setContentsMargins(8, 4, 8, 4)
        self.frame_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.frame_label = QtWidgets.QLabel()
        self.frame_label.setMinimumWidth(110)
        fl.addWidget(QtWidgets.QLabel("Frame"))
        fl.addWidget(self.frame_slider, 1)
        fl.addWidget(self.frame_label)
        self.frame_bar.hide()
        lay.addWidget(self.frame_bar)
        self.setCentralWidget(central)

    def _dock(self, title: str, name: str, widget: QtWidgets.QWidget, area) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        area = QtCore.Qt.DockWidgetArea
        self.study_list = StudyList()
        self.study_dock = self._dock("Studies", "studies_dock", self.study_list, area.LeftDockWidgetArea)
        self.study_dock.setMinimumWidth(220)
        self.ai_panel = AIPanel()
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(self.ai_panel)
        self.ai_dock = self._dock("AI - pneumonia", "ai_dock", scroll, area.RightDockWidgetArea)
        self.ai_dock.setMinimumWidth(300)
        self.tag_browser = TagBrowser()
        self.tag_dock = self._dock("DICOM tags", "tags_dock", self.tag_browser, area.RightDockWidgetArea)
        self.tabifyDockWidget(self.ai_dock, self.tag_dock)
        self.ai_dock.raise_()
        self.tag_dock.hide()

    def _build_menus(self) -> None:
        a = self.actions_
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addActions([a["open"], a["open_folder"]])
        self.recent_menu = m.addMenu("Open &recent")
        m.addSeparator()
        m.addActions([a["export"], a["copy"]])
        m.addSeparator()
        m.addActions([a["close_study"], a["quit"]])
        m = mb.addMenu("&Edit")
        self.undo_action = self.undo_group.createUndoAction(self, "&Undo")
        self.redo_action = self.undo_group.createRedoAction(self, "&Redo")
        self.undo_action.setShortcuts(a["undo"].shortcuts())
        self.redo_action.setShortcuts(a["redo"].shortcuts())
        a["undo"].setShortcuts([])
        a["redo"].setShortcuts([])
        m.addActions([self.undo_action, self.redo_action, a["delete"]])
        m = mb.addMenu("&Tools")
        self.tool_group = QtGui.QActionGroup(self)
        for aid in TOOL_ACTIONS:
            self.tool_group.addAction(a[aid])
            m.addAction(a[aid])
        a["tool_wl"].setChecked(True)
        m = mb.addMenu("&View")
        m.addActions([a["fit"], a["one_to_one"], a["zoom_in"], a["zoom_out"]])
        m.addSeparator()
        m.addActions([a["rotate_cw"], a["rotate_ccw"], a["flip_h"], a["flip_v"], a["invert"]])
        m.addSeparator()
        m.addActions([a["reset"], a["info_overlay"], a["fullscreen"]])
        m.addSeparator()
        m.addActions([a["next_frame"], a["prev_frame"], a["next_study"], a["prev_study"]])
        m.addSeparator()
        m.addAction(self.study_dock.toggleViewAction())
        m.addAction(self.ai_dock.toggleViewAction())
        m.addActions([a["tags"], a["find_tag"]])
        self.window_menu = mb.addMenu("&Window")
        self.window_menu.aboutToShow.connect(self._fill_window_menu)
        self._fill_window_menu()
        m = mb.addMenu("&AI")
        m.addActions([a["heatmap"], a["outline"], a["opacity_up"], a["opacity_down"]])
        m = mb.addMenu("&Help")
        m.addActions([a["shortcuts"], a["about"]])

    def _build_toolbar(self) -> None:
        a = self.actions_
        tb = self.addToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setIconSize(QtCore.QSize(22, 22))
        tb.setMovable(False)
        for aid, name in (("open", "open"), ("open_folder", "open_folder"), ("export", "export")):
            a[aid].setIcon(icon(name))
            tb.addAction(a[aid])
        tb.addSeparator()
        for aid, tool in TOOL_ACTIONS.items():  # each tool's icon has the tool's name
            a[aid].setIcon(icon(tool))
            tb.addAction(a[aid])
        tb.addSeparator()
        self.preset_button = QtWidgets.QToolButton()
        self.preset_button.setText("W/L presets")
        self.preset_button.setToolTip(
            "Window presets: the file's own, common ones and automatic (0 = default, 9 = auto)"
        )
        self.preset_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.preset_button.setMenu(self.window_menu)
        tb.addWidget(self.preset_button)
        tb.addSeparator()
        for aid in ("fit", "one_to_one", "rotate_ccw", "rotate_cw", "flip_h", "flip_v", "invert", "reset"):
            a[aid].setIcon(icon(aid))
            tb.addAction(a[aid])
        tb.addSeparator()
        a["heatmap"].setIcon(icon("heatmap"))
        a["info_overlay"].setIcon(icon("info"))
        a["tags"].setIcon(icon("tags"))
        tb.addActions([a["heatmap"], a["info_overlay"], a["tags"]])

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        self.pixel_label = QtWidgets.QLabel()
        self.busy_label = QtWidgets.QLabel()
        self.busy_bar = QtWidgets.QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setFixedWidth(90)
        self.busy_bar.setFixedHeight(12)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self.ai_status = QtWidgets.QLabel()
        sb.addPermanentWidget(self.pixel_label)
        sb.addPermanentWidget(self.busy_label)
        sb.addPermanentWidget(self.busy_bar)
        sb.addPermanentWidget(self.ai_status)

    def _connect(self) -> None:
        a = self.actions_
        handlers = {
            "open": self.open_dialog,
            "open_folder": self.open_folder_dialog,
            "export": self.export_dialog,
            "copy": self.copy_to_clipboard,
            "close_study": self.close_current,
            "quit": self.close,
            "delete": self.delete_selected,
            "fit": self.view.fit,
            "one_to_one": self.view.one_to_one,
            "zoom_in": lambda: self.view.zoom_by(1.25),
            "zoom_out": lambda: self.view.zoom_by(0.8),
            "rotate_cw": lambda: self._orient("rotated_cw"),
            "rotate_ccw": lambda: self._orient("rotated_ccw"),
            "flip_h": lambda: self._orient("flipped_h"),
            "flip_v": lambda: self._orient("flipped_v"),
            "reset": self.reset_view,
            "window_default": lambda: self.set_window(None),
            "window_auto": self.auto_window,
            "opacity_up": lambda: self._nudge_opacity(0.1),
            "opacity_down": lambda: self._nudge_opacity(-0.1),
            "next_frame": lambda: self.step_frame(1),
            "prev_frame": lambda: self.step_frame(-1),
            "next_study": lambda: self.step_study(1),
            "prev_study": lambda: self.step_study(-1),
            "find_tag": self.find_tag,
            "shortcuts": self.show_shortcuts,
            "about": self.show_about,
        }
        for aid, fn in handlers.items():
            a[aid].triggered.connect(lambda checked=False, fn=fn: fn())
        a["invert"].toggled.connect(self.set_invert)
        a["info_overlay"].toggled.connect(self.set_info_overlay)
        a["heatmap"].toggled.connect(self.set_heatmap_visible)
        a["outline"].toggled.connect(lambda on: self.set_style(replace(self.ai_panel.style(), outline=on)))
        a["fullscreen"].toggled.connect(lambda on: self.showFullScreen() if on else self.showNormal())
        a["tags"].toggled.connect(self._toggle_tags)
        self.tag_dock.visibilityChanged.connect(lambda vis: self._sync_check(a["tags"], vis))
        for aid, tool in TOOL_ACTIONS.items():
            a[aid].triggered.connect(lambda checked=False, tool=tool: self.view.set_tool(tool))

        self.study_list.current_study_changed.connect(self.select_entry)
        self.study_list.close_requested.connect(self.close_entry)
        self.view.window_drag.connect(self._window_drag)
        self.view.view_changed.connect(self._update_corners)
        self.view.text_requested.connect(self._add_text_at)
        self.view.files_dropped.connect(self.open_paths)
        self.view.scene().sigMouseMoved.connect(self._mouse_moved)
        self.ai_panel.style_changed.connect(self.set_style)
        self.ai_panel.visibility_changed.connect(self.set_heatmap_visible)
        self.frame_slider.valueChanged.connect(self.set_frame)
        self.runner.busy_changed.connect(self._busy_changed)

    def _restore_settings(self) -> None:
        s = self.settings
        style = OverlayStyle(
            colormap=s.colormap,
            opacity=s.opacity,
            threshold=s.threshold,
            outline=s.outline,
            scale_mode=s.scale_mode,
        )
        self.ai_panel.set_style(style)
        self.view.heatmap.set_style(style)
        self._sync_check(self.actions_["outline"], style.outline)
        self._sync_check(self.actions_["heatmap"], self._heatmap_visible)
        self.ai_panel.show_check.blockSignals(True)
        self.ai_panel.show_check.setChecked(self._heatmap_visible)
        self.ai_panel.show_check.blockSignals(False)
        self._sync_check(self.actions_["info_overlay"], s.info_overlay)
        self.view.corners.setVisible(s.info_overlay)
        self._fill_recent_menu()

    @staticmethod
    def _sync_check(action: QtGui.QAction, on: bool) -> None:
        if action.isChecked() != on:
            action.blockSignals(True)
            action.setChecked(on)
            action.blockSignals(False)

    # ================================================================== panels, help
    def _toggle_tags(self, on: bool) -> None:
        self.tag_dock.setVisible(on)
        if on:
            self.tag_dock.raise_()
            if not self.tag_dock.isFloating() and self.tag_dock.width() < 480:
                # values need room: widen the right dock area (the image view gives way)
                self.resizeDocks(
                    [self.tag_dock], [min(560, self.width() // 3)], QtCore.Qt.Orientation.Horizontal
                )

    def find_tag(self) -> None:
        self._toggle_tags(True)
        self._sync_check(self.actions_["tags"], True)
        self.tag_browser.filter_edit.setFocus()
        self.tag_browser.filter_edit.selectAll()

    def show_shortcuts(self) -> None:
        dlg = ShortcutsDialog(self)
        dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        self._shortcuts_dialog = dlg

    def show_about(self) -> None:
        dlg = AboutDialog(self, self.model, self.model_error)
        dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()
        self._about_dialog = dlg

    # ================================================================== status
    def _busy_changed(self, n: int) -> None:
        loading = sum(1 for e in self.entries.values() if e.state == "loading")
        analysing = sum(1 for e in self.entries.values() if e.ai_state == "running")
        parts = []
        if loading:
            parts.append(f"Loading {loading}")
        if analysing:
            parts.append(f"analysing {analysing}")
        if self.model_loading:
            parts.append("loading AI model")
        self.busy_label.setText(", ".join(parts).capitalize() + ("…" if parts else ""))
        self.busy_bar.setVisible(n > 0)
        self._update_actions()

    def _update_actions(self) -> None:
        has = self.current is not None and self.current.ready
        for aid in (
            "export",
            "copy",
            "fit",
            "one_to_one",
            "zoom_in",
            "zoom_out",
            "rotate_cw",
            "rotate_ccw",
            "flip_h",
            "flip_v",
            "invert",
            "reset",
            "window_default",
            "window_auto",
            "delete",
        ):
            self.actions_[aid].setEnabled(has)
        self.actions_["close_study"].setEnabled(self.current is not None)
        multi = has and self.current.study.n_frames > 1
        self.actions_["next_frame"].setEnabled(multi)
        self.actions_["prev_frame"].setEnabled(multi)

    def busy(self) -> bool:
        return self.runner.pending > 0

    # ================================================================== closing
    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:
        self.settings.geometry = self.saveGeometry()
        self.settings.window_state = self.saveState()
        if hasattr(self, "_save_timer") and self._save_timer.isActive():
            self._save_timer.stop()
            self._save_style()
        self.settings.sync()
        self.runner.cancel_all()
        self.runner.wait(5000)
        super().closeEvent(ev)


__all__ = ["MainWindow"]
