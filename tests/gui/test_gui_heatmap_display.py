"""The heatmap as displayed at a modest resolution (issue #15 item 11): the fill item covers exactly the
image, the CAM maximum lands on the image pixels it did when the map was upsampled to the frame, the full-size
normalised map (what exports burn in) is unchanged, contours are in image coordinates, zooming far in renders
only the visible part, and opacity changes and pans reuse the rendering."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from viewer.core import overlay
from viewer.gui.export import qimage_to_rgb
from viewer.gui.orientation import Orientation
from viewer.gui.widgets import image_items
from viewer.gui.widgets.image_view import ImageView

ROWS, COLS = 1400, 1200  # a frame larger than DISPLAY_SIDE and CONTOUR_SIDE
SCALE = 1.0


def _peak_map(shape, centre, sigma, peak=2.0) -> np.ndarray:
    """A raw CAM on ``shape``: a Gaussian of height ``peak`` (x the model scale) at ``centre`` (row, col)
    given as fractions of the frame, so that its plateau above the scale is a disc."""
    rows, cols = shape
    y = (np.arange(rows, dtype=np.float32) + 0.5) / rows - centre[0]
    x = (np.arange(cols, dtype=np.float32) + 0.5) / cols - centre[1]
    return (peak * np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2))).astype(np.float32)


@pytest.fixture
def view(qtbot):
    v = ImageView()
    qtbot.addWidget(v)
    v.resize(900, 800)
    v.show()
    qtbot.waitExposed(v)
    grey = np.tile(np.linspace(30, 200, COLS, dtype=np.float32), (ROWS, 1)).astype(np.uint8)
    v.set_image(grey, reset_view=True)
    v.corners.setVisible(False)
    return v


def _shot(view) -> np.ndarray:
    return qimage_to_rgb(view.grab_image_area(hide_corners=True)).astype(int)


def _image_device_rect(view) -> tuple[float, float, float, float]:
    pts = [view.image_to_widget_f(x, y) for x, y in ((0, 0), (COLS, 0), (0, ROWS), (COLS, ROWS))]
    xs, ys = [p.x() for p in pts], [p.y() for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def _coloured(rgb) -> np.ndarray:
    return (rgb.max(axis=2) - rgb.min(axis=2)) > 40  # the grey image is grey


@pytest.mark.parametrize("orientation", [Orientation(), Orientation(1, True)])
def test_displayed_heatmap_covers_exactly_the_image_rect(qtbot, view, orientation):
    hm = view.heatmap
    small = np.full((ROWS // 2, COLS // 2), 0.4 * SCALE, dtype=np.float32)  # a preview-size map
    hm.set_map(small, SCALE, (ROWS, COLS))
    hm.set_style(overlay.OverlayStyle(opacity=1.0, threshold=0.1))
    view.set_orientation(orientation)
    qtbot.wait(10)
    # in image coordinates: the fill's rectangle is the frame, mapped by the image's own transform
    assert hm.fill.boundingRect() == QtCore.QRectF(0, 0, COLS, ROWS)
    assert hm.fill.mapRectToScene(hm.fill.boundingRect()) == view.image_item.mapRectToScene(
        view.image_item.boundingRect()
    )
    assert max(hm.display_norm.shape) <= image_items.DISPLAY_SIDE
    # on screen: every device pixel of the image is coloured, none outside it
    rgb = _shot(view)
    x0, y0, x1, y1 = _image_device_rect(view)
    inside = np.zeros(rgb.shape[:2], dtype=bool)
    inside[int(round(y0)) : int(round(y1)), int(round(x0)) : int(round(x1))] = True
    coloured = _coloured(rgb)
    assert coloured[inside].all()
    assert not coloured[~inside].any()
    colour = overlay.colormap_lut("turbo")[overlay.to_index(0.4)].astype(int)
    assert np.abs(rgb[inside] - colour).max() <= 1  # the map's value, everywhere


@pytest.mark.parametrize("orientation", [Orientation(), Orientation(3, True)])
def test_cam_maximum_maps_to_the_same_image_pixels_as_before(qtbot, view, orientation):
    hm = view.heatmap
    shape = (ROWS, COLS)
    raw = _peak_map((ROWS // 2, COLS // 2), centre=(0.31, 0.68), sigma=0.08)  # a preview's CAM
    hm.set_map(raw, SCALE, shape)
    hm.set_style(overlay.OverlayStyle(opacity=1.0, threshold=0.05))
    view.set_orientation(orientation)
    qtbot.wait(10)  # the view's new range is applied when it paints
    # the full-size map is what it was (upsampled to the frame, then normalised): exports burn it in
    before = overlay.normalise_cam(overlay.fit_to_shape(raw, shape), overlay.ScaleMode.MODEL, SCALE)
    np.testing.assert_array_equal(hm.norm, before)
    np.testing.assert_array_equal(hm.raw, overlay.fit_to_shape(raw, shape))
    # the CAM maximum (the plateau at the top of the scale) on screen: where the full-size map had it
    ys, xs = np.nonzero(overlay.to_index(before) == 255)
    centre = view.image_to_widget_f(float(xs.mean()) + 0.5, float(ys.mean()) + 0.5)
    top = overlay.colormap_lut("turbo")[255].astype(int)
    rgb = _shot(view)
    hot = np.abs(rgb - top).max(axis=2) <= 3
    hy, hx = np.nonzero(hot)
    assert hot.sum() > 100
    assert abs(hx.mean() + 0.5 - centre.x()) < 1.0 and abs(hy.mean() + 0.5 - centre.y()) < 1.0
    # and the disc has the same size on screen as the full-size map's plateau mapped to the screen
    expected_px = len(ys) * (view.zoom() ** 2)
    assert hot.sum() == pytest.approx(expected_px, rel=0.03)


def test_set_map_does_not_build_full_size_maps(qtbot, view):
    hm = view.heatmap
    raw = _peak_map((ROWS, COLS), centre=(0.5, 0.5), sigma=0.2, peak=0.8)
    hm.set_map(raw, SCALE, (ROWS, COLS))
    assert hm._raw is None and hm._norm is None  # computed only when asked for (an export)
    assert max(hm.fill.image.shape) <= image_items.DISPLAY_SIDE
    assert hm.norm.shape == (ROWS, COLS)  # ... and then as before
    # a scale-mode change recomputes both, lazily
    hm.set_style(overlay.OverlayStyle(scale_mode=overlay.ScaleMode.IMAGE))
    assert hm._norm is None
    assert hm.norm.max() == pytest.approx(1.0) and hm.display_norm.max() == pytest.approx(1.0, abs=1e-3)
    hm.set_map(None, None)
    assert hm.norm is None and hm.raw is None and hm.display_norm is None and hm.fill.image is None


def test_contours_are_in_image_coordinates(qtbot, view):
    hm = view.heatmap
    shape = (ROWS, COLS)
    raw = _peak_map((ROWS // 2, COLS // 2), centre=(0.4, 0.6), sigma=0.1, peak=1.0)
    hm.set_map(raw, SCALE, shape)
    hm.set_style(overlay.OverlayStyle(outline=True, threshold=0.5))
    assert hm.contours.isVisible() and not hm.fill.isVisible()
    items = hm.contours.childItems()
    assert len(items) == len(overlay.contour_levels(0.5))
    # the outer contour (the threshold) against the full-size map's, traced as the export does
    full = overlay.extract_contours(hm.norm, overlay.contour_levels(0.5)[0])
    assert len(full) == 1
    ex0, ey0 = full[0].min(axis=0)
    ex1, ey1 = full[0].max(axis=0)
    r = items[0].path().boundingRect()
    tol = ROWS / image_items.CONTOUR_SIDE + 1.0  # one contour-map pixel
    assert abs(r.left() - ex0) < tol and abs(r.right() - ex1) < tol
    assert abs(r.top() - ey0) < tol and abs(r.bottom() - ey1) < tol


def test_small_frames_contour_on_their_own_pixels(qtbot):
    """A frame no larger than CONTOUR_SIDE is outlined on ``norm`` itself: the contours are as before."""
    hm = image_items.HeatmapLayer()
    raw = _peak_map((300, 400), centre=(0.5, 0.5), sigma=0.15, peak=1.0)
    hm.set_map(raw, SCALE)
    np.testing.assert_array_equal(hm.contour_map(), hm.norm)


def test_zoomed_far_in_renders_only_the_viewport_and_pans_reuse_the_fill(qtbot, view):
    hm = view.heatmap
    vp = view.viewport()
    raw = _peak_map((ROWS // 2, COLS // 2), centre=(0.5, 0.5), sigma=0.3, peak=0.9)
    hm.set_map(raw, SCALE, (ROWS, COLS))
    hm.set_style(overlay.OverlayStyle(opacity=0.7, threshold=0.05))
    count = hm.fill.render_count
    vp.repaint()
    assert hm.fill.render_count == count + 1
    # fitted: that rendering is reused by an opacity change and by a pan
    hm.set_style(overlay.OverlayStyle(opacity=0.3, threshold=0.05))
    vp.repaint()
    view.vb.translateBy(x=7.0, y=3.0)
    vp.repaint()
    assert hm.fill.render_count == count + 1
    # zoomed far in (the whole frame would be ~ 15 Mpx): only the viewport's pixels are rendered
    view.set_zoom(3.0)
    vp.repaint()
    assert hm.fill.render_count == count + 2
    assert hm.fill._exact.width() <= vp.width() and hm.fill._exact.height() <= vp.height()
    # and they are the map's values: the centre of the view shows the map at that image point
    hm.set_style(overlay.OverlayStyle(opacity=1.0, threshold=0.05))
    rgb = _shot(view)
    c = QtCore.QPointF(vp.width() / 2, vp.height() / 2)
    img = view.content.mapFromScene(view.mapToScene(c.toPoint()))
    r, col = int(img.y()), int(img.x())
    expected = overlay.colormap_lut("turbo")[overlay.to_index(hm.norm[r, col])].astype(int)
    assert np.abs(rgb[int(c.y()), int(c.x())] - expected).max() <= 6


def test_reduced_map_is_the_area_average_of_a_smooth_cam():
    """What overlay.reduce_map's docstring promises for a model's CAM (7 x 7, bicubic to the frame)."""
    import cv2

    rng = np.random.default_rng(3)
    for shape in [(2128, 2000), (1064, 1000), (2500, 2048), (3000, 2500)]:
        cam = cv2.resize(rng.random((7, 7)).astype(np.float32), shape[::-1], interpolation=cv2.INTER_CUBIC)
        small = overlay.reduce_map(cam, image_items.DISPLAY_SIDE)
        assert max(small.shape) == image_items.DISPLAY_SIDE
        area = cv2.resize(cam, small.shape[::-1], interpolation=cv2.INTER_AREA)
        assert np.abs(small - area).max() < 1e-3 * (cam.max() - cam.min())
    small_already = np.ones((300, 400), np.float32)
    assert overlay.reduce_map(small_already, image_items.DISPLAY_SIDE) is small_already  # as it is


def test_fill_renders_its_own_pixels_for_pyqtgraph(qtbot):
    """``render`` (pyqtgraph's getPixmap/save, and the fallback paint) gives the map through the LUT."""
    hm = image_items.HeatmapLayer()
    hm.set_map(np.full((40, 50), 0.4, np.float32), SCALE, (400, 500))
    hm.set_style(overlay.OverlayStyle(threshold=0.1))
    hm.fill.render()
    img = hm.fill.qimage
    assert (img.width(), img.height()) == (50, 40)
    rgb = overlay.colormap_lut("turbo")[overlay.to_index(0.4)]
    c = img.pixelColor(10, 10)
    assert (c.red(), c.green(), c.blue(), c.alpha()) == (int(rgb[0]), int(rgb[1]), int(rgb[2]), 255)
