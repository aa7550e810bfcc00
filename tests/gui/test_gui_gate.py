"""The AI gate in the window (#11): three states in the panel, the study list, the heatmap and the exports.

Real values throughout: the tiny test model (tests/fixtures_models.py) scores brightness, and its ``ood``
output (roughness) puts a uniform-noise image out of distribution; tag rules withhold a hand or a CT.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from gui_support import block_image, make_window, open_and_wait, write_dicom
from PySide6 import QtWidgets

from viewer.core.model.result import format_probability, format_threshold
from viewer.core.scope import AiState
from viewer.gui import export as export_mod
from viewer.gui.export import ExportOptions
from viewer.gui.widgets.ai_panel import UNRELIABLE

PERCENT = re.compile(r"\d+\.\d%")  # how a probability is written (format_probability); the sliders are "40%"


@pytest.fixture
def studies(tmp_path):
    rng = np.random.default_rng(3)
    return {
        "in_scope": write_dicom(tmp_path / "in_scope.dcm", block_image(), view="AP"),
        "caution": write_dicom(tmp_path / "caution.dcm", block_image(), view="PA", age=""),
        "noise": write_dicom(tmp_path / "noise.dcm", rng.integers(0, 4096, (224, 224)), view="AP"),
        "hand": write_dicom(tmp_path / "hand.dcm", block_image(), body_part="HAND", view="AP", age="040Y"),
        "ct": write_dicom(tmp_path / "ct.dcm", block_image(), modality="CT", view="AP"),
    }


@pytest.fixture
def win(qtbot, isolated, tiny_model_path, studies):
    w = make_window(qtbot, tiny_model_path, size=(1300, 860))
    w.ids = dict(zip(studies, open_and_wait(qtbot, w, studies.values()), strict=True))
    return w


def _panel_texts(win) -> list[str]:
    return [
        label.text()
        for label in win.ai_panel.findChildren(QtWidgets.QLabel)
        if label.isVisibleTo(win.ai_panel)
    ]


def _footer(win, options: ExportOptions | None = None) -> list[str]:
    ctx = win.export.export_context()
    return [text for text, _ in export_mod.footer_lines(ctx, options or ExportOptions())]


def _show(win, name):
    win.select_entry(win.ids[name])
    return win.current


def test_states_follow_the_gate(win):
    states = {name: win.entries[i].result.state for name, i in win.ids.items()}
    assert states == {
        "in_scope": AiState.IN_SCOPE,
        "caution": AiState.CAUTION,
        "noise": AiState.WITHHELD,
        "hand": AiState.WITHHELD,
        "ct": AiState.WITHHELD,
    }
    noise = win.entries[win.ids["noise"]].result
    assert [f.rule for f in noise.assessment.findings] == ["image-ood"]  # the model's OOD score alone
    assert noise.prediction.ood_score > noise.prediction.ood_threshold == 1.0


@pytest.mark.parametrize("name", ["noise", "hand", "ct"])
def test_withheld_shows_no_number_anywhere(qtbot, win, name):
    e = _show(win, name)
    p = e.result.prediction.probability
    number = format_probability(p)
    panel = win.ai_panel
    texts = _panel_texts(win)
    assert not any(PERCENT.search(t) for t in texts), texts
    assert panel.prob_label.text() == "Withheld" and panel.state_badge.text() == "WITHHELD"
    assert not panel.bar.isVisibleTo(panel) and panel.bar.probability is None
    assert "suggested" not in panel.verdict_label.text()
    assert panel.verdict_label.text() == e.result.assessment.headline
    assert panel.verdict_label.text().startswith("AI result withheld.")
    reasons = e.result.assessment.reasons
    assert reasons[0] in panel.verdict_label.text()  # the one sentence: why
    assert panel.warning_box.isVisibleTo(panel) is (len(reasons) > 1)  # and every reason, when there are more
    for reason in reasons[1:]:
        assert reason.split(":")[0] in panel.warning_box.text()
    assert panel.reveal_button.isVisibleTo(panel) and not panel.reveal_button.isChecked()
    assert not panel.revealed_label.isVisibleTo(panel)
    # no heatmap, and nowhere else either: list, title, footer, status bar
    assert not win.view.heatmap.isVisible() and not panel.heatmap_box.isEnabled()
    item = win.study_list._items[e.id].text()
    assert item.endswith("AI: Withheld") and not PERCENT.search(item)
    assert win.study_list.ai_state(e.id) is AiState.WITHHELD
    assert number not in win.windowTitle() and not PERCENT.search(win.statusBar().currentMessage())
    footer = _footer(win)
    assert footer[0] == f"AI result withheld - {e.result.assessment.reasons[0]}"
    assert footer[1].startswith("AI state: withheld")
    assert not any(PERCENT.search(t) for t in footer), footer
    ctx = win.export.export_context()
    assert ctx.heatmap is None and not ctx.heatmap_visible


def test_show_anyway_reveals_the_score_marked_unreliable(qtbot, win):
    e = _show(win, "hand")
    panel = win.ai_panel
    number = format_probability(e.result.prediction.probability)
    panel.reveal_button.click()
    assert e.revealed and panel.reveal_button.isChecked()
    text = panel.revealed_label.text()
    assert panel.revealed_label.isVisibleTo(panel) and UNRELIABLE in text
    assert f"<s>{number}</s>" in text  # struck through, small and grey ...
    assert panel.prob_label.text() == "Withheld"  # ... never the big number
    assert panel.state_badge.text() == "WITHHELD" and panel.bar.probability is None
    assert win.view.heatmap.isVisible() and panel.heatmap_box.isEnabled()  # the heatmap comes with it
    assert win.study_list._items[e.id].text().endswith("AI: Withheld")  # the list keeps the state
    footer = _footer(win)
    assert footer[0].startswith("UNRELIABLE (withheld, shown on request)") and number in footer[0]
    assert e.result.assessment.reasons[0] in footer[1]
    ctx = win.export.export_context()
    assert ctx.heatmap is not None and ctx.heatmap_visible
    # hiding it again restores the withheld view
    panel.reveal_button.click()
    assert not e.revealed and not panel.revealed_label.isVisibleTo(panel) and not win.view.heatmap.isVisible()
    assert not any(PERCENT.search(t) for t in _footer(win))


def test_reveal_is_per_study_and_resets_on_switching(qtbot, win):
    hand = _show(win, "hand")
    win.ai_panel.reveal_button.click()
    assert hand.revealed
    ct = _show(win, "ct")  # another withheld study: not revealed
    assert not ct.revealed and not win.ai_panel.reveal_button.isChecked()
    assert not win.ai_panel.revealed_label.isVisibleTo(win.ai_panel)
    assert not any(PERCENT.search(t) for t in _panel_texts(win)) and not win.view.heatmap.isVisible()
    _show(win, "hand")  # and coming back, it is withheld again until asked
    assert not hand.revealed and not win.ai_panel.revealed_label.isVisibleTo(win.ai_panel)
    assert not any(PERCENT.search(t) for t in _footer(win))
    # closing the revealed study reveals nothing of its successor
    win.ai_panel.reveal_button.click()
    win.close_entry(hand.id)
    assert win.current is not None and not win.current.revealed
    assert not win.ai_panel.revealed_label.isVisibleTo(win.ai_panel)


def test_caution_shows_the_score_and_the_reasons(qtbot, win):
    e = _show(win, "caution")
    panel, result = win.ai_panel, e.result
    number = format_probability(result.prediction.probability)
    assert panel.prob_label.text() == number and panel.state_badge.text() == "CAUTION"
    assert "caution" in panel.verdict_label.text() and panel.warning_box.isVisibleTo(panel)
    assert len(result.assessment.reasons) == 2
    for reason in result.assessment.reasons:  # PA view, age unknown
        assert reason.split(":")[0] in panel.warning_box.text()
    assert not panel.reveal_button.isVisibleTo(panel)
    assert win.view.heatmap.isVisible()
    assert win.study_list._items[e.id].text().endswith(f"AI: Caution - {number}")
    footer = _footer(win)
    assert footer[0] == f"AI: {result.summary()}" and number in footer[0] and footer[0].endswith("caution")
    assert footer[1].startswith("AI state: caution - ")
    assert "PA view" in footer[1] and "age unknown" in footer[1]


def test_in_scope_shows_the_score_threshold_and_calibration(qtbot, win):
    e = _show(win, "in_scope")
    panel, pred = win.ai_panel, e.result.prediction
    number = format_probability(pred.probability)
    assert panel.prob_label.text() == number and panel.state_badge.text() == "IN SCOPE"
    assert not panel.warning_box.isVisibleTo(panel) and not panel.reveal_button.isVisibleTo(panel)
    threshold = format_threshold(pred.threshold)
    assert f"threshold {threshold} " in panel.threshold_label.text() + " "
    assert "calibrated on the training validation split" in panel.calibration_label.text()
    assert win.model.info.calibration_label in panel.calibration_label.text()
    assert f"threshold {threshold}" in panel.calibration_label.text()
    assert win.study_list._items[e.id].text().endswith(f"AI: In scope - {number}")
    footer = _footer(win)
    assert footer[0] == f"AI: {e.result.summary()}" and footer[1].startswith("AI state: in scope")
    assert any("calibrated on the training validation split" in t for t in footer)


def test_exported_file_and_clipboard_carry_the_state(qtbot, win, tmp_path):
    _show(win, "noise")
    opts = ExportOptions(full_resolution=True, include_identifiers=False)
    rgb = win.export.render_export(opts)
    ctx = win.export.export_context()
    expected_footer = export_mod.render_footer(rgb.shape[1], export_mod.footer_lines(ctx, opts))
    body = rgb[: -expected_footer.shape[0]]
    np.testing.assert_array_equal(body[..., 0], win.current.displayed_u8())  # no heatmap burned in
    np.testing.assert_array_equal(rgb[-expected_footer.shape[0] :], expected_footer)
    assert win.export.copy_to_clipboard(opts)
    clip = export_mod.qimage_to_rgb(QtWidgets.QApplication.clipboard().image())
    np.testing.assert_array_equal(clip, rgb)
    out = win.export.export_to(tmp_path / "withheld.png", opts)
    assert out is not None and out.exists()


def test_about_says_which_calibration_and_ood_check(qtbot, win):
    win.actions_["about"].trigger()
    from viewer.gui.widgets.about import AboutDialog

    dlg = win.findChild(AboutDialog)
    text = dlg.card.toPlainText()
    assert "Calibration in use" in text and win.model.info.calibration_label in text
    assert "tiny-test-roughness" in text and "above 1 " in text and "withheld" in text
    dlg.close()
