"""DICOM Structured Report of the AI result: a TID 1500 Measurement Report (highdicom ``MeasurementReport``
in a Comprehensive SR document).

Content tree (under the TID 1500 root "Imaging Measurement Report"):

- Observation context: the device observer is the model (UID derived from its integrity hash, name,
  version, manufacturer);
- Image library: the source image (if it is DICOM) and the SC;
- one measurement group (TID 1501) "Pneumoscope AI result" with finding type Pneumonia, the algorithm
  identification (model name, version; parameters: integrity hash, operating point, calibration), and
    - qualitative evaluation "AI finding": pneumonia suggested / not suggested / AI result withheld,
    - qualitative evaluation "AI gate state": in scope / caution / withheld,
    - qualitative evaluation "Operating point": its name,
    - measurements: calibrated probability (absent when withheld), the operating point's threshold, the
      out-of-distribution score and its threshold (unit "1"),
    - TEXT qualitative evaluations: each gate reason, the view description, the research-use statement;
- one measurement group per ruler: Length in mm (or in pixels without a usable spacing) with its two
  points as an SCOORD POLYLINE on the source image and the spacing source as text.

Codes of Pneumoscope's own concepts use the private coding scheme ``99PNSC`` (PS3.16 8.2: a "99" prefix
marks a local scheme). Qt-free.
"""

from __future__ import annotations

import uuid

import numpy as np
from highdicom import UID as HdUID
from highdicom.sr import (
    AlgorithmIdentification,
    CodedConcept,
    ComprehensiveSR,
    CoordinatesForMeasurement,
    DeviceObserverIdentifyingAttributes,
    GraphicTypeValues,
    Measurement,
    MeasurementReport,
    MeasurementsAndQualitativeEvaluations,
    ObservationContext,
    ObserverContext,
    QualitativeEvaluation,
    SourceImageForRegion,
    TextContentItem,
    TrackingIdentifier,
)
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from viewer.config import APP_NAME, ORGANISATION, RESEARCH_TAG
from viewer.reports.content import ReportContent
from viewer.reports.write import plain, set_character_set

SCHEME = "99PNSC"
SR_SERIES_NUMBER = 9702
SR_SERIES_DESCRIPTION = f"{APP_NAME} AI report ({RESEARCH_TAG})"


def _c(value: str, meaning: str, scheme: str = SCHEME) -> CodedConcept:
    return CodedConcept(value=value, scheme_designator=scheme, meaning=meaning)


PLAIN_CHEST_XRAY = _c("399208008", "Plain chest X-ray", "SCT")
PNEUMONIA = _c("233604007", "Pneumonia", "SCT")
QUALITATIVE_EVALUATIONS = _c("C0034375", "Qualitative Evaluations", "UMLS")
NO_UNITS = _c("1", "no units", "UCUM")
PIXELS = _c("{pixels}", "pixels", "UCUM")

AI_FINDING = _c("AIFIND", "AI finding")
GATE_STATE = _c("GATE", "AI gate state")
OPERATING_POINT = _c("OPPOINT", "Operating point")
PROBABILITY = _c("PROB", "Calibrated probability of pneumonia")
THRESHOLD = _c("THRESH", "Operating point threshold")
OOD_SCORE = _c("OOD", "Out-of-distribution score")
OOD_THRESHOLD = _c("OODTHRESH", "Out-of-distribution threshold")
FINDINGS = {
    "Pneumonia suggested": _c("SUGGESTED", "Pneumonia suggested"),
    "Pneumonia not suggested": _c("NOTSUGGESTED", "Pneumonia not suggested"),
    "AI result withheld": _c("WITHHELD", "AI result withheld"),
}
NO_RESULT_CODE = _c("NORESULT", "No AI result")
STATES = {
    "in scope": _c("INSCOPE", "In scope"),
    "caution": _c("CAUTION", "Caution"),
    "withheld": _c("WITHHELD", "Withheld"),
    "no result": NO_RESULT_CODE,
}


def device_uid(integrity: str) -> str:
    """A stable UID for the model as an observer device: UUID-derived from its integrity hash."""
    hex_digest = (integrity.partition(":")[2] or integrity or "0").ljust(32, "0")[:32]
    try:
        raw = bytes.fromhex(hex_digest)
    except ValueError:
        raw = uuid.uuid5(uuid.NAMESPACE_OID, integrity).bytes
    return f"2.25.{uuid.UUID(bytes=raw, version=4).int}"


def _text(value: str) -> TextContentItem:
    return TextContentItem(
        name=QUALITATIVE_EVALUATIONS, value=plain(value)[:10240], relationship_type="CONTAINS"
    )


def ai_group(content: ReportContent) -> MeasurementsAndQualitativeEvaluations:
    algorithm = AlgorithmIdentification(
        name=content.model_name or APP_NAME,
        version=content.model_version or "unknown",
        parameters=[
            f"integrity {content.model_integrity or 'unknown'}",
            f"operating point {content.operating_point or '-'}",
            f"calibration {content.calibration or '-'}",
        ],
    )
    evaluations = [
        QualitativeEvaluation(AI_FINDING, FINDINGS.get(content.finding, NO_RESULT_CODE)),
        QualitativeEvaluation(GATE_STATE, STATES[content.state]),
    ]
    if content.operating_point:
        evaluations.append(
            QualitativeEvaluation(
                OPERATING_POINT, _c(content.operating_point[:16].upper(), content.operating_point)
            )
        )
    measurements = []
    if content.probability is not None:
        measurements.append(Measurement(PROBABILITY, float(content.probability), NO_UNITS))
    if content.threshold is not None:
        measurements.append(Measurement(THRESHOLD, float(content.threshold), NO_UNITS))
    if content.ood_score is not None:
        measurements.append(Measurement(OOD_SCORE, float(content.ood_score), NO_UNITS))
    if content.ood_threshold is not None:
        measurements.append(Measurement(OOD_THRESHOLD, float(content.ood_threshold), NO_UNITS))
    group = MeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=HdUID(), identifier=f"{APP_NAME} AI result"),
        finding_type=PNEUMONIA,
        algorithm_id=algorithm,
        measurements=measurements or None,
        qualitative_evaluations=evaluations,
    )
    container = group[0]
    for reason in content.reasons:
        container.ContentSequence.append(_text(f"Gate reason: {reason}"))
    container.ContentSequence.append(_text(content.view))
    container.ContentSequence.append(_text(content.research_use))
    return group


def length_groups(
    content: ReportContent, source: Dataset | None
) -> list[MeasurementsAndQualitativeEvaluations]:
    groups = []
    for i, m in enumerate(content.measurements, start=1):
        coords = None
        if source is not None and "SOPInstanceUID" in source and "SOPClassUID" in source:
            frames = [content.frame + 1] if content.frame else None
            coords = [
                CoordinatesForMeasurement(
                    graphic_type=GraphicTypeValues.POLYLINE,
                    graphic_data=np.array([m.start, m.end], dtype=float),
                    source_image=SourceImageForRegion(source.SOPClassUID, source.SOPInstanceUID, frames),
                )
            ]
        value, unit = (m.mm, codes.UCUM.Millimeter) if m.mm is not None else (m.px, PIXELS)
        length = Measurement(
            name=codes.SCT.Length, value=round(float(value), 3), unit=unit, referenced_coordinates=coords
        )
        group = MeasurementsAndQualitativeEvaluations(
            tracking_identifier=TrackingIdentifier(uid=HdUID(), identifier=f"Length {i}"),
            measurements=[length],
        )
        group[0].ContentSequence.append(_text(f"Pixel spacing source: {m.spacing_source}"))
        groups.append(group)
    return groups


def _library_ready(ds: Dataset) -> bool:
    """highdicom's TID 1603 descriptors of a projection radiograph need its orientation and detector
    spacing; a source without them stays in the evidence and the measurement references only."""
    if ds.get("Modality") not in ("CR", "DX", "MG", "IO", "PX", "RG", "XA", "RF"):
        return "Rows" in ds and "Columns" in ds
    orientation = ds.get("PatientOrientation") or []
    return len(orientation) == 2 and "ImagerPixelSpacing" in ds and "Rows" in ds and "Columns" in ds


def build_sr(
    content: ReportContent,
    header: Dataset,
    sc: Dataset | None = None,
    *,
    series_uid: str | None = None,
    sop_uid: str | None = None,
) -> ComprehensiveSR:
    """The SR in ``header``'s study (:func:`~.deid.reference_header`), referencing the source and ``sc``."""
    source = header if "SOPInstanceUID" in header and "SOPClassUID" in header else None
    observer = ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=DeviceObserverIdentifyingAttributes(
            uid=device_uid(content.model_integrity),
            name=(content.model_name or APP_NAME)[:64],
            manufacturer_name=ORGANISATION,
            model_name=f"{content.model_name} {content.model_version}".strip()[:64] or APP_NAME,
        ),
    )
    library = [d for d in (source, sc) if d is not None and _library_ready(d)]
    report = MeasurementReport(
        observation_context=ObservationContext(observer_device_context=observer),
        procedure_reported=PLAIN_CHEST_XRAY,
        imaging_measurements=[ai_group(content), *length_groups(content, source)],
        referenced_images=library or None,
    )
    evidence = [header] if source is not None else []
    if sc is not None:
        evidence.append(sc)
    if not evidence:
        raise ValueError("an SR needs the source image or the SC as evidence")
    sr = ComprehensiveSR(
        evidence=evidence,
        content=report[0],
        series_instance_uid=series_uid or HdUID(),
        series_number=SR_SERIES_NUMBER,
        sop_instance_uid=sop_uid or HdUID(),
        instance_number=1,
        manufacturer=ORGANISATION,
        is_complete=True,
        is_final=False,  # a machine's output nobody has verified
        is_verified=False,
    )
    for kw in ("PatientIdentityRemoved", "DeidentificationMethod", "DeidentificationMethodCodeSequence"):
        if kw in header:
            sr[kw] = header[kw]
    if "PatientAge" in header and "PatientAge" not in sr:
        sr.PatientAge = header.PatientAge
    sr.SeriesDescription = SR_SERIES_DESCRIPTION[:64]
    sr.SoftwareVersions = content.app[:64]
    set_character_set(sr)
    return sr


__all__ = ["SCHEME", "SR_SERIES_DESCRIPTION", "SR_SERIES_NUMBER", "build_sr", "device_uid"]
