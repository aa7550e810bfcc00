"""The corner overlay and the PNG export show a patient name in the one PN format of
:func:`viewer.reports.content.format_person_name` (tests/core/test_person_name.py has the cases)."""

from __future__ import annotations

import pytest

from viewer.gui.widgets import corner_info
from viewer.reports import content


def test_corners_use_the_one_formatter():
    assert corner_info.format_person_name is content.format_person_name


@pytest.mark.shared
def test_a_caret_only_name_leaves_no_empty_line_in_the_corner(dicom_dir):
    from viewer.core.io import load_header

    meta = load_header(dicom_dir / "variety" / "image_dfl.dcm")  # PatientName "^^^^"
    texts = corner_info.corner_texts(meta, None)
    assert all(line.strip() for line in texts["tl"])
    assert not any("^" in line for line in texts["tl"])


@pytest.mark.shared
def test_the_corner_shows_a_real_files_name_family_first(dicom_dir):
    from viewer.core.io import load_header

    meta = load_header(dicom_dir / "radiographs" / "rentgenprom_dx_JPEG2KLossless_1s_1f_u_16_16.dcm")
    assert corner_info.corner_texts(meta, None)["tl"][0] == "DOE, JANE DEMO"  # stored DOE^JANE^DEMO
