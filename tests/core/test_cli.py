"""pneumoscope-cli: info and render through main(argv), plus one real subprocess run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ComputedRadiographyImageStorage, generate_uid

from viewer import cli
from viewer.core.display import render_default
from viewer.core.io import load_study


@pytest.fixture
def chest_dcm(tmp_path):
    """A small synthetic MONOCHROME1 CR with a window, spacing and patient fields."""
    ds = Dataset()
    ds.SOPClassUID = ComputedRadiographyImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.Modality, ds.BodyPartExamined, ds.ViewPosition = "CR", "CHEST", "PA"
    ds.PatientName, ds.PatientID, ds.PatientSex, ds.PatientAge = "Doe^Jane", "ID42", "F", "034Y"
    ds.StudyDate = "20240102"
    arr = np.linspace(0, 4095, 40 * 50).reshape(40, 50).astype(np.uint16)
    ds.set_pixel_data(arr, "MONOCHROME1", 12)
    ds.WindowCenter, ds.WindowWidth = [2048, 1000], [4096, 500]
    ds.WindowCenterWidthExplanation = ["DEFAULT", "NARROW"]
    ds.ImagerPixelSpacing = [0.15, 0.15]
    path = tmp_path / "chest.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def _child_chest(tmp_path, name="child.dcm", **tags):
    """A 300 x 300 AP chest CR of a 3-year-old, smooth (in distribution for the tiny test model)."""
    ds = Dataset()
    ds.SOPClassUID = ComputedRadiographyImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.Modality, ds.BodyPartExamined, ds.ViewPosition, ds.PatientAge = "CR", "CHEST", "AP", "003Y"
    for k, v in tags.items():
        setattr(ds, k, v)
    yy, xx = np.mgrid[0:300, 0:300]
    ds.set_pixel_data((np.hypot(yy - 150, xx - 150) * 10).astype(np.uint16), "MONOCHROME2", 12)
    path = tmp_path / name
    ds.save_as(path, enforce_file_format=True)
    return path


def test_predict_one_line_per_file_with_state_and_reasons(tiny_model_path, tmp_path, capsys):
    good = _child_chest(tmp_path)
    hand = _child_chest(tmp_path, "hand.dcm", BodyPartExamined="HAND")
    noise = tmp_path / "noise.png"
    cv2.imwrite(str(noise), np.random.default_rng(0).integers(0, 256, (224, 224), dtype=np.uint8))
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"DICM" * 10)
    rc = cli.main(["predict", "--model", str(tiny_model_path), str(good), str(hand), str(noise), str(broken)])
    lines = capsys.readouterr().out.splitlines()
    assert rc == 2 and len(lines) == 4  # a file that cannot be read fails the run, the others are scored
    fields = [ln.split("\t") for ln in lines]
    assert fields[0][:2] == [str(good), "in scope"] and fields[0][2].startswith("probability 0.")
    assert fields[1][1] == "withheld" and fields[1][2] == "probability -" and "body part HAND" in lines[1]
    assert fields[2][1] == "withheld" and "does not look like the chest radiographs" in lines[2]
    assert fields[3][:2] == [str(broken), "error"]


def test_predict_json(tiny_model_path, tmp_path, capsys):
    from fixtures_models import tiny_reference

    good = _child_chest(tmp_path)
    hand = _child_chest(tmp_path, "hand.dcm", BodyPartExamined="HAND", PatientAge="000Y")
    assert cli.main(["predict", "--json", "--model", str(tiny_model_path), str(good), str(hand)]) == 0
    a, b = (json.loads(ln) for ln in capsys.readouterr().out.splitlines())
    expected = tiny_reference(render_default(load_study(good)))
    assert a["state"] == "in scope" and a["probability"] == pytest.approx(expected["probability"], abs=1e-5)
    assert a["label"] == ("PNEUMONIA" if a["probability"] >= a["threshold"] else "NORMAL")
    assert a["ood_score"] == pytest.approx(expected["ood"], abs=1e-3) and a["ood_threshold"] == 1.0
    assert a["reasons"] == [] and a["model"] == "tiny-test-model 0.0.1"
    assert b["state"] == "withheld" and b["probability"] is None and b["label"] is None
    assert any("HAND" in r for r in b["reasons"]) and any(
        "'000Y' is a placeholder" in r for r in b["reasons"]
    )


def test_predict_without_a_usable_model_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    assert cli.main(["predict", "--model", str(bad), str(_child_chest(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pneumoscope-cli: error:") and len(err.strip().splitlines()) == 1


def test_info_text(chest_dcm, capsys):
    assert cli.main(["info", str(chest_dcm)]) == 0
    out = capsys.readouterr().out
    for expected in (
        "DICOM, Explicit VR Little Endian",
        "50 x 40 pixels",
        "MONOCHROME1",
        "inverted for display",
        "C 2048 / W 4096 LINEAR 'DEFAULT'",
        "C 1000 / W 500 LINEAR 'NARROW'",
        "0.15 x 0.15 mm",
        "detector plane",
        "Doe^Jane, ID42, F",
        "034Y (34 years)",
        "CR / CHEST",
    ):
        assert expected in out, expected


def test_info_json(chest_dcm, capsys):
    assert cli.main(["info", "--json", "--tags", str(chest_dcm)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["default_window"] == {
        "type": "window",
        "name": "DEFAULT",
        "center": 2048.0,
        "width": 4096.0,
        "function": "LINEAR",
    }
    assert d["presets"][1]["name"] == "NARROW"
    assert d["pixel_spacing"] == {"row_mm": 0.15, "col_mm": 0.15, "source": "detector plane"}
    assert d["inverted_for_display"] is True and d["frames"] == 1
    assert d["patient"]["age_years"] == 34
    assert ["(0010,0020)", "PatientID", "LO", "ID42"] in d["tags"]


def test_render_writes_default_rendering(chest_dcm, tmp_path, capsys):
    out = tmp_path / "out.png"
    assert cli.main(["render", str(chest_dcm), str(out)]) == 0
    written = cv2.imdecode(np.fromfile(out, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(written, render_default(load_study(chest_dcm)))
    assert "out.png: 50 x 40" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_render_refuses_to_overwrite_without_force(chest_dcm, tmp_path, capsys):
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    assert cli.main(["render", str(chest_dcm), str(out)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err and err.count("\n") == 1
    assert out.read_bytes() == b"keep me"
    assert cli.main(["render", "--force", str(chest_dcm), str(out)]) == 0
    assert out.read_bytes() != b"keep me"


def test_render_window_and_frame_options(chest_dcm, tmp_path):
    out = tmp_path / "w.png"
    assert cli.main(["render", str(chest_dcm), str(out), "--window", "1000", "500"]) == 0
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    study = load_study(chest_dcm)
    assert written.tolist() != render_default(study).tolist()
    assert cli.main(["render", str(chest_dcm), str(tmp_path / "f.png"), "--frame", "3"]) == 2
    assert cli.main(["render", str(chest_dcm), str(tmp_path / "f.png"), "--window", "10", "0"]) == 2
    assert cli.main(["render", str(chest_dcm), str(tmp_path / "f.bmp")]) == 2
    assert cli.main(["render", str(chest_dcm), str(tmp_path / "missing" / "f.png")]) == 2


@pytest.mark.parametrize("content", [b"not an image", b"\x00" * 128 + b"DICM" + b"\x02\x00"])
def test_errors_are_one_line_exit_2(tmp_path, capsys, content):
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(content)
    assert cli.main(["info", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("pneumoscope-cli: error: bad.dcm: ") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


def test_non_image_dicom_message(tmp_path, capsys):
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.481.5"  # RT Plan
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.save_as(tmp_path / "plan.dcm", enforce_file_format=True)
    assert cli.main(["info", str(tmp_path / "plan.dcm")]) == 2
    assert "radiotherapy plan" in capsys.readouterr().err


def test_subprocess_console_entry(chest_dcm, tmp_path):
    """The real process: exit codes and stderr as a user sees them."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    ok = subprocess.run(
        [sys.executable, "-m", "viewer.cli", "render", str(chest_dcm), str(tmp_path / "x.png")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0 and (tmp_path / "x.png").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "viewer.cli", "info", str(tmp_path / "nope.dcm")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    usage = subprocess.run(
        [sys.executable, "-m", "viewer.cli"], capture_output=True, text=True, env=env, timeout=120
    )
    assert usage.returncode == 2


@pytest.mark.shared
def test_info_on_real_chest(dicom_dir, capsys):
    assert cli.main(["info", str(dicom_dir / "chest" / "canon_dx_chest_966_fixed.dcm")]) == 0
    out = capsys.readouterr().out
    assert (
        "JPEG 2000 Image Compression (Lossless Only)" in out
        and "INVERSE" in out
        and "inverted for display" in out
    )


def test_info_prints_header_when_pixels_are_damaged(chest_dcm, tmp_path, capsys):
    """Issue #15 item 5: a readable header with truncated pixel data is described, the problem named."""
    data = chest_dcm.read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[:-100])  # the last 50 pixels are missing
    assert cli.main(["info", str(cut)]) == 2
    captured = capsys.readouterr()
    assert "50 x 40 pixels" in captured.out and "Doe^Jane, ID42, F" in captured.out
    assert "C 2048 / W 4096 LINEAR 'DEFAULT'" in captured.out
    pixel_line = [ln for ln in captured.out.splitlines() if ln.startswith("Pixel data:")]
    assert len(pixel_line) == 1 and "damaged or incomplete" in pixel_line[0]
    assert captured.err.startswith("pneumoscope-cli: error: cut.dcm:") and captured.err.count("\n") == 1
    assert cli.main(["info", "--json", str(cut)]) == 2
    d = json.loads(capsys.readouterr().out)
    assert d["rows"] == 40 and "damaged or incomplete" in d["pixel_problem"]


@pytest.mark.shared
def test_info_on_truncated_real_file(dicom_dir, capsys):
    assert cli.main(["info", str(dicom_dir / "broken" / "MR_truncated.dcm")]) == 2
    out = capsys.readouterr().out
    assert "64 x 64 pixels" in out and "MR Image Storage" in out and "8130 vs 8192 bytes" in out
