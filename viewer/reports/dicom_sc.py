"""DICOM Secondary Capture of the view as displayed (highdicom ``SCImage``), in a new series of the study.

The pixels are the export's RGB image (window, orientation, heatmap at its opacity, annotations and the
footer band, all burned in), so Burned In Annotation is YES and the SC says in words how the view
differs from the stored image (Derivation Description, Image Comments) and carries the Patient
Orientation of what it shows (:func:`~.content.orient_patient_orientation`), not the source's. The source
image is referenced (Source Image Sequence, with the purpose "source image for image processing
operation"). Qt-free.
"""

from __future__ import annotations

import numpy as np
from highdicom import UID as HdUID
from highdicom.sc import SCImage
from pydicom.dataset import Dataset

from viewer.config import APP_NAME, ORGANISATION, RESEARCH_TAG, RESEARCH_USE
from viewer.reports.content import ReportContent, orient_patient_orientation
from viewer.reports.write import plain, set_character_set

SC_SERIES_NUMBER = 9701
SC_SERIES_DESCRIPTION = f"{APP_NAME} AI capture ({RESEARCH_TAG})"
# CID 7202 "Source Image Purposes of Reference": source image for image processing operation
PURPOSE_SOURCE = ("121322", "DCM", "Source image for image processing operation")


def _code_item(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def build_sc(
    rgb: np.ndarray,
    header: Dataset,
    content: ReportContent,
    *,
    quarter_turns: int = 0,
    mirrored: bool = False,
    series_uid: str | None = None,
    sop_uid: str | None = None,
) -> SCImage:
    """The SC of ``rgb`` (H, W, 3 uint8) in ``header``'s study (:func:`~.deid.reference_header`)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"the capture must be an RGB image, got shape {rgb.shape}")
    # highdicom requires a patient orientation in the PATIENT coordinate system: the real one is set below
    sc = SCImage.from_ref_dataset(
        ref_dataset=header,
        pixel_array=rgb,
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        series_instance_uid=series_uid or HdUID(),
        series_number=SC_SERIES_NUMBER,
        sop_instance_uid=sop_uid or HdUID(),
        instance_number=1,
        manufacturer=ORGANISATION,
        patient_orientation=("L", "F"),
        transfer_syntax_uid="1.2.840.10008.1.2.1",  # explicit VR little endian: any PACS reads it
    )
    oriented = orient_patient_orientation(header.get("PatientOrientation") or (), quarter_turns, mirrored)
    sc["PatientOrientation"].value = list(oriented) if oriented else ""  # type 2: empty when unknown
    for kw in ("PatientIdentityRemoved", "DeidentificationMethod", "DeidentificationMethodCodeSequence"):
        if kw in header:
            sc[kw] = header[kw]
    if "PatientAge" in header and "PatientAge" not in sc:
        sc.PatientAge = header.PatientAge
    for kw in ("BodyPartExamined", "Laterality"):
        if kw in header and header[kw].value:
            sc[kw] = header[kw]
    sc.ConversionType = "WSD"  # workstation (PS3.3 C.8.6.1): a capture of the display, not of a film
    sc.BurnedInAnnotation = "YES"
    sc.RecognizableVisualFeatures = "NO"
    sc.SeriesDescription = SC_SERIES_DESCRIPTION[:64]
    sc.ImageType = ["DERIVED", "SECONDARY", "OTHER"]
    sc.SoftwareVersions = content.app[:64]
    sc.DerivationDescription = plain(
        f"{APP_NAME} display capture: {content.view}"
        f"{'; AI heatmap burned in' if content.heatmap_shown else ''}"
        f"{'; ' + content.window if content.window else ''}; annotations and AI footer burned in"
    )[:1024]
    sc.ImageComments = plain(f"{RESEARCH_USE} {content.result_line}. {content.view}. {content.model_line}.")[
        :10240
    ]
    if "SOPInstanceUID" in header and "SOPClassUID" in header:
        ref = Dataset()
        ref.ReferencedSOPClassUID = header.SOPClassUID
        ref.ReferencedSOPInstanceUID = header.SOPInstanceUID
        ref.PurposeOfReferenceCodeSequence = [_code_item(*PURPOSE_SOURCE)]
        if content.frame:
            ref.ReferencedFrameNumber = content.frame + 1
        sc.SourceImageSequence = [ref]
    set_character_set(sc)
    return sc


__all__ = ["SC_SERIES_DESCRIPTION", "SC_SERIES_NUMBER", "build_sc"]
