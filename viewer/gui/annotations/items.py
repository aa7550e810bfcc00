"""Annotation graphics items in image coordinates: arrow, text label, ellipse, length measurement.

Every item's coordinates are image pixels (x = column, y = row, y down); they live in an
:class:`~viewer.gui.annotations.layer.AnnotationLayer`, a child of the item that carries the image and the
heatmap, so zoom, pan, rotation and flips move them with the pixels. Lines are cosmetic (constant width on
screen) and text never rotates or mirrors with the image, so it stays readable. Moving an item or dragging
one of its handles pushes an undo command (:mod:`viewer.gui.annotations.commands`).
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from viewer.core.study import PixelSpacing
from viewer.gui.annotations.commands import GeometryCommand, MoveCommand
from viewer.gui.annotations.model import Host, Shape, format_length
from viewer.gui.annotations.style import (
    COLOUR,
    HALO,
    HANDLE_PX,
    HIT_PX,
    LABEL_FONT_PX,
    LINE_PX,
    SELECTED,
    cosmetic_pen,
    draw_label,
    label_font,
)


class _ScreenLabel(QtWidgets.QGraphicsItem):
    """A label that keeps its screen size and orientation (ItemIgnoresTransformations)."""

    def __init__(self, parent: QtWidgets.QGraphicsItem):
        super().__init__(parent)
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setAcceptedMouseButtons(QtCore.Qt.MouseButton.NoButton)
        self.text = ""
        self.colour = COLOUR
        self.font = label_font()
        self._offset = QtCore.QPointF(8, 6)

    def set_text(self, text: str) -> None:
        self.prepareGeometryChange()
        self.text = text
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        fm = QtGui.QFontMetricsF(self.font)
        pad = max(2.0, fm.height() * 0.18)
        return QtCore.QRectF(
            self._offset.x(),
            self._offset.y(),
            fm.horizontalAdvance(self.text) + 2 * pad + 1,
            fm.height() + 2 * pad + 1,
        )

    def paint(self, painter, option, widget=None):
        if self.text:
            draw_label(painter, QtCore.QPointF(0, 0), self.text, self.font, self.colour, self._offset)


class Annotation(pg.GraphicsObject):
    """Base: selectable, movable, with draggable handles; geometry in local = image coordinates."""

    kind = "annotation"

    def __init__(self):
        super().__init__()
        flags = QtWidgets.QGraphicsItem.GraphicsItemFlag
        self.setFlag(flags.ItemIsSelectable, True)
        self.setFlag(flags.ItemIsMovable, True)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        self.layer: Host | None = None  # set by the layer that holds it
        self._press_positions: dict[Annotation, QtCore.QPointF] | None = None
        self._drag_handle: int | None = None
        self._geometry_before = None

    # -- geometry interface for subclasses -------------------------------------------------------
    def handles(self) -> list[QtCore.QPointF]:
        return []

    def set_handle(self, index: int, pos: QtCore.QPointF) -> None:
        pass

    def geometry(self):
        raise NotImplementedError

    def set_geometry(self, geometry) -> None:
        raise NotImplementedError

    def export_shapes(self) -> list[Shape]:
        raise NotImplementedError

    def _p(self, p: QtCore.QPointF) -> tuple[float, float]:
        q = self.mapToParent(p)
        return (q.x(), q.y())

    # -- screen-size helpers -------------------------------------------------------------------
    def unit(self) -> float:
        """Local units per screen pixel (1 when not on screen yet)."""
        dt = self.deviceTransform_()
        if dt is None:
            return 1.0
        det = abs(dt.m11() * dt.m22() - dt.m12() * dt.m21())
        return 1.0 / math.sqrt(det) if det > 1e-18 else 1.0

    def viewTransformChanged(self):
        super().viewTransformChanged()
        self.prepareGeometryChange()
        self.update()

    def colour(self) -> QtGui.QColor:
        return SELECTED if self.isSelected() else COLOUR

    def _paint_handles(self, painter: QtGui.QPainter) -> None:
        if not self.isSelected():
            return
        u = self.unit()
        s = HANDLE_PX * u
        painter.setPen(cosmetic_pen(QtGui.QColor("black"), 1))
        painter.setBrush(SELECTED)
        for h in self.handles():
            painter.drawRect(QtCore.QRectF(h.x() - s, h.y() - s, 2 * s, 2 * s))

    def _handle_at(self, pos: QtCore.QPointF) -> int | None:
        if not self.isSelected():
            return None
        tol = (HANDLE_PX + 3) * self.unit()
        for i, h in enumerate(self.handles()):
            if abs(h.x() - pos.x()) <= tol and abs(h.y() - pos.y()) <= tol:
                return i
        return None

    # -- mouse: handles, moves, undo -----------------------------------------------------------
    def mousePressEvent(self, ev):
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        handle = self._handle_at(ev.pos())
        if handle is not None:
            self._drag_handle = handle
            self._geometry_before = self.geometry()
            ev.accept()
            return
        super().mousePressEvent(ev)
        items = [it for it in (self.layer.selected() if self.layer else []) if it is not self]
        self._press_positions = {it: it.pos() for it in [self, *items]}

    def mouseMoveEvent(self, ev):
        if self._drag_handle is not None:
            self.set_handle(self._drag_handle, ev.pos())
            ev.accept()
            return
        super().mouseMoveEvent(ev)

    def mouseReleaseEvent(self, ev):
        if self._drag_handle is not None:
            before, self._drag_handle = self._geometry_before, None
            after = self.geometry()
            if self.layer is not None and after != before:
                self.layer.push(GeometryCommand(self, before, after))
            ev.accept()
            return
        super().mouseReleaseEvent(ev)
        moved = {it: (old, it.pos()) for it, old in (self._press_positions or {}).items() if it.pos() != old}
        self._press_positions = None
        if moved and self.layer is not None:
            self.layer.push(MoveCommand(moved))

    def hoverMoveEvent(self, ev):
        shape = QtCore.Qt.CursorShape
        self.setCursor(shape.CrossCursor if self._handle_at(ev.pos()) is not None else shape.SizeAllCursor)

    def hoverLeaveEvent(self, ev):
        self.unsetCursor()


class _LineAnnotation(Annotation):
    """Shared by arrow and ruler: two endpoints, ``p1`` (tail) and ``p2`` (head)."""

    def __init__(self, p1: QtCore.QPointF, p2: QtCore.QPointF):
        super().__init__()
        self.p1, self.p2 = QtCore.QPointF(p1), QtCore.QPointF(p2)

    def handles(self):
        return [self.p1, self.p2]

    def set_handle(self, index, pos):
        self.set_geometry((self.p1, QtCore.QPointF(pos)) if index == 1 else (QtCore.QPointF(pos), self.p2))

    def geometry(self):
        return (QtCore.QPointF(self.p1), QtCore.QPointF(self.p2))

    def set_geometry(self, geometry):
        self.prepareGeometryChange()
        self.p1, self.p2 = QtCore.QPointF(geometry[0]), QtCore.QPointF(geometry[1])
        self.geometry_changed()
        self.update()

    def geometry_changed(self):
        pass

    def length_px(self) -> float:
        d = self.mapToParent(self.p2) - self.mapToParent(self.p1)
        return math.hypot(d.x(), d.y())

    def _line_path(self) -> QtGui.QPainterPath:
        path = QtGui.QPainterPath(self.p1)
        path.lineTo(self.p2)
        return path

    def shape(self):
        stroker = QtGui.QPainterPathStroker()
        stroker.setWidth(HIT_PX * self.unit())
        path = stroker.createStroke(self._decorated_path())
        for h in self.handles():
            s = (HANDLE_PX + 3) * self.unit()
            path.addRect(QtCore.QRectF(h.x() - s, h.y() - s, 2 * s, 2 * s))
        return path

    def boundingRect(self):
        m = (HIT_PX + HANDLE_PX + 4) * self.unit()
        return self._decorated_path().boundingRect().adjusted(-m, -m, m, m)

    def _decorated_path(self) -> QtGui.QPainterPath:
        return self._line_path()

    def paint(self, painter, option, widget=None):
        path = self._decorated_path()
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        painter.strokePath(path, cosmetic_pen(HALO, LINE_PX + 2.5))
        painter.strokePath(path, cosmetic_pen(self.colour(), LINE_PX))
        self._paint_handles(painter)


class ArrowAnnotation(_LineAnnotation):
    kind = "arrow"
    HEAD_PX = 14.0

    def _decorated_path(self):
        path = self._line_path()
        d = self.p2 - self.p1
        n = math.hypot(d.x(), d.y())
        if n > 1e-9:
            ux, uy = d.x() / n, d.y() / n
            head = min(self.HEAD_PX * self.unit(), n * 0.6)
            for sign in (1, -1):
                a = math.radians(28) * sign
                bx = -(ux * math.cos(a) - uy * math.sin(a)) * head
                by = -(ux * math.sin(a) + uy * math.cos(a)) * head
                path.moveTo(self.p2)
                path.lineTo(self.p2 + QtCore.QPointF(bx, by))
        return path

    def export_shapes(self):
        return [Shape("arrow", (self._p(self.p1), self._p(self.p2)))]


class RulerAnnotation(_LineAnnotation):
    """Length measurement; the label names the spacing source, or says there is no calibration."""

    kind = "ruler"
    TICK_PX = 6.0

    def __init__(self, p1, p2, spacing: PixelSpacing | None = None):
        super().__init__(p1, p2)
        self.spacing = spacing
        self.label = _ScreenLabel(self)
        self.geometry_changed()

    def text(self) -> str:
        a, b = self.mapToParent(self.p1), self.mapToParent(self.p2)
        return format_length(b.x() - a.x(), b.y() - a.y(), self.spacing)

    def geometry_changed(self):
        self.label.setPos((self.p1 + self.p2) / 2)
        self.label.set_text(self.text())

    def _decorated_path(self):
        path = self._line_path()
        d = self.p2 - self.p1
        n = math.hypot(d.x(), d.y())
        if n > 1e-9:
            t = self.TICK_PX * self.unit()
            nx, ny = -d.y() / n * t, d.x() / n * t
            for p in (self.p1, self.p2):
                path.moveTo(p.x() - nx, p.y() - ny)
                path.lineTo(p.x() + nx, p.y() + ny)
        return path

    def paint(self, painter, option, widget=None):
        self.label.colour = self.colour()
        super().paint(painter, option, widget)

    def export_shapes(self):
        return [Shape("ruler", (self._p(self.p1), self._p(self.p2)), self.text())]


class EllipseAnnotation(Annotation):
    kind = "ellipse"

    def __init__(self, p1: QtCore.QPointF, p2: QtCore.QPointF):
        super().__init__()
        self.rect = QtCore.QRectF(p1, p2).normalized()

    def handles(self):
        return [self.rect.topLeft(), self.rect.bottomRight()]

    def set_handle(self, index, pos):
        a, b = self.rect.topLeft(), self.rect.bottomRight()
        self.set_geometry(
            QtCore.QRectF(QtCore.QPointF(pos), b) if index == 0 else QtCore.QRectF(a, QtCore.QPointF(pos))
        )

    def geometry(self):
        return QtCore.QRectF(self.rect)

    def set_geometry(self, geometry):
        self.prepareGeometryChange()
        self.rect = QtCore.QRectF(geometry).normalized()
        self.update()

    def shape(self):
        stroker = QtGui.QPainterPathStroker()
        stroker.setWidth(HIT_PX * self.unit())
        path = QtGui.QPainterPath()
        path.addEllipse(self.rect)
        out = stroker.createStroke(path)
        if self.isSelected():
            for h in self.handles():
                s = (HANDLE_PX + 3) * self.unit()
                out.addRect(QtCore.QRectF(h.x() - s, h.y() - s, 2 * s, 2 * s))
        return out

    def boundingRect(self):
        m = (HIT_PX + HANDLE_PX + 4) * self.unit()
        return self.rect.adjusted(-m, -m, m, m)

    def paint(self, painter, option, widget=None):
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.setPen(cosmetic_pen(HALO, LINE_PX + 2.5))
        painter.drawEllipse(self.rect)
        painter.setPen(cosmetic_pen(self.colour(), LINE_PX))
        painter.drawEllipse(self.rect)
        if self.isSelected():
            painter.setPen(cosmetic_pen(QtGui.QColor(74, 216, 255, 110), 1))
            painter.drawRect(self.rect)
        self._paint_handles(painter)

    def export_shapes(self):
        return [Shape("ellipse", (self._p(self.rect.topLeft()), self._p(self.rect.bottomRight())))]


class TextAnnotation(Annotation):
    """A text label anchored at an image point; drawn at screen size, never rotated or mirrored."""

    kind = "text"

    def __init__(self, pos: QtCore.QPointF, text: str):
        super().__init__()
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setPos(pos)
        self.text = text
        self.font = label_font()
        self.font.setPixelSize(LABEL_FONT_PX + 2)

    def unit(self) -> float:
        return 1.0  # this item's coordinates are screen pixels

    def geometry(self):
        return self.text

    def set_geometry(self, geometry):
        self.prepareGeometryChange()
        self.text = str(geometry)
        self.update()

    def boundingRect(self):
        fm = QtGui.QFontMetricsF(self.font)
        pad = max(2.0, fm.height() * 0.18)
        return QtCore.QRectF(-2, -2, fm.horizontalAdvance(self.text) + 2 * pad + 4, fm.height() + 2 * pad + 4)

    def paint(self, painter, option, widget=None):
        rect = draw_label(painter, QtCore.QPointF(0, 0), self.text, self.font, self.colour())
        if self.isSelected():
            painter.setPen(cosmetic_pen(SELECTED, 1))
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)

    def export_shapes(self):
        return [Shape("text", (self._p(QtCore.QPointF(0, 0)),), self.text)]

    def _p(self, p):
        return (self.pos().x(), self.pos().y())
