"""The AI gate: is this study inside what the model was trained on, and may its score be shown?

The model saw frontal anterior-posterior (AP) chest radiographs of children aged 1-5 from one hospital
(Kermany et al. 2018). Every rule below is one row of ``RULES``: an id, a severity and a check that returns
the reason in words a radiologist understands, or None. Severity:

- ``HARD``: the model's output means nothing here (not a radiograph, not a chest, lateral, colour, an adult,
  no image content, too small): the result is **withheld**;
- ``CAUTION``: the study may be in scope but something the model was not trained on is present or unknown
  (PA view, age outside 1-5 or unknown, body part not recorded): the score is shown with the reasons.

Besides the tags, the model itself scores the image (the ``ood`` output, a Mahalanobis distance to the
training features, see ``docs/MODEL_CARD.md``): above its threshold the image is unlike every training
image, and the result is withheld whatever the tags say. :func:`assess` joins both into an
:class:`Assessment` with one of three :class:`AiState` values; the AI panel, exports, reports and the CLI
all show that state and its reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np

from viewer.core.study import StudyMetadata

RADIOGRAPH_MODALITIES = frozenset({"CR", "DX", "DR", "XR", "RG"})
SECONDARY_CAPTURE_MODALITIES = frozenset({"OT", "SC", ""})  # what a capture of a radiograph may carry
CHEST_BODY_PARTS = frozenset({"CHEST", "THORAX", "LUNG", "LUNGS", "PEDIATRIC CHEST", "CHEST PA", "CHEST AP"})
LATERAL_VIEWS = frozenset({"LL", "RL", "LAT", "LATERAL", "LLD", "RLD", "LL/RL", "XTABLE LATERAL"})
TRAINED_AGE = (1.0, 5.0)  # "aged 1-5": from the first to (not including) the sixth birthday
_AGED = f"aged {TRAINED_AGE[0]:.0f}-{TRAINED_AGE[1]:.0f}"  # as the messages say it
ADULT_AGE = 18.0
MIN_SIDE = 224  # the model input; the Kermany test copies are exactly this size
BLANK_STD = 2.0  # grey levels (0-255) of the default rendering below which the image is empty


class AiState(Enum):
    IN_SCOPE = "in scope"
    CAUTION = "caution"
    WITHHELD = "withheld"

    @property
    def title(self) -> str:
        return {"in scope": "In scope", "caution": "Caution", "withheld": "Withheld"}[self.value]


class Severity(Enum):
    CAUTION = "caution"
    HARD = "hard"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    reason: str


@dataclass(frozen=True)
class StudyFacts:
    """What the rules look at: the metadata, the frame's size and its default rendering's contrast."""

    meta: StudyMetadata
    shape: tuple[int, int]
    grey_std: float | None = None  # std of the 8-bit default rendering, None when unknown


def _norm(value: str) -> str:
    return (value or "").strip().upper().replace("_", " ")


def _is_dicom(f: StudyFacts) -> bool:
    return f.meta.source_format.upper().startswith("DICOM")


def _modality(f: StudyFacts) -> str | None:
    mod = _norm(f.meta.study.modality)
    if not _is_dicom(f) or mod in RADIOGRAPH_MODALITIES:
        return None
    if "SECONDARY CAPTURE" in _norm(f.meta.study.sop_class) and mod in SECONDARY_CAPTURE_MODALITIES:
        return (
            None
            if _norm(f.meta.study.body_part) and _body_part(f) is None
            else (
                "A secondary capture that does not say it shows a chest radiograph (no chest body part): "
                "the model only knows chest X-rays."
            )
        )
    shown = f.meta.study.modality or "not recorded"
    return f"Modality {shown} is not a radiograph (CR/DX): the model only knows chest X-rays."


def _body_part(f: StudyFacts) -> str | None:
    body = _norm(f.meta.study.body_part)
    if not body or body in CHEST_BODY_PARTS or "CHEST" in body or "THORA" in body:
        return None
    return f"Not a chest study (body part {f.meta.study.body_part}): the model only knows chest radiographs."


def _body_part_unknown(f: StudyFacts) -> str | None:
    if _is_dicom(f) and not _norm(f.meta.study.body_part):
        return "The file does not record the body part: check that this is a chest radiograph."
    return None


def _view(f: StudyFacts) -> str | None:
    view = _norm(f.meta.study.view_position)
    if view and (view in LATERAL_VIEWS or "LAT" in view.split()):
        return f"Lateral view ({f.meta.study.view_position}): the model was trained on frontal AP views only."
    return None


def _pa_view(f: StudyFacts) -> str | None:
    if _norm(f.meta.study.view_position) == "PA":
        return (
            "PA view: the model was trained on AP films of young children; PA films look different "
            "(heart size, scapulae, exposure)."
        )
    return None


def _adult(f: StudyFacts) -> str | None:
    age = f.meta.patient.age_years
    if age is not None and age >= ADULT_AGE:
        return f"Adult patient (aged {age:.0f} years): the model was trained on children {_AGED} only."
    return None


def _age_outside(f: StudyFacts) -> str | None:
    age = f.meta.patient.age_years
    if age is None or age >= ADULT_AGE:
        return None
    if age >= TRAINED_AGE[1] + 1:
        return f"Patient aged {age:.0f} years: older than the children ({_AGED}) the model was trained on."
    if age < TRAINED_AGE[0]:
        return (
            f"Patient younger than 1 year ({age * 12:.0f} months): the model was trained on children {_AGED}."
        )
    return None


def _age_unknown(f: StudyFacts) -> str | None:
    if f.meta.patient.age_years is not None:
        return None
    placeholder = f" (PatientAge {f.meta.patient.age!r} is a placeholder)" if f.meta.patient.age else ""
    return (
        f"Patient age unknown{placeholder}: the model was trained on children {_AGED} only; "
        "check the age before reading the score."
    )


def _colour(f: StudyFacts) -> str | None:
    if f.meta.was_colour:
        return (
            "Colour image: the model was trained on grey radiographs; a colour picture is not an X-ray film."
        )
    return None


def _low_resolution(f: StudyFacts) -> str | None:
    rows, cols = f.shape
    if rows and cols and min(rows, cols) < MIN_SIDE:
        return f"Too small for the model ({cols} x {rows} px; its input is {MIN_SIDE} x {MIN_SIDE})."
    return None


def _blank(f: StudyFacts) -> str | None:
    if f.grey_std is not None and f.grey_std < BLANK_STD:
        return "The image is blank (almost uniform grey at its default window): there is nothing to score."
    return None


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    check: Callable[[StudyFacts], str | None]


# The one table. Order = the order reasons are shown (the hard ones first).
RULES: tuple[Rule, ...] = (
    Rule("blank", Severity.HARD, _blank),
    Rule("modality", Severity.HARD, _modality),
    Rule("body-part", Severity.HARD, _body_part),
    Rule("lateral", Severity.HARD, _view),
    Rule("colour", Severity.HARD, _colour),
    Rule("low-resolution", Severity.HARD, _low_resolution),
    Rule("adult", Severity.HARD, _adult),
    Rule("age-outside", Severity.CAUTION, _age_outside),
    Rule("age-unknown", Severity.CAUTION, _age_unknown),
    Rule("pa-view", Severity.CAUTION, _pa_view),
    Rule("body-part-unknown", Severity.CAUTION, _body_part_unknown),
)


def check_rules(facts: StudyFacts) -> list[Finding]:
    out = []
    for rule in RULES:
        reason = rule.check(facts)
        if reason:
            out.append(Finding(rule.id, rule.severity, reason))
    return out


@dataclass(frozen=True)
class Assessment:
    state: AiState
    findings: tuple[Finding, ...]
    ood_score: float | None = None
    ood_threshold: float | None = None

    @property
    def reasons(self) -> list[str]:
        return [f.reason for f in self.findings]

    @property
    def withheld(self) -> bool:
        return self.state is AiState.WITHHELD

    @property
    def headline(self) -> str:
        """One sentence: why the result is withheld, or what to be careful about."""
        if self.state is AiState.IN_SCOPE:
            return "In scope: a frontal chest radiograph like the training images."
        first = self.findings[0].reason if self.findings else ""
        if self.state is AiState.WITHHELD:
            return f"AI result withheld. {first}"
        return f"Caution. {first}"


OOD_REASON = (
    "The image does not look like the chest radiographs the model was trained on "
    "(out-of-distribution score {score:.2f}, limit {limit:.2f})."
)


def assess(
    meta: StudyMetadata,
    shape: tuple[int, int] | None = None,
    *,
    grey: np.ndarray | None = None,
    ood_score: float | None = None,
    ood_threshold: float | None = None,
) -> Assessment:
    """The gate's decision for one frame. ``grey``: its 8-bit default rendering (for the blank check);
    ``ood_score``/``ood_threshold``: the model's out-of-distribution output and limit, when it ran."""
    rows, cols = shape if shape is not None else (meta.rows, meta.columns)
    std = float(np.asarray(grey, np.float32).std()) if grey is not None and np.size(grey) else None
    findings = check_rules(StudyFacts(meta, (int(rows), int(cols)), std))
    if (
        ood_score is not None
        and ood_threshold is not None
        and not (np.isfinite(ood_score) and ood_score <= ood_threshold)
    ):
        findings.insert(
            0,
            Finding(
                "image-ood",
                Severity.HARD,
                OOD_REASON.format(score=float(ood_score), limit=float(ood_threshold)),
            ),
        )
    if any(f.severity is Severity.HARD for f in findings):
        state = AiState.WITHHELD
    elif findings:
        state = AiState.CAUTION
    else:
        state = AiState.IN_SCOPE
    return Assessment(state, tuple(findings), ood_score, ood_threshold)


__all__ = [
    "ADULT_AGE",
    "MIN_SIDE",
    "RULES",
    "TRAINED_AGE",
    "AiState",
    "Assessment",
    "Finding",
    "Rule",
    "Severity",
    "StudyFacts",
    "assess",
    "check_rules",
]
