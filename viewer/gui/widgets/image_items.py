"""Fast pyqtgraph image items for a reading view: the grey image and the heatmap layer.

:class:`DisplayImageItem` holds an 8-bit image (``item.image``, levels 0..255). When the view shows
the image smaller than 1:1 it area-averages the pixels to the screen resolution (OpenCV ``INTER_AREA``,
much nicer than nearest-neighbour sampling for fine lung markings) and caches a 32-bit premultiplied
``QImage``. Painting is then a cheap blit, so changing an item's opacity never touches the pixels.

:class:`HeatmapLayer` shows a :class:`~viewer.core.model.inference.Prediction` map: an 8-bit index image (the
normalised CAM) through an RGBA LUT whose alpha is 0 below the threshold (threshold and colour map =
new LUT only), plus iso-contours as path items for outline mode; opacity is the group's opacity.
"""

from __future__ import annotations

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from viewer.core import overlay
from viewer.core.overlay import OverlayStyle

_GREY_LUT32 = (np.uint32(0xFF000000) | (np.arange(256, dtype=np.uint32) * np.uint32(0x010101))).astype(
    np.uint32
)


def premultiplied_lut32(rgba: np.ndarray) -> np.ndarray:
    """(256, 4) RGBA uint8 -> (256,) uint32 ARGB32 premultiplied values."""
    rgba = rgba.astype(np.uint32)
    a = rgba[:, 3]
    r, g, b = ((rgba[:, i] * a + 127) // 255 for i in range(3))
    return ((a << 24) | (r << 16) | (g << 8) | b).astype(np.uint32)


def area_resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Shrink with area averaging, fast: an integer-factor INTER_AREA pass (OpenCV's quick path), then a
    bilinear pass for the remaining factor (< 2). OpenCV's fractional INTER_AREA is ~10x slower."""
    h, w = img.shape[:2]
    f = min(w // max(width, 1), h // max(height, 1))
    if f >= 2:
        img = cv2.resize(img[: h // f * f, : w // f * f], (w // f, h // f), interpolation=cv2.INTER_AREA)
    if img.shape[1] == width and img.shape[0] == height:
        return img
    interp = cv2.INTER_AREA if f < 2 and (img.shape[1] > width) else cv2.INTER_LINEAR
    return cv2.resize(img, (width, height), interpolation=interp)


class DisplayImageItem(pg.ImageItem):
    """uint8 (H, W) image; optional RGBA LUT; screen-resolution area downsampling; cached QImage."""

    def __init__(self):
        super().__init__()
        self._lut32: np.ndarray = _GREY_LUT32
        self._factor = 1
        self._buffer: np.ndarray | None = None
        self._exact: QtGui.QImage | None = None  # pre-scaled copy for pixel-for-pixel blits
        self._exact_buffer: np.ndarray | None = None
        self._exact_key: tuple | None = None
        self.render_count = 0  # how often pixels were recomputed (tests check opacity never does it)

    def set_u8(self, image: np.ndarray) -> None:
        image = np.ascontiguousarray(image, dtype=np.uint8)
        self._exact_key = None
        self.setImage(image, autoLevels=False, levels=(0, 255))

    def set_rgba_lut(self, rgba: np.ndarray | None) -> None:
        self._lut32 = _GREY_LUT32 if rgba is None else premultiplied_lut32(rgba)
        self._exact_key = None
        self._renderRequired = True
        self.update()

    def clear(self):
        self._exact = self._exact_buffer = self._exact_key = None
        super().clear()

    def _downsample_factor(self) -> int:
        xds, yds = self._computeDownsampleFactors()
        if xds is None:
            return 1
        return max(1, min(int(xds), int(yds)))

    def viewTransformChanged(self):
        if self.image is not None and self._downsample_factor() != self._factor:
            self._renderRequired = True
            self.update()

    def render(self):
        self._unrenderable = True
        img = self.image
        if img is None or img.size == 0:
            return
        factor = self._downsample_factor()
        h, w = img.shape[:2]
        if factor > 1:
            small = cv2.resize(img, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
        else:
            small = img
        self._factor = factor
        self._buffer = np.ascontiguousarray(self._lut32[small])
        sh, sw = self._buffer.shape
        self.qimage = QtGui.QImage(
            self._buffer.data, sw, sh, sw * 4, QtGui.QImage.Format.Format_ARGB32_Premultiplied
        )
        self._renderRequired = False
        self._unrenderable = False
        self.render_count += 1

    def _paint_exact(self, painter: QtGui.QPainter) -> bool:
        """Minified and axis-aligned (the usual reading view): blit a copy resized to the exact device
        size with area averaging. No scaling at paint time, so a repaint costs a copy, not a filter."""
        t = painter.transform()
        if abs(t.m12()) > 1e-12 or abs(t.m21()) > 1e-12 or t.m11() <= 0 or t.m22() <= 0:
            return False
        device = painter.device()
        dpr = device.devicePixelRatioF() if device is not None else 1.0
        sx, sy = t.m11() * dpr, t.m22() * dpr
        if sx >= 1.0 or sy >= 1.0:
            return False
        h, w = self.image.shape[:2]
        tw, th = max(1, round(w * sx)), max(1, round(h * sy))
        key = (tw, th, dpr)
        if self._exact_key != key:
            small = area_resize(self.image, tw, th)
            self._exact_buffer = np.ascontiguousarray(self._lut32[small])
            img = QtGui.QImage(
                self._exact_buffer.data, tw, th, tw * 4, QtGui.QImage.Format.Format_ARGB32_Premultiplied
            )
            img.setDevicePixelRatio(dpr)
            self._exact, self._exact_key = img, key
            self.render_count += 1
        origin = t.map(QtCore.QPointF(0, 0))
        painter.save()
        painter.resetTransform()
        painter.drawImage(
            QtCore.QPointF(round(origin.x() * dpr) / dpr, round(origin.y() * dpr) / dpr), self._exact
        )
        painter.restore()
        return True

    def paint(self, painter, *args):
        if self.image is None:
            return
        if self._paint_exact(painter):
            return
        if self._renderRequired:
            self.render()
            if self._unrenderable:
                return
        painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, True)
        h, w = self.image.shape[:2]
        painter.drawImage(QtCore.QRectF(0, 0, w, h), self.qimage)


class _SmoothPathItem(QtWidgets.QGraphicsPathItem):
    """Contour line, antialiased (the view itself paints without antialiasing, for speed)."""

    def paint(self, painter, option, widget=None):
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        super().paint(painter, option, widget)


class HeatmapLayer(pg.ItemGroup):
    """The AI map over the image: filled (colour LUT) or outlined (contours), one opacity for both."""

    def __init__(self):
        super().__init__()
        self.setZValue(10)
        self.fill = DisplayImageItem()
        self.fill.setParentItem(self)
        self.contours = pg.ItemGroup()
        self.contours.setParentItem(self)
        self.style = OverlayStyle()
        self.source: np.ndarray | None = None
        self.raw: np.ndarray | None = None  # raw CAM on the frame geometry
        self.model_scale: float | None = None
        self.norm: np.ndarray | None = None  # normalised map in [0, 1]
        self._contour_key = None
        self.setOpacity(self.style.opacity)

    # -- data ----------------------------------------------------------------------------------
    def set_map(
        self, raw: np.ndarray | None, model_scale: float | None, shape: tuple[int, int] | None = None
    ):
        """Show a raw CAM (None clears). ``shape`` = the frame (rows, cols) when the map is smaller."""
        self.source = raw  # the array as given (callers compare identity to skip needless updates)
        self.raw = None if raw is None else np.asarray(raw, dtype=np.float32)
        if self.raw is not None and shape is not None:
            self.raw = overlay.fit_to_shape(self.raw, shape)
        self.model_scale = model_scale
        self._renormalise()

    def _renormalise(self):
        if self.raw is None:
            self.norm = None
            self.fill.clear()
            self._clear_contours()
            return
        self.norm = overlay.normalise_cam(self.raw, self.style.scale_mode, self.model_scale)
        self.fill.set_u8(overlay.to_index(self.norm))
        self.fill.set_rgba_lut(overlay.heatmap_lut_rgba(self.style.colormap, self.style.threshold))
        self._contour_key = None
        self._refresh_mode()

    # -- style ---------------------------------------------------------------------------------
    def set_style(self, style: OverlayStyle) -> None:
        old, self.style = self.style, style
        if style.opacity != old.opacity:
            self.setOpacity(style.opacity)  # the only work an opacity change does
        if style.scale_mode != old.scale_mode:
            self._renormalise()
            return
        if (style.colormap, style.threshold) != (old.colormap, old.threshold) and self.norm is not None:
            self.fill.set_rgba_lut(overlay.heatmap_lut_rgba(style.colormap, style.threshold))
        if (style.outline, style.colormap, style.threshold) != (old.outline, old.colormap, old.threshold):
            self._refresh_mode()

    def _refresh_mode(self):
        outline = self.style.outline and self.norm is not None
        self.fill.setVisible(not self.style.outline)
        self.contours.setVisible(outline)
        if outline:
            key = (self.style.colormap, self.style.threshold, id(self.norm))
            if key != self._contour_key:
                self._build_contours()
                self._contour_key = key

    def _clear_contours(self):
        for child in list(self.contours.childItems()):
            child.setParentItem(None)
            if child.scene() is not None:
                child.scene().removeItem(child)

    def _build_contours(self):
        self._clear_contours()
        lut = overlay.colormap_lut(self.style.colormap)
        min_area = 0.0005 * self.norm.size  # drop specks smaller than 0.05 % of the image
        for level in overlay.contour_levels(self.style.threshold):
            rgb = lut[min(255, overlay.threshold_index(level))]
            path = QtGui.QPainterPath()
            for c in overlay.extract_contours(self.norm, level, min_area):
                poly = QtGui.QPolygonF([QtCore.QPointF(float(x), float(y)) for x, y in c])
                path.addPolygon(poly)
                path.closeSubpath()
            item = _SmoothPathItem(path)
            pen = QtGui.QPen(QtGui.QColor(int(rgb[0]), int(rgb[1]), int(rgb[2])), 2.0)
            pen.setCosmetic(True)
            item.setPen(pen)
            item.setParentItem(self.contours)
