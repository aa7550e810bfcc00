"""The reading view: one image, its heatmap and its annotations, with radiologist mouse conventions.

Scene layout (all children of ``content``, whose transform is the display orientation)::

    ViewBox (y down, aspect locked, black)
      content  <- Orientation.qtransform(): rotate / flip everything at once
        image_item   DisplayImageItem, uint8 rendering at the current window   z=0
        heatmap      HeatmapLayer (fill + contours, one opacity)              z=10
        annotations  AnnotationLayer of the current study                     z=30

Mouse: wheel zooms about the cursor; middle or right drag pans; left drag uses the current tool
(window/level: horizontal = width, vertical = level; pan; zoom; or draw an annotation).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from viewer.gui.annotations import DRAW_TOOLS, AnnotationLayer, DrawGesture
from viewer.gui.orientation import Orientation
from viewer.gui.widgets.corner_info import CornerOverlay
from viewer.gui.widgets.image_items import DisplayImageItem, HeatmapLayer

TOOLS = ("wl", "pan", "zoom", "arrow", "text", "ellipse", "ruler")
MIN_ZOOM, MAX_ZOOM = 0.02, 40.0
FIT_ROOM_COST = 0.2  # a fitted image shrinks by up to 20 % to keep the corner texts off it

# Before any widget exists: images are numpy (row, col) arrays.
pg.setConfigOptions(imageAxisOrder="row-major")


class _ReadingViewBox(pg.ViewBox):
    """ViewBox whose drags and clicks are routed to the ImageView."""

    def __init__(self, owner: ImageView):
        super().__init__(enableMenu=False, invertY=True, lockAspect=True, defaultPadding=0.0)
        self.owner = owner

    def mouseDragEvent(self, ev, axis=None):
        self.owner._drag(ev)

    def mouseClickEvent(self, ev):
        self.owner._click(ev)

    def pan_by_screen(self, delta: QtCore.QPointF) -> None:
        tr = pg.functions.invertQTransform(self.childGroup.transform())
        d = tr.map(delta) - tr.map(QtCore.QPointF(0, 0))
        self._resetTarget()
        self.translateBy(x=-d.x(), y=-d.y())
        self.sigRangeChangedManually.emit(self.state["mouseEnabled"])

    def wheelEvent(self, ev, axis=None):
        super().wheelEvent(ev, axis)
        self.owner._clamp_zoom()


class ImageView(pg.GraphicsView):
    """GraphicsView + ViewBox showing one frame; signals report what the controller must apply."""

    corners: CornerOverlay | None = None  # class default: set in __init__, after pyqtgraph's

    window_drag = QtCore.Signal(float, float)  # screen dx, dy since the last event (W/L tool)
    text_requested = QtCore.Signal(QtCore.QPointF)  # image coordinates of a click with the text tool
    view_changed = QtCore.Signal()  # zoom or pan changed
    files_dropped = QtCore.Signal(list)

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent, background="k")
        self.setAcceptDrops(True)
        self.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.vb = _ReadingViewBox(self)
        self.vb.setBackgroundColor("k")
        self.setCentralItem(self.vb)
        self.vb.setMouseEnabled(True, True)
        self.vb.disableAutoRange()

        self.content = pg.ItemGroup()
        self.vb.addItem(self.content, ignoreBounds=True)
        self.image_item = DisplayImageItem()
        self.image_item.setParentItem(self.content)
        self.heatmap = HeatmapLayer()
        self.heatmap.setParentItem(self.content)
        self.annotations: AnnotationLayer | None = None

        self.orientation = Orientation()
        self.tool = "wl"
        self._drawing: DrawGesture | None = None
        self._fit_mode = True
        self._zoom_anchor: QtCore.QPointF | None = None
        self._corner_refits = 0

        self.corners = CornerOverlay(self)
        self.corners.set_hint("Open a study (Ctrl+O) or drop files here")
        self.corners.blocks_changed.connect(self._corner_blocks_changed)
        self.vb.sigRangeChanged.connect(self._range_changed)
        self.vb.sigRangeChangedManually.connect(self._manual_range)
        self.setCursor(QtCore.Qt.CursorShape.CrossCursor)

    # -- content -------------------------------------------------------------------------------
    def image_shape(self) -> tuple[int, int] | None:
        img = self.image_item.image
        return None if img is None else (int(img.shape[0]), int(img.shape[1]))

    def set_image(self, u8: np.ndarray | None, reset_view: bool = False) -> None:
        old = self.image_shape()
        if u8 is None:
            self.image_item.clear()
            self.corners.set_hint("Open a study (Ctrl+O) or drop files here")
            return
        self.image_item.set_u8(u8)
        self.corners.set_hint("")
        if reset_view or old != self.image_shape():
            self._corner_refits = 0
            self._apply_orientation()
            self.fit()

    def set_annotation_layer(self, layer: AnnotationLayer | None) -> None:
        if self.annotations is layer:
            return
        if self.annotations is not None:
            self.annotations.setParentItem(None)
            if self.annotations.scene() is not None:
                self.annotations.scene().removeItem(self.annotations)
        self.annotations = layer
        if layer is not None:
            layer.setParentItem(self.content)

    def clear(self) -> None:
        self.set_image(None)
        self.heatmap.set_map(None, None)
        self.set_annotation_layer(None)
        self.corners.set_texts({})

    # -- orientation ---------------------------------------------------------------------------
    def set_orientation(self, orientation: Orientation, refit: bool = True) -> None:
        self.orientation = orientation
        self._apply_orientation()
        if refit:
            self.fit()

    def _apply_orientation(self) -> None:
        shape = self.image_shape()
        if shape is None:
            return
        self.content.setTransform(self.orientation.qtransform(shape[1], shape[0]))
        self.image_item.viewTransformChanged()
        self.heatmap.fill.viewTransformChanged()

    def oriented_rect(self) -> QtCore.QRectF:
        shape = self.image_shape()
        if shape is None:
            return QtCore.QRectF()
        rows, cols = self.orientation.shape(*shape)
        return QtCore.QRectF(0, 0, cols, rows)

    # -- zoom ------------------------------------------------------------------------------------
    def zoom(self) -> float:
        """Screen (device) pixels per image pixel."""
        px = self.vb.viewPixelSize()
        if not px or px[0] <= 0:
            return 1.0
        return 1.0 / (px[0] * self.devicePixelRatioF())

    def fit(self) -> None:
        """The whole image in view; kept clear of the corner texts when that costs at most
        ``FIT_ROOM_COST`` of its size (left and right bands beside it, or top and bottom ones)."""
        rect = self.oriented_rect()
        if rect.isEmpty():
            return
        room = self._room_for_corners(rect)
        if room is None:
            self.vb.setRange(rect=rect, padding=0.01)
        else:
            self.vb.setRange(rect=room, padding=0.0)
        self._fit_mode = True
        self.view_changed.emit()

    def _room_for_corners(self, rect: QtCore.QRectF) -> QtCore.QRectF | None:
        """The view rectangle (image coordinates) that shows ``rect`` whole with the corner texts beside or
        above/below it, or None when there is no need or no room."""
        sizes = self.corners.block_sizes() if self.corners is not None else {}
        width, height = float(self.vb.width()), float(self.vb.height())
        if not sizes or width < 2 or height < 2:
            return None
        w = {c: sizes.get(c, (0, 0))[0] for c in ("tl", "tr", "bl", "br")}
        h = {c: sizes.get(c, (0, 0))[1] for c in ("tl", "tr", "bl", "br")}
        side = max(w.values())  # symmetric bands keep the image centred
        band = max(h.values())
        full = min(width / rect.width(), height / rect.height()) / 1.01
        beside = min(max(width - 2 * side, 1.0) / rect.width(), height / rect.height())
        above = min(width / rect.width(), max(height - 2 * band, 1.0) / rect.height())
        scale = max(beside, above)
        if scale >= full or scale < (1.0 - FIT_ROOM_COST) * full:
            return None  # the texts are clear of the image anyway, or keeping them clear costs too much
        c = rect.center()
        return QtCore.QRectF(
            c.x() - width / scale / 2, c.y() - height / scale / 2, width / scale, height / scale
        )

    def set_zoom(self, zoom: float, center: QtCore.QPointF | None = None) -> None:
        zoom = float(np.clip(zoom, MIN_ZOOM, MAX_ZOOM))
        vr = self.vb.viewRect()
        c = center if center is not None else vr.center()
        dpr = self.devicePixelRatioF()
        w = self.vb.width() / (zoom / dpr) if self.vb.width() > 0 else vr.width()
        h = self.vb.height() / (zoom / dpr) if self.vb.height() > 0 else vr.height()
        self.vb.setRange(rect=QtCore.QRectF(c.x() - w / 2, c.y() - h / 2, w, h), padding=0.0)
        self._fit_mode = False
        self.view_changed.emit()

    @property
    def fit_mode(self) -> bool:
        """The view fits the image (and refits on resize) until the user zooms or pans."""
        return self._fit_mode

    def one_to_one(self) -> None:
        self.set_zoom(1.0)

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.zoom() * factor)

    def _clamp_zoom(self) -> None:
        z = self.zoom()
        if z < MIN_ZOOM or z > MAX_ZOOM:
            self.set_zoom(z)

    def _manual_range(self, *args) -> None:
        self._fit_mode = False

    def _range_changed(self, *args) -> None:
        self.view_changed.emit()

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        if self.corners is None:  # pyqtgraph resizes once inside its own __init__, before ours ran
            return
        self.corners.setGeometry(self.rect())
        self._corner_refits = 0
        if self._fit_mode:
            # with the view as context: dropped if the view is deleted first
            QtCore.QTimer.singleShot(0, self, self._refit_if_needed)

    def _refit_if_needed(self):
        # pyqtgraph's close() deletes the scene's items (the ViewBox) but not the view: nothing to fit then
        if self._fit_mode and not getattr(self, "closed", False):
            self.fit()

    def _corner_blocks_changed(self) -> None:
        # the zoom shown in a corner changes with the fit: refit at most twice per image or resize
        if self._fit_mode and self.image_shape() is not None and self._corner_refits < 2:
            self._corner_refits += 1
            QtCore.QTimer.singleShot(0, self, self._refit_if_needed)

    # -- coordinates -----------------------------------------------------------------------------
    def scene_to_image(self, scene_pos: QtCore.QPointF) -> QtCore.QPointF:
        return self.content.mapFromScene(scene_pos)

    def image_to_widget_f(self, x: float, y: float) -> QtCore.QPointF:
        """Float precision mapping (mapFromScene rounds to integers)."""
        scene = self.content.mapToScene(QtCore.QPointF(x, y))
        return self.viewportTransform().map(scene)

    # -- tools -----------------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(tool)
        self.tool = tool
        shapes = {
            "wl": QtCore.Qt.CursorShape.CrossCursor,
            "pan": QtCore.Qt.CursorShape.OpenHandCursor,
            "zoom": QtCore.Qt.CursorShape.SizeVerCursor,
        }
        self.setCursor(shapes.get(tool, QtCore.Qt.CursorShape.CrossCursor))

    def _drag(self, ev) -> None:
        button = ev.button()
        ev.accept()
        if button in (QtCore.Qt.MouseButton.MiddleButton, QtCore.Qt.MouseButton.RightButton) or (
            button == QtCore.Qt.MouseButton.LeftButton and self.tool == "pan"
        ):
            self.vb.pan_by_screen(ev.pos() - ev.lastPos())
            return
        if button != QtCore.Qt.MouseButton.LeftButton or self.image_shape() is None:
            return
        delta = ev.screenPos() - ev.lastScreenPos()
        if self.tool == "wl":
            if not ev.isStart() and not ev.isFinish():
                self.window_drag.emit(delta.x(), delta.y())
            return
        if self.tool == "zoom":
            if ev.isStart():
                self._zoom_anchor = self.vb.mapSceneToView(ev.buttonDownScenePos())
            factor = 1.01 ** (-delta.y())
            self.set_zoom(self.zoom() * factor, self._zoom_anchor)
            return
        if self.tool in DRAW_TOOLS and self.annotations is not None:
            self._drag_create(ev)

    def _drag_create(self, ev) -> None:
        pos = self.scene_to_image(ev.scenePos())
        if ev.isStart():
            start = self.scene_to_image(ev.buttonDownScenePos())
            self._drawing = DrawGesture(self.annotations, self.tool, start, pos)
            return
        gesture = self._drawing
        if gesture is None:
            return
        if ev.isFinish():
            self._drawing = None
            gesture.finish(pos)
        else:
            gesture.move(pos)

    def _click(self, ev) -> None:
        if ev.button() == QtCore.Qt.MouseButton.LeftButton and self.tool == "text" and self.image_shape():
            ev.accept()
            self.text_requested.emit(self.scene_to_image(ev.scenePos()))
        elif ev.button() == QtCore.Qt.MouseButton.LeftButton and ev.double():
            ev.accept()
            self.fit()

    # -- drag and drop -----------------------------------------------------------------------------
    def dragEnterEvent(self, ev: QtGui.QDragEnterEvent):
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()
        else:
            super().dragEnterEvent(ev)

    def dragMoveEvent(self, ev):
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()
        else:
            super().dragMoveEvent(ev)

    def dropEvent(self, ev: QtGui.QDropEvent):
        paths = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if paths:
            ev.acceptProposedAction()
            self.files_dropped.emit(paths)
        else:
            super().dropEvent(ev)

    # -- capture -----------------------------------------------------------------------------------
    def grab_image_area(self, hide_corners: bool = True) -> QtGui.QImage:
        """What the view shows right now (without the corner texts unless asked)."""
        was = self.corners.isVisible()
        selected = self.annotations.selected() if self.annotations else []
        for it in selected:
            it.setSelected(False)
        if hide_corners:
            self.corners.setVisible(False)
        try:
            img = self.grab().toImage()
        finally:
            self.corners.setVisible(was)
            for it in selected:
                it.setSelected(True)
        return img
