"""How annotations look, on screen and burned into exports: colours, pens, the label box."""

from __future__ import annotations

from PySide6 import QtCore, QtGui

COLOUR = QtGui.QColor("#ffd54a")
SELECTED = QtGui.QColor("#4ad8ff")
HALO = QtGui.QColor(0, 0, 0, 170)
LINE_PX = 2.0
HIT_PX = 8.0
HANDLE_PX = 5.0
LABEL_FONT_PX = 13


def label_font() -> QtGui.QFont:
    f = QtGui.QFont()
    f.setPixelSize(LABEL_FONT_PX)
    f.setWeight(QtGui.QFont.Weight.DemiBold)
    return f


def cosmetic_pen(colour: QtGui.QColor, width: float) -> QtGui.QPen:
    pen = QtGui.QPen(colour, width)
    pen.setCosmetic(True)
    pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(QtCore.Qt.PenJoinStyle.RoundJoin)
    return pen


def draw_label(
    painter: QtGui.QPainter,
    anchor: QtCore.QPointF,
    text: str,
    font: QtGui.QFont,
    colour: QtGui.QColor = COLOUR,
    offset: QtCore.QPointF | None = None,
    bounds: QtCore.QRectF | None = None,
) -> QtCore.QRectF:
    """Text on a dark rounded box with its top-left at ``anchor + offset`` (painter units = pixels),
    moved inside ``bounds`` when given (exports: a label never falls off the image)."""
    fm = QtGui.QFontMetricsF(font)
    pad = max(2.0, fm.height() * 0.18)
    w = fm.horizontalAdvance(text) + 2 * pad
    h = fm.height() + 2 * pad
    o = offset if offset is not None else QtCore.QPointF(0, 0)
    rect = QtCore.QRectF(anchor.x() + o.x(), anchor.y() + o.y(), w, h)
    if bounds is not None:
        rect.moveLeft(max(bounds.left(), min(rect.left(), bounds.right() - w)))
        rect.moveTop(max(bounds.top(), min(rect.top(), bounds.bottom() - h)))
    painter.save()
    painter.setPen(QtCore.Qt.PenStyle.NoPen)
    painter.setBrush(QtGui.QColor(0, 0, 0, 165))
    painter.drawRoundedRect(rect, pad, pad)
    painter.setFont(font)
    painter.setPen(colour)
    painter.drawText(rect.adjusted(pad, pad, -pad, -pad), QtCore.Qt.AlignmentFlag.AlignLeft, text)
    painter.restore()
    return rect
