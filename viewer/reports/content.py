"""What a report says, as plain data: the AI result and its state, the model, the view, the measurements.

:class:`ReportContent` is built once per export (by the GUI's reports controller or by
``pneumoscope-cli report``) from an :class:`~viewer.core.model.result.AiResult`, the model's
:class:`~viewer.core.model.contract.ModelInfo`, the study and what the view shows, and every report
object reads it: the DICOM Secondary Capture (:mod:`.dicom_sc`), the Structured Report (:mod:`.dicom_sr`),
the PDF page and the printout (:mod:`.pdf`). So they cannot disagree about a number, the state, the model
version or how the image was oriented on screen.

Qt-free (an import-linter contract keeps it so): the CLI and the tests build it without a display.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pydicom.valuerep import PersonName

from viewer.config import RESEARCH_USE, app_title
from viewer.core.model.result import AiResult, format_probability, format_threshold
from viewer.core.study import PixelSpacing, SpacingSource, StudyMetadata

NO_RESULT = "no result"


def describe_view(quarter_turns: int = 0, mirrored: bool = False, inverted: bool = False) -> str:
    """How the view differs from the stored image, in the words an export footer uses.

    ``quarter_turns`` clockwise, then ``mirrored`` left-right (the order of
    :class:`viewer.gui.orientation.Orientation`); ``inverted``: the user inverted the grey scale (a
    MONOCHROME1 file shown bones-bright is *not* inverted: that is its correct display).
    """
    parts = []
    k = quarter_turns % 4
    if k:
        parts.append({1: "rotated 90° clockwise", 2: "rotated 180°", 3: "rotated 90° counter-clockwise"}[k])
    if mirrored:
        parts.append("mirrored left-right")
    if inverted:
        parts.append("grey scale inverted")
    if not parts:
        return "Displayed as stored (not rotated, not mirrored, not inverted)"
    return "Displayed " + ", ".join(parts)


_OPPOSITE = {"L": "R", "R": "L", "A": "P", "P": "A", "H": "F", "F": "H"}


def _reverse(direction: str) -> str:
    return "".join(_OPPOSITE.get(c, c) for c in direction)


def orient_patient_orientation(
    orientation: Sequence[str], quarter_turns: int = 0, mirrored: bool = False
) -> tuple[str, str] | None:
    """Patient Orientation (0020,0020) of the view: (row direction, column direction) after turning the
    image ``quarter_turns`` clockwise and mirroring it left-right. None when the source has none.

    PS3.3 C.7.6.1.1.1: the first value is the direction of increasing column index (left to right), the
    second of increasing row index (top to bottom). A clockwise quarter turn sends the old rows' direction,
    reversed, to the new left-to-right axis and the old left-to-right direction to the new top-to-bottom one.
    """
    values = [str(v).strip().upper() for v in orientation or ()]
    if len(values) != 2 or not all(values) or not all(c in _OPPOSITE for v in values for c in v):
        return None
    row, col = values
    for _ in range(quarter_turns % 4):
        row, col = _reverse(col), row
    if mirrored:
        row = _reverse(row)
    return row, col


@dataclass(frozen=True)
class LengthMeasurement:
    """A ruler drawn by the user, in the source image's pixel coordinates (x = column, y = row)."""

    start: tuple[float, float]
    end: tuple[float, float]
    mm: float | None  # None when the image has no usable pixel spacing
    px: float
    spacing_source: str  # SpacingSource value: "detector plane", "calibrated", "unknown", "none"

    @property
    def text(self) -> str:
        if self.mm is None:
            return f"{self.px:.0f} px (no calibration)"
        return f"{self.mm:.1f} mm (pixel spacing: {self.spacing_source})"


def measure(start: tuple[float, float], end: tuple[float, float], spacing: PixelSpacing) -> LengthMeasurement:
    dx, dy = end[0] - start[0], end[1] - start[1]
    px = math.hypot(dx, dy)
    mm = (
        math.hypot(dx * float(spacing.col_mm or 0), dy * float(spacing.row_mm or 0))
        if spacing.usable
        else None
    )
    source = spacing.source.value if spacing.usable else SpacingSource.NONE.value
    return LengthMeasurement(
        (float(start[0]), float(start[1])), (float(end[0]), float(end[1])), mm, px, source
    )


def lengths_from_rulers(
    rulers: Iterable[tuple[tuple[float, float], tuple[float, float]]], spacing: PixelSpacing
) -> tuple[LengthMeasurement, ...]:
    return tuple(measure(a, b, spacing) for a, b in rulers)


def window_text(window) -> str:
    """``WindowPreset`` -> "window C 40 / W 400", ``VoiLut`` -> "VOI LUT 'name'"."""
    if window is None:
        return ""
    if hasattr(window, "center"):
        return f"window C {window.center:g} / W {window.width:g}" + (
            f" ({window.name})" if window.name else ""
        )
    return "VOI LUT" + (f" '{window.name}'" if getattr(window, "name", "") else "")


def format_person_name(pn: str | PersonName | None, *, family_caps: bool = True) -> str:
    """A DICOM PN value as the corners, the exports and the reports show it.

    Read by pydicom's :class:`~pydicom.valuerep.PersonName` (PS3.5 6.2.1: up to three ``=`` groups -
    alphabetic, ideographic, phonetic - of five ``^`` components: family, given, middle, prefix, suffix):

    - the alphabetic group: ``Doe^Jane^Marie^Dr^PhD`` -> ``DOE, Dr Jane Marie, PhD`` (``Doe^Jane`` ->
      ``DOE, Jane``; ``Doe`` alone with a ``^`` -> ``DOE``); ``family_caps=False`` (the reports' "Patient"
      line) keeps the family name as written: ``Doe, Jane``;
    - when it is empty, the ideographic group, else the phonetic one, in the stored order without a comma
      or capitals: ``=山田^太郎`` -> ``山田 太郎``;
    - a value with neither ``^`` nor ``=`` (free text such as ``Anonymized``) as written; ``^^^^`` -> "";
    - several values (``\\``) one after the other, separated by " / ".
    """
    raw = str(pn or "").strip()
    if "\\" in raw:
        parts = (format_person_name(part, family_caps=family_caps) for part in raw.split("\\"))
        return " / ".join(v for v in parts if v)
    if "^" not in raw and "=" not in raw:
        return raw
    groups = PersonName(raw).components
    for i, group in enumerate(groups):
        g = PersonName(group)
        family, given, middle, prefix, suffix = (
            c.strip() for c in (g.family_name, g.given_name, g.middle_name, g.name_prefix, g.name_suffix)
        )
        if not any((family, given, middle, prefix, suffix)):
            continue
        if i > 0:  # ideographic or phonetic: as the name is written in that script
            return " ".join(c for c in (prefix, family, given, middle, suffix) if c)
        rest = " ".join(c for c in (prefix, given, middle) if c)
        shown = ", ".join(c for c in (family.upper() if family_caps else family, rest) if c)
        return f"{shown}, {suffix}" if suffix else shown
    return ""


def patient_lines(meta: StudyMetadata) -> tuple[str, ...]:
    """Identifying lines ("Label: value") for reports with "include patient data" ticked."""
    p, s = meta.patient, meta.study
    rows = (
        ("Patient", format_person_name(p.name, family_caps=False)),
        ("Patient ID", p.id),
        ("Birth date", p.birth_date),
        ("Sex / age", " / ".join(v for v in (p.sex, p.age) if v)),
        ("Study date", s.date),
        ("Accession", s.accession),
        ("Study", s.description),
        ("Institution", s.institution),
    )
    return tuple(f"{label}: {value}" for label, value in rows if value)


@dataclass(frozen=True)
class ReportContent:
    """Everything a report states. Patient fields are filled only when the user asked for them."""

    state: str  # AiState value ("in scope", "caution", "withheld") or NO_RESULT
    finding: str  # "Pneumonia suggested" / "Pneumonia not suggested" / "AI result withheld" / "No AI result"
    probability: float | None  # calibrated; None when withheld or no result
    threshold: float | None
    operating_point: str
    reasons: tuple[str, ...]
    ood_score: float | None
    ood_threshold: float | None
    model_name: str
    model_version: str
    model_integrity: str  # "sha256:<hex>"
    calibration: str
    view: str  # describe_view(...)
    heatmap_shown: bool
    window: str = ""  # e.g. "window C 2048 / W 4096"
    measurements: tuple[LengthMeasurement, ...] = ()
    frame: int = 0
    source_format: str = ""  # "DICOM", "PNG", ...
    include_patient: bool = False
    patient_lines: tuple[str, ...] = ()  # name, ID, birth date, study date ... only when include_patient
    created: _dt.datetime = field(default_factory=lambda: _dt.datetime.now().replace(microsecond=0))
    app: str = field(default_factory=app_title)
    research_use: str = RESEARCH_USE

    # -- lines the footer, the PDF and the SR texts share ---------------------------------------
    @property
    def has_result(self) -> bool:
        return self.state != NO_RESULT

    @property
    def withheld(self) -> bool:
        return self.state == "withheld"

    @property
    def model_line(self) -> str:
        if not self.model_name:
            return "No AI model"
        return (
            f"Model {self.model_name} {self.model_version} ({self.model_integrity[:19]}…), {self.calibration}"
        )

    @property
    def result_line(self) -> str:
        if not self.has_result:
            return self.finding
        if self.probability is None:
            return f"{self.finding} (state: {self.state})"
        return (
            f"{self.finding}: calibrated probability {format_probability(self.probability)}, "
            f"operating point {self.operating_point} (threshold {format_threshold(self.threshold or 0.0)}), "
            f"state: {self.state}"
        )

    def footer_lines(self) -> list[tuple[str, str]]:
        """(text, colour) lines of the burned-in footer (same colours as the PNG export's)."""
        lines = [(self.result_line, "#ffffff")]
        if self.reasons:
            lines.append(("Why: " + " ".join(self.reasons), "#f0a830"))
        lines.append((self.view + (", AI heatmap shown" if self.heatmap_shown else ""), "#b8bcc2"))
        for m in self.measurements:
            lines.append((f"Length {m.text}", "#b8bcc2"))
        lines.append((f"{self.model_line} · Exported {self.created:%Y-%m-%d %H:%M} · {self.app}", "#b8bcc2"))
        if self.include_patient and self.patient_lines:
            lines.append((" · ".join(self.patient_lines), "#b8bcc2"))
        lines.append((self.research_use, "#f0a830"))
        return lines


def build_content(
    result: AiResult | None,
    *,
    model_info=None,
    meta: StudyMetadata | None = None,
    quarter_turns: int = 0,
    mirrored: bool = False,
    inverted: bool = False,
    heatmap_shown: bool = False,
    window: str = "",
    measurements: Sequence[LengthMeasurement] = (),
    include_patient: bool = False,
    patient_lines: Sequence[str] = (),
    no_result_reason: str = "",
) -> ReportContent:
    """The content of a report. ``model_info``: the loaded model's ModelInfo (for the integrity hash)."""
    view = describe_view(quarter_turns, mirrored, inverted)
    integrity = getattr(model_info, "integrity", "") or ""
    source_format = meta.source_format if meta is not None else ""
    common = dict(
        view=view,
        heatmap_shown=heatmap_shown,
        window=window,
        measurements=tuple(measurements),
        source_format=source_format,
        include_patient=include_patient,
        patient_lines=tuple(patient_lines) if include_patient else (),
    )
    if result is None:
        return ReportContent(
            state=NO_RESULT,
            finding="No AI result" + (f" ({no_result_reason})" if no_result_reason else ""),
            probability=None,
            threshold=None,
            operating_point="",
            reasons=(),
            ood_score=None,
            ood_threshold=None,
            model_name=getattr(model_info, "name", "") or "",
            model_version=getattr(model_info, "version", "") or "",
            model_integrity=integrity,
            calibration=getattr(model_info, "calibration_label", "") or "",
            **common,  # type: ignore[arg-type]
        )
    p = result.prediction
    ood = float(p.ood_score) if math.isfinite(p.ood_score) else None
    ood_t = float(p.ood_threshold) if math.isfinite(p.ood_threshold) else None
    return ReportContent(
        state=result.state.value,
        finding=result.label_text,
        probability=result.probability,
        threshold=float(p.threshold),
        operating_point=p.operating_point,
        reasons=tuple(result.assessment.reasons),
        ood_score=ood,
        ood_threshold=ood_t,
        model_name=result.model_name,
        model_version=result.model_version,
        model_integrity=integrity,
        calibration=result.calibration,
        frame=result.frame,
        **common,  # type: ignore[arg-type]
    )


__all__ = [
    "NO_RESULT",
    "LengthMeasurement",
    "ReportContent",
    "build_content",
    "describe_view",
    "format_person_name",
    "lengths_from_rulers",
    "measure",
    "orient_patient_orientation",
    "patient_lines",
    "window_text",
]
