"""Every real DICOM file in ../shared/data/dicom: loads with the right values, or fails with the right error.

The file lists come from each folder's FILES.csv (what pydicom 3.0.2 + pylibjpeg made of the file);
the references are pydicom's own ``pixel_array`` / ``apply_modality_lut`` / ``apply_voi_lut``.
"""

from __future__ import annotations

import csv
import warnings
from datetime import date

import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, pixel_array
from pydicom.uid import ImplicitVRLittleEndian
from shared_data import require_shared, shared_path

from viewer.core.display import default_window, render, render_default
from viewer.core.errors import (
    CorruptPixelDataError,
    NoImageInDicomError,
    NotAnImageError,
    StudyError,
    UnsupportedCompressionError,
)
from viewer.core.io import load_study
from viewer.core.io.dicom import decode as io_dicom_decode
from viewer.core.io.dicom.decoders import opencv_j2k
from viewer.core.study import SpacingSource, VoiLut, WindowPreset

pytestmark = pytest.mark.shared

IMAGE_FOLDERS = ("chest", "radiographs", "variety")
J2K = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"}
# The file's only window (C 2725 / W 5310) lies wholly below its pixel values (32744..65535): it
# would show a blank white image, so the loader falls back to the automatic window (with a notice).
WINDOW_OUTSIDE_DATA = {"rentgenprom_dx_JPEG2KLossless_1s_1f_u_16_16.dcm"}

BROKEN_EXPECTED = {
    "DICOMDIR": NoImageInDicomError,
    "ExplVR_BigEndNoMeta.dcm": NoImageInDicomError,  # RT Ion Plan without preamble/meta
    "ExplVR_LitEndNoMeta.dcm": NoImageInDicomError,
    "GH1146.dcm": CorruptPixelDataError,  # empty Pixel Data element
    "JPEG-lossy.dcm": CorruptPixelDataError,
    "JPEG2000-embedded-sequence-delimiter.dcm": CorruptPixelDataError,
    "MR_truncated.dcm": CorruptPixelDataError,
    "RG2_JPLY.dcm": CorruptPixelDataError,
    "badVR.dcm": CorruptPixelDataError,  # Number of Frames '1A'
    "canon_dx_chest_966_badj2k.dcm": CorruptPixelDataError,
    "crayons.icc": NotAnImageError,
    "emri_small_jpeg_2k_lossless_too_short.dcm": CorruptPixelDataError,  # image object, pixels cut off
    "fodicom_multiframe.dcm": CorruptPixelDataError,
    "genFile.dcm": CorruptPixelDataError,
    "liver_deflate.dcm": UnsupportedCompressionError,  # Deflated Image Frame Compression
    "liver_nonbyte_aligned_cropped.dcm": UnsupportedCompressionError,  # Encapsulated Uncompressed
    "liver_rle.dcm": UnsupportedCompressionError,  # 1-bit RLE: pydicom's RLE decoders refuse it
    "meta_missing_tsyntax.dcm": CorruptPixelDataError,  # pixel data but no Rows/Columns
    "monochrome_jpeg_xl.dcm": UnsupportedCompressionError,
    "monochrome_jpeg_xl_12bit.dcm": UnsupportedCompressionError,
    "no_meta.dcm": NotAnImageError,  # a stray first byte: pydicom reads junk
    "reportsi.dcm": NoImageInDicomError,
    "rtdose.dcm": NoImageInDicomError,  # dose grid, not a picture
    "rtplan.dcm": NoImageInDicomError,
    "rtplan_truncated.dcm": NoImageInDicomError,
    "rtstruct.dcm": NoImageInDicomError,
    "test-SR.dcm": NoImageInDicomError,
    "waveform_ecg.dcm": NoImageInDicomError,
    "zipMR.gz": NotAnImageError,
}
# A valid palette-colour image whose only defect is the missing preamble and file meta: exactly
# what the ACR-NEMA requirement asks us to open (like the CR chest in chest/), so it opens.
BROKEN_BUT_OPENS = {"OT-PAL-8-face.dcm"}
BROKEN_MESSAGE_WORDS = {
    "DICOMDIR": "DICOMDIR",
    "test-SR.dcm": "Structured Report",
    "reportsi.dcm": "Structured Report",
    "rtplan.dcm": "radiotherapy plan",
    "rtstruct.dcm": "RT Structure Set",
    "rtdose.dcm": "RT Dose",
    "waveform_ecg.dcm": "ECG",
    "monochrome_jpeg_xl.dcm": "JPEG XL",
    "liver_deflate.dcm": "Deflated Image Frame Compression",
    "badVR.dcm": "1A",
    "MR_truncated.dcm": "damaged",
    "zipMR.gz": "gzip",
}


def _rows(folder: str) -> list[dict]:
    path = shared_path() / "data" / "dicom" / folder / "FILES.csv"
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _params(folders) -> list:
    params = [
        pytest.param(folder, row, id=f"{folder}/{row['file']}") for folder in folders for row in _rows(folder)
    ]
    # Without the shared folder: one test that skips locally and fails under CI.
    return params or [pytest.param(None, None, id="shared-data-missing")]


def _path(folder, row):
    if folder is None:
        require_shared("data", "dicom")
    return require_shared("data", "dicom", folder, row["file"])


def _dataset(path) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, force=True)
    if "TransferSyntaxUID" not in ds.file_meta:
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    return ds


def _reference_stored(ds) -> np.ndarray:
    """pydicom + pylibjpeg (the FILES.csv configuration), frame 0."""
    kwargs = {"decoding_plugin": "pylibjpeg"} if ds.file_meta.TransferSyntaxUID.is_compressed else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arr = pixel_array(ds, **kwargs)
    return arr[0] if int(ds.get("NumberOfFrames", 1) or 1) > 1 else arr


def _valid_modality_lut(ds) -> bool:
    seq = ds.get("ModalityLUTSequence")
    return bool(seq) and seq[0].get("LUTDescriptor") is not None and seq[0].get("LUTData") is not None


def _reference_modality(ds) -> np.ndarray:
    stored = _reference_stored(ds)
    pi = ds.PhotometricInterpretation
    if pi == "PALETTE COLOR":
        stored = apply_color_lut(stored, ds)
    if stored.ndim == 3:
        return stored.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    if _valid_modality_lut(ds):
        return apply_modality_lut(stored, ds).astype(np.float64)
    if "ModalityLUTSequence" in ds:
        del ds.ModalityLUTSequence  # an empty item: ignored by the loader too
    for keyword in ("RescaleSlope", "RescaleIntercept"):
        if keyword in ds and ds[keyword].value in (None, ""):
            del ds[keyword]  # empty values: ignored by the loader too
    return np.asarray(apply_modality_lut(stored, ds), dtype=np.float64)


def _pair(text: str) -> tuple[float, float]:
    centers, widths = text.split("/")
    return float(centers.split("|")[0]), float(widths.split("|")[0])


def _expected_spacing(row) -> tuple[SpacingSource, float | None]:
    def parse(text):
        if not text:
            return None
        vals = [float(v) for v in text.split("|")]
        return vals if all(v > 0 for v in vals) else None

    ps, ips = parse(row["pixel_spacing"]), parse(row["imager_pixel_spacing"])
    if ps and ips:
        return (SpacingSource.DETECTOR if ps == ips else SpacingSource.CALIBRATED), ps[0]
    if ips:
        return SpacingSource.DETECTOR, ips[0]
    if ps:
        return SpacingSource.UNKNOWN, ps[0]
    return SpacingSource.NONE, None


@pytest.mark.parametrize(("folder", "row"), _params(IMAGE_FOLDERS))
def test_image_file_loads_with_values(folder, row):
    path = _path(folder, row)
    study = load_study(path)
    meta = study.meta
    rows, cols = (int(v) for v in row["rows_cols"].split("x"))
    assert (meta.rows, meta.columns, meta.n_frames) == (rows, cols, int(row["frames"]))
    assert study.n_frames == int(row["frames"])
    assert all(f.shape == (rows, cols) and f.dtype == np.float32 for f in study.frames)
    if row["pi"] in ("MONOCHROME1", "MONOCHROME2"):
        assert meta.photometric == row["pi"]
    assert meta.was_colour == (row["pi"] not in ("MONOCHROME1", "MONOCHROME2"))
    assert meta.inverted == (row["pi"] == "MONOCHROME1" or row["pres_lut"] == "INVERSE")

    # Pixels after the Modality LUT equal pydicom's (colour: BT.601 luma of pydicom's RGB).
    ds = _dataset(path)
    ref = _reference_modality(ds)
    scale = max(float(np.abs(ref).max()), 1e-12)
    np.testing.assert_allclose(study.frames[0], ref, rtol=2e-6, atol=1e-6 * scale)

    # Default window: the file's first pair, else its VOI LUT, else automatic.
    window = default_window(study)
    if row["window"] and row["file"] not in WINDOW_OUTSIDE_DATA:
        assert isinstance(window, WindowPreset)
        assert (window.center, window.width) == pytest.approx(_pair(row["window"]))
    elif row["voi_lut_seq"] == "Y" and meta.voi_luts:
        assert isinstance(window, VoiLut)
    else:
        assert window.name.startswith("Auto")

    image = render_default(study)
    assert image.dtype == np.uint8 and image.shape == (rows, cols)
    assert image.std() > 0

    source, spacing = _expected_spacing(row)
    assert meta.pixel_spacing.source is source
    assert meta.pixel_spacing.row_mm == (pytest.approx(spacing) if spacing else None)


def _windowed_params():
    def keep(row):
        grey = row["pi"] in ("MONOCHROME1", "MONOCHROME2")
        return row["window"] and grey and row["file"] not in WINDOW_OUTSIDE_DATA

    return [p for p in _params(IMAGE_FOLDERS) if p.values[1] is None or keep(p.values[1])]


@pytest.mark.parametrize(("folder", "row"), _windowed_params())
def test_default_render_matches_pydicom_voi(folder, row):
    """render() at the file's first window equals pydicom's apply_voi_lut, scaled to 0..255 and inverted."""
    path = _path(folder, row)
    study = load_study(path)
    ds = _dataset(path)
    modality = _reference_modality(ds)
    voi = apply_voi_lut(modality, ds, prefer_lut=False)
    bits = int(ds.BitsStored)
    if _valid_modality_lut(ds):
        y_min, y_max = 0.0, 2.0 ** ds.ModalityLUTSequence[0].LUTDescriptor[2] - 1
    elif int(ds.PixelRepresentation) == 0:
        y_min, y_max = 0.0, 2.0**bits - 1
    else:
        y_min, y_max = -(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        y_min, y_max = (y * float(ds.RescaleSlope) + float(ds.RescaleIntercept) for y in (y_min, y_max))
    expected = (voi - y_min) / (y_max - y_min) * 255.0
    if study.meta.inverted:
        expected = 255.0 - expected
    ours = render(study.frames[0], study.meta).astype(np.float64)
    diff = np.abs(ours - expected)
    assert diff.max() <= 1.0 and diff.mean() < 0.51


@pytest.mark.parametrize("name", ["canon", "fodicom", "nih", "siim", "wg04"])
def test_chest_lungs_dark_mediastinum_bright(name, dicom_dir):
    """Bones bright for MONOCHROME1 and MONOCHROME2 chests alike (lung fields darker than the mediastinum)."""
    (path,) = sorted((dicom_dir / "chest").glob(f"{name}*.dcm"))
    image = render_default(load_study(path)).astype(np.float64)
    h, w = image.shape

    def roi(c0, c1):
        return image[int(0.3 * h) : int(0.6 * h), int(c0 * w) : int(c1 * w)].mean()

    right_lung, left_lung, mediastinum = roi(0.2, 0.35), roi(0.65, 0.8), roi(0.45, 0.55)
    assert max(right_lung, left_lung) < mediastinum
    assert (right_lung + left_lung) / 2 < mediastinum - 30


def test_window_outside_data_falls_back_to_auto(dicom_dir):
    study = load_study(dicom_dir / "radiographs" / "rentgenprom_dx_JPEG2KLossless_1s_1f_u_16_16.dcm")
    assert default_window(study).name.startswith("Auto")
    assert any("blank image" in n for n in study.meta.notices)
    assert 40 < render_default(study).mean() < 215


@pytest.mark.parametrize(("folder", "row"), _params(["broken"]))
def test_broken_file_raises_named_error(folder, row):
    path = _path(folder, row)
    name = row["file"]
    if name in BROKEN_BUT_OPENS:
        study = load_study(path)
        assert study.meta.source_format == "DICOM (no file meta)"
        assert study.meta.was_colour and study.meta.photometric == "PALETTE COLOR"
        assert any("ACR-NEMA" in n for n in study.meta.notices)
        return
    expected = BROKEN_EXPECTED[name]
    with pytest.raises(StudyError) as info:
        load_study(path)
    assert type(info.value) is expected, str(info.value)
    message = str(info.value)
    assert message.startswith(path.name + ": ") and "Traceback" not in message
    if name in BROKEN_MESSAGE_WORDS:
        assert BROKEN_MESSAGE_WORDS[name] in message


def test_every_broken_file_is_covered(dicom_dir):
    names = {p.name for p in (dicom_dir / "broken").iterdir() if p.name != "FILES.csv"}
    assert names == set(BROKEN_EXPECTED) | BROKEN_BUT_OPENS


def _j2k_params():
    return [p for p in _params(IMAGE_FOLDERS) if p.values[1] is None or p.values[1]["ts_uid"] in J2K]


@pytest.mark.parametrize(("folder", "row"), _j2k_params())
def test_jpeg2000_decode_bit_exact_with_pydicom(folder, row):
    """The OpenCV (multi-threaded OpenJPEG) fast path gives exactly pylibjpeg-openjpeg's values."""
    path = _path(folder, row)
    ds = _dataset(path)
    study = load_study(path)
    geom = io_dicom_decode.Geometry(
        int(ds.Rows), int(ds.Columns), int(ds.get("NumberOfFrames", 1) or 1), int(ds.SamplesPerPixel),
        int(ds.BitsAllocated), int(ds.BitsStored), int(ds.PixelRepresentation), ds.PhotometricInterpretation,
    )  # fmt: skip
    ours = io_dicom_decode.decode_pixels(ds, geom, ds.file_meta.TransferSyntaxUID)
    ref = _reference_stored(ds)
    assert np.array_equal(ours[0], ref)
    assert ours.dtype == ref.dtype
    assert study.frames[0].shape == ref.shape[:2]


def test_jpeg2000_fast_path_is_used_for_the_canon_chest(dicom_dir):
    ds = _dataset(dicom_dir / "chest" / "canon_dx_chest_966_fixed.dcm")
    geom = io_dicom_decode.Geometry(2128, 2000, 1, 1, 16, 12, 0, "MONOCHROME1")
    fast = opencv_j2k.decode(ds, geom)
    assert fast is not None
    assert np.array_equal(fast[0], _reference_stored(ds))


def test_patient_and_study_fields(dicom_dir):
    meta = load_study(dicom_dir / "chest" / "wg04_RG1_UNCI.dcm").meta
    assert meta.patient.name == "CompressedSamples^RG1" and meta.patient.id == "9RG1"
    assert meta.patient.sex == "F" and meta.patient.birth_date == "1940-03-05"
    expected_age = (date(2004, 8, 26) - date(1940, 3, 5)).days / 365.25  # StudyDate - PatientBirthDate
    assert meta.patient.age_years == pytest.approx(expected_age, abs=0.006)
    assert (
        meta.study.modality == "CR" and meta.study.body_part == "CHEST" and meta.study.view_position == "PA"
    )
    assert meta.study.sop_class == "Computed Radiography Image Storage"
    assert meta.transfer_syntax == "Explicit VR Little Endian" and meta.source_format == "DICOM"
    assert any("(0010,0010)" == t and v == "CompressedSamples^RG1" for t, _, _, v in meta.raw_tags)
    assert not any(t == "(7FE0,0010)" for t, *_ in meta.raw_tags)

    siim = load_study(next((dicom_dir / "chest").glob("siim*.dcm"))).meta
    assert siim.patient.age == "62" and siim.patient.age_years == 62


def test_acr_nema_chest_opens_with_its_window(dicom_dir):
    study = load_study(dicom_dir / "chest" / "fodicom_CR-MONO1-10-chest.dcm")
    assert study.meta.source_format == "DICOM (no file meta)"
    assert study.meta.transfer_syntax == "Implicit VR Little Endian"
    assert default_window(study) == WindowPreset(550.0, 1024.0, "File window 1", "LINEAR")
    assert study.meta.inverted


def test_multivalued_window_names_and_presets(dicom_dir):
    meta = load_study(dicom_dir / "variety" / "examples_overlay.dcm").meta
    assert [(p.center, p.width, p.name) for p in meta.window_presets] == [
        (450.0, 790.0, "WINDOW1"),
        (200.0, 443.0, "WINDOW2"),
    ]


def test_modality_lut_sequence_known_pixels(dicom_dir):
    """mlut_18: signed stored values through a 4096-entry LUT starting at -2048."""
    path = dicom_dir / "variety" / "mlut_18.dcm"
    study = load_study(path)
    ds = _dataset(path)
    stored = _reference_stored(ds)
    lut = np.asarray(ds.ModalityLUTSequence[0].LUTData)
    for r, c in [(0, 0), (256, 256), (100, 400)]:
        assert study.frames[0][r, c] == lut[int(stored[r, c]) + 2048]
