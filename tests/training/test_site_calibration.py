"""``python -m training calibrate --model IN --site-data DIR --out OUT``: site calibration of a model file."""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("scipy")

from fixtures_models import TINY_INFO, write_tiny_model  # noqa: E402

from training.export import weights_sha256  # noqa: E402
from training.recalibrate import add_arguments, main  # noqa: E402
from training.site_calibration import calibrated, fit_platt  # noqa: E402
from viewer.core.model import CALIBRATION_INITIALIZERS  # noqa: E402
from viewer.core.model.inference import PneumoniaModel  # noqa: E402


def _site_folder(root: Path, n: int = 24, seed: int = 0) -> Path:
    """NORMAL = darker, PNEUMONIA = brighter uniform images with overlap: the tiny model's logit is
    14 x (brightness - 0.5), so the classes separate imperfectly and calibration has work to do."""
    rng = np.random.default_rng(seed)
    for label, (lo, hi) in (("NORMAL", (60, 150)), ("PNEUMONIA", (110, 200))):
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(n):
            level = int(rng.integers(lo, hi))
            cv2.imwrite(str(folder / f"{label.lower()}-{i:03d}.png"), np.full((256, 256), level, np.uint8))
    return root


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p


def test_platt_fit_recovers_a_known_temperature_and_shift():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(z + 1.5) / 2.0))).astype(int)
    t, b = fit_platt(z, y)
    assert t == pytest.approx(2.0, rel=0.1) and b == pytest.approx(1.5, abs=0.25)
    np.testing.assert_allclose(calibrated(np.array([-b]), t, b), 0.5, atol=1e-9)


def test_site_calibration_rewrites_only_the_calibration(tmp_path, capsys):
    model_in = write_tiny_model(tmp_path / "in.onnx")
    site = _site_folder(tmp_path / "site")
    out = tmp_path / "out.onnx"
    assert (
        main(
            _parser().parse_args(
                [
                    "--model",
                    str(model_in),
                    "--site-data",
                    str(site),
                    "--out",
                    str(out),
                    "--name",
                    "synthetic-site",
                    "--bootstrap",
                    "50",
                ]
            )
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "temperature 2 ->" in printed and "AUROC" in printed and "cross-fitted" in printed

    before, after = PneumoniaModel.load(model_in, force_cpu=True), PneumoniaModel.load(out, force_cpu=True)
    info = after.info  # the viewer accepts the new file (contract, integrity)
    cal = info.calibration
    assert (
        cal["kind"] == "site"
        and cal["name"] == "synthetic-site"
        and cal["n"] == 48
        and cal["n_pneumonia"] == 24
    )
    assert len(cal["files_sha256"]) == 64 and cal["date"]
    assert len(cal["temperature_ci95"]) == 2 and len(cal["logit_shift_ci95"]) == 2
    assert (
        cal["before"]["roc_auc_ci95"]
        and cal["after_in_sample"]["operating_points"]["high_sensitivity"]["sensitivity_ci95"]
    )
    assert "site calibration on synthetic-site (n=48" in info.calibration_label
    assert info.temperature == pytest.approx(cal["temperature"]) and info.logit_shift == pytest.approx(
        cal["logit_shift"]
    )
    assert info.version.startswith(TINY_INFO.version + "+site.")
    assert set(info.operating_points) == {"high_sensitivity", "balanced"}

    # weights unchanged: the hash of every initialiser but the two calibration scalars
    assert weights_sha256(model_in.read_bytes()) == weights_sha256(out.read_bytes())
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(str(out)).graph.initializer}
    assert float(inits[CALIBRATION_INITIALIZERS[1]]) == pytest.approx(info.temperature, rel=1e-6)
    # same logits, new probabilities: the calibration is what changed
    x = np.full((1, 1, 224, 224), 0.55, np.float32)
    a, b = before.predict_input(x), after.predict_input(x)
    assert a["logit"] == pytest.approx(b["logit"]) and a["ood"] == pytest.approx(b["ood"])
    expected = 1 / (1 + np.exp(-(b["logit"][0] + info.logit_shift) / info.temperature))
    assert b["probability"][0] == pytest.approx(expected, abs=1e-6)

    # never overwrites silently
    with pytest.raises(SystemExit, match="exists"):
        main(_parser().parse_args(["--model", str(model_in), "--site-data", str(site), "--out", str(out)]))


def test_site_calibration_needs_both_classes_and_all_three_options(tmp_path):
    model_in = write_tiny_model(tmp_path / "in.onnx")
    site = tmp_path / "one-class"
    (site / "NORMAL").mkdir(parents=True)
    (site / "PNEUMONIA").mkdir()
    cv2.imwrite(str(site / "NORMAL" / "a.png"), np.full((64, 64), 90, np.uint8))
    with pytest.raises(SystemExit, match="both NORMAL and PNEUMONIA"):
        main(
            _parser().parse_args(
                ["--model", str(model_in), "--site-data", str(site), "--out", str(tmp_path / "o.onnx")]
            )
        )
    with pytest.raises(SystemExit, match="--model, --site-data and --out"):
        main(_parser().parse_args(["--model", str(model_in), "--site-data", str(site)]))
