"""Reports (#12): DICOM SC + SR and the PDF, through ``pneumoscope-cli report`` and the report modules.

Checked with tools that are not ours: pydicom re-reads every object, DCMTK's ``dcmdump`` (no error) and
``dsr2xml`` (the SR), ``dcmj2pnm`` renders the SC, poppler's ``pdftotext`` / ``pdftoppm`` read the PDF.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ComputedRadiographyImageStorage, generate_uid

from viewer import cli
from viewer.config import RESEARCH_USE
from viewer.core.io import load_study
from viewer.core.model.inference import PneumoniaModel
from viewer.core.model.result import analyse
from viewer.core.study import PixelSpacing, SpacingSource
from viewer.reports import content as content_mod
from viewer.reports import deid
from viewer.reports.content import describe_view, orient_patient_orientation

TEXT_VRS = {"AE", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UT"}
SECRETS = {
    "PatientName": "Zebulon^Quintavius",
    "PatientID": "MRN-778899",
    "PatientBirthDate": "20210304",
    "AccessionNumber": "ACC-5566",
    "StudyID": "STUDY-9911",
    "StudyDate": "20240517",
    "InstitutionName": "Saint Elsewhere Hospital",
    "ReferringPhysicianName": "Doctor^Referrer",
}


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        msg = f"{name} not installed (apt-get install dcmtk poppler-utils; tests/run_all.py does it as root)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def run_tool(*cmd: str) -> subprocess.CompletedProcess:
    require_tool(cmd[0])
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@pytest.fixture(autouse=True)
def _one_qt_application(qapp):
    """The CLI would create a bare QGuiApplication (enough for fonts and painting); in one pytest process
    with the GUI tests it must be pytest-qt's QApplication, created first."""
    return qapp


@pytest.fixture
def child_dcm(tmp_path) -> Path:
    """A 256 x 256 AP chest CR of a 3-year-old with identifiers everywhere a file can carry them."""
    ds = Dataset()
    ds.SOPClassUID = ComputedRadiographyImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality, ds.BodyPartExamined, ds.ViewPosition, ds.PatientAge = "CR", "CHEST", "AP", "003Y"
    ds.PatientSex = "F"
    ds.PatientOrientation = ["L", "F"]
    for k, v in SECRETS.items():
        setattr(ds, k, v)
    ds.add_new(0x00991010, "LO", "private secret")
    ds.add_new(0x00990010, "LO", "ACME")
    yy, xx = np.mgrid[0:256, 0:256]
    ds.set_pixel_data((np.hypot(yy - 128, xx - 128) * 12).astype(np.uint16), "MONOCHROME2", 12)
    ds.ImagerPixelSpacing = [0.2, 0.2]
    path = tmp_path / "src" / "child.dcm"
    path.parent.mkdir()
    ds.save_as(path, enforce_file_format=True)
    return path


def _identifiers(path: Path) -> list[str]:
    src = pydicom.dcmread(path)
    return [*deid.identifier_values(src), *SECRETS.values(), "Zebulon", "Quintavius"]


def _report(model_path, study: Path, out: Path, *extra: str) -> dict[str, Path]:
    out.mkdir(exist_ok=True)
    assert cli.main(["report", str(study), "--out", str(out), "--model", str(model_path), *extra]) == 0
    files = sorted(out.iterdir())
    by_kind = {}
    for f in files:
        kind = "sc" if f.name.endswith("-sc.dcm") else "sr" if f.name.endswith("-sr.dcm") else f.suffix[1:]
        by_kind[kind] = f
    return by_kind


def _sr_items(ds) -> list[Dataset]:
    out = []

    def walk(items):
        for it in items:
            out.append(it)
            walk(it.get("ContentSequence", []))

    walk(ds.ContentSequence)
    return out


def _num(items, meaning: str) -> float | None:
    for it in items:
        if it.ValueType == "NUM" and it.ConceptNameCodeSequence[0].CodeMeaning == meaning:
            return float(it.MeasuredValueSequence[0].NumericValue)
    return None


def _code(items, meaning: str) -> str | None:
    for it in items:
        if it.ValueType == "CODE" and it.ConceptNameCodeSequence[0].CodeMeaning == meaning:
            return it.ConceptCodeSequence[0].CodeMeaning
    return None


# --------------------------------------------------------------------------- pure functions


def test_describe_view_names_every_transform():
    assert describe_view() == "Displayed as stored (not rotated, not mirrored, not inverted)"
    assert describe_view(0, True) == "Displayed mirrored left-right"
    assert describe_view(1, False, True) == "Displayed rotated 90° clockwise, grey scale inverted"
    assert describe_view(3, True) == "Displayed rotated 90° counter-clockwise, mirrored left-right"


def test_patient_orientation_follows_the_view():
    # a PA chest shown as stored: rows run to the patient's left, columns to the feet
    assert orient_patient_orientation(["L", "F"]) == ("L", "F")
    assert orient_patient_orientation(["L", "F"], 0, True) == ("R", "F")  # mirrored
    assert orient_patient_orientation(["L", "F"], 1) == ("H", "L")  # top turned to the right
    assert orient_patient_orientation(["L", "F"], 2) == ("R", "H")
    assert orient_patient_orientation(["LP", "F"], 1, True) == ("F", "LP")
    assert orient_patient_orientation([]) is None and orient_patient_orientation(["", ""]) is None


def test_lengths_in_mm_with_their_spacing_source():
    spacing = PixelSpacing(0.2, 0.1, SpacingSource.DETECTOR)  # rows 0.2 mm apart, columns 0.1 mm
    (m,) = content_mod.lengths_from_rulers([((0, 0), (30, 40))], spacing)
    assert m.px == pytest.approx(50.0) and m.mm == pytest.approx(np.hypot(3.0, 8.0))
    assert m.spacing_source == "detector plane" and "mm (pixel spacing: detector plane)" in m.text
    (n,) = content_mod.lengths_from_rulers([((0, 0), (30, 40))], PixelSpacing(None, None))
    assert n.mm is None and n.text == "50 px (no calibration)"


def test_uid_map_is_consistent_and_new():
    m, other = deid.UidMap(), deid.UidMap()
    uid = generate_uid()
    assert m(uid) == m(uid) != uid and m(uid) != other(uid)
    assert m(uid).startswith("2.25.") and len(m(uid)) <= 64 and m(generate_uid()) != m(uid)


def test_reference_header_removes_identity(child_dcm):
    src = deid.read_source_header(child_dcm)
    uids = deid.UidMap()
    hdr = deid.reference_header(src, False, uids)
    for kw in deid.ZEROED:
        assert hdr[kw].value in ("", None), kw
    assert hdr.PatientIdentityRemoved == "YES" and hdr.DeidentificationMethod == deid.DEID_METHOD
    codes = [c.CodeValue for c in hdr.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113108"]
    assert hdr.StudyInstanceUID == uids(src.StudyInstanceUID) and hdr.SOPInstanceUID == uids(
        src.SOPInstanceUID
    )
    assert hdr.PatientAge == "003Y" and hdr.PatientSex == "F"  # retained patient characteristics
    assert "InstitutionName" not in hdr and not any(e.tag.is_private for e in hdr)
    kept = deid.reference_header(src, True, uids)
    assert kept.PatientName == SECRETS["PatientName"] and kept.StudyInstanceUID == src.StudyInstanceUID
    assert "PatientIdentityRemoved" not in kept and not any(e.tag.is_private for e in kept)


# --------------------------------------------------------------------------- the CLI, end to end


def test_cli_report_sc_sr_pdf_anonymised(tiny_model_path, child_dcm, tmp_path):
    out = tmp_path / "out"
    files = _report(tiny_model_path, child_dcm, out)
    assert set(files) == {"sc", "sr", "pdf"}
    src = pydicom.dcmread(child_dcm)
    # nothing identifying in any byte of any file, nor in the names, nor in the PDF's extracted text
    pdf_text = run_tool("pdftotext", str(files["pdf"]), "-").stdout
    for f in files.values():
        data = f.read_bytes()
        for value in _identifiers(child_dcm):
            assert value.encode() not in data, (f.name, value)
            assert value not in f.name and value not in pdf_text
    assert "child" not in "".join(f.name for f in files.values())  # the source's file name stays out too

    sc, sr = pydicom.dcmread(files["sc"]), pydicom.dcmread(files["sr"])
    # SC: a new series of the (pseudonymous) study, burned in, the source referenced
    assert sc.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7" and sc.Modality == "OT"
    assert sc.StudyInstanceUID == sr.StudyInstanceUID != src.StudyInstanceUID
    assert sc.SeriesInstanceUID not in (src.SeriesInstanceUID, sr.SeriesInstanceUID)
    assert sc.BurnedInAnnotation == "YES" and sc.PatientIdentityRemoved == "YES"
    assert sc.PatientName == "" and sc.PatientID == "" and sc.PatientAge == "003Y"
    assert RESEARCH_USE in sc.ImageComments and "research use" in sc.SeriesDescription.lower()
    assert "Displayed as stored" in sc.DerivationDescription and list(sc.PatientOrientation) == ["L", "F"]
    source_ref = sc.SourceImageSequence[0]
    assert source_ref.ReferencedSOPClassUID == src.SOPClassUID
    assert source_ref.ReferencedSOPInstanceUID not in (src.SOPInstanceUID, "")
    assert not any(e.tag.is_private for e in sc.iterall()) and not any(e.tag.is_private for e in sr.iterall())
    # SR: the model's output, its state, the algorithm, references to the source and the SC
    result = analyse(PneumoniaModel.load(tiny_model_path), load_study(child_dcm))
    items = _sr_items(sr)
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.33" and sr.PatientIdentityRemoved == "YES"
    assert _num(items, "Calibrated probability of pneumonia") == pytest.approx(result.probability, abs=1e-6)
    assert _num(items, "Operating point threshold") == pytest.approx(result.prediction.threshold)
    assert _code(items, "AI finding") == result.label_text
    assert _code(items, "AI gate state") == {"in scope": "In scope", "caution": "Caution"}[result.state.value]
    assert _code(items, "Operating point") == result.prediction.operating_point
    texts = [it.TextValue for it in items if it.ValueType == "TEXT"]
    assert "tiny-test-model" in texts and "0.0.1" in [
        it.TextValue for it in items if it.ConceptNameCodeSequence[0].CodeMeaning == "Algorithm Version"
    ]
    params = [
        it.TextValue for it in items if it.ConceptNameCodeSequence[0].CodeMeaning == "Algorithm Parameters"
    ]
    assert any(p.startswith("integrity sha256:") for p in params)
    assert RESEARCH_USE in texts
    evidence = {
        i.ReferencedSOPInstanceUID
        for s in sr.CurrentRequestedProcedureEvidenceSequence
        for se in s.ReferencedSeriesSequence
        for i in se.ReferencedSOPSequence
    }
    assert evidence == {sc.SOPInstanceUID, source_ref.ReferencedSOPInstanceUID}

    # DCMTK reads both without an error; the SR converts to XML
    for f in (files["sc"], files["sr"]):
        dump = run_tool("dcmdump", "-q", str(f))
        assert dump.returncode == 0 and "E:" not in dump.stderr, dump.stderr
    xml = run_tool("dsr2xml", str(files["sr"]))
    assert xml.returncode == 0 and "Calibrated probability of pneumonia" in xml.stdout, xml.stderr
    # the PDF: result, model version, research-use line
    assert result.label_text in pdf_text and "0.0.1" in pdf_text and RESEARCH_USE in pdf_text
    page = tmp_path / "page"
    assert (
        run_tool("pdftoppm", "-r", "40", "-png", "-singlefile", str(files["pdf"]), str(page)).returncode == 0
    )
    img = cv2.imread(str(page) + ".png")
    assert img is not None and img.shape[0] > img.shape[1]  # one portrait page
    assert (img < 60).all(axis=2).mean() > 0.05  # the radiograph's dark surround is on it


def test_sc_pixels_render_with_dcmtk_as_the_view(tiny_model_path, child_dcm, tmp_path):
    from viewer.reports.export import ensure_gui_application, headless_view

    files = _report(tiny_model_path, child_dcm, tmp_path / "out", "--sc")
    assert set(files) == {"sc"}
    png = tmp_path / "sc.png"
    assert run_tool("dcmj2pnm", "--write-png", str(files["sc"]), str(png)).returncode == 0
    rendered = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB)
    sc = pydicom.dcmread(files["sc"])
    np.testing.assert_array_equal(rendered, sc.pixel_array)  # DCMTK and pydicom agree, bit for bit
    ensure_gui_application()
    study = load_study(child_dcm)
    view = headless_view(study, analyse(PneumoniaModel.load(tiny_model_path), study), None)
    body = rendered[: view.body.shape[0]]
    corr = np.corrcoef(body.astype(float).ravel(), view.body.astype(float).ravel())[0, 1]
    assert corr >= 0.99
    assert rendered.shape[0] > view.body.shape[0]  # the footer band below it


def test_cli_report_with_patient_data_joins_the_source_study(tiny_model_path, child_dcm, tmp_path):
    files = _report(tiny_model_path, child_dcm, tmp_path / "out", "--sc", "--sr", "--include-patient-data")
    src = pydicom.dcmread(child_dcm)
    sc, sr = pydicom.dcmread(files["sc"]), pydicom.dcmread(files["sr"])
    assert sc.StudyInstanceUID == sr.StudyInstanceUID == src.StudyInstanceUID
    assert sc.SeriesInstanceUID != src.SeriesInstanceUID and sc.SOPInstanceUID != src.SOPInstanceUID
    assert sc.PatientName == SECRETS["PatientName"] and sr.PatientID == SECRETS["PatientID"]
    assert sc.SourceImageSequence[0].ReferencedSOPInstanceUID == src.SOPInstanceUID
    assert "PatientIdentityRemoved" not in sc
    assert files["sc"].name == "child-sc.dcm"
    assert not any(e.tag.is_private for e in sc.iterall())  # the private tag of the source stays behind


def test_cli_report_never_overwrites_without_force(tiny_model_path, child_dcm, tmp_path, capsys):
    out = tmp_path / "out"
    files = _report(tiny_model_path, child_dcm, out, "--pdf")
    before = files["pdf"].read_bytes()
    rc = cli.main(["report", str(child_dcm), "--out", str(out), "--model", str(tiny_model_path), "--pdf"])
    assert rc == 2 and "already exists (use --force" in capsys.readouterr().err
    assert files["pdf"].read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [files["pdf"].name]  # no temporary file left
    args = ["report", str(child_dcm), "--out", str(out), "--model", str(tiny_model_path), "--pdf", "--force"]
    assert cli.main(args) == 0


def test_cli_report_png_source_is_a_new_study(tiny_model_path, tmp_path, capsys):
    src = tmp_path / "xray.png"
    yy, xx = np.mgrid[0:256, 0:256]
    cv2.imwrite(str(src), (np.hypot(yy - 128, xx - 128)).astype(np.uint8))
    out = tmp_path / "out"
    out.mkdir()
    rc = cli.main(["report", str(src), "--out", str(out), "--model", str(tiny_model_path), "--sr"])
    assert rc == 2 and "export the SC too" in capsys.readouterr().err
    files = _report(tiny_model_path, src, out, "--sc", "--sr")
    sc, sr = pydicom.dcmread(files["sc"]), pydicom.dcmread(files["sr"])
    assert sc.StudyInstanceUID == sr.StudyInstanceUID and "SourceImageSequence" not in sc
    assert run_tool("dsr2xml", str(files["sr"])).returncode == 0


@pytest.mark.shared
def test_real_dicom_identifiers_leave_no_trace(tiny_model_path, dicom_dir, tmp_path):
    """A third-party chest DX (JPEG 2000, identifiers hashed by its publisher but still identifiers)."""
    path = dicom_dir / "chest" / "canon_dx_chest_966_fixed.dcm"
    files = _report(tiny_model_path, path, tmp_path / "out")
    src = pydicom.dcmread(path, stop_before_pixels=True)
    values = deid.identifier_values(src)
    assert values  # the file has some
    pdf_text = run_tool("pdftotext", str(files["pdf"]), "-").stdout
    # long values must not occur in any byte; short ones (StudyID "2002") would match compressed or pixel
    # bytes by chance, so they are looked for where text lives: DICOM strings and the PDF's text
    for f in files.values():
        data = f.read_bytes()
        assert not [v for v in deid.identifier_values(src, 8) if v.encode() in data], f.name
    assert not [v for v in values if v in pdf_text]
    for f in (files["sc"], files["sr"]):
        strings = " ".join(str(e.value) for e in pydicom.dcmread(f).iterall() if e.VR in TEXT_VRS)
        assert not [v for v in values if v in strings], f.name
    for f in (files["sc"], files["sr"]):
        assert run_tool("dcmdump", "-q", str(f)).returncode == 0
    assert run_tool("dsr2xml", str(files["sr"])).returncode == 0
