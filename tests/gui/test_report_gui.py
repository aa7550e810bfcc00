"""Reports from the window (#12): DICOM SC + SR, PDF and print through the action table; the SC's pixels are
the PNG export's; orientation is stated; nothing identifies the patient unless the box is ticked."""

from __future__ import annotations

import os
import shutil
import subprocess

import cv2
import numpy as np
import pydicom
import pytest
from gui_support import PATIENT_ID, PATIENT_NAME, block_image, make_window, open_and_wait, write_dicom

from viewer.config import RESEARCH_USE
from viewer.gui import export as export_mod
from viewer.gui.export import ExportOptions

ROWS, COLS = 300, 400


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} missing (dcmtk / poppler-utils)")
        pytest.skip(f"{name} missing (dcmtk / poppler-utils)")
    return path


def _never(*_):
    raise AssertionError("asked to overwrite")


@pytest.fixture
def win(qtbot, isolated, tiny_model_path, tmp_path):
    path = write_dicom(tmp_path / "study.dcm", block_image(ROWS, COLS))
    w = make_window(qtbot, tiny_model_path, size=(1100, 760))
    open_and_wait(qtbot, w, [path])
    w.current.layer.add_ruler((20, 280), (120, 280))  # 100 px at 0.5 mm = 50 mm
    return w


def _identifiers(win) -> list[str]:
    src = pydicom.dcmread(win.current.path)
    return [
        PATIENT_NAME,
        "Doe",
        PATIENT_ID,
        "20240102",
        src.StudyInstanceUID,
        src.SOPInstanceUID,
        "Chest synthetic",
    ]


def test_actions_are_in_the_table_with_keys(win):
    for aid, key in (("export_dicom", "Ctrl+Shift+E"), ("export_pdf", "Ctrl+Shift+P"), ("print", "Ctrl+P")):
        action = win.actions_[aid]
        assert action.isEnabled() and key in [s.toString() for s in action.shortcuts()]


def test_sc_is_the_png_export_and_sr_has_the_ruler(qtbot, win, tmp_path):
    win.actions_["flip_h"].trigger()
    out = tmp_path / "dicom"
    out.mkdir()
    written = win.reports.export_dicom_to(out, include_patient=False, ask=_never)
    assert written is not None and len(written) == 2
    sc_path = next(p for p in written if p.name.endswith("-sc.dcm"))
    sr_path = next(p for p in written if p.name.endswith("-sr.dcm"))
    png = tmp_path / "export.png"
    assert win.export.export_to(png, ExportOptions(True, False)) == png
    exported = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB)
    sc = pydicom.dcmread(sc_path)
    assert sc.pixel_array.shape == exported.shape
    corr = np.corrcoef(sc.pixel_array.astype(float).ravel(), exported.astype(float).ravel())[0, 1]
    assert corr >= 0.99
    rendered = tmp_path / "sc.png"
    assert subprocess.run([_tool("dcmj2pnm"), "--write-png", str(sc_path), str(rendered)]).returncode == 0
    dcmtk = cv2.cvtColor(cv2.imread(str(rendered)), cv2.COLOR_BGR2RGB)
    assert np.corrcoef(dcmtk.astype(float).ravel(), exported.astype(float).ravel())[0, 1] >= 0.99
    # the orientation is stated: in the footer lines, in the SC, and the SC's Patient Orientation follows
    lines = [t for t, _ in export_mod.footer_lines(win.export.export_context(), ExportOptions(True, False))]
    assert "Displayed mirrored left-right" in lines
    assert "mirrored left-right" in sc.DerivationDescription and "mirrored left-right" in sc.ImageComments
    # the SR: the ruler in mm with its spacing source, the AI result of the entry
    sr = pydicom.dcmread(sr_path)
    items, stack = [], list(sr.ContentSequence)
    while stack:
        it = stack.pop()
        items.append(it)
        stack.extend(it.get("ContentSequence", []))
    lengths = [
        float(it.MeasuredValueSequence[0].NumericValue)
        for it in items
        if it.ValueType == "NUM" and it.ConceptNameCodeSequence[0].CodeMeaning == "Length"
    ]
    assert lengths == [pytest.approx(50.0)]
    texts = [it.TextValue for it in items if it.ValueType == "TEXT"]
    assert "Pixel spacing source: detector plane" in texts  # PixelSpacing == ImagerPixelSpacing
    prob = [
        float(it.MeasuredValueSequence[0].NumericValue)
        for it in items
        if it.ValueType == "NUM"
        and it.ConceptNameCodeSequence[0].CodeMeaning == "Calibrated probability of pneumonia"
    ]
    assert prob == [pytest.approx(win.current.result.probability, abs=1e-6)]
    assert sc.StudyInstanceUID == sr.StudyInstanceUID
    # nothing identifying in any file written (DICOM and PNG)
    for f in (*written, png):
        data = f.read_bytes()
        for value in _identifiers(win):
            assert value.encode() not in data, (f.name, value)
    # a second export asks before replacing (declined: files unchanged)
    before = sc_path.read_bytes()
    assert win.reports.export_dicom_to(out, False, ask=lambda *_: False) is None
    assert sc_path.read_bytes() == before


def test_pdf_and_print_same_page(qtbot, win, tmp_path):
    from PySide6 import QtPrintSupport

    pdf = tmp_path / "report.pdf"
    win.actions_["rotate_cw"].trigger()
    assert win.reports.export_pdf_to(pdf, include_patient=False, ask=_never) == pdf
    if os.environ.get("PNEUMOSCOPE_REPORT_LOOK"):  # a copy to look at (pdftoppm)
        shutil.copy(pdf, os.environ["PNEUMOSCOPE_REPORT_LOOK"])
    text = subprocess.run([_tool("pdftotext"), str(pdf), "-"], capture_output=True, text=True).stdout
    result = win.current.result
    assert result.label_text in text and "0.0.1" in text and RESEARCH_USE in text
    assert "Displayed rotated 90° clockwise" in text
    assert "50.0 mm" in text and "Doe" not in text and PATIENT_ID not in text
    for value in _identifiers(win):
        assert value.encode() not in pdf.read_bytes()
    with_patient = tmp_path / "with.pdf"
    assert win.reports.export_pdf_to(with_patient, include_patient=True, ask=_never) == with_patient
    text_with = subprocess.run(
        [_tool("pdftotext"), str(with_patient), "-"], capture_output=True, text=True
    ).stdout
    assert "Doe" in text_with and PATIENT_ID in text_with
    # print: the same layout on a QPrinter (here printing to a PDF file)
    printer = QtPrintSupport.QPrinter(QtPrintSupport.QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QtPrintSupport.QPrinter.OutputFormat.PdfFormat)
    printed = tmp_path / "printed.pdf"
    printer.setOutputFileName(str(printed))
    assert win.reports.print_to(printer, include_patient=False)
    printed_text = subprocess.run(
        [_tool("pdftotext"), str(printed), "-"], capture_output=True, text=True
    ).stdout
    assert result.label_text in printed_text and RESEARCH_USE in printed_text
