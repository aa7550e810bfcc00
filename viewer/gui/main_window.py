"""The main window: builds the widgets, the :class:`~viewer.gui.session.StudySession`, one controller per
area and the actions, and joins them. It holds no study logic of its own.

- ``session``: the open studies, the current one, the model (:mod:`viewer.gui.session`).
- ``studies`` / ``display`` / ``ai`` / ``heatmap`` / ``annotations`` / ``export`` / ``reports`` / ``worklist`` /
  ``compare``: the controllers (:mod:`viewer.gui.controllers`), each built with the session and the widgets it needs.
- ``actions_``: every command, from the one table in :mod:`viewer.gui.actions`.

:meth:`MainWindow.render_current` is the one place that puts the current entry on screen: every panel,
the title and the readouts are derived from it, and cleared when there is none. It runs whenever the
current entry changes or changes state, so nothing of a previous or closed study stays on screen.
Everything slow runs in :class:`~viewer.gui.workers.TaskRunner` workers.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.config import APP_NAME
from viewer.gui.actions import ACTIONS, ActionRegistry
from viewer.gui.controllers.ai import AIController
from viewer.gui.controllers.annotations import AnnotationsController
from viewer.gui.controllers.cine import CineController
from viewer.gui.controllers.compare import CompareController
from viewer.gui.controllers.display import DisplayController, FrameBar, study_letters
from viewer.gui.controllers.export import ExportController
from viewer.gui.controllers.heatmap import HeatmapController
from viewer.gui.controllers.reports import ReportsController
from viewer.gui.controllers.studies import StudiesController
from viewer.gui.controllers.user_presets import UserPresetsController
from viewer.gui.controllers.worklist import WorklistController, is_collection
from viewer.gui.icons import app_icon
from viewer.gui.session import AnalysisState, LoadState, StudyEntry, StudySession
from viewer.gui.settings import Settings
from viewer.gui.widgets.about import AboutDialog
from viewer.gui.widgets.ai_panel import AIPanel
from viewer.gui.widgets.compare_pane import ComparePane, ResultLine
from viewer.gui.widgets.image_view import ImageView
from viewer.gui.widgets.notifications import NotificationBar
from viewer.gui.widgets.shortcuts_dialog import ShortcutsDialog
from viewer.gui.widgets.study_list import StudyList
from viewer.gui.widgets.tag_browser import TagBrowser
from viewer.gui.widgets.worklist_panel import WorklistPanel
from viewer.gui.workers import TaskRunner

TITLE = APP_NAME


class MainWindow(QtWidgets.QMainWindow):
    """The application window. Signals for scripts and benchmarks: an entry id each."""

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
        self.session = StudySession(self)
        self.setWindowTitle(TITLE)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setDockOptions(
            QtWidgets.QMainWindow.DockOption.AnimatedDocks | QtWidgets.QMainWindow.DockOption.AllowTabbedDocks
        )
        self._build_widgets()
        self._build_controllers(force_cpu)
        self._build_actions()
        self._connect()
        self.render_current()
        self.resize(1440, 900)
        if self.settings.geometry is not None:
            self.restoreGeometry(self.settings.geometry)
        if self.settings.window_state is not None:
            self.restoreState(self.settings.window_state)
        if load_model:
            self.ai.load_model(model_path)
        else:
            self.ai.disable("AI disabled.")

    # ================================================================== construction
    def _build_widgets(self) -> None:
        central = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.notifications = NotificationBar()
        lay.addWidget(self.notifications)
        self.view = ImageView()
        row = QtWidgets.QHBoxLayout()  # the reading view, and the compare pane beside it in compare mode
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        main_side = QtWidgets.QVBoxLayout()
        main_side.setSpacing(0)
        self.compare_line = ResultLine()
        main_side.addWidget(self.compare_line)
        main_side.addWidget(self.view, 1)
        row.addLayout(main_side, 1)
        self.compare_pane = ComparePane()
        row.addWidget(self.compare_pane, 1)
        lay.addLayout(row, 1)
        self.frame_bar = FrameBar()
        lay.addWidget(self.frame_bar)
        self.setCentralWidget(central)

        area = QtCore.Qt.DockWidgetArea
        self.study_list = StudyList()
        self.study_dock = self._dock("Studies", "studies_dock", self.study_list, area.LeftDockWidgetArea)
        self.study_dock.setMinimumWidth(220)
        self.ai_panel = AIPanel()
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(self.ai_panel)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.ai_dock = self._dock("AI - pneumonia", "ai_dock", scroll, area.RightDockWidgetArea)
        # the panel's own minimum plus a vertical scroll bar (a withheld study's reasons make it tall)
        self.ai_dock.setMinimumWidth(self.ai_panel.minimumSizeHint().width() + 20)
        self.tag_browser = TagBrowser()
        self.tag_dock = self._dock("DICOM tags", "tags_dock", self.tag_browser, area.RightDockWidgetArea)
        self.tabifyDockWidget(self.ai_dock, self.tag_dock)
        self.ai_dock.raise_()
        self.tag_dock.hide()
        self.worklist_panel = WorklistPanel()
        self.worklist_dock = self._dock(
            "Worklist", "worklist_dock", self.worklist_panel, area.BottomDockWidgetArea
        )
        self.worklist_dock.hide()  # shown when a folder, a CD or a ZIP is opened

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
        for w in (self.pixel_label, self.busy_label, self.busy_bar, self.ai_status):
            sb.addPermanentWidget(w)
        self.recent_menu = QtWidgets.QMenu("Open &recent", self)

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

    def _build_controllers(self, force_cpu: bool) -> None:
        s, status = self.session, self.status_message
        self.studies = StudiesController(
            s, self.runner, self.study_list, self.recent_menu, self.notifications, self.settings, self, status
        )
        self.display = DisplayController(s, self.view, self.frame_bar, self.pixel_label, self.settings)
        self.ai = AIController(s, self.runner, self.ai_panel, self.ai_status, force_cpu)
        self.heatmap = HeatmapController(s, self.view.heatmap, self.ai_panel, self.settings)
        self.annotations = AnnotationsController(s, self.view, self, status)
        self.export = ExportController(s, self.view, self.notifications, self.settings, self, status)
        self.reports = ReportsController(s, self.export, self.notifications, self.settings, self, status)
        self.worklist = WorklistController(
            s,
            self.studies,
            self.worklist_panel,
            self.worklist_dock,
            self.notifications,
            self.settings,
            self,
            status,
        )
        self.compare = CompareController(
            s,
            self.view,
            self.compare_line,
            self.compare_pane,
            self.display.set_window,
            lambda: self.heatmap.style,
            lambda: self.heatmap.visible,
            self,
            status,
            study_letters,
        )
        self.cine = CineController(s, self.frame_bar.fps_spin, self.settings)
        self.presets = UserPresetsController(s, self.settings, self.display.set_window, self, status)
        self.studies.open_recent = self.open_any  # a recent folder / DICOMDIR / ZIP opens into the worklist
        self.studies.open_folders = self.worklist.open_collection  # folders: walked in the worklist's worker

    def _build_actions(self) -> None:
        undo = self.annotations.undo_group
        presets_button = QtWidgets.QToolButton()
        presets_button.setText("W/L presets")
        presets_button.setToolTip(
            "Window presets: the file's own, common ones, automatic (0 = default, Ctrl+9 = auto) and yours (1-9)"
        )
        presets_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        presets = QtWidgets.QWidgetAction(self)
        presets.setDefaultWidget(presets_button)
        self.registry = ActionRegistry(
            self,
            {
                "recent": self.recent_menu,
                "undo": undo.createUndoAction(self, "&Undo"),
                "redo": undo.createRedoAction(self, "&Redo"),
                "presets": presets,
                "studies_panel": self.study_dock.toggleViewAction(),
                "ai_panel": self.ai_dock.toggleViewAction(),
                "worklist_panel": self.worklist_dock.toggleViewAction(),
            },
        )
        self.actions_ = self.registry.actions
        self.presets.bind_actions(self.actions_)
        self.actions_["cine"].setIcon(self.style().standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MediaPlay))
        self.frame_bar.play_button.setDefaultAction(self.actions_["cine"])
        self.worklist_panel.set_actions(
            [self.actions_[a] for a in ("analyse_all", "export_worklist", "worklist_prev", "worklist_next")]
        )
        self.undo_action, self.redo_action = self.actions_["undo"], self.actions_["redo"]
        menus = self.registry.build_menus(self.menuBar())
        window_menu = menus["Window"]
        fixed = list(window_menu.actions())
        window_menu.aboutToShow.connect(lambda: self.display.fill_presets_menu(window_menu, fixed))
        presets_button.setMenu(window_menu)
        tb = self.addToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setIconSize(QtCore.QSize(22, 22))
        tb.setMovable(False)
        self.registry.build_toolbar(tb)

    def _connect(self) -> None:
        s = self.session
        s.current_changed.connect(self.render_current)
        s.entry_updated.connect(lambda e: e is s.current and self.render_current())
        s.model_changed.connect(self.render_current)
        s.model_changed.connect(self.model_state_changed)
        self.heatmap.changed.connect(self.registry.sync_checked)
        self.heatmap.changed.connect(self.compare.render_heatmap)
        self.display.image_updated.connect(lambda _e: self.compare.refresh_window())
        self.compare.changed.connect(self.registry.sync_checked)
        self.cine.changed.connect(self.registry.sync_checked)
        self.tag_dock.visibilityChanged.connect(lambda _vis: self.registry.sync_checked())
        self.view.files_dropped.connect(self.open_any)
        self.compare_pane.view.files_dropped.connect(self.open_any)
        self.runner.busy_changed.connect(self._show_busy)
        self.studies.study_loaded.connect(self.study_loaded)
        self.studies.study_failed.connect(self.study_failed)
        self.display.image_shown.connect(self.study_shown)
        self.ai.prediction_ready.connect(self.prediction_ready)
        self.heatmap.heatmap_shown.connect(self.heatmap_shown)

    # ================================================================== the current entry, on screen
    def render_current(self) -> None:
        """Show the current entry everywhere (or nothing, when there is none). Safe to call any time."""
        entry = self.session.current
        self.display.render(entry)  # first: the image (clearing the view clears its layers too)
        self.annotations.render(entry)
        self.heatmap.render(entry)
        self.compare.render(entry)
        self.ai.render(entry)
        self._render_study_panels(entry)
        self.registry.update_enabled(entry)
        self.registry.sync_checked()

    def _render_study_panels(self, entry: StudyEntry | None) -> None:
        ready = entry is not None and entry.ready
        self.tag_browser.set_tags(entry.study.meta.raw_tags if ready else ())
        self.setWindowTitle(f"{entry.name} - {TITLE}" if entry is not None else TITLE)

    # ================================================================== the window's own parts
    def status_message(self, text: str, msecs: int = 3000) -> None:
        self.statusBar().showMessage(text, msecs)

    def _show_busy(self, n: int) -> None:
        s = self.session
        parts = []
        if loading := s.count(LoadState.LOADING):
            parts.append(f"Loading {loading}")
        if analysing := s.count(AnalysisState.RUNNING):
            parts.append(f"analysing {analysing}")
        if s.model_loading:
            parts.append("loading AI model")
        self.busy_label.setText(", ".join(parts).capitalize() + ("…" if parts else ""))
        self.busy_bar.setVisible(n > 0)

    def set_tool(self, tool: str) -> None:
        """The left mouse button's tool, in the reading view and the compare pane alike (the pane has no
        annotations: a drawing tool does nothing there)."""
        self.view.set_tool(tool)
        self.compare_pane.view.set_tool(tool)

    def show_tags(self, on: bool) -> None:
        self.tag_dock.setVisible(on)
        if on:
            self.tag_dock.raise_()
            if not self.tag_dock.isFloating() and self.tag_dock.width() < 480:
                # values need room: widen the right dock area (the image view gives way)
                self.resizeDocks(
                    [self.tag_dock], [min(560, self.width() // 3)], QtCore.Qt.Orientation.Horizontal
                )

    def find_tag(self) -> None:
        self.show_tags(True)
        self.tag_browser.filter_edit.setFocus()
        self.tag_browser.filter_edit.selectAll()

    def show_shortcuts(self) -> None:
        self._show_dialog(ShortcutsDialog(ACTIONS, self))

    def show_about(self) -> None:
        self._show_dialog(AboutDialog(self, self.session.model, self.session.model_error))

    @staticmethod
    def _show_dialog(dlg: QtWidgets.QDialog) -> None:
        dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)  # the window (its parent) owns it
        dlg.show()

    # drag and drop anywhere on the window
    def dragEnterEvent(self, ev: QtGui.QDragEnterEvent) -> None:
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev: QtGui.QDropEvent) -> None:
        paths = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if paths:
            ev.acceptProposedAction()
            self.open_any(paths)

    def closeEvent(self, ev: QtGui.QCloseEvent) -> None:
        self.settings.geometry = self.saveGeometry()
        self.settings.window_state = self.saveState()
        self.heatmap.flush()
        self.settings.sync()
        self.worklist.shutdown()
        self.runner.cancel_all()
        self.runner.wait(5000)
        super().closeEvent(ev)

    # ================================================================== API for scripts and benchmarks
    # (viewer.gui.app.run, viewer.diagnostics, benchmarks/): the session and the studies controller's
    def open_paths(self, paths) -> list[int]:
        """Image files as studies (their new entry ids); a folder goes to the worklist (walked in a worker,
        never on the GUI thread: see :attr:`worklist` ``.opened``)."""
        return self.studies.open_paths(paths)

    def open_any(self, paths) -> None:
        """What the user opens (drop, recent, command line): folders, DICOMDIRs and ZIPs into the worklist
        (walked in a worker), image files as studies."""
        paths = [str(p) for p in paths]
        collections = [p for p in paths if is_collection(p)]
        files = [p for p in paths if p not in collections]
        if collections:
            self.worklist.open_collection(collections)
        if files:
            self.studies.open_paths(files)

    def select_entry(self, entry_id: int) -> None:
        self.studies.select(entry_id)

    def close_entry(self, entry_id: int) -> None:
        self.studies.close(entry_id)

    @property
    def entries(self) -> dict[int, StudyEntry]:
        return self.session.entries

    @property
    def current(self) -> StudyEntry | None:
        return self.session.current

    @property
    def model(self):
        return self.session.model

    @property
    def model_error(self) -> str | None:
        return self.session.model_error

    @property
    def model_loading(self) -> bool:
        return self.session.model_loading


__all__ = ["MainWindow"]
