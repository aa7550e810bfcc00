"""pneumoscope-cli predict over folders, DICOMDIRs and ZIPs, with --csv and a progress bar; batch triage."""

from __future__ import annotations

import csv
import dataclasses
import io
import zipfile

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.fileset import FileSet
from pydicom.uid import ComputedRadiographyImageStorage, generate_uid

from viewer import cli
from viewer.core.display import render_default, thumbnail_u8
from viewer.core.io import load_study
from viewer.core.io.collection import collect
from viewer.core.model.inference import PneumoniaModel
from viewer.core.model.result import analyse
from viewer.core.model.triage import triage


def _chest(seed: int = 0, **tags) -> Dataset:
    """A 300 x 300 AP chest CR of a 3-year-old (in scope for the tiny test model), brightness by seed."""
    ds = Dataset()
    ds.SOPClassUID = ComputedRadiographyImageStorage
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.BodyPartExamined, ds.ViewPosition, ds.PatientAge = "CR", "CHEST", "AP", "003Y"
    ds.PatientName, ds.PatientID, ds.StudyDate = "Doe^Jane", "ID42", "20240102"
    ds.StudyTime, ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = "101010", "1", 1, 1
    for k, v in tags.items():
        setattr(ds, k, v)
    yy, xx = np.mgrid[0:300, 0:300]
    ds.set_pixel_data((np.hypot(yy - 150, xx - 150) * (6 + seed)).astype(np.uint16), "MONOCHROME2", 12)
    return ds


def _save(ds: Dataset, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def studies(tmp_path):
    """A folder of 3 studies (one a copy of another), a ZIP with 2 (one hostile entry) and a DICOMDIR with 2."""
    folder = tmp_path / "folder"
    a = _save(_chest(0), folder / "a.dcm")
    _save(_chest(1), folder / "sub" / "b.dcm")
    (folder / "sub" / "copy_of_a.dcm").write_bytes(a.read_bytes())
    archive = tmp_path / "cd.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x/c.dcm", _save(_chest(2), tmp_path / "src" / "c.dcm").read_bytes())
        zf.writestr("../escape.dcm", a.read_bytes())
    fs = FileSet()
    fs.add(_chest(3))
    fs.add(_chest(4, PatientName='=HYPERLINK("http://x")'))
    fs.write(tmp_path / "medium")
    return folder, archive, tmp_path / "medium" / "DICOMDIR"


def test_triage_matches_single_study_analysis(tiny_model_path, studies):
    model = PneumoniaModel.load(tiny_model_path)
    with collect(studies) as found:
        rows = list(triage(model, found.entries, batch_size=3))
        assert [r.entry for r in rows] == found.entries and len(rows) == 5
        for row in rows:
            single = analyse(model, load_study(row.entry.path))
            assert row.result.prediction.probability == pytest.approx(single.prediction.probability, abs=1e-6)
            assert row.result.state is single.state and row.result.label == single.label
            assert row.result.prediction.heatmap.size == 0  # triage keeps no full-size map
            assert row.thumbnail is None  # none unless asked


def test_triage_rows_carry_the_thumbnail_of_their_own_rendering(tiny_model_path, studies):
    """thumbnail_side=N: each row's thumbnail is its own image's default rendering shrunk (whatever order the
    batches decode in), at most N px, and a row that could not be read has none."""
    model = PneumoniaModel.load(tiny_model_path)
    with collect(studies) as found:
        entries = list(found.entries)
        broken = entries[0].path.with_name("broken.dcm")
        broken.write_bytes(b"not a dicom file")
        entries.insert(2, dataclasses.replace(entries[0], path=broken))
        rows = list(triage(model, entries, batch_size=2, thumbnail_side=32))
        assert [r.entry for r in rows] == entries
        assert rows[2].error is not None and rows[2].thumbnail is None
        for row in rows[:2] + rows[3:]:
            want = thumbnail_u8(render_default(load_study(row.entry.path)), 32)
            assert row.thumbnail.shape == want.shape == (32, 32) and row.thumbnail.dtype == np.uint8
            assert np.array_equal(row.thumbnail, want)
        # the five studies differ in brightness: no two rows carry the same picture
        assert len({r.thumbnail.tobytes() for r in rows if r.thumbnail is not None}) == 5


def test_predict_takes_folders_zips_and_dicomdirs(tiny_model_path, studies, capsys):
    folder, archive, dicomdir = studies
    rc = cli.main(["predict", "--model", str(tiny_model_path), str(folder), str(archive), str(dicomdir)])
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 5 and all(ln.split("\t")[1] == "in scope" for ln in lines)
    assert lines[0].startswith(f"{folder / 'a.dcm'}\t") and lines[2].startswith(f"{archive}/x/c.dcm\t")
    assert "duplicate image skipped: copy_of_a.dcm" in err
    assert "unsafe entry refused" in err and "'../escape.dcm' points outside the archive" in err
    assert rc == 2  # a refused entry is a failure; the other studies are still scored


def test_predict_csv_rows_without_then_with_patient_data(tiny_model_path, studies, tmp_path, capsys):
    folder, _, dicomdir = studies
    out = tmp_path / "worklist.csv"
    args = ["predict", "--model", str(tiny_model_path), "--csv", str(out), str(folder), str(dicomdir)]
    assert cli.main(args) == 0
    text = out.read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 4 and "Doe" not in text and "ID42" not in text and "patient_name" not in rows[0]
    assert list(rows[0])[:7] == [
        "path",
        "state",
        "probability",
        "label",
        "threshold",
        "operating_point",
        "model_version",
    ]
    assert rows[0]["path"] == str(folder / "a.dcm") and rows[0]["state"] == "in scope"
    assert rows[0]["model_version"] == "0.0.1" and rows[0]["modality"] == "CR" and rows[0]["view"] == "AP"
    probability = float(rows[0]["probability"])
    assert rows[0]["label"] == ("PNEUMONIA" if probability >= float(rows[0]["threshold"]) else "NORMAL")

    capsys.readouterr()
    assert cli.main(args + ["--include-patient"]) == 2  # exists: kept without --force
    assert "already exists (use --force" in capsys.readouterr().err and out.read_text("utf-8") == text

    assert cli.main(args + ["--include-patient", "--force"]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    assert rows[0]["patient_name"] == "Doe^Jane" and rows[0]["patient_id"] == "ID42"
    assert rows[0]["study_date"] == "2024-01-02"
    assert rows[-1]["patient_name"] == '\'=HYPERLINK("http://x")'  # never a formula in a spreadsheet


def test_predict_error_rows_and_progress_bar(tiny_model_path, tmp_path, capsys):
    folder = tmp_path / "f"
    _save(_chest(0), folder / "a.dcm")
    (folder / "broken.dcm").write_bytes(b"DICM" * 10)
    out = tmp_path / "w.csv"
    rc = cli.main(
        ["predict", "--model", str(tiny_model_path), "--csv", str(out), "--progress", "always", str(folder)]
    )
    o, err = capsys.readouterr()
    assert rc == 2 and o.splitlines()[1].startswith(f"{folder / 'broken.dcm'}\terror\t")
    assert "2/2" in err and "ETA" in err and "/s" in err
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    assert [r["state"] for r in rows] == ["in scope", "error"]
    assert "broken.dcm" in rows[1]["error"] and rows[1]["probability"] == "" and rows[1]["model_version"]
