"""The About box's model card summary, read from the shipped model's metadata."""

from __future__ import annotations

import pytest

from viewer.core.assets import asset_path


def test_model_card_summary_of_the_shipped_model_is_readable():
    from viewer.core.model.inference import PneumoniaModel
    from viewer.gui.widgets.about import model_card_html

    path = asset_path("models", "pneumoscope-mobilenetv2.onnx")
    if not path.exists():
        pytest.fail(f"the shipped model is missing: {path}")
    info = PneumoniaModel.load(path).info
    text = model_card_html(info, provider="CPU")
    assert "AUROC 0." in text and "on 787 images" in text
    assert "site calibration on kermany_test_a (n=312" in text  # which calibration is in use
    assert "Out-of-distribution" in text or "out-of-distribution" in text
    assert "training images" in text and "validation images" in text
    assert "Research use only" in text and "children aged 1-5" in text
    assert "{" not in text  # no raw JSON left for the reader
