"""viewer.core.scope: the gate's rule table and its three states."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from viewer.core.scope import RULES, AiState, Severity, assess
from viewer.core.study import PatientInfo, StudyInfo, StudyMetadata

SC = "Secondary Capture Image Storage"


def meta(
    age=3.0,
    body="CHEST",
    modality="CR",
    view="AP",
    colour=False,
    rows=1024,
    cols=1024,
    fmt="DICOM",
    sop="Computed Radiography Image Storage",
    age_text="",
) -> StudyMetadata:
    return StudyMetadata(
        patient=PatientInfo(age_years=age, age=age_text),
        study=StudyInfo(body_part=body, modality=modality, view_position=view, sop_class=sop),
        source_format=fmt,
        transfer_syntax="",
        photometric="MONOCHROME2",
        bits_allocated=16,
        bits_stored=12,
        rows=rows,
        columns=cols,
        n_frames=1,
        was_colour=colour,
    )


def rules_of(a) -> list[str]:
    return [f.rule for f in a.findings]


def test_a_frontal_ap_chest_of_a_three_year_old_is_in_scope():
    for age in (1.0, 3.0, 5.9):  # "aged 5" until the sixth birthday
        a = assess(meta(age=age))
        assert a.state is AiState.IN_SCOPE and a.findings == () and "In scope" in a.headline


def test_a_plain_png_says_that_the_age_is_unknown():
    a = assess(meta(age=None, body="", modality="", view="", fmt="PNG", sop=""), (224, 224))
    assert a.state is AiState.CAUTION and rules_of(a) == ["age-unknown"]
    assert "age unknown" in a.reasons[0]


@pytest.mark.parametrize(
    ("kwargs", "rule", "words"),
    [
        ({"age": 45.0}, "adult", "Adult patient"),
        ({"body": "HAND"}, "body-part", "Not a chest study"),
        ({"body": "HIP"}, "body-part", "body part HIP"),
        ({"modality": "CT", "sop": "CT Image Storage"}, "modality", "not a radiograph"),
        ({"modality": "US"}, "modality", "Modality US"),
        ({"modality": "OT", "sop": SC, "body": ""}, "modality", "secondary capture"),
        ({"view": "LL"}, "lateral", "Lateral view"),
        ({"view": "LATERAL"}, "lateral", "Lateral view"),
        ({"colour": True}, "colour", "Colour image"),
        ({"rows": 128, "cols": 160}, "low-resolution", "Too small"),
    ],
)
def test_each_hard_rule_withholds_with_its_reason(kwargs, rule, words):
    a = assess(meta(**kwargs))
    assert a.state is AiState.WITHHELD and a.withheld
    assert rules_of(a)[0] == rule and words in a.reasons[0]
    assert set(rules_of(a)) <= {rule, "body-part-unknown"}
    assert a.headline.startswith("AI result withheld.") and words in a.headline


@pytest.mark.parametrize(
    ("kwargs", "rule", "words"),
    [
        ({"age": 8.0}, "age-outside", "older than the children"),
        ({"age": 0.5}, "age-outside", "younger than 1 year (6 months)"),
        ({"age": None}, "age-unknown", "age unknown"),
        ({"age": None, "age_text": "000Y"}, "age-unknown", "'000Y' is a placeholder"),
        ({"view": "PA"}, "pa-view", "PA view"),
        ({"body": ""}, "body-part-unknown", "does not record the body part"),
    ],
)
def test_each_caution_rule_keeps_the_score_with_its_reason(kwargs, rule, words):
    a = assess(meta(**kwargs))
    assert a.state is AiState.CAUTION and rules_of(a) == [rule] and words in a.reasons[0]


def test_secondary_captures_of_chest_radiographs_pass_the_modality_rule():
    assert assess(meta(modality="DX", sop=SC)).state is AiState.IN_SCOPE  # NIH ChestX-ray14 style
    assert assess(meta(modality="OT", sop=SC, body="CHEST")).state is AiState.IN_SCOPE


def test_the_image_score_withholds_whatever_the_tags_say():
    a = assess(meta(), ood_score=7.5, ood_threshold=2.0)
    assert a.state is AiState.WITHHELD and rules_of(a) == ["image-ood"]
    assert "does not look like the chest radiographs" in a.headline and "7.5" in a.reasons[0]
    assert assess(meta(), ood_score=1.9, ood_threshold=2.0).state is AiState.IN_SCOPE
    assert assess(meta(), ood_score=float("nan"), ood_threshold=2.0).withheld  # a broken score is no pass


def test_a_blank_image_is_withheld_and_a_real_one_is_not():
    flat = np.full((300, 300), 77, np.uint8)
    assert rules_of(assess(meta(), grey=flat)) == ["blank"]
    texture = np.random.default_rng(0).integers(0, 256, (300, 300), dtype=np.uint8)
    assert assess(meta(), grey=texture).state is AiState.IN_SCOPE


def test_hard_and_caution_findings_together_are_withheld_and_listed_hard_first():
    a = assess(meta(age=None, view="PA", body="HAND"))
    assert a.state is AiState.WITHHELD
    assert rules_of(a) == ["body-part", "age-unknown", "pa-view"]


def test_the_image_shape_overrides_the_header_size():
    m = replace(meta(), rows=2000, columns=2000)
    assert assess(m, (100, 100)).withheld and not assess(m).withheld


def test_every_rule_has_an_id_a_severity_and_a_unique_place_in_the_table():
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids)) and all(isinstance(r.severity, Severity) for r in RULES)
    hard = [i for i, r in enumerate(RULES) if r.severity is Severity.HARD]
    assert hard == list(range(len(hard)))  # hard rules first: their reason leads the headline
