"""DICOM DA / TM / DT read with pydicom's value representations, legacy forms included (issue #15 item 2)."""

from __future__ import annotations

from datetime import date, datetime, time

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ComputedRadiographyImageStorage, generate_uid
from shared_data import require_shared

from viewer.core.io import load_study
from viewer.core.io.dicom.meta import parse_da, parse_dt, parse_tm


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("151859", time(15, 18, 59)),
        ("15:18:59", time(15, 18, 59)),  # ACR-NEMA: pydicom 3's TM refuses it, the old viewer showed "15::1"
        ("16:22:53.770000", time(16, 22, 53, 770000)),
        ("151859.123", time(15, 18, 59, 123000)),
        ("093431.70", time(9, 34, 31, 700000)),
        ("151859.1234567", time(15, 18, 59, 123456)),  # more than six fraction digits: truncated
        ("1518", time(15, 18)),
        ("15", time(15)),
        ("15:18", time(15, 18)),
        ("", None),
        ("2515", None),
        ("15::1", None),
        ("noon", None),
    ],
)
def test_parse_tm(value, expected):
    assert parse_tm(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20040826", date(2004, 8, 26)),
        ("1996.10.29", date(1996, 10, 29)),  # ACR-NEMA
        ("2004-08-26", date(2004, 8, 26)),  # non-conformant exports
        ("20041326", None),
        ("d14a028c2a3a2bc9476102bb288234c4", None),  # an anonymiser's hash
        ("", None),
    ],
)
def test_parse_da(value, expected):
    assert parse_da(value) == expected


def test_parse_dt():
    assert parse_dt("20120820120804.06") == datetime(2012, 8, 20, 12, 8, 4, 60000)
    assert parse_dt("20040826185059.123+0100") == datetime(2004, 8, 26, 18, 50, 59, 123000)
    assert parse_dt("garbage") is None


def _write(tmp_path, **attrs):
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = ComputedRadiographyImageStorage, generate_uid(), "CR"
    ds.set_pixel_data(np.zeros((8, 8), np.uint16), "MONOCHROME2", 12)
    for k, v in attrs.items():
        setattr(ds, k, v)
    path = tmp_path / "t.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def test_study_date_time_are_iso_with_fallbacks(tmp_path):
    meta = load_study(_write(tmp_path, StudyDate="1996.10.29", StudyTime="15:18:59")).meta
    assert (meta.study.date, meta.study.time) == ("1996-10-29", "15:18:59")
    meta = load_study(_write(tmp_path, StudyTime="garbage", SeriesTime="091300.50")).meta
    assert (meta.study.date, meta.study.time) == ("", "09:13:00.500000")
    meta = load_study(_write(tmp_path, AcquisitionDateTime="20120820120804.06")).meta
    assert (meta.study.date, meta.study.time) == ("2012-08-20", "12:08:04.060000")
    meta = load_study(_write(tmp_path, PatientBirthDate="19400305", StudyDate="20040826")).meta
    assert meta.patient.birth_date == "1940-03-05" and meta.patient.age_years == 64.48


@pytest.mark.shared
def test_acr_nema_study_time_in_the_corner_overlay():
    from viewer.gui.widgets.corner_info import corner_texts  # pure function; PySide6 imports, no QApplication

    path = require_shared("data", "dicom", "variety", "JPEGLossless_1s_1f_u_16_12.dcm")  # 1995.05.01 15:26:10
    meta = load_study(path).meta
    assert (meta.study.date, meta.study.time) == ("1995-05-01", "15:26:10")
    assert "1995-05-01 15:26" in corner_texts(meta, None)["tr"]
