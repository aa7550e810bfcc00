"""Patient names (DICOM PN) as the corners, the exports and the reports show them: one formatter,
:func:`viewer.reports.content.format_person_name`, reading the value with pydicom's ``PersonName``."""

from __future__ import annotations

import pytest
from pydicom.data import get_charset_files
from pydicom.valuerep import PersonName

from viewer.core.io import load_header
from viewer.reports.content import format_person_name, patient_lines


@pytest.mark.parametrize(
    ("pn", "shown"),
    [
        ("Doe^Jane", "DOE, Jane"),  # the ordinary name: as before
        ("Doe^Jane^Marie", "DOE, Jane Marie"),
        ("Doe^Jane^Marie^Dr^PhD", "DOE, Dr Jane Marie, PhD"),  # prefix and suffix are no longer dropped
        ("Doe^Jane^^^", "DOE, Jane"),  # empty trailing components
        ("Doe^^Marie", "DOE, Marie"),  # empty given name
        ("Doe^", "DOE"),
        ("^Jane", "Jane"),  # no family name: no leading comma
        ("  Doe ^ Jane ", "DOE, Jane"),
        ("^", ""),
        ("^^^^", ""),
        ("", ""),
        (None, ""),
        ("Anonymized", "Anonymized"),  # free text (no ^, no =): as written
        ("Rubo DEMO", "Rubo DEMO"),
        ("Doe^John\\Roe^Jane", "DOE, John / ROE, Jane"),  # several values (VM > 1)
        # groups (PS3.5 6.2.1): alphabetic = ideographic = phonetic
        ("Yamada^Tarou=山田^太郎=やまだ^たろう", "YAMADA, Tarou"),
        ("=山田^太郎=やまだ^たろう", "山田 太郎"),  # no alphabetic group: the ideographic one, as written
        ("==やまだ^たろう", "やまだ たろう"),
        ("=^=", ""),
        ("Wang^XiaoDong=王^小東=", "WANG, XiaoDong"),
    ],
)
def test_format_person_name(pn, shown):
    assert format_person_name(pn) == shown


@pytest.mark.parametrize(
    ("pn", "shown"),
    [
        ("Doe^Jane", "Doe, Jane"),  # the reports' line: as before
        ("Doe^Jane^Marie", "Doe, Jane Marie"),  # before: "Doe, Jane, Marie"
        ("Doe^^Marie", "Doe, Marie"),  # before: "Doe, , Marie"
        ("Yamada^Tarou=山田^太郎", "Yamada, Tarou"),  # before: "Yamada, Tarou=山田, 太郎"
        ("=山田^太郎", "山田 太郎"),
        ("^^^^", ""),
    ],
)
def test_the_family_name_as_written(pn, shown):
    assert format_person_name(pn, family_caps=False) == shown


def test_a_pydicom_person_name_is_accepted_as_it_comes_from_a_dataset():
    assert format_person_name(PersonName("Doe^Jane^Marie")) == "DOE, Jane Marie"


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("chrH31.dcm", "YAMADA, Tarou"),  # Yamada^Tarou=山田^太郎=やまだ^たろう (ISO 2022 IR 87)
        ("chrI2.dcm", "HONG, Gildong"),  # Hong^Gildong=洪^吉洞=홍^길동 (ISO 2022 IR 149)
        ("chrX1.dcm", "WANG, XiaoDong"),  # Wang^XiaoDong=王^小東 (ISO_IR 192)
        ("chrFren.dcm", "BUC, Jérôme"),  # ISO_IR 100
        ("chrGreek.dcm", "Διονυσιος"),  # one component, no ^: as written
    ],
)
def test_names_of_pydicoms_character_set_files_through_the_loader(name, shown):
    meta = load_header(get_charset_files(name)[0])
    assert format_person_name(meta.patient.name) == shown


@pytest.mark.shared
@pytest.mark.parametrize(
    ("rel", "stored", "shown"),
    [
        ("radiographs/rentgenprom_dx_JPEG2KLossless_1s_1f_u_16_16.dcm", "DOE^JANE^DEMO", "DOE, JANE DEMO"),
        ("variety/OBXXXX1A_rle.dcm", "OB^^^^", "OB"),
        ("variety/image_dfl.dcm", "^^^^", ""),
    ],
)
def test_names_of_real_files(dicom_dir, rel, stored, shown):
    meta = load_header(dicom_dir / rel)
    assert meta.patient.name == stored
    assert format_person_name(meta.patient.name) == shown
    lines = patient_lines(meta)
    as_written = format_person_name(stored, family_caps=False)
    assert (
        (f"Patient: {as_written}" in lines)
        if shown
        else not any(line.startswith("Patient:") for line in lines)
    )
