"""Every command with its keyboard shortcut, defined once: menus, toolbar and Help > Keyboard shortcuts."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets


@dataclass(frozen=True)
class ActionSpec:
    id: str
    text: str
    keys: tuple[str, ...] = ()
    group: str = ""
    tip: str = ""
    checkable: bool = False


ACTIONS: tuple[ActionSpec, ...] = (
    # File
    ActionSpec("open", "&Open…", ("Ctrl+O",), "File", "Open one or more studies (DICOM, PNG, JPEG, TIFF)"),
    ActionSpec(
        "open_folder",
        "Open &folder…",
        ("Ctrl+Shift+O",),
        "File",
        "Open every study in a folder and its subfolders",
    ),
    ActionSpec(
        "export",
        "&Export annotated image…",
        ("Ctrl+E",),
        "File",
        "Save the image as displayed, with heatmap, annotations and AI footer",
    ),
    ActionSpec(
        "copy",
        "&Copy annotated image",
        ("Ctrl+Shift+C",),
        "File",
        "Copy the annotated image to the clipboard",
    ),
    ActionSpec("close_study", "Close stud&y", ("Ctrl+W",), "File"),
    ActionSpec("quit", "&Quit", ("Ctrl+Q",), "File"),
    # Edit
    ActionSpec("undo", "&Undo", ("Ctrl+Z",), "Edit"),
    ActionSpec("redo", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Edit"),
    ActionSpec(
        "delete", "&Delete annotation", ("Del", "Backspace"), "Edit", "Delete the selected annotations"
    ),
    # Tools (left mouse button)
    ActionSpec(
        "tool_wl", "&Window / level", ("W",), "Tools", "Left-drag: horizontal = width, vertical = level", True
    ),
    ActionSpec(
        "tool_pan", "&Pan", ("P",), "Tools", "Left-drag pans (middle or right drag always pans)", True
    ),
    ActionSpec(
        "tool_zoom",
        "&Zoom",
        ("Z",),
        "Tools",
        "Left-drag up/down zooms (the wheel always zooms about the cursor)",
        True,
    ),
    ActionSpec("tool_arrow", "&Arrow", ("A",), "Tools", "Drag from the tail to the tip", True),
    ActionSpec("tool_text", "&Text label", ("T",), "Tools", "Click where the label goes", True),
    ActionSpec("tool_ellipse", "&Ellipse", ("E",), "Tools", "Drag a box around the region", True),
    ActionSpec(
        "tool_ruler",
        "&Measure length",
        ("M",),
        "Tools",
        "Drag a line; mm when the file is calibrated, else pixels",
        True,
    ),
    # View
    ActionSpec("fit", "&Fit to window", ("F",), "View"),
    ActionSpec("one_to_one", "&1:1 pixels", ("1",), "View"),
    ActionSpec("zoom_in", "Zoom &in", ("+", "="), "View"),
    ActionSpec("zoom_out", "Zoom &out", ("-",), "View"),
    ActionSpec("rotate_cw", "Rotate 90° &clockwise", ("R",), "View"),
    ActionSpec("rotate_ccw", "Rotate 90° &anticlockwise", ("Shift+R",), "View"),
    ActionSpec("flip_h", "Flip &horizontal (mirror left-right)", ("X",), "View"),
    ActionSpec("flip_v", "Flip &vertical (upside down)", ("Y",), "View"),
    ActionSpec("invert", "&Invert grey scale", ("I",), "View", "", True),
    ActionSpec("reset", "&Reset view", ("Home",), "View", "Default window, orientation and zoom"),
    ActionSpec(
        "info_overlay",
        "Corner &information",
        ("Tab",),
        "View",
        "Patient, study and display text in the corners",
        True,
    ),
    ActionSpec("fullscreen", "F&ull screen", ("F11",), "View", "", True),
    # Window / level
    ActionSpec(
        "window_default", "&Default window", ("0",), "Window", "The file's own window (or the automatic one)"
    ),
    ActionSpec(
        "window_auto", "&Automatic window", ("9",), "Window", "From the image histogram (robust percentiles)"
    ),
    # Heatmap
    ActionSpec("heatmap", "Show &heatmap", ("H",), "AI", "", True),
    ActionSpec("outline", "Heatmap &outline", ("O",), "AI", "Contours instead of a filled map", True),
    ActionSpec("opacity_up", "Heatmap opacity +10%", ("]",), "AI"),
    ActionSpec("opacity_down", "Heatmap opacity -10%", ("[",), "AI"),
    # Navigation
    ActionSpec("next_frame", "Next frame", ("PgDown",), "Navigate"),
    ActionSpec("prev_frame", "Previous frame", ("PgUp",), "Navigate"),
    ActionSpec("next_study", "Next study", ("Ctrl+PgDown", "Ctrl+Tab"), "Navigate"),
    ActionSpec("prev_study", "Previous study", ("Ctrl+PgUp", "Ctrl+Shift+Tab"), "Navigate"),
    # Panels
    ActionSpec("tags", "DICOM &tags", ("Ctrl+T",), "Panels", "Searchable list of every DICOM element", True),
    ActionSpec("find_tag", "Find tag…", ("Ctrl+F",), "Panels"),
    # Help
    ActionSpec("shortcuts", "&Keyboard shortcuts", ("F1", "?"), "Help"),
    ActionSpec("about", "&About Pneumoscope", (), "Help"),
)

SPECS = {a.id: a for a in ACTIONS}
TOOL_ACTIONS = {
    "tool_wl": "wl",
    "tool_pan": "pan",
    "tool_zoom": "zoom",
    "tool_arrow": "arrow",
    "tool_text": "text",
    "tool_ellipse": "ellipse",
    "tool_ruler": "ruler",
}
MOUSE_HELP = (
    ("Mouse wheel", "Zoom about the cursor"),
    ("Middle or right drag", "Pan"),
    ("Left drag", "Current tool (window/level by default: horizontal = width, vertical = level)"),
    ("Double click", "Fit to window"),
    ("Click an annotation", "Select it; drag to move, drag its handles to reshape"),
)


def create_actions(parent: QtWidgets.QWidget) -> dict[str, QtGui.QAction]:
    actions: dict[str, QtGui.QAction] = {}
    for spec in ACTIONS:
        act = QtGui.QAction(spec.text, parent)
        act.setObjectName(f"action_{spec.id}")
        if spec.keys:
            act.setShortcuts([QtGui.QKeySequence(k) for k in spec.keys])
        tip = spec.tip or spec.text.replace("&", "").rstrip("…")
        if spec.keys:
            tip += f"  ({spec.keys[0]})"
        act.setToolTip(tip)
        act.setStatusTip(tip)
        act.setCheckable(spec.checkable)
        act.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        parent.addAction(act)
        actions[spec.id] = act
    return actions


def _native(key: str) -> str:
    return QtGui.QKeySequence(key).toString(QtGui.QKeySequence.SequenceFormat.NativeText) or key


class ShortcutsDialog(QtWidgets.QDialog):
    """Help > Keyboard shortcuts: every action grouped, plus the mouse conventions."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 640)
        lay = QtWidgets.QVBoxLayout(self)
        self.table = QtWidgets.QTreeWidget()
        self.table.setHeaderLabels(["Command", "Keys"])
        self.table.setRootIsDecorated(False)
        self.table.setAlternatingRowColors(True)
        groups: dict[str, list[ActionSpec]] = {}
        for spec in ACTIONS:
            groups.setdefault(spec.group, []).append(spec)
        bold = QtGui.QFont()
        bold.setBold(True)
        for group, specs in groups.items():
            head = QtWidgets.QTreeWidgetItem([group, ""])
            head.setFont(0, bold)
            head.setFirstColumnSpanned(True)
            self.table.addTopLevelItem(head)
            for spec in specs:
                if spec.keys:
                    keys = ",  ".join(_native(k) for k in spec.keys)
                    self.table.addTopLevelItem(QtWidgets.QTreeWidgetItem([spec.text.replace("&", ""), keys]))
        head = QtWidgets.QTreeWidgetItem(["Mouse", ""])
        head.setFont(0, bold)
        self.table.addTopLevelItem(head)
        for what, does in MOUSE_HELP:
            self.table.addTopLevelItem(QtWidgets.QTreeWidgetItem([does, what]))
        self.table.setColumnWidth(0, 330)
        self.table.header().setStretchLastSection(True)
        lay.addWidget(self.table)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def rows(self) -> list[tuple[str, str]]:
        return [
            (self.table.topLevelItem(i).text(0), self.table.topLevelItem(i).text(1))
            for i in range(self.table.topLevelItemCount())
        ]
