"""Faster first pixels (issue #15 item 11): a JPEG 2000 chest is shown from its reduced resolution level at the
full image's geometry, analysed, then replaced in place by the full decode (zoom, pan, annotations kept)."""

from __future__ import annotations

import numpy as np
import pytest
from gui_support import make_window, wait_settled

from viewer.core import display
from viewer.core.io import load_study

CANON = "chest/canon_dx_chest_966_fixed.dcm"


@pytest.mark.shared
def test_preview_first_then_full_resolution_in_place(qtbot, isolated, tiny_model_path, dicom_dir):
    win = make_window(qtbot, tiny_model_path)
    full = load_study(dicom_dir / CANON)
    seen = {}

    def first_pixels(eid):
        e = win.entries[eid]
        seen["pending"] = e.full_pending
        seen["shape"] = e.study.frames[0].shape
        seen["shown"] = win.view.image_item.image.shape
        # the reader starts working on the preview: zoom in, draw a ruler (image coordinates)
        win.view.set_zoom(2.0)
        seen["zoom"] = win.view.zoom()
        seen["ruler"] = e.layer.add_ruler((100.0, 200.0), (600.0, 200.0))

    win.study_loaded.connect(first_pixels)
    maps = []  # the maps the heatmap layer was given
    layer = win.view.heatmap
    real_set_map = layer.set_map

    def spy(raw, *args, **kwargs):
        if raw is not None:
            maps.append(raw)
        return real_set_map(raw, *args, **kwargs)

    layer.set_map = spy
    (eid,) = win.open_paths([str(dicom_dir / CANON)])
    wait_settled(qtbot, win, [eid])
    e = win.entries[eid]
    full_shape = (full.meta.rows, full.meta.columns)
    assert seen["pending"] is True  # the first pixels were the preview ...
    assert seen["shape"] == seen["shown"] == full_shape  # ... at the full geometry
    assert not e.full_pending  # ... and the full decode replaced it
    np.testing.assert_array_equal(e.study.frames[0], full.frames[0])
    np.testing.assert_array_equal(win.view.image_item.image, display.render_default(full, 0))
    assert e.study.meta == full.meta
    assert win.view.zoom() == pytest.approx(seen["zoom"])  # zoom and pan kept
    assert e.layer.items == [seen["ruler"]]  # the annotation is still there, same coordinates
    assert win.view.heatmap.norm is None or win.view.heatmap.norm.shape == full_shape
    assert e.result is not None  # the preview's analysis is kept (no second run)
    if e.score_shown:  # ... and its heatmap was put in the layer once, not again for the full resolution
        assert len(maps) == 1 and maps[0] is e.result.prediction.heatmap
        assert max(layer.display_norm.shape) <= 512  # the map shown is small, whatever the frame
    else:
        assert maps == []
