"""viewer.core.overlay: colour maps, CAM scaling, threshold, contours and compositing (Qt-free)."""

from __future__ import annotations

import numpy as np
import pytest

from viewer.core import overlay
from viewer.core.overlay import OverlayStyle, ScaleMode


class TestColormapLut:
    @pytest.mark.parametrize("name", overlay.COLORMAP_NAMES)
    def test_shape(self, name):
        lut = overlay.colormap_lut(name)
        assert lut.shape == (256, 3) and lut.dtype == np.uint8
        assert len({tuple(v) for v in lut}) > 100  # a real ramp, not a constant

    @pytest.mark.parametrize("name", ["inferno", "viridis", "hot"])
    def test_sequential_maps_get_brighter(self, name):
        lum = overlay.colormap_lut(name).astype(float) @ [0.299, 0.587, 0.114]
        assert lum[255] > lum[128] > lum[0]

    def test_rgb_order(self):
        # jet starts dark blue and ends dark red; cv2 gives BGR, we must return RGB
        lut = overlay.colormap_lut("jet")
        assert lut[0, 2] > lut[0, 0]  # blue > red at the bottom
        assert lut[255, 0] > lut[255, 2]  # red > blue at the top

    def test_unknown(self):
        with pytest.raises(ValueError, match="unknown colour map"):
            overlay.colormap_lut("rainbow-unicorn")

    def test_rgba_lut_hides_below_threshold(self):
        lut = overlay.heatmap_lut_rgba("turbo", 0.5)
        first = overlay.threshold_index(0.5)
        assert first == 128
        assert (lut[:first, 3] == 0).all() and (lut[first:, 3] == 255).all()
        # index 0 (no activation) is never shown, even at threshold 0
        assert overlay.heatmap_lut_rgba("turbo", 0.0)[0, 3] == 0


class TestNormalise:
    def test_model_scale_is_fixed(self):
        cam = np.array([[0.0, 1.0], [2.0, 8.0]], np.float32)
        out = overlay.normalise_cam(cam, ScaleMode.MODEL, model_scale=4.0)
        np.testing.assert_allclose(out, [[0.0, 0.25], [0.5, 1.0]])  # 8 clips to 1
        # the same raw value gives the same colour in another study with a weaker maximum
        weak = overlay.normalise_cam(np.array([[0.0, 1.0]], np.float32), "model", model_scale=4.0)
        assert weak[0, 1] == pytest.approx(0.25)

    def test_per_image_is_min_max(self):
        cam = np.array([[1.0, 2.0], [3.0, 5.0]], np.float32)
        out = overlay.normalise_cam(cam, ScaleMode.IMAGE)
        np.testing.assert_allclose(out, [[0.0, 0.25], [0.5, 1.0]])

    def test_flat_and_nan(self):
        assert not overlay.normalise_cam(np.full((3, 3), 2.0, np.float32), "image").any()
        out = overlay.normalise_cam(np.array([[np.nan, 1.0]], np.float32), "model", 2.0)
        np.testing.assert_allclose(out, [[0.0, 0.5]])

    def test_missing_scale_falls_back_to_image(self):
        cam = np.array([[2.0, 4.0]], np.float32)
        np.testing.assert_allclose(overlay.normalise_cam(cam, "model", None), [[0.0, 1.0]])

    def test_fit_to_shape(self):
        cam = np.zeros((7, 7), np.float32)
        assert overlay.fit_to_shape(cam, (20, 30)).shape == (20, 30)
        assert overlay.fit_to_shape(cam, (7, 7)) is not None


class TestThresholdAndContours:
    def test_mask_matches_lut(self):
        norm = np.array([[0.0, 0.49, 0.5, 1.0]], np.float32)
        np.testing.assert_array_equal(overlay.threshold_mask(norm, 0.5), [[False, False, True, True]])

    def test_square_contour_in_image_coordinates(self):
        norm = np.zeros((50, 60), np.float32)
        norm[10:20, 30:45] = 1.0  # rows 10..19, cols 30..44
        (c,) = overlay.extract_contours(norm, 0.5)
        assert c.dtype == np.float32 and c.shape[1] == 2
        assert c[:, 0].min() == pytest.approx(30.5) and c[:, 0].max() == pytest.approx(44.5)
        assert c[:, 1].min() == pytest.approx(10.5) and c[:, 1].max() == pytest.approx(19.5)

    def test_min_area_drops_specks(self):
        norm = np.zeros((40, 40), np.float32)
        norm[5, 5] = 1.0
        norm[20:30, 20:30] = 1.0
        assert len(overlay.extract_contours(norm, 0.5)) == 2
        assert len(overlay.extract_contours(norm, 0.5, min_area_px=10)) == 1

    def test_levels(self):
        assert overlay.contour_levels(0.4) == pytest.approx([0.4, 0.6, 0.8])
        assert overlay.contour_levels(0.97) == [0.97]


class TestComposite:
    def test_blend_values(self):
        grey = np.full((4, 4), 100, np.uint8)
        norm = np.zeros((4, 4), np.float32)
        norm[0, 0] = 1.0
        style = OverlayStyle(colormap="jet", opacity=0.5, threshold=0.2)
        out = overlay.composite(grey, norm, style)
        assert out.shape == (4, 4, 3) and out.dtype == np.uint8
        top = overlay.colormap_lut("jet")[255].astype(float)
        np.testing.assert_array_equal(out[0, 0], np.rint(100 * 0.5 + top * 0.5).astype(np.uint8))
        np.testing.assert_array_equal(out[3, 3], [100, 100, 100])  # below threshold: untouched

    def test_opacity_zero_and_hidden(self):
        grey = np.arange(16, dtype=np.uint8).reshape(4, 4)
        norm = np.ones((4, 4), np.float32)
        for out in (
            overlay.composite(grey, norm, OverlayStyle(opacity=0.0)),
            overlay.composite(grey, norm, OverlayStyle(opacity=1.0), visible=False),
            overlay.composite(grey, None),
        ):
            np.testing.assert_array_equal(out[:, :, 0], grey)
            np.testing.assert_array_equal(out[:, :, 2], grey)

    def test_outline_draws_only_edges(self):
        grey = np.zeros((100, 100), np.uint8)
        norm = np.zeros((100, 100), np.float32)
        norm[30:70, 30:70] = 1.0
        out = overlay.composite(grey, norm, OverlayStyle(opacity=1.0, threshold=0.5, outline=True))
        assert out[50, 50].sum() == 0  # inside stays the image
        assert out[30, 50].sum() > 0  # the edge is drawn
        assert out[5, 5].sum() == 0

    def test_resizes_map(self):
        grey = np.zeros((40, 80), np.uint8)
        out = overlay.composite(grey, np.ones((10, 10), np.float32), OverlayStyle(opacity=1.0))
        assert out.shape == (40, 80, 3) and out.any()


def test_legend():
    bar = overlay.legend_bar("viridis", 100, 8)
    assert bar.shape == (8, 100, 3)
    np.testing.assert_array_equal(bar[0, -1], overlay.colormap_lut("viridis")[255])
    vbar = overlay.legend_bar("viridis", 100, 8, vertical=True)
    assert vbar.shape == (100, 8, 3)
    np.testing.assert_array_equal(vbar[0, 0], overlay.colormap_lut("viridis")[255])  # top = high
    assert overlay.legend_text("model", 3.5) == (
        "weak",
        "strong",
        "fixed scale: same colour = same strength in every study",
    )
    assert "not comparable" in overlay.legend_text("image", 3.5)[2]
    assert "unknown" in overlay.legend_text("model", None)[2]
