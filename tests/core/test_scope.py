"""viewer.core.scope: when the AI result is flagged as outside the training population."""

from __future__ import annotations

from dataclasses import replace

import pytest

from viewer.core.scope import scope_warnings
from viewer.core.study import PatientInfo, StudyInfo, StudyMetadata


def meta(age=None, body="CHEST", modality="CR", view="AP", colour=False, rows=1024, cols=1024) -> StudyMetadata:
    return StudyMetadata(
        patient=PatientInfo(age_years=age),
        study=StudyInfo(body_part=body, modality=modality, view_position=view),
        source_format="DICOM", transfer_syntax="", photometric="MONOCHROME2", bits_allocated=16,
        bits_stored=12, rows=rows, columns=cols, n_frames=1, was_colour=colour,
    )


def test_a_frontal_chest_of_a_three_year_old_is_in_scope():
    assert scope_warnings(meta(age=3.0)) == []
    assert scope_warnings(meta(age=5.9)) == []  # "aged 5" until the sixth birthday
    assert scope_warnings(meta(body="", modality="", view="")) == []  # unknown facts raise nothing


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"age": 45.0}, "Adult patient"),
        ({"age": 8.0}, "older than the children"),
        ({"age": 0.5}, "younger than 1 year"),
        ({"body": "HAND"}, "Not a chest study"),
        ({"modality": "CT"}, "not a radiograph"),
        ({"view": "LL"}, "Lateral view"),
        ({"colour": True}, "Colour image"),
        ({"rows": 128, "cols": 160}, "Very low resolution"),
    ],
)
def test_each_out_of_scope_fact_gives_one_warning(kwargs, words):
    warnings = scope_warnings(meta(**kwargs))
    assert len(warnings) == 1 and words in warnings[0]


def test_the_image_shape_overrides_the_header_size():
    m = replace(meta(), rows=2000, columns=2000)
    assert scope_warnings(m, shape=(100, 100)) and not scope_warnings(m)
