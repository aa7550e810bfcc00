"""DICOM header -> :mod:`viewer.core.study` metadata (patient, study, windows, LUTs, spacing, tags).

Pure functions of a :class:`pydicom.Dataset`. Every reader here is defensive: real headers carry
invalid values (``PatientAge`` ``"62"``, zero-padded ``WindowCenter`` ``"00020"``, empty LUT items),
and a bad optional attribute must never stop an image from opening. Readers return ``None`` /
``""`` for what they cannot understand and report it through ``notices`` where the radiologist
should know (for example a pixel spacing of ``0\\0``).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import UID
from pydicom.valuerep import DA, DT, TM

from viewer.core.study import (
    PatientInfo,
    PixelSpacing,
    SpacingSource,
    StudyInfo,
    VoiLut,
    WindowPreset,
)

VOI_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")
RAW_TAG_VALUE_CHARS = 200
RAW_TAG_MAX_ROWS = 5000
_PIXEL_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009}


def text(ds: Dataset, keyword: str) -> str:
    """The element's value as one line of text, or "" when absent or unreadable."""
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001 - a bad optional attribute never stops the image (module docstring)
        return ""
    if value is None:
        return ""
    try:
        if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            return "\\".join(str(v) for v in value).strip()
        return str(value).strip()
    except Exception:  # noqa: BLE001 - a bad optional attribute never stops the image (module docstring)
        return ""


def number(value: object) -> float | None:
    """A finite float from a DS/IS/str value, else None."""
    try:
        result = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def numbers(ds: Dataset, keyword: str) -> list[float | None]:
    """Every value of a multi-valued numeric element (None for unreadable values)."""
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001 - a bad optional attribute never stops the image (module docstring)
        return []
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [number(v) for v in value]
    return [number(value)]


def strings(ds: Dataset, keyword: str) -> list[str]:
    try:
        value = ds.get(keyword)
    except Exception:  # noqa: BLE001 - a bad optional attribute never stops the image (module docstring)
        return []
    if value is None:
        return []
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [str(v).strip() for v in value]
    return [str(value).strip()]


# --- patient and study ----------------------------------------------------------------------------

_AS_RE = re.compile(r"^\s*(\d{1,3})\s*([DWMY]?)\s*$", re.IGNORECASE)
_AS_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0, "Y": 365.25}


def age_from_as(value: str) -> float | None:
    """PatientAge (VR AS, e.g. ``004Y``, ``018M``, ``010W``, ``005D``) in years.

    A bare number (``"62"``, seen in real exports) is read as years. A zero count (``000Y``, ``000M``,
    ``000D``) is what anonymisers and modalities write when they do not know the age: unknown (None), not
    "under one year".
    """
    match = _AS_RE.match(value or "")
    if not match:
        return None
    count, unit = int(match.group(1)), (match.group(2) or "Y").upper()
    if count == 0:
        return None
    return count * _AS_DAYS[unit] / 365.25


_LEGACY_TM_RE = re.compile(r"^(\d\d):(\d\d)(?::(\d\d))?(\.\d*)?$")
_FRACTION_RE = re.compile(r"^(\d{2,6})\.(\d+)$")


def parse_da(value: str) -> date | None:
    """DICOM DA (pydicom's :class:`~pydicom.valuerep.DA`): ``YYYYMMDD`` and the old ACR-NEMA ``YYYY.MM.DD``;
    also ``YYYY-MM-DD`` as written by non-conformant exports. Anything else (an anonymiser's hash, an
    impossible date) is None."""
    value = (value or "").strip()
    if re.fullmatch(r"\d{4}-\d\d-\d\d", value):
        value = value.replace("-", "")
    try:
        parsed = DA(value)
    except (ValueError, TypeError):
        return None
    return None if parsed is None else date(parsed.year, parsed.month, parsed.day)


def parse_tm(value: str) -> time | None:
    """DICOM TM (pydicom's :class:`~pydicom.valuerep.TM`): ``HH``, ``HHMM``, ``HHMMSS``, ``HHMMSS.FFFFFF``;
    also the ACR-NEMA form ``HH:MM:SS[.F...]`` (PS3.5 6.2.1, retired), which pydicom 3 refuses, and more
    than six fraction digits (truncated to microseconds). Anything else is None."""
    value = (value or "").strip()
    legacy = _LEGACY_TM_RE.match(value)
    if legacy:
        hh, mm, ss, frac = legacy.groups()
        value = hh + mm + (ss or "") + (frac if ss and frac else "")
    fraction = _FRACTION_RE.match(value)
    if fraction:
        digits = fraction.group(2)[:6]
        value = fraction.group(1) + ("." + digits if digits else "")
    value = value.rstrip(".")
    try:
        parsed = TM(value)
    except (ValueError, TypeError):
        return None
    if parsed is None:
        return None
    return time(parsed.hour, parsed.minute, parsed.second, parsed.microsecond)


def parse_dt(value: str) -> datetime | None:
    """DICOM DT (pydicom's :class:`~pydicom.valuerep.DT`, ``YYYYMMDDHHMMSS.FFFFFF&ZZXX``, shorter forms
    allowed), else None. The UTC offset is dropped: the overlays show the local time of the study."""
    value = (value or "").strip()
    try:
        parsed = DT(value)
    except (ValueError, TypeError):
        return None
    if parsed is None:
        return None
    return datetime(
        parsed.year, parsed.month, parsed.day, parsed.hour, parsed.minute, parsed.second, parsed.microsecond
    )


def iso_time(t: time) -> str:
    """``HH:MM:SS``, with ``.ffffff`` only when the time has a fraction."""
    return t.isoformat(timespec="microseconds" if t.microsecond else "seconds")


def age_from_dates(birth: str, on: str) -> float | None:
    born, seen = parse_da(birth), parse_da(on)
    if born is None or seen is None:
        return None
    years = (seen - born).days / 365.25
    return years if 0.0 <= years <= 150.0 else None


def patient_info(ds: Dataset) -> PatientInfo:
    age = text(ds, "PatientAge")
    birth = text(ds, "PatientBirthDate")
    years = age_from_as(age)
    if years is None:
        for keyword in ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate"):
            years = age_from_dates(birth, text(ds, keyword))
            if years is not None:
                break
    born = parse_da(birth)
    return PatientInfo(
        name=text(ds, "PatientName"),
        id=text(ds, "PatientID"),
        sex=text(ds, "PatientSex"),
        birth_date=born.isoformat() if born else "",
        age=age,
        age_years=None if years is None else round(years, 2),
    )


def sop_class_uid(ds: Dataset) -> str:
    uid = text(ds, "SOPClassUID")
    if not uid:
        meta = getattr(ds, "file_meta", None)
        if meta is not None:
            uid = text(meta, "MediaStorageSOPClassUID")
    return uid


def uid_name(uid: str) -> str:
    if not uid:
        return ""
    name = UID(uid).name
    return name if name else uid


def study_date_time(ds: Dataset) -> tuple[str, str]:
    """(ISO date, ISO time) of the study: Study, else Series, else Acquisition Date / Time, else the
    Acquisition DateTime (DT); each "" when no readable value is found (a time without a date is kept)."""
    day = next(
        (
            d
            for k in ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate")
            if (d := parse_da(text(ds, k)))
        ),
        None,
    )
    moment = next(
        (
            t
            for k in ("StudyTime", "SeriesTime", "AcquisitionTime", "ContentTime")
            if (t := parse_tm(text(ds, k)))
        ),
        None,
    )
    if day is None or moment is None:
        stamp = parse_dt(text(ds, "AcquisitionDateTime"))
        if stamp is not None:
            day = day or stamp.date()
            moment = moment or stamp.time()
    return (day.isoformat() if day else "", iso_time(moment) if moment else "")


def study_info(ds: Dataset) -> StudyInfo:
    day, moment = study_date_time(ds)
    return StudyInfo(
        date=day,
        time=moment,
        description=text(ds, "StudyDescription"),
        series_description=text(ds, "SeriesDescription"),
        modality=text(ds, "Modality"),
        body_part=text(ds, "BodyPartExamined"),
        view_position=text(ds, "ViewPosition"),
        laterality=text(ds, "ImageLaterality") or text(ds, "Laterality"),
        institution=text(ds, "InstitutionName"),
        sop_class=uid_name(sop_class_uid(ds)),
        accession=text(ds, "AccessionNumber"),
    )


# --- pixel spacing --------------------------------------------------------------------------------


def _spacing_pair(ds: Dataset, keyword: str) -> tuple[float, float] | None:
    values = numbers(ds, keyword)
    if len(values) < 2 or values[0] is None or values[1] is None:
        return None
    row, col = float(values[0]), float(values[1])
    return (row, col) if row > 0 and col > 0 else None


def pixel_spacing(ds: Dataset) -> tuple[PixelSpacing, list[str]]:
    """Spacing and its source (OHIF/Cornerstone convention, see :class:`SpacingSource`)."""
    notices: list[str] = []
    ps = _spacing_pair(ds, "PixelSpacing")
    ips = _spacing_pair(ds, "ImagerPixelSpacing")
    for keyword, pair in (("PixelSpacing", ps), ("ImagerPixelSpacing", ips)):
        if pair is None and keyword in ds:
            notices.append(f"{keyword} '{text(ds, keyword)}' is not a usable spacing and was ignored.")
    if ps is not None and ips is not None:
        same = all(math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6) for a, b in zip(ps, ips, strict=True))
        calibrated = not same or bool(text(ds, "PixelSpacingCalibrationType"))
        source = SpacingSource.CALIBRATED if calibrated else SpacingSource.DETECTOR
        result = PixelSpacing(ps[0], ps[1], source)
    elif ips is not None:
        result = PixelSpacing(ips[0], ips[1], SpacingSource.DETECTOR)
    elif ps is not None:
        result = PixelSpacing(ps[0], ps[1], SpacingSource.UNKNOWN)
    else:
        result = PixelSpacing(None, None, SpacingSource.NONE)
    if result.source is SpacingSource.NONE:
        notices.append("No usable pixel spacing: measurements are in pixels.")
    return result, notices


# --- VOI: windows and LUTs -----------------------------------------------------------------------


def voi_function(ds: Dataset) -> tuple[str, list[str]]:
    raw = text(ds, "VOILUTFunction").upper()
    if not raw:
        return "LINEAR", []
    if raw in VOI_FUNCTIONS:
        return raw, []
    return "LINEAR", [f"Unknown VOI LUT Function '{raw}': LINEAR used."]


def window_presets(ds: Dataset) -> tuple[tuple[WindowPreset, ...], list[str]]:
    """Window Center/Width pairs (first = default), named from WindowCenterWidthExplanation."""
    centers = numbers(ds, "WindowCenter")
    widths = numbers(ds, "WindowWidth")
    names = strings(ds, "WindowCenterWidthExplanation")
    function, notices = voi_function(ds)
    presets: list[WindowPreset] = []
    for i, (center, width) in enumerate(zip(centers, widths, strict=False)):
        minimum = 1.0 if function == "LINEAR" else 0.0
        if center is None or width is None or width < minimum or (width == 0.0):
            notices.append(f"Window {i + 1} (center {center}, width {width}) is invalid and was ignored.")
            continue
        name = names[i] if i < len(names) and names[i] else f"File window {i + 1}"
        presets.append(WindowPreset(center=center, width=width, name=name, function=function))
    if len(centers) != len(widths):
        notices.append("Window Center and Window Width have different numbers of values.")
    return tuple(presets), notices


def lut_data(item: Dataset, n_entries: int, little_endian: bool) -> np.ndarray | None:
    """LUT Data (US list or OW bytes) as a uint16/float array of exactly ``n_entries`` values."""
    elem = item.get("LUTData")
    if elem is None:
        return None
    value = item["LUTData"].value
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        data = np.frombuffer(bytes(value)[: 2 * n_entries], dtype="<u2" if little_endian else ">u2")
    else:
        data = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if data.size == 0:
        return None
    if data.size < n_entries:  # short LUT: hold the last value (seen in the wild)
        data = np.concatenate([data, np.full(n_entries - data.size, data[-1], dtype=data.dtype)])
    return np.ascontiguousarray(data[:n_entries], dtype=np.float32)


def lut_descriptor(item: Dataset, signed_input: bool) -> tuple[int, int, int] | None:
    desc = item.get("LUTDescriptor")
    if desc is None:
        return None
    try:
        values = [int(v) for v in desc]
    except (TypeError, ValueError):
        return None
    if len(values) != 3:
        return None
    n_entries, first, bits = values
    n_entries = n_entries or 65536
    if signed_input and first > 32767:  # US-encoded SS value (PS3.3 C.11.1.1.1)
        first -= 65536
    if not 1 <= bits <= 16:
        return None
    return n_entries, first, bits


def is_little_endian(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    ts = text(meta, "TransferSyntaxUID") if meta is not None else ""
    if ts:
        return ts != "1.2.840.10008.1.2.2"
    encoding = getattr(ds, "original_encoding", (None, True))
    return encoding[1] is not False


def voi_luts(ds: Dataset) -> tuple[tuple[VoiLut, ...], list[str]]:
    """VOI LUT Sequence items; invalid items (no descriptor or data) are skipped with a notice."""
    try:
        items = list(ds.get("VOILUTSequence") or [])
    except Exception:  # noqa: BLE001 - a bad optional attribute never stops the image (module docstring)
        return (), ["VOI LUT Sequence is unreadable and was ignored."]
    signed = int(number(ds.get("PixelRepresentation", 0)) or 0) == 1
    little = is_little_endian(ds)
    luts: list[VoiLut] = []
    notices: list[str] = []
    for i, item in enumerate(items):
        desc = lut_descriptor(item, signed)
        data = lut_data(item, desc[0], little) if desc else None
        if desc is None or data is None:
            notices.append(f"VOI LUT {i + 1} has no usable descriptor or data and was ignored.")
            continue
        name = text(item, "LUTExplanation") or f"File VOI LUT {i + 1}"
        luts.append(VoiLut(first_mapped=float(desc[1]), lut=data, bits=desc[2], name=name))
    return tuple(luts), notices


def modality_lut(ds: Dataset) -> tuple[tuple[int, np.ndarray] | None, list[str]]:
    """(first_mapped, lut) of the first valid Modality LUT Sequence item, or None."""
    try:
        items = list(ds.get("ModalityLUTSequence") or [])
    except Exception:  # noqa: BLE001 - a bad optional attribute never stops the image (module docstring)
        return None, ["Modality LUT Sequence is unreadable and was ignored."]
    if not items:
        return None, []
    signed = int(number(ds.get("PixelRepresentation", 0)) or 0) == 1
    desc = lut_descriptor(items[0], signed)
    data = lut_data(items[0], desc[0], is_little_endian(ds)) if desc else None
    if desc is None or data is None:
        return None, ["Modality LUT Sequence has no usable descriptor or data and was ignored."]
    return (desc[1], data), []


# --- raw tags for the tag browser -----------------------------------------------------------------


def _value_text(elem) -> str:
    try:
        if elem.VR == "SQ":
            return f"{len(elem.value)} item(s)"
        value = elem.value
        if isinstance(value, (bytes, bytearray)):
            return f"<{len(value)} bytes>"
        if value is None:
            return ""
        if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
            out = "\\".join(str(v) for v in value)
        else:
            out = str(value)
    except Exception as exc:  # noqa: BLE001 - undecodable value: show why instead of failing
        return f"<unreadable: {type(exc).__name__}>"
    out = out.replace("\r", " ").replace("\n", " ").replace("\x00", "")
    if len(out) > RAW_TAG_VALUE_CHARS:
        out = out[: RAW_TAG_VALUE_CHARS - 3] + "..."
    return out


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def raw_tags(ds: Dataset) -> tuple[tuple[str, str, str, str], ...]:
    """Flat (tag, keyword, VR, value) rows: file meta first, sequences indented, no pixel data."""
    rows: list[tuple[str, str, str, str]] = []

    def walk(dataset: Dataset, depth: int) -> None:
        try:
            tags = list(dataset.keys())
        except Exception:  # noqa: BLE001 - a bad optional attribute never stops the image (module docstring)
            return
        for element_tag in tags:
            if len(rows) >= RAW_TAG_MAX_ROWS:
                return
            tag = int(element_tag)
            if tag in _PIXEL_TAGS:
                continue
            try:
                elem = dataset[tag]
                keyword = elem.keyword or elem.name or "Unknown"
                indent = "  " * depth + ("> " if depth else "")
                rows.append((_tag_text(tag), indent + keyword, str(elem.VR), _value_text(elem)))
                if elem.VR == "SQ":
                    for n, item in enumerate(elem.value):
                        rows.append(("", "  " * (depth + 1) + f"Item {n + 1}", "", ""))
                        walk(item, depth + 2)
            except Exception as exc:  # noqa: BLE001 - a bad optional attribute never stops the image (module docstring)
                rows.append((_tag_text(tag), "  " * depth + "Unreadable", "", f"<{type(exc).__name__}>"))

    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        walk(meta, 0)
    walk(ds, 0)
    return tuple(rows)
