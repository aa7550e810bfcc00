"""DICOM file -> :class:`~viewer.core.study.Study`.

Steps, each with its own named error (see :mod:`viewer.core.errors`):

1. read with ``dcmread(force=True)``: files without preamble or file meta (ACR-NEMA style) are real;
   their transfer syntax is taken from the encoding pydicom detected. ``force=True`` "succeeds" on
   junk, so what comes back must look like DICOM and hold Rows, Columns and pixel data.
2. no pixel data -> name the object (Structured Report, RT Plan, ECG, DICOMDIR...) from its SOP Class.
3. validate the Image Pixel module and check the size against the limit BEFORE decoding.
4. check that the transfer syntax can be decoded (named, with the decoder it would need).
5. decode (:mod:`viewer.core.io.dicom.decode`), Modality LUT, colour -> grey; metadata
   (:mod:`viewer.core.io.dicom.meta`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from viewer.config import APP_NAME
from viewer.core.errors import (
    CorruptPixelDataError,
    NoImageInDicomError,
    NotAnImageError,
    UnsupportedCompressionError,
)
from viewer.core.io.common import DEFAULT_MAX_PIXELS, check_dimensions, short_detail, value_range
from viewer.core.io.dicom import decode as dd
from viewer.core.io.dicom import meta as dm
from viewer.core.io.panics import is_decoder_panic
from viewer.core.study import Study, StudyMetadata, VoiLut, WindowPreset

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
GREY = ("MONOCHROME1", "MONOCHROME2")
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
# SOP classes that carry pixel data but are not pictures a radiologist reads here.
NOT_VIEWABLE_SOP_CLASSES = {"1.2.840.10008.5.1.4.1.1.481.2": "a radiotherapy dose grid (RT Dose)"}

# (needle in the SOP Class name, or the Modality, -> description) for objects without pixels.
_NON_IMAGE = (
    ("SR Storage", "a Structured Report (text and measurements)"),
    ("Structured Report", "a Structured Report (text and measurements)"),
    ("RT Structure Set", "radiotherapy contours (RT Structure Set)"),
    ("Plan Storage", "a radiotherapy plan"),
    ("RT Dose", "a radiotherapy dose grid (RT Dose)"),
    ("Treatment Record", "a radiotherapy treatment record"),
    ("Waveform", "a waveform recording such as an ECG"),
    ("Presentation State", "a presentation state (display settings for other images)"),
    ("Key Object Selection", "a key object selection (a list of other images)"),
    ("Encapsulated PDF", "a PDF document stored as DICOM"),
    ("Encapsulated", "a document stored as DICOM"),
)
_NON_IMAGE_MODALITY = {
    "SR": "a Structured Report (text and measurements)",
    "RTPLAN": "a radiotherapy plan",
    "RTSTRUCT": "radiotherapy contours (RT Structure Set)",
    "RTDOSE": "a radiotherapy dose grid (RT Dose)",
    "ECG": "a waveform recording such as an ECG",
    "PR": "a presentation state (display settings for other images)",
    "KO": "a key object selection (a list of other images)",
    "DOC": "a document stored as DICOM",
}
_TS_NAMES = {
    "1.2.840.10008.1.2.4.110": "JPEG XL Lossless",
    "1.2.840.10008.1.2.4.111": "JPEG XL JPEG Recompression",
    "1.2.840.10008.1.2.4.112": "JPEG XL",
    "1.2.840.10008.1.2.8.1": "Deflated Image Frame Compression",
}


def transfer_syntax_name(uid: str) -> str:
    name = _TS_NAMES.get(uid) or UID(uid).name
    return name if name and name != uid else f"unknown transfer syntax {uid}"


def _unsupported_hint(uid: str, name: str) -> str:
    if "JPEG XL" in name:
        return "it needs a JPEG XL decoder, which this viewer (pydicom 3 with the pylibjpeg plugins) does not have"
    if any(word in name for word in ("MPEG", "HEVC", "H.264", "H.265")):
        return "it is a video; this viewer shows still images only"
    if "JPIP" in name:
        return "the pixels are on a remote JPIP server, not in the file"
    return "pydicom 3, the DICOM decoder used by this viewer, does not support it"


# --- reading --------------------------------------------------------------------------------------


def _looks_like_dicom(ds: Dataset) -> bool:
    if getattr(ds, "preamble", None) is not None:
        return True
    meta = getattr(ds, "file_meta", None)
    if meta is not None and len(meta):
        return True
    return any(k in ds for k in ("SOPClassUID", "Modality", "StudyInstanceUID", "Rows", "PatientID"))


def read_dataset(path: Path) -> tuple[Dataset, str, list[str]]:
    """(dataset with a usable TransferSyntaxUID, source format, notices)."""
    try:
        ds = dcmread(str(path), force=True)
    except MemoryError:
        raise  # load_study turns it into ImageTooLargeError
    except Exception as exc:  # noqa: BLE001 - the decoder boundary: every failure becomes a named StudyError
        with open(path, "rb") as f:
            head = f.read(132)
        if head[128:132] == b"DICM":
            raise CorruptPixelDataError(
                f"The DICOM file is damaged or truncated and cannot be read ({short_detail(exc)}).", path
            ) from None
        raise NotAnImageError("The file is neither DICOM nor a PNG, JPEG or TIFF image.", path) from None
    if not _looks_like_dicom(ds):
        raise NotAnImageError("The file is neither DICOM nor a PNG, JPEG or TIFF image.", path)
    meta = ds.file_meta
    notices: list[str] = []
    fmt = "DICOM"
    if not dm.text(meta, "TransferSyntaxUID"):
        implicit, little = getattr(ds, "original_encoding", (True, True))
        if little is False:
            meta.TransferSyntaxUID = ExplicitVRBigEndian
        else:
            meta.TransferSyntaxUID = (
                ImplicitVRLittleEndian if implicit is not False else ExplicitVRLittleEndian
            )
        fmt = "DICOM (no file meta)"
        notices.append(
            "No DICOM file meta information (old ACR-NEMA style): assumed uncompressed "
            f"{meta.TransferSyntaxUID.name}."
        )
    return ds, fmt, notices


def _describe_non_image(ds: Dataset) -> str:
    sop = dm.sop_class_uid(ds)
    name = dm.uid_name(sop)
    for needle, description in _NON_IMAGE:
        if needle in name:
            return f"{description}, SOP Class '{name}'"
    modality = dm.text(ds, "Modality").upper()
    if modality in _NON_IMAGE_MODALITY:
        return f"{_NON_IMAGE_MODALITY[modality]}, Modality {modality}"
    if name:
        return f"a DICOM object of SOP Class '{name}'"
    return "a DICOM object without image data"


def check_has_image(ds: Dataset, path: Path) -> None:
    if any(k in ds and ds[k].value not in (None, b"") for k in PIXEL_KEYWORDS):
        return
    sop = dm.sop_class_uid(ds)
    if sop == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in ds:
        raise NoImageInDicomError(
            "This is a DICOMDIR, the index of a DICOM CD/DVD or folder, not an image. "
            "Open the image files it lists instead.",
            path,
        )
    if "Image Storage" in dm.uid_name(sop) or "Rows" in ds:
        raise CorruptPixelDataError(
            "The file is an image object but its pixel data is missing: the file is probably truncated.",
            path,
        )
    raise NoImageInDicomError(f"This DICOM file is {_describe_non_image(ds)}; it contains no image.", path)


# --- validation -----------------------------------------------------------------------------------


def _int_attr(ds: Dataset, keyword: str, label: str, path: Path, default: int | None = None) -> int:
    if keyword not in ds or ds[keyword].value in (None, ""):
        if default is None:
            raise CorruptPixelDataError(
                f"The image header has no {label}: the file is incomplete or damaged.", path
            )
        return default
    raw = dm.text(ds, keyword)
    value = dm.number(raw)
    if value is None or value != int(value):
        raise CorruptPixelDataError(f"The image header's {label} '{raw}' is not a whole number.", path)
    return int(value)


def image_geometry(ds: Dataset, path: Path) -> tuple[dd.Geometry, list[str]]:
    notices: list[str] = []
    float_data = "PixelData" not in ds
    rows = _int_attr(ds, "Rows", "Rows (image height)", path)
    columns = _int_attr(ds, "Columns", "Columns (image width)", path)
    frames = _int_attr(ds, "NumberOfFrames", "Number of Frames", path, default=1)
    samples = _int_attr(ds, "SamplesPerPixel", "Samples per Pixel", path, default=1)
    default_bits = 64 if "DoubleFloatPixelData" in ds else 32 if float_data else None
    bits_allocated = _int_attr(ds, "BitsAllocated", "Bits Allocated", path, default=default_bits)
    bits_stored = _int_attr(ds, "BitsStored", "Bits Stored", path, default=bits_allocated)
    pixel_rep = _int_attr(ds, "PixelRepresentation", "Pixel Representation", path, default=0)
    photometric = dm.text(ds, "PhotometricInterpretation").upper()
    problems = []
    if rows < 1 or columns < 1 or frames < 1:
        problems.append(f"size {columns} x {rows} x {frames} frames")
    if samples not in (1, 3):
        problems.append(f"Samples per Pixel {samples}")
    if bits_allocated not in (1, 8, 16, 32, 64):
        problems.append(f"Bits Allocated {bits_allocated}")
    if not 1 <= bits_stored <= bits_allocated:
        problems.append(f"Bits Stored {bits_stored} with Bits Allocated {bits_allocated}")
    if pixel_rep not in (0, 1):
        problems.append(f"Pixel Representation {pixel_rep}")
    if problems:
        raise CorruptPixelDataError(
            "The image header is inconsistent (" + "; ".join(problems) + "): the file is damaged.", path
        )
    if samples == 1 and photometric not in GREY + ("PALETTE COLOR",):
        notices.append(f"Photometric Interpretation '{photometric or 'missing'}' read as MONOCHROME2.")
        photometric = "MONOCHROME2"
    geom = dd.Geometry(
        rows, columns, frames, samples, bits_allocated, bits_stored, pixel_rep, photometric, float_data
    )
    return geom, notices


def check_decodable(ds: Dataset, geom: dd.Geometry, path: Path) -> str:
    uid = dm.text(ds.file_meta, "TransferSyntaxUID")
    name = transfer_syntax_name(uid)
    try:
        decoder = get_decoder(UID(uid))
    except Exception:  # noqa: BLE001 - the decoder boundary: every failure becomes a named StudyError
        raise UnsupportedCompressionError(
            f"The image is compressed with {name} ({uid}), which this viewer cannot decode: "
            f"{_unsupported_hint(uid, name)}. Ask for the image to be exported uncompressed or as JPEG 2000.",
            path,
        ) from None
    if not decoder.is_available:
        missing = "; ".join(decoder.missing_dependencies) or "a decoder plugin"
        raise UnsupportedCompressionError(
            f"The image is compressed with {name}, but its decoder is not installed ({missing}). "
            f"Reinstall {APP_NAME}.",
            path,
        )
    if decoder.is_encapsulated and geom.bits_allocated == 1:
        raise UnsupportedCompressionError(
            f"1-bit (bit-packed) pixel data compressed with {name} is not supported by pydicom 3, "
            "the DICOM decoder used by this viewer.",
            path,
        )
    return uid


# --- the whole file -------------------------------------------------------------------------------


def load_dicom(path: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Study:
    ds, fmt, notices = read_dataset(path)
    check_has_image(ds, path)
    geom, more = image_geometry(ds, path)
    notices += more
    check_dimensions(path, geom.rows, geom.columns, geom.frames, geom.samples, max_pixels=max_pixels)
    sop = dm.sop_class_uid(ds)
    if sop in NOT_VIEWABLE_SOP_CLASSES:
        raise NoImageInDicomError(
            f"This DICOM file is {NOT_VIEWABLE_SOP_CLASSES[sop]}, not an image this viewer can show.", path
        )
    tsuid = check_decodable(ds, geom, path)
    try:
        stored = dd.decode_pixels(ds, geom, tsuid)
        grey, was_colour, more = dd.to_grey_frames(stored, ds, geom)
    except (MemoryError, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - BaseException: Rust decoders raise pyo3's PanicException
        what = "its decoder failed" if is_decoder_panic(exc) else "cannot be decoded"
        raise CorruptPixelDataError(
            f"The image data is damaged or incomplete and {what} "
            f"({transfer_syntax_name(tsuid)}: {short_detail(exc)}).",
            path,
        ) from None
    del stored
    notices += more
    if not grey.flags.writeable or not grey.flags.c_contiguous:
        grey = np.array(grey, dtype=np.float32, order="C")
    values = value_range(grey, notices)
    grey.setflags(write=False)
    frames = tuple(grey[i] for i in range(grey.shape[0]))
    meta = build_metadata(ds, geom, fmt, tsuid, was_colour, notices, values)
    return Study(path=str(path), frames=frames, meta=meta)


def read_header(path: Path) -> StudyMetadata:
    """The metadata of a DICOM image without decoding its pixel data.

    For describing a file whose pixels cannot be decoded (``pneumoscope-cli info`` on a truncated file):
    the same reading and validation as :func:`load_dicom` up to the pixel data, which is never touched.
    A colour image's windows are not read (they are only used after the conversion to grey).
    """
    ds, fmt, notices = read_dataset(path)
    check_has_image(ds, path)
    geom, more = image_geometry(ds, path)
    tsuid = dm.text(ds.file_meta, "TransferSyntaxUID")
    was_colour = geom.samples > 1 or geom.photometric == "PALETTE COLOR"
    return build_metadata(ds, geom, fmt, tsuid, was_colour, notices + more)


def _usable_windows(
    presets: tuple[WindowPreset, ...], values: tuple[float, float] | None
) -> tuple[tuple[WindowPreset, ...], list[str]]:
    """Drop windows lying wholly outside the pixel values: they would show a blank image."""
    if values is None:
        return presets, []
    lo, hi = values
    kept, notices = [], []
    for p in presets:
        if p.center + p.width / 2 < lo or p.center - p.width / 2 > hi:
            notices.append(
                f"The file's window '{p.name}' (center {p.center:g}, width {p.width:g}) lies outside the "
                f"image values ({lo:g} to {hi:g}) and would show a blank image: it is not used."
            )
        else:
            kept.append(p)
    return tuple(kept), notices


def build_metadata(
    ds: Dataset,
    geom: dd.Geometry,
    fmt: str,
    tsuid: str,
    was_colour: bool,
    notices: list[str],
    values: tuple[float, float] | None = None,
) -> StudyMetadata:
    notices = list(notices)
    presets: tuple[WindowPreset, ...] = ()
    luts: tuple[VoiLut, ...] = ()
    if not was_colour and geom.photometric in GREY:
        presets, more = dm.window_presets(ds)
        notices += more
        presets, more = _usable_windows(presets, values)
        notices += more
        luts, more = dm.voi_luts(ds)
        notices += more
    spacing, more = dm.pixel_spacing(ds)
    notices += more
    shape = dm.text(ds, "PresentationLUTShape").upper()
    if "PresentationLUTSequence" in ds:
        notices.append("The file's Presentation LUT Sequence is not applied (linear display).")
    if geom.frames > 1:
        notices.append(f"Multi-frame image: {geom.frames} frames.")
    return StudyMetadata(
        patient=dm.patient_info(ds),
        study=dm.study_info(ds),
        source_format=fmt,
        transfer_syntax=transfer_syntax_name(tsuid),
        photometric=geom.photometric,
        bits_allocated=geom.bits_allocated,
        bits_stored=geom.bits_stored,
        rows=geom.rows,
        columns=geom.columns,
        n_frames=geom.frames,
        presentation_lut_shape=shape if shape in ("IDENTITY", "INVERSE") else "",
        window_presets=presets,
        voi_luts=luts,
        pixel_spacing=spacing,
        was_colour=was_colour,
        notices=tuple(dict.fromkeys(notices)),
        raw_tags=dm.raw_tags(ds),
    )
