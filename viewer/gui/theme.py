"""Dark reading-room theme: Fusion style, dark palette, a small style sheet and the colours we reuse."""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

# Reading-room colours (the image area itself is pure black).
WINDOW = "#1e1f22"
BASE = "#16171a"
PANEL = "#26282c"
BORDER = "#3a3d42"
TEXT = "#dcdfe4"
TEXT_DIM = "#9aa0a8"
ACCENT = "#4aa3ff"
AMBER = "#f0a830"
AMBER_BG = "#3a2c10"
RED = "#ff6b5e"
RED_BG = "#3a1714"
GREEN = "#5fd38d"
IMAGE_BG = "#000000"

STYLE_SHEET = f"""
QMainWindow, QDialog {{ background: {WINDOW}; }}
QToolTip {{ color: {TEXT}; background: {PANEL}; border: 1px solid {BORDER}; padding: 4px; }}
QDockWidget {{ color: {TEXT}; font-weight: 600; }}
QDockWidget::title {{ background: {PANEL}; padding: 5px 8px; border-bottom: 1px solid {BORDER}; }}
QToolBar {{ background: {WINDOW}; border: none; border-bottom: 1px solid {BORDER}; spacing: 2px; padding: 3px; }}
QToolBar::separator {{ background: {BORDER}; width: 1px; margin: 4px 6px; }}
QToolButton {{ border: 1px solid transparent; border-radius: 4px; padding: 3px; color: {TEXT}; }}
QToolButton:hover {{ background: #2f3237; border-color: {BORDER}; }}
QToolButton:checked {{ background: #1d3a5c; border-color: {ACCENT}; }}
QStatusBar {{ background: {WINDOW}; color: {TEXT_DIM}; border-top: 1px solid {BORDER}; }}
QStatusBar QLabel {{ color: {TEXT_DIM}; padding: 0 6px; }}
QListWidget, QTableView, QTreeView {{ background: {BASE}; alternate-background-color: #1b1c20;
    border: 1px solid {BORDER}; selection-background-color: #1d3a5c; selection-color: white; }}
QHeaderView::section {{ background: {PANEL}; color: {TEXT_DIM}; border: none;
    border-right: 1px solid {BORDER}; padding: 4px; }}
QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox {{ background: {BASE}; border: 1px solid {BORDER};
    border-radius: 3px; padding: 3px 6px; color: {TEXT}; }}
QGroupBox {{ border: 1px solid {BORDER}; border-radius: 4px; margin-top: 14px; padding-top: 6px; color: {TEXT_DIM}; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 4px; }}
QSlider::groove:horizontal {{ height: 4px; background: {BORDER}; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::handle:horizontal {{ background: {TEXT}; width: 12px; margin: -5px 0; border-radius: 6px; }}
QSlider::handle:horizontal:disabled {{ background: {TEXT_DIM}; }}
QCheckBox::indicator, QRadioButton::indicator, QGroupBox::indicator {{ width: 13px; height: 13px;
    border: 1px solid #8a9099; background: #2b2e33; }}
QCheckBox::indicator {{ border-radius: 3px; }}
QRadioButton::indicator {{ border-radius: 7px; }}
QCheckBox::indicator:hover, QRadioButton::indicator:hover {{ border-color: {ACCENT}; }}
QCheckBox::indicator:checked {{ background: qradialgradient(cx:0.5, cy:0.5, radius:0.5, fx:0.5, fy:0.5,
    stop:0 {ACCENT}, stop:0.62 {ACCENT}, stop:0.7 #2b2e33); border-color: {ACCENT}; }}
QRadioButton::indicator:checked {{ background: qradialgradient(cx:0.5, cy:0.5, radius:0.5, fx:0.5, fy:0.5,
    stop:0 {ACCENT}, stop:0.5 {ACCENT}, stop:0.6 #2b2e33); border-color: {ACCENT}; }}
QCheckBox::indicator:disabled, QRadioButton::indicator:disabled {{ border-color: #555a61; background: #24262a; }}
QMenu {{ background: {PANEL}; border: 1px solid {BORDER}; }}
QMenu::item:selected {{ background: #1d3a5c; }}
QPushButton {{ background: #2f3237; border: 1px solid {BORDER}; border-radius: 4px; padding: 4px 12px; color: {TEXT}; }}
QPushButton:hover {{ background: #383b41; }}
QPushButton:default {{ border-color: {ACCENT}; }}
"""


def dark_palette() -> QtGui.QPalette:
    p = QtGui.QPalette()
    c = QtGui.QColor
    role = QtGui.QPalette.ColorRole
    group = QtGui.QPalette.ColorGroup
    p.setColor(role.Window, c(WINDOW))
    p.setColor(role.WindowText, c(TEXT))
    p.setColor(role.Base, c(BASE))
    p.setColor(role.AlternateBase, c("#1b1c20"))
    p.setColor(role.ToolTipBase, c(PANEL))
    p.setColor(role.ToolTipText, c(TEXT))
    p.setColor(role.PlaceholderText, c(TEXT_DIM))
    p.setColor(role.Text, c(TEXT))
    p.setColor(role.Button, c("#2f3237"))
    p.setColor(role.ButtonText, c(TEXT))
    p.setColor(role.BrightText, c(RED))
    p.setColor(role.Link, c(ACCENT))
    p.setColor(role.Highlight, c("#1d5a9c"))
    p.setColor(role.HighlightedText, c("white"))
    p.setColor(role.Light, c("#3a3d42"))
    p.setColor(role.Midlight, c("#303338"))
    p.setColor(role.Mid, c("#26282c"))
    p.setColor(role.Dark, c("#101114"))
    p.setColor(role.Shadow, c("#000000"))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, c("#6b7078"))
    return p


def apply_dark_theme(app: QtWidgets.QApplication) -> None:
    """Fusion + dark palette + style sheet, and a readable default font size."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLE_SHEET)
    font = app.font()
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
        app.setFont(font)
