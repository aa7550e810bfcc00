"""Every command of the window, defined once: text, keys, menu place, toolbar place, when it is enabled,
whether it is checked, and what it does (as napari's app_model actions declare their own enablement).

:class:`ActionRegistry` turns :data:`ACTIONS` into QActions and builds the menus, the toolbar and the
enabled / checked states from it; Help > Keyboard shortcuts lists the same table. Handlers receive the
main window and call its parts (``w.display``, ``w.heatmap``, ...); nothing else connects an action.
A few actions are *provided* by Qt (the undo group's undo/redo, the docks' show/hide): the table still
says where they go and which keys they have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.config import APP_NAME
from viewer.gui.icons import icon

if TYPE_CHECKING:
    from viewer.gui.main_window import MainWindow
    from viewer.gui.session import StudyEntry


class Needs(Enum):
    """When an action is enabled."""

    NOTHING = "always"
    STUDY = "a current study, even one still loading or failed"
    READY = "a current study that is displayed"
    FRAMES = "a displayed study with more than one frame"


@dataclass(frozen=True)
class ActionSpec:
    id: str
    text: str
    keys: tuple[str, ...] = ()
    group: str = ""  # heading in Help > Keyboard shortcuts
    tip: str = ""
    menu: str = ""  # top-level menu it goes in ("" = none)
    section: int = 0  # menu items of different sections are separated by a line
    toolbar: int = 0  # position on the toolbar (0 = not there); a separator where the tens change
    icon: str = ""  # toolbar icon (viewer.gui.icons)
    needs: Needs = Needs.NOTHING
    checkable: bool = False
    exclusive: str = ""  # name of an exclusive group (the mouse tools)
    provided: bool = False  # the QAction comes from Qt (see ActionRegistry)
    trigger: Callable[[MainWindow], object] | None = None
    toggle: Callable[[MainWindow, bool], object] | None = None
    checked: Callable[[MainWindow], bool] | None = None  # the state a checkable action shows


def _tool(aid: str, text: str, key: str, tip: str, tool: str, toolbar: int) -> ActionSpec:
    return ActionSpec(
        aid,
        text,
        (key,),
        "Tools",
        tip,
        menu="Tools",
        toolbar=toolbar,
        icon=tool,
        checkable=True,
        exclusive="tools",
        trigger=lambda w: w.set_tool(tool),
        checked=lambda w: w.view.tool == tool,
    )


_VIEW = {"group": "View", "menu": "View", "needs": Needs.READY}


def _user_preset(slot: int) -> ActionSpec:
    """Number key ``slot``: the user's window preset (its text names the preset: see controllers.user_presets)."""
    return ActionSpec(
        f"wl_user_{slot}",
        f"Preset &{slot}",
        (str(slot),),
        "Window",
        f"The window/level preset saved on key {slot}",
        menu="Window",
        section=1,
        needs=Needs.READY,
        trigger=lambda w: w.presets.apply(slot),
    )


ACTIONS: tuple[ActionSpec, ...] = (
    # File
    ActionSpec(
        "open",
        "&Open…",
        ("Ctrl+O",),
        "File",
        "Open one or more studies (DICOM, PNG, JPEG, TIFF)",
        menu="File",
        toolbar=10,
        icon="open",
        trigger=lambda w: w.studies.open_dialog(),
    ),
    ActionSpec(
        "open_folder",
        "Open &folder…",
        ("Ctrl+Shift+O",),
        "File",
        "Open every study in a folder and its subfolders into the worklist",
        menu="File",
        toolbar=11,
        icon="open_folder",
        trigger=lambda w: w.worklist.open_folder_dialog(),
    ),
    ActionSpec(
        "open_collection",
        "Open C&D (DICOMDIR) or ZIP…",
        ("Ctrl+Alt+O",),
        "File",
        "Open the studies a DICOMDIR indexes, or those in a ZIP archive, into the worklist",
        menu="File",
        trigger=lambda w: w.worklist.open_collection_dialog(),
    ),
    ActionSpec("recent", "Open &recent", menu="File", provided=True),  # a submenu: the studies controller's
    ActionSpec(
        "export",
        "&Export annotated image…",
        ("Ctrl+E",),
        "File",
        "Save the image as displayed, with heatmap, annotations and AI footer",
        menu="File",
        section=1,
        toolbar=12,
        icon="export",
        needs=Needs.READY,
        trigger=lambda w: w.export.export_dialog(),
    ),
    ActionSpec(
        "copy",
        "&Copy annotated image",
        ("Ctrl+Shift+C",),
        "File",
        "Copy the annotated image to the clipboard",
        menu="File",
        section=1,
        needs=Needs.READY,
        trigger=lambda w: w.export.copy_to_clipboard(),
    ),
    ActionSpec(
        "export_dicom",
        "Export &DICOM SC + SR…",
        ("Ctrl+Shift+E",),
        "File",
        "Secondary Capture of the view and Structured Report of the AI result, in a new series",
        menu="File",
        section=1,
        needs=Needs.READY,
        trigger=lambda w: w.reports.export_dicom_dialog(),
    ),
    ActionSpec(
        "export_pdf",
        "Export PDF re&port…",
        ("Ctrl+Shift+P",),
        "File",
        "One-page PDF: the image as displayed, the AI result and its state, model version",
        menu="File",
        section=1,
        needs=Needs.READY,
        trigger=lambda w: w.reports.export_pdf_dialog(),
    ),
    ActionSpec(
        "print",
        "Pr&int report…",
        ("Ctrl+P",),
        "File",
        "Print the one-page report",
        menu="File",
        section=1,
        needs=Needs.READY,
        trigger=lambda w: w.reports.print_dialog(),
    ),
    ActionSpec(
        "export_worklist",
        "Export &worklist (CSV)…",
        ("Ctrl+Shift+W",),
        "File",
        "One row a study: file, AI state, probability, label, threshold, model version (patient data if asked)",
        menu="File",
        section=1,
        trigger=lambda w: w.worklist.export_dialog(),
    ),
    ActionSpec(
        "close_study",
        "Close stud&y",
        ("Ctrl+W",),
        "File",
        menu="File",
        section=2,
        needs=Needs.STUDY,
        trigger=lambda w: w.studies.close_current(),
    ),
    ActionSpec("quit", "&Quit", ("Ctrl+Q",), "File", menu="File", section=2, trigger=lambda w: w.close()),
    # Edit (undo / redo: the undo group's own actions, which name what they undo)
    ActionSpec("undo", "&Undo", ("Ctrl+Z",), "Edit", menu="Edit", provided=True),
    ActionSpec("redo", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Edit", menu="Edit", provided=True),
    ActionSpec(
        "delete",
        "&Delete annotation",
        ("Del", "Backspace"),
        "Edit",
        "Delete the selected annotations",
        menu="Edit",
        needs=Needs.READY,
        trigger=lambda w: w.annotations.delete_selected(),
    ),
    # Tools (left mouse button)
    _tool("tool_wl", "&Window / level", "W", "Left-drag: horizontal = width, vertical = level", "wl", 20),
    _tool("tool_pan", "&Pan", "P", "Left-drag pans (middle or right drag always pans)", "pan", 21),
    _tool(
        "tool_zoom",
        "&Zoom",
        "Z",
        "Left-drag up/down zooms (the wheel always zooms about the cursor)",
        "zoom",
        22,
    ),
    _tool("tool_arrow", "&Arrow", "A", "Drag from the tail to the tip", "arrow", 23),
    _tool("tool_text", "&Text label", "T", "Click where the label goes", "text", 24),
    _tool("tool_ellipse", "&Ellipse", "E", "Drag a box around the region", "ellipse", 25),
    _tool(
        "tool_ruler",
        "&Measure length",
        "M",
        "Drag a line; mm when the file is calibrated, else pixels",
        "ruler",
        26,
    ),
    # the window presets button (a widget on the toolbar; its menu is the Window menu)
    ActionSpec("presets", "W/L presets", toolbar=30, provided=True),
    # View
    ActionSpec(
        "fit", "&Fit to window", ("F",), toolbar=40, icon="fit", trigger=lambda w: w.view.fit(), **_VIEW
    ),
    ActionSpec(
        "one_to_one",
        "&1:1 pixels",
        ("Ctrl+1",),  # the number keys 1-9 are the user's W/L presets
        toolbar=41,
        icon="one_to_one",
        trigger=lambda w: w.view.one_to_one(),
        **_VIEW,
    ),
    ActionSpec("zoom_in", "Zoom &in", ("+", "="), trigger=lambda w: w.view.zoom_by(1.25), **_VIEW),
    ActionSpec("zoom_out", "Zoom &out", ("-",), trigger=lambda w: w.view.zoom_by(0.8), **_VIEW),
    ActionSpec(
        "rotate_cw",
        "Rotate 90° &clockwise",
        ("R",),
        section=1,
        toolbar=43,
        icon="rotate_cw",
        trigger=lambda w: w.display.orient("rotated_cw"),
        **_VIEW,
    ),
    ActionSpec(
        "rotate_ccw",
        "Rotate 90° &anticlockwise",
        ("Shift+R",),
        section=1,
        toolbar=42,
        icon="rotate_ccw",
        trigger=lambda w: w.display.orient("rotated_ccw"),
        **_VIEW,
    ),
    ActionSpec(
        "flip_h",
        "Flip &horizontal (mirror left-right)",
        ("X",),
        section=1,
        toolbar=44,
        icon="flip_h",
        trigger=lambda w: w.display.orient("flipped_h"),
        **_VIEW,
    ),
    ActionSpec(
        "flip_v",
        "Flip &vertical (upside down)",
        ("Y",),
        section=1,
        toolbar=45,
        icon="flip_v",
        trigger=lambda w: w.display.orient("flipped_v"),
        **_VIEW,
    ),
    ActionSpec(
        "invert",
        "&Invert grey scale",
        ("I",),
        section=1,
        toolbar=46,
        icon="invert",
        checkable=True,
        toggle=lambda w, on: w.display.set_invert(on),
        checked=lambda w: w.session.current is not None and w.session.current.invert,
        **_VIEW,
    ),
    ActionSpec(
        "reset",
        "&Reset view",
        ("Home",),
        tip="Default window, orientation and zoom",
        section=2,
        toolbar=47,
        icon="reset",
        trigger=lambda w: w.display.reset_view(),
        **_VIEW,
    ),
    ActionSpec(
        "info_overlay",
        "Corner &information",
        ("Tab",),
        "View",
        "Patient, study and display text in the corners",
        menu="View",
        section=2,
        toolbar=51,
        icon="info",
        checkable=True,
        toggle=lambda w, on: w.display.set_info_overlay(on),
        checked=lambda w: w.settings.info_overlay,
    ),
    ActionSpec(
        "fullscreen",
        "F&ull screen",
        ("F11",),
        "View",
        menu="View",
        section=2,
        checkable=True,
        toggle=lambda w, on: w.showFullScreen() if on else w.showNormal(),
    ),
    # Window / level (the Window menu; the display controller adds the study's presets below these)
    ActionSpec(
        "window_default",
        "&Default window",
        ("0",),
        "Window",
        "The file's own window (or the automatic one)",
        menu="Window",
        needs=Needs.READY,
        trigger=lambda w: w.display.set_window(None),
    ),
    ActionSpec(
        "window_auto",
        "&Automatic window",
        ("Ctrl+9",),
        "Window",
        "From the image histogram (robust percentiles)",
        menu="Window",
        needs=Needs.READY,
        trigger=lambda w: w.display.auto_window(),
    ),
    *(_user_preset(slot) for slot in range(1, 10)),
    ActionSpec(
        "wl_save_preset",
        "&Save current W/L as preset…",
        ("Ctrl+Shift+S",),
        "Window",
        "Put the window on screen on a number key (1-9)",
        menu="Window",
        section=2,
        needs=Needs.READY,
        trigger=lambda w: w.presets.save_dialog(),
    ),
    ActionSpec(
        "wl_edit_presets",
        "&Edit W/L presets…",
        (),
        "Window",
        "Name, centre and width of the presets on the number keys 1-9",
        menu="Window",
        section=2,
        trigger=lambda w: w.presets.edit_dialog(),
    ),
    # Heatmap
    ActionSpec(
        "heatmap",
        "Show &heatmap",
        ("H",),
        "AI",
        menu="AI",
        toolbar=50,
        icon="heatmap",
        checkable=True,
        toggle=lambda w, on: w.heatmap.set_visible(on),
        checked=lambda w: w.heatmap.visible,
    ),
    ActionSpec(
        "outline",
        "Heatmap &outline",
        ("O",),
        "AI",
        "Contours instead of a filled map",
        menu="AI",
        checkable=True,
        toggle=lambda w, on: w.heatmap.set_outline(on),
        checked=lambda w: w.heatmap.style.outline,
    ),
    ActionSpec(
        "opacity_up",
        "Heatmap opacity +10%",
        ("]",),
        "AI",
        menu="AI",
        trigger=lambda w: w.heatmap.nudge_opacity(0.1),
    ),
    ActionSpec(
        "opacity_down",
        "Heatmap opacity -10%",
        ("[",),
        "AI",
        menu="AI",
        trigger=lambda w: w.heatmap.nudge_opacity(-0.1),
    ),
    ActionSpec(
        "analyse_all",
        "Analyse &all worklist studies",
        ("Ctrl+Shift+A",),
        "AI",
        "Run the model over every study of the worklist in the background (Cancel in the worklist)",
        menu="AI",
        section=1,
        trigger=lambda w: w.worklist.analyse_all(),
    ),
    # Navigation
    ActionSpec(
        "next_frame",
        "Next frame",
        ("PgDown",),
        "Navigate",
        menu="View",
        section=3,
        needs=Needs.FRAMES,
        trigger=lambda w: w.display.step_frame(1),
    ),
    ActionSpec(
        "prev_frame",
        "Previous frame",
        ("PgUp",),
        "Navigate",
        menu="View",
        section=3,
        needs=Needs.FRAMES,
        trigger=lambda w: w.display.step_frame(-1),
    ),
    ActionSpec(
        "cine",
        "&Play / pause cine",
        ("Space",),
        "Navigate",
        "Play the frames one after the other, looping (frame rate in the frame bar)",
        menu="View",
        section=3,
        needs=Needs.FRAMES,
        checkable=True,
        toggle=lambda w, on: w.cine.set_playing(on),
        checked=lambda w: w.cine.playing,
    ),
    ActionSpec(
        "next_study",
        "Next study",
        ("Ctrl+PgDown", "Ctrl+Tab"),
        "Navigate",
        menu="View",
        section=3,
        trigger=lambda w: w.studies.step(1),
    ),
    ActionSpec(
        "prev_study",
        "Previous study",
        ("Ctrl+PgUp", "Ctrl+Shift+Tab"),
        "Navigate",
        menu="View",
        section=3,
        trigger=lambda w: w.studies.step(-1),
    ),
    ActionSpec(
        "worklist_next",
        "Next worklist study",
        ("J", "Alt+Down"),
        "Navigate",
        "The next row of the worklist, in the order shown, becomes the current study",
        menu="View",
        section=3,
        trigger=lambda w: w.worklist.step(1),
    ),
    ActionSpec(
        "worklist_prev",
        "Previous worklist study",
        ("K", "Alt+Up"),
        "Navigate",
        menu="View",
        section=3,
        trigger=lambda w: w.worklist.step(-1),
    ),
    ActionSpec(
        "worklist_flag",
        "Flag worklist study",
        ("G",),
        "Navigate",
        "Colour flag of the selected worklist row: red, yellow, green, none",
        menu="View",
        section=3,
        trigger=lambda w: w.worklist.cycle_flag(),
    ),
    # Compare (side by side)
    ActionSpec(
        "compare_previous",
        "Compare with &previous study",
        ("C",),
        "Compare",
        "The same patient's earlier study (Patient ID, study date and time) beside this one",
        menu="View",
        section=5,
        needs=Needs.READY,
        trigger=lambda w: w.compare.compare_previous(),
    ),
    ActionSpec(
        "compare_with",
        "Compare &with…",
        ("Shift+C",),
        "Compare",
        "Another open study beside this one",
        menu="View",
        section=5,
        needs=Needs.READY,
        trigger=lambda w: w.compare.compare_with_dialog(),
    ),
    ActionSpec(
        "compare_sync",
        "S&ynchronise compared views",
        ("S",),
        "Compare",
        "Zoom, pan and window/level of one side follow on the other",
        menu="View",
        section=5,
        checkable=True,
        toggle=lambda w, on: w.compare.set_sync(on),
        checked=lambda w: w.compare.sync,
    ),
    ActionSpec(
        "compare_exit",
        "&Leave compare mode",
        ("Alt+C",),
        "Compare",
        "Back to the single view",
        menu="View",
        section=5,
        trigger=lambda w: w.compare.stop(),
    ),
    # Panels
    ActionSpec("studies_panel", "Studies", menu="View", section=4, provided=True),
    ActionSpec("ai_panel", "AI - pneumonia", menu="View", section=4, provided=True),
    ActionSpec("worklist_panel", "Worklist", menu="View", section=4, provided=True),
    ActionSpec(
        "tags",
        "DICOM &tags",
        ("Ctrl+T",),
        "Panels",
        "Searchable list of every DICOM element",
        menu="View",
        section=4,
        toolbar=52,
        icon="tags",
        checkable=True,
        toggle=lambda w, on: w.show_tags(on),
        checked=lambda w: w.tag_dock.isVisible(),
    ),
    ActionSpec(
        "find_tag", "Find tag…", ("Ctrl+F",), "Panels", menu="View", section=4, trigger=lambda w: w.find_tag()
    ),
    # Help
    ActionSpec(
        "shortcuts",
        "&Keyboard shortcuts",
        ("F1", "?"),
        "Help",
        menu="Help",
        trigger=lambda w: w.show_shortcuts(),
    ),
    ActionSpec("about", f"&About {APP_NAME}", (), "Help", menu="Help", trigger=lambda w: w.show_about()),
)

SPECS = {a.id: a for a in ACTIONS}
MENUS = ("File", "Edit", "Tools", "View", "Window", "AI", "Help")


def _enabled(needs: Needs, entry: StudyEntry | None) -> bool:
    if needs is Needs.NOTHING:
        return True
    if needs is Needs.STUDY:
        return entry is not None
    ready = entry is not None and entry.ready
    if needs is Needs.READY:
        return ready
    return ready and entry.study.n_frames > 1


class ActionRegistry:
    """The QActions of :data:`ACTIONS` for one window, and the menus and toolbar built from them.

    ``provided`` maps the ids of provided actions to the QAction (or, for ``recent``, the QMenu) Qt made.
    """

    def __init__(
        self,
        window: MainWindow,
        provided: dict[str, QtGui.QAction | QtWidgets.QMenu],
        specs: Iterable[ActionSpec] = ACTIONS,
    ):
        self.window = window
        self.specs = tuple(specs)
        self.actions: dict[str, QtGui.QAction] = {}
        self.submenus: dict[str, QtWidgets.QMenu] = {}
        self.menus: dict[str, QtWidgets.QMenu] = {}
        self._groups: dict[str, QtGui.QActionGroup] = {}
        for spec in self.specs:
            if spec.provided:
                given = provided[spec.id]
                if isinstance(given, QtWidgets.QMenu):
                    self.submenus[spec.id] = given
                    continue
                self.actions[spec.id] = self._configure(given, spec)
            else:
                self.actions[spec.id] = self._create(spec)

    # -- creation -------------------------------------------------------------------------------
    def _configure(self, act: QtGui.QAction, spec: ActionSpec) -> QtGui.QAction:
        act.setObjectName(f"action_{spec.id}")
        if spec.keys:
            act.setShortcuts([QtGui.QKeySequence(k) for k in spec.keys])
            act.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        tip = spec.tip or spec.text.replace("&", "").rstrip("…")
        if spec.keys:
            tip += f"  ({spec.keys[0]})"
        act.setToolTip(tip)
        act.setStatusTip(tip)
        if spec.icon:
            act.setIcon(icon(spec.icon))
        return act

    def _create(self, spec: ActionSpec) -> QtGui.QAction:
        w = self.window
        act = self._configure(QtGui.QAction(spec.text, w), spec)
        act.setCheckable(spec.checkable)
        w.addAction(act)  # shortcuts work even for actions that are in no menu
        if spec.exclusive:
            group = self._groups.setdefault(spec.exclusive, QtGui.QActionGroup(w))
            group.addAction(act)
        if spec.trigger is not None:
            act.triggered.connect(lambda checked=False, fn=spec.trigger: self._run(fn))
        if spec.toggle is not None:
            act.toggled.connect(lambda on, fn=spec.toggle: self._run(lambda win: fn(win, on)))
        return act

    def _run(self, fn: Callable[[MainWindow], object]) -> None:
        fn(self.window)
        self.sync_checked()

    # -- menus and toolbar ----------------------------------------------------------------------
    def build_menus(self, bar: QtWidgets.QMenuBar) -> dict[str, QtWidgets.QMenu]:
        for name in MENUS:
            menu = bar.addMenu(f"&{name}")
            section = None
            for spec in self.specs:
                if spec.menu != name:
                    continue
                if section is not None and spec.section != section:
                    menu.addSeparator()
                section = spec.section
                if spec.id in self.submenus:
                    menu.addMenu(self.submenus[spec.id])
                else:
                    menu.addAction(self.actions[spec.id])
            self.menus[name] = menu
        return self.menus

    def build_toolbar(self, toolbar: QtWidgets.QToolBar) -> None:
        placed = sorted((s for s in self.specs if s.toolbar), key=lambda s: s.toolbar)
        for i, spec in enumerate(placed):
            if i and spec.toolbar // 10 != placed[i - 1].toolbar // 10:
                toolbar.addSeparator()
            toolbar.addAction(self.actions[spec.id])

    # -- state ----------------------------------------------------------------------------------
    def update_enabled(self, entry: StudyEntry | None) -> None:
        for spec in self.specs:
            if spec.needs is not Needs.NOTHING:
                self.actions[spec.id].setEnabled(_enabled(spec.needs, entry))

    def sync_checked(self) -> None:
        """Show every checkable action's state as the window has it (without running its handler)."""
        for spec in self.specs:
            if spec.checked is None:
                continue
            act = self.actions[spec.id]
            on = bool(spec.checked(self.window))
            if act.isChecked() != on:
                act.blockSignals(True)
                act.setChecked(on)
                act.blockSignals(False)
