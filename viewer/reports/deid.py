"""The header every exported DICOM object inherits: the source's patient and study, or a de-identified copy.

PS3.15 Annex E, Basic Application Level Confidentiality Profile, for the attributes an exported object
carries (highdicom copies the Patient and General Study modules of :func:`reference_header`'s result into
the SC and the SR):

- Patient's Name, Patient ID, Birth Date, Study Date/Time, Accession Number, Study ID, Referring
  Physician: Z (present, zero length);
- Study, Series and SOP Instance UIDs: U (replaced by a new UID, the same new UID for the same old one,
  so the SC, the SR and their references agree - :class:`UidMap`);
- everything else of the source (institution, descriptions, device, operators, other dates, private
  tags...): X (not copied - the header is built from nothing, not pruned from the source);
- Retain Patient Characteristics Option (113108): Patient's Sex and Age are kept, because the AI gate's
  reasons (e.g. "adult patient, 45 years") depend on them and an age under 90 alone identifies no one;
- Patient Identity Removed (0012,0062) YES, De-identification Method (0012,0063) and its code sequence
  (113100, 113108) recorded.

With "include patient data" the Patient and Study modules are copied from the source (without private
tags) and the UIDs are kept, so the new series lands in the source's study.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

BASIC_PROFILE = ("113100", "DCM", "Basic Application Confidentiality Profile")
RETAIN_PATIENT_CHARACTERISTICS = ("113108", "DCM", "Retain Patient Characteristics Option")
DEID_METHOD = "PS3.15 Basic Profile, Retain Patient Characteristics Option"
DEID_METHOD_IMAGE = "Image file source without patient data"

# what the reference header takes from the source besides the patient / study modules (not identifying)
_DESCRIPTIVE = (
    "SOPClassUID",
    "Modality",
    "BodyPartExamined",
    "ViewPosition",
    "Laterality",
    "ImageLaterality",
)
_IMAGE = ("Rows", "Columns", "PixelSpacing", "ImagerPixelSpacing", "PatientOrientation")
# patient / study attributes the PS3.15 basic profile replaces by a zero-length value (action Z)
ZEROED = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
)
RETAINED = ("PatientSex", "PatientAge")
# values that identify the patient or the study: what the tests look for in every exported byte
IDENTIFIERS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "OtherPatientIDs",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "InstitutionName",
    "ReferringPhysicianName",
)


class UidMap:
    """Old UID -> new UID, the same answer every time for one map (one GUI session, one CLI run).

    A keyed hash (HMAC-SHA256 with a random key that never leaves the process) turned into a UUID-derived
    ``2.25.`` UID (PS3.5 B.2): consistent within the map, not reversible, not linkable across sessions.
    """

    def __init__(self, key: bytes | None = None):
        self._key = key if key is not None else secrets.token_bytes(32)

    def __call__(self, uid: str) -> str:
        digest = hmac.new(self._key, str(uid).encode("ascii", "replace"), hashlib.sha256).digest()
        return f"2.25.{uuid.UUID(bytes=digest[:16], version=4).int}"

    def pseudonym(self, text: str, n: int = 10) -> str:
        """A short name for files (never the source's name, which may carry identifiers)."""
        return hmac.new(self._key, text.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:n]


def read_source_header(path: str | os.PathLike) -> Dataset | None:
    """The source file's header without pixels, or None for a PNG/JPEG/TIFF source."""
    path = Path(path)
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except (OSError, pydicom.errors.InvalidDicomError, ValueError, TypeError, EOFError):
        return None
    return ds if "SOPInstanceUID" in ds and "StudyInstanceUID" in ds else None


def _copy(src: Dataset, dst: Dataset, keywords) -> None:
    for kw in keywords:
        if kw in src:
            dst[kw] = src[kw]


def _set_deidentified(ds: Dataset, method: str) -> None:
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = method
    items = []
    for value, scheme, meaning in (BASIC_PROFILE, RETAIN_PATIENT_CHARACTERISTICS):
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
        items.append(item)
    ds.DeidentificationMethodCodeSequence = items


def reference_header(source: Dataset | None, include_patient: bool, uids: UidMap) -> Dataset:
    """A header-only dataset for highdicom's ``from_ref_dataset`` / SR evidence.

    ``source`` None (PNG/JPEG): a new study with an empty patient module. Returned attributes: the
    Patient and General Study modules (copied or de-identified), the source's Series / SOP Instance UIDs
    (kept or mapped), SOP Class, Modality, body part, view, laterality and image size.
    """
    ds = Dataset()
    if source is None:
        for kw in ZEROED:
            setattr(ds, kw, "")
        ds.PatientSex = ""
        ds.StudyInstanceUID = generate_uid()
        _set_deidentified(ds, DEID_METHOD_IMAGE)
        return ds
    if include_patient:
        # the source's Patient and General Study modules as they are (no private tags: highdicom copies
        # only the modules' standard attributes); UIDs kept so the new series joins the source's study
        for elem in source:
            if elem.tag.is_private or elem.tag.group in (0x0002, 0x7FE0):
                continue
            if elem.tag.group in (0x0010, 0x0012) or elem.keyword in (
                "StudyInstanceUID",
                "StudyDate",
                "StudyTime",
                "ReferringPhysicianName",
                "StudyID",
                "AccessionNumber",
                "StudyDescription",
                "SeriesInstanceUID",
                "SOPInstanceUID",
            ):
                ds.add(elem)
        for kw in ZEROED:
            if kw not in ds:
                setattr(ds, kw, "")
        if "SpecificCharacterSet" in source:
            ds.SpecificCharacterSet = source.SpecificCharacterSet
    else:
        for kw in ZEROED:
            setattr(ds, kw, "")
        _copy(source, ds, RETAINED)
        if "PatientSex" not in ds:
            ds.PatientSex = ""
        ds.StudyInstanceUID = uids(source.StudyInstanceUID)
        if "SeriesInstanceUID" in source:
            ds.SeriesInstanceUID = uids(source.SeriesInstanceUID)
        ds.SOPInstanceUID = uids(source.SOPInstanceUID)
        _set_deidentified(ds, DEID_METHOD)
    _copy(source, ds, _DESCRIPTIVE + _IMAGE)
    return ds


def identifier_values(source: Dataset, min_length: int = 4) -> list[str]:
    """The source's identifying values as text (non-empty, at least ``min_length`` characters)."""
    out = []
    for kw in IDENTIFIERS:
        value = source.get(kw)
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple, pydicom.multival.MultiValue)) else [value]
        for v in values:
            text = str(v).strip()
            if len(text) >= min_length:
                out.append(text)
    return out


__all__ = [
    "BASIC_PROFILE",
    "DEID_METHOD",
    "IDENTIFIERS",
    "RETAIN_PATIENT_CHARACTERISTICS",
    "UidMap",
    "identifier_values",
    "read_source_header",
    "reference_header",
]
