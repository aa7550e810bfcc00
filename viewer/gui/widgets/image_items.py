"""Fast pyqtgraph image items for a reading view: the grey image and the heatmap layer.

:class:`DisplayImageItem` holds an 8-bit image (``item.image``, levels 0..255). When the view shows
the image smaller than 1:1 it area-averages the pixels to the screen resolution (OpenCV ``INTER_AREA``,
much nicer than nearest-neighbour sampling for fine lung markings) and caches a 32-bit premultiplied
``QImage``. Painting is then a cheap blit, so changing an item's opacity never touches the pixels.

:class:`HeatmapLayer` shows a :class:`~viewer.core.model.inference.Prediction` map: an 8-bit index image (the
normalised CAM) through an RGBA LUT whose alpha is 0 below the threshold (threshold and colour map =
new LUT only), plus iso-contours as path items for outline mode; opacity is the group's opacity. The map
is kept at a modest size (:data:`DISPLAY_SIDE`; a CAM is 7 x 7 cells smoothly upsampled) and stretched over
the frame by :class:`HeatmapFillItem`, which samples it bilinearly at the screen's pixels: the same
picture as a full-size map, without normalising and indexing millions of pixels on the GUI thread
(issue #15 item 11). The full-size normalised map (``HeatmapLayer.norm``, what exports burn in) is
computed only when asked for.
"""

from __future__ import annotations

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from viewer.core import overlay
from viewer.core.overlay import OverlayStyle

#: Longer side of the heatmap as displayed (index map) and as outlined (contours), in map pixels.
DISPLAY_SIDE = 512
CONTOUR_SIDE = 1024
#: Above this many device pixels (zoomed far in) the fill renders only what the viewport shows.
MAX_CACHED_PIXELS = 4_000_000

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


def _show_argb(item, argb: np.ndarray) -> None:
    """``item`` (one of the ImageItems below) paints ``argb`` (H, W) uint32 premultiplied ARGB from now on:
    its ``qimage`` over a buffer it keeps alive, rendering done."""
    item._buffer = np.ascontiguousarray(argb)
    sh, sw = item._buffer.shape
    item.qimage = QtGui.QImage(
        item._buffer.data, sw, sh, sw * 4, QtGui.QImage.Format.Format_ARGB32_Premultiplied
    )
    item._renderRequired = False
    item._unrenderable = False
    item.render_count += 1


def _cache_exact(item, argb: np.ndarray, dpr: float, key) -> None:
    """``item``'s device-size image for the paint: ``argb`` (H, W) premultiplied ARGB at ``dpr``, kept (with
    its buffer) until ``key`` (size, zoom, crop) changes."""
    item._exact_buffer = np.ascontiguousarray(argb)
    h, w = item._exact_buffer.shape
    img = QtGui.QImage(item._exact_buffer.data, w, h, w * 4, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    img.setDevicePixelRatio(dpr)
    item._exact, item._exact_key = img, key
    item.render_count += 1


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
        _show_argb(self, self._lut32[small])

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
            _cache_exact(self, self._lut32[area_resize(self.image, tw, th)], dpr, key)
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


class HeatmapFillItem(DisplayImageItem):
    """The filled heatmap: a small map of LUT indices (``image``: uint16 fixed point, 256 x the index, i.e.
    the normalised map x 255 x 256) stretched over ``extent`` (the frame's rows, cols), so that its local
    coordinates are the image's, like the grey image item's.

    Painting samples the map bilinearly at every device pixel the frame covers (``cv2.resize`` or
    ``cv2.warpAffine``, with 8 fractional bits: rounding to whole indices before interpolating would make
    the threshold edge a staircase), rounds to the index and applies the RGBA LUT: threshold edges are as
    smooth and crisp as a full-resolution map's, at any zoom, rotation or flip. In the usual axis-aligned
    view the device rectangle is exactly the grey image's (same rounding as
    :meth:`DisplayImageItem._paint_exact`). The rendering is cached per zoom and orientation, so opacity
    changes and pans only blit it; zoomed far in, only the visible part is rendered.
    """

    def __init__(self):
        super().__init__()
        self.extent: tuple[int, int] | None = None  # (rows, cols) the map covers, image coordinates

    def set_index_map(self, index: np.ndarray, extent: tuple[int, int]) -> None:
        """``index``: (h, w) LUT indices in [0, 255] (float); ``extent``: the frame (rows, cols) it covers."""
        extent = (int(extent[0]), int(extent[1]))
        if extent != self.extent:
            self.prepareGeometryChange()
            self.extent = extent
        self._exact_key = None
        fixed = np.rint(np.clip(np.asarray(index, dtype=np.float32), 0.0, 255.0) * np.float32(256.0))
        self.setImage(fixed.astype(np.uint16), autoLevels=False, levels=(0, 65535))

    def width(self):
        if self.image is None:
            return None
        return self.extent[1] if self.extent is not None else self.image.shape[1]

    def height(self):
        if self.image is None:
            return None
        return self.extent[0] if self.extent is not None else self.image.shape[0]

    def viewTransformChanged(self):  # the cache is keyed by the device transform (paint)
        pass

    def _device_layout(self, painter: QtGui.QPainter):
        """(x0, y0, width, height of the frame's region in device pixels, the 3x3 matrix from region pixel
        (x, y) to map pixel, dpr), or None for a transform this item does not sample itself."""
        t = painter.transform()
        if abs(t.m13()) > 1e-12 or abs(t.m23()) > 1e-12:
            return None  # perspective: never in this viewer
        device = painter.device()
        dpr = device.devicePixelRatioF() if device is not None else 1.0
        rows, cols = float(self.height()), float(self.width())
        h, w = self.image.shape[:2]
        # item (image) coordinates -> device pixels: x_dev = a x + c y + e, y_dev = b x + d y + f
        a, b, c, d = t.m11() * dpr, t.m12() * dpr, t.m21() * dpr, t.m22() * dpr
        e, f = t.dx() * dpr, t.dy() * dpr
        if abs(b) < 1e-12 and abs(c) < 1e-12 and a > 0 and d > 0:
            # as the grey image: origin rounded to a device pixel, size rounded
            x0, y0 = round(e), round(f)
            tw, th = max(1, round(cols * a)), max(1, round(rows * d))
            dev = np.array([[tw / cols, 0.0, x0], [0.0, th / rows, y0], [0.0, 0.0, 1.0]])
        else:
            xs = [e, e + a * cols, e + c * rows, e + a * cols + c * rows]
            ys = [f, f + b * cols, f + d * rows, f + b * cols + d * rows]
            x0, y0 = round(min(xs)), round(min(ys))
            tw, th = max(1, round(max(xs)) - x0), max(1, round(max(ys)) - y0)
            dev = np.array([[a, c, e], [b, d, f], [0.0, 0.0, 1.0]])
        try:
            inv = np.linalg.inv(dev)
        except np.linalg.LinAlgError:
            return None
        # region pixel (i, j) centre -> device (x0 + j + 0.5, y0 + i + 0.5) -> image -> map pixel index
        shift = np.array([[1.0, 0.0, x0 + 0.5], [0.0, 1.0, y0 + 0.5], [0.0, 0.0, 1.0]])
        to_map = np.array([[w / cols, 0.0, -0.5], [0.0, h / rows, -0.5], [0.0, 0.0, 1.0]])
        return x0, y0, tw, th, to_map @ inv @ shift, dpr

    def paint(self, painter, *args):
        if self.image is None:
            return
        layout = self._device_layout(painter)
        if layout is None:
            self._paint_stretched(painter)
            return
        x0, y0, tw, th, m, dpr = layout
        crop = (0, 0, tw, th)
        if tw * th > MAX_CACHED_PIXELS:  # zoomed far in: only the device pixels in view
            device = painter.device()
            vw = round(device.width() * dpr) if device is not None else tw
            vh = round(device.height() * dpr) if device is not None else th
            cx0, cy0 = max(0, -x0), max(0, -y0)
            cx1, cy1 = min(tw, vw - x0), min(th, vh - y0)
            if cx1 <= cx0 or cy1 <= cy0:
                return
            crop = (cx0, cy0, cx1 - cx0, cy1 - cy0)
            key = ("view", x0, y0, crop, tuple(np.round(m, 6).ravel()), dpr)
        else:  # m maps region pixels, so a pan (whole device pixels) leaves it, and the cache, as they are
            key = ("all", tw, th, tuple(np.round(m, 6).ravel()), dpr)
        if self._exact_key != key:
            cx0, cy0, cw, ch = crop
            mc = m @ np.array([[1.0, 0.0, cx0], [0.0, 1.0, cy0], [0.0, 0.0, 1.0]])
            h, w = self.image.shape[:2]
            as_resize = np.allclose(
                mc[:2], [[w / cw, 0.0, 0.5 * w / cw - 0.5], [0.0, h / ch, 0.5 * h / ch - 0.5]], atol=1e-9
            )
            if as_resize:  # the whole map onto the region, axis-aligned (the usual view): resize is faster
                levels = cv2.resize(self.image, (cw, ch), interpolation=cv2.INTER_LINEAR)
            else:
                levels = cv2.warpAffine(
                    self.image,
                    np.ascontiguousarray(mc[:2]),
                    (cw, ch),
                    flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                    borderMode=cv2.BORDER_REPLICATE,
                )
            idx = cv2.convertScaleAbs(levels, alpha=1.0 / 256.0)  # the nearest index, as overlay.to_index
            _cache_exact(self, self._lut32[idx], dpr, key)
        cx0, cy0 = crop[0], crop[1]
        painter.save()
        painter.resetTransform()
        painter.drawImage(QtCore.QPointF((x0 + cx0) / dpr, (y0 + cy0) / dpr), self._exact)
        painter.restore()

    def render(self):
        """The map's own pixels through the LUT as ``qimage`` (what pyqtgraph's ``getPixmap``/``save`` and
        the fallback paint use)."""
        self._unrenderable = True
        if self.image is None or self.image.size == 0:
            return
        _show_argb(self, self._lut32[cv2.convertScaleAbs(self.image, alpha=1.0 / 256.0)])

    def _paint_stretched(self, painter) -> None:
        """Fallback: the map's own pixels through the LUT, smoothly stretched by the painter."""
        if self._renderRequired or self.qimage is None:
            self.render()
            if self._unrenderable:
                return
        painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(QtCore.QRectF(0, 0, float(self.width()), float(self.height())), self.qimage)


class _SmoothPathItem(QtWidgets.QGraphicsPathItem):
    """Contour line, antialiased (the view itself paints without antialiasing, for speed)."""

    def paint(self, painter, option, widget=None):
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        super().paint(painter, option, widget)


class HeatmapLayer(pg.ItemGroup):
    """The AI map over the image: filled (colour LUT) or outlined (contours), one opacity for both.

    ``set_map`` does a few milliseconds of work whatever the frame size: the map shown is the CAM
    reduced to :data:`DISPLAY_SIDE` (``display_norm``), stretched over the frame by the fill item; the
    contours are traced on a :data:`CONTOUR_SIDE` map and scaled to image coordinates. ``raw`` and
    ``norm`` (the raw and normalised map on the frame geometry, as before: exports burn ``norm`` in) are
    computed on first use and cached until the map or the scale mode changes.
    """

    def __init__(self):
        super().__init__()
        self.setZValue(10)
        self.fill = HeatmapFillItem()
        self.fill.setParentItem(self)
        self.contours = pg.ItemGroup()
        self.contours.setParentItem(self)
        self.style = OverlayStyle()
        self.source: np.ndarray | None = None
        self.model_scale: float | None = None
        self.shape: tuple[int, int] | None = None  # (rows, cols) of the frame the map covers
        self.display_norm: np.ndarray | None = None  # normalised map in [0, 1], at most DISPLAY_SIDE
        self._raw: np.ndarray | None = None  # caches of the full-size maps (see the properties)
        self._norm: np.ndarray | None = None
        self._generation = 0  # bumped whenever the displayed map changes (contour cache key)
        self._contour_key = None
        self.setOpacity(self.style.opacity)

    # -- data ----------------------------------------------------------------------------------
    def set_map(
        self, raw: np.ndarray | None, model_scale: float | None, shape: tuple[int, int] | None = None
    ):
        """Show a raw CAM (None clears). ``shape`` = the frame (rows, cols) when the map is smaller."""
        self.source = raw  # the array as given (callers compare identity to skip needless updates)
        self.model_scale = model_scale
        self.shape = None
        if raw is not None:
            raw = np.asarray(raw)
            self.shape = (int(shape[0]), int(shape[1])) if shape is not None else tuple(raw.shape[:2])
        self._renormalise()

    @property
    def raw(self) -> np.ndarray | None:
        """The raw CAM on the frame geometry (float32, computed on first use)."""
        if self.source is None:
            return None
        if self._raw is None:
            self._raw = overlay.fit_to_shape(np.asarray(self.source, dtype=np.float32), self.shape)
        return self._raw

    @property
    def norm(self) -> np.ndarray | None:
        """The normalised map in [0, 1] on the frame geometry, in the current scale mode (computed on first
        use): what an export burns in."""
        if self.source is None:
            return None
        if self._norm is None:
            self._norm = overlay.normalise_cam(self.raw, self.style.scale_mode, self.model_scale)
        return self._norm

    def _renormalise(self):
        self._raw = self._norm = None
        self._generation += 1
        self._contour_key = None
        if self.source is None:
            self.display_norm = None
            self.fill.clear()
            self._clear_contours()
            return
        small = overlay.reduce_map(self.source, DISPLAY_SIDE)
        self.display_norm = overlay.normalise_cam(small, self.style.scale_mode, self.model_scale)
        self.fill.set_index_map(self.display_norm * np.float32(255.0), self.shape)
        self.fill.set_rgba_lut(overlay.heatmap_lut_rgba(self.style.colormap, self.style.threshold))
        self._refresh_mode()

    # -- style ---------------------------------------------------------------------------------
    def set_style(self, style: OverlayStyle) -> None:
        old, self.style = self.style, style
        if style.opacity != old.opacity:
            self.setOpacity(style.opacity)  # the only work an opacity change does
        if style.scale_mode != old.scale_mode:
            self._renormalise()
            return
        if (style.colormap, style.threshold) != (old.colormap, old.threshold) and self.source is not None:
            self.fill.set_rgba_lut(overlay.heatmap_lut_rgba(style.colormap, style.threshold))
        if (style.outline, style.colormap, style.threshold) != (old.outline, old.colormap, old.threshold):
            self._refresh_mode()

    def _refresh_mode(self):
        outline = self.style.outline and self.source is not None
        self.fill.setVisible(not self.style.outline)
        self.contours.setVisible(outline)
        if outline:
            key = (self.style.colormap, self.style.threshold, self._generation)
            if key != self._contour_key:
                self._build_contours()
                self._contour_key = key

    def _clear_contours(self):
        for child in list(self.contours.childItems()):
            child.setParentItem(None)
            if child.scene() is not None:
                child.scene().removeItem(child)

    def contour_map(self) -> np.ndarray:
        """The normalised map the outlines are traced on, in the current scale mode: the CAM on the frame's
        geometry when the frame is at most :data:`CONTOUR_SIDE` (exactly ``norm``, as before), else on that
        geometry scaled down to :data:`CONTOUR_SIDE`. Its pixel (i, j) covers its share of the frame."""
        rows, cols = self.shape
        s = min(1.0, CONTOUR_SIDE / max(rows, cols))
        size = (max(1, round(cols * s)), max(1, round(rows * s)))
        src = np.asarray(self.source, dtype=np.float32)
        if src.shape[:2] != (size[1], size[0]):  # bilinear, as overlay.fit_to_shape and overlay.reduce_map
            src = cv2.resize(src, size, interpolation=cv2.INTER_LINEAR)
        return overlay.normalise_cam(src, self.style.scale_mode, self.model_scale)

    def _build_contours(self):
        self._clear_contours()
        norm = self.contour_map()
        rows, cols = self.shape
        sx, sy = cols / norm.shape[1], rows / norm.shape[0]  # contour map pixels -> image coordinates
        lut = overlay.colormap_lut(self.style.colormap)
        min_area = 0.0005 * norm.size  # drop specks smaller than 0.05 % of the image
        for level in overlay.contour_levels(self.style.threshold):
            rgb = lut[min(255, overlay.threshold_index(level))]
            path = QtGui.QPainterPath()
            for c in overlay.extract_contours(norm, level, min_area):
                poly = QtGui.QPolygonF([QtCore.QPointF(float(x) * sx, float(y) * sy) for x, y in c])
                path.addPolygon(poly)
                path.closeSubpath()
            item = _SmoothPathItem(path)
            pen = QtGui.QPen(QtGui.QColor(int(rgb[0]), int(rgb[1]), int(rgb[2])), 2.0)
            pen.setCosmetic(True)
            item.setPen(pen)
            item.setParentItem(self.contours)
