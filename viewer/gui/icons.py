"""Toolbar icons drawn with QPainter (crisp at any scale, no image files) and the application icon, loaded
from the shipped ``assets/icons`` (``packaging/make_icons.py`` draws those files; it is not part of the app)."""

from __future__ import annotations

import math
from functools import cache

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.config import ICON_FILES
from viewer.core.assets import asset_path

FG = QtGui.QColor("#d6dae0")
ACCENT = QtGui.QColor("#4aa3ff")
WARM = QtGui.QColor("#ff9e5e")
S = 64  # drawing grid; icons are rendered at 64 px and scaled by Qt


def _pen(colour=FG, width=4.5):
    pen = QtGui.QPen(colour, width)
    pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(QtCore.Qt.PenJoinStyle.RoundJoin)
    return pen


def _centred_text(p: QtGui.QPainter, text: str, pixel_size: int) -> None:
    font = QtGui.QFont()
    font.setPixelSize(pixel_size)
    font.setBold(True)
    p.setFont(font)
    p.setPen(FG)
    p.drawText(QtCore.QRectF(0, 0, S, S), QtCore.Qt.AlignmentFlag.AlignCenter, text)


def _arc_arrow(p: QtGui.QPainter, clockwise: bool) -> None:
    rect = QtCore.QRectF(14, 14, 36, 36)
    start, span = (120, -250) if clockwise else (60, 250)
    path = QtGui.QPainterPath()
    path.arcMoveTo(rect, start)
    path.arcTo(rect, start, span)
    p.drawPath(path)
    end = path.currentPosition()
    ang = math.radians(start + span)
    tx, ty = -math.sin(ang), -math.cos(ang)  # tangent of the arc at the end (y down)
    if not clockwise:
        tx, ty = -tx, -ty
    tx, ty = -tx, -ty
    for a in (0.5, -0.5):
        ca, sa = math.cos(a), math.sin(a)
        dx, dy = tx * ca - ty * sa, tx * sa + ty * ca
        p.drawLine(end, end + QtCore.QPointF(dx * 11, dy * 11))


def _draw(name: str, p: QtGui.QPainter) -> None:
    p.setPen(_pen())
    p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
    P = QtCore.QPointF
    if name == "wl":
        p.drawEllipse(QtCore.QRectF(12, 12, 40, 40))
        path = QtGui.QPainterPath(P(32, 12))
        path.arcTo(QtCore.QRectF(12, 12, 40, 40), 90, 180)
        path.closeSubpath()
        p.fillPath(path, FG)
    elif name == "pan":
        for dx, dy in ((0, -1), (0, 1), (-1, 0), (1, 0)):
            tip = P(32 + dx * 22, 32 + dy * 22)
            p.drawLine(P(32, 32), tip)
            ox, oy = dy * 7, dx * 7
            p.drawLine(tip, tip + P(-dx * 8 + ox, -dy * 8 + oy))
            p.drawLine(tip, tip + P(-dx * 8 - ox, -dy * 8 - oy))
    elif name == "zoom":
        p.drawEllipse(QtCore.QRectF(10, 10, 32, 32))
        p.setPen(_pen(FG, 7))
        p.drawLine(P(38, 38), P(54, 54))
    elif name == "arrow":
        p.drawLine(P(14, 50), P(50, 14))
        p.drawLine(P(50, 14), P(32, 16))
        p.drawLine(P(50, 14), P(48, 32))
    elif name == "text":
        _centred_text(p, "T", 44)
    elif name == "ellipse":
        p.drawEllipse(QtCore.QRectF(8, 16, 48, 32))
    elif name == "ruler":
        p.drawLine(P(10, 46), P(54, 18))
        for t in (0.0, 1.0):
            x, y = 10 + 44 * t, 46 - 28 * t
            p.drawLine(P(x - 5, y - 8), P(x + 5, y + 8))
        p.setPen(_pen(FG, 3))
        for t in (0.25, 0.5, 0.75):
            x, y = 10 + 44 * t, 46 - 28 * t
            p.drawLine(P(x - 3, y - 5), P(x + 3, y + 5))
    elif name in ("rotate_cw", "rotate_ccw"):
        _arc_arrow(p, name == "rotate_cw")
    elif name == "flip_h":
        p.drawLine(P(32, 8), P(32, 56))
        p.drawPolygon(QtGui.QPolygonF([P(26, 16), P(26, 48), P(8, 48)]))
        p.setBrush(FG)
        p.drawPolygon(QtGui.QPolygonF([P(38, 16), P(38, 48), P(56, 48)]))
    elif name == "flip_v":
        p.drawLine(P(8, 32), P(56, 32))
        p.drawPolygon(QtGui.QPolygonF([P(16, 26), P(48, 26), P(48, 8)]))
        p.setBrush(FG)
        p.drawPolygon(QtGui.QPolygonF([P(16, 38), P(48, 38), P(48, 56)]))
    elif name == "invert":
        p.drawRect(QtCore.QRectF(10, 10, 44, 44))
        p.fillRect(QtCore.QRectF(10, 10, 22, 44), FG)
    elif name == "fit":
        for sx, sy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            x, y = 10 + sx * 44, 10 + sy * 44
            dx, dy = (1 if sx == 0 else -1), (1 if sy == 0 else -1)
            p.drawLine(P(x, y), P(x + dx * 14, y))
            p.drawLine(P(x, y), P(x, y + dy * 14))
        p.drawRect(QtCore.QRectF(22, 22, 20, 20))
    elif name == "one_to_one":
        _centred_text(p, "1:1", 30)
    elif name == "reset":
        _arc_arrow(p, False)
        p.setBrush(FG)
        p.drawEllipse(P(32, 32), 4, 4)
    elif name == "heatmap":
        grad = QtGui.QRadialGradient(P(32, 32), 26)
        grad.setColorAt(0.0, QtGui.QColor("#ff3b2f"))
        grad.setColorAt(0.45, QtGui.QColor("#ffd23f"))
        grad.setColorAt(0.75, QtGui.QColor("#3fbfff"))
        grad.setColorAt(1.0, QtGui.QColor(30, 60, 200, 0))
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(grad)
        p.drawEllipse(QtCore.QRectF(6, 6, 52, 52))
    elif name == "info":
        p.drawRect(QtCore.QRectF(8, 12, 48, 40))
        p.setPen(_pen(FG, 3.5))
        for y in (20, 27):
            p.drawLine(P(14, y), P(28, y))
        for y in (38, 45):
            p.drawLine(P(36, y), P(50, y))
    elif name == "tags":
        p.drawRect(QtCore.QRectF(10, 10, 44, 44))
        p.setPen(_pen(FG, 3.5))
        for y in (20, 30, 40):
            p.drawLine(P(16, y), P(24, y))
            p.drawLine(P(29, y), P(48, y))


@cache
def icon(name: str) -> QtGui.QIcon:
    """A toolbar icon by name; file actions use the platform's standard icons."""
    std = {
        "open": QtWidgets.QStyle.StandardPixmap.SP_DialogOpenButton,
        "open_folder": QtWidgets.QStyle.StandardPixmap.SP_DirOpenIcon,
        "export": QtWidgets.QStyle.StandardPixmap.SP_DialogSaveButton,
        "copy": QtWidgets.QStyle.StandardPixmap.SP_FileDialogDetailedView,
        "help": QtWidgets.QStyle.StandardPixmap.SP_DialogHelpButton,
    }
    app = QtWidgets.QApplication.instance()
    if name in std and app is not None:
        return app.style().standardIcon(std[name])
    pm = QtGui.QPixmap(S, S)
    pm.fill(QtCore.Qt.GlobalColor.transparent)
    p = QtGui.QPainter(pm)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
    _draw(name, p)
    p.end()
    return QtGui.QIcon(pm)


def app_icon() -> QtGui.QIcon:
    """The application icon: the committed ``assets/icons`` PNG (drawn by ``packaging/make_icons.py``, a
    build-time tool). A missing file gives Qt's default icon rather than drawing one at run time."""
    path = asset_path("icons", ICON_FILES["png"])
    return QtGui.QIcon(str(path)) if path.is_file() else QtGui.QIcon()
