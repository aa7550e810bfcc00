"""Exact cases built in fixtures: synthetic DICOMs (pydicom) and rasters (OpenCV), no shared data needed
except the Kermany check at the end."""

from __future__ import annotations

import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from pydicom.sequence import Sequence
from pydicom.uid import ComputedRadiographyImageStorage, ExplicitVRLittleEndian, generate_uid

from viewer.core import io as core_io
from viewer.core.display import FULL_RANGE_8BIT, default_window, presets, render, render_default
from viewer.core.errors import (
    CorruptPixelDataError,
    ImageTooLargeError,
    NoImageInDicomError,
    NotAnImageError,
    StudyError,
    UnsupportedCompressionError,
)
from viewer.core.io import is_probably_study, load_study
from viewer.core.io.dicom import decode as io_dicom_decode
from viewer.core.io.dicom.meta import age_from_as, age_from_dates
from viewer.core.io.dicom.read import transfer_syntax_name
from viewer.core.study import SpacingSource, VoiLut, WindowPreset

RNG = np.random.default_rng(1234)


def make_dataset(
    arr: np.ndarray, photometric: str = "MONOCHROME2", bits_stored: int | None = None, **attrs
) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = ComputedRadiographyImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "CR"
    ds.PatientName = "Test^Patient"
    ds.PatientID = "P1"
    ds.set_pixel_data(arr, photometric, bits_stored or arr.dtype.itemsize * 8)
    for keyword, value in attrs.items():
        setattr(ds, keyword, value)
    return ds


def write_dicom(path: Path, ds: Dataset, *, file_meta: bool = True) -> Path:
    if file_meta:
        ds.save_as(path, enforce_file_format=True)
    else:
        bare = Dataset()
        bare.update(ds)
        pydicom.dcmwrite(path, bare, implicit_vr=True, little_endian=True)
    return path


def ramp(rows=64, cols=80, lo=0, hi=4095, dtype=np.uint16) -> np.ndarray:
    return np.linspace(lo, hi, rows * cols).reshape(rows, cols).round().astype(dtype)


def pydicom_window_u8(arr: np.ndarray, ds: Dataset) -> np.ndarray:
    """pydicom's apply_voi_lut result scaled from its output range to 0..255 (the reference)."""
    out = apply_voi_lut(apply_modality_lut(arr, ds), ds, prefer_lut=False).astype(np.float64)
    bits = int(ds.BitsStored)
    y_min, y_max = (
        (0.0, 2.0**bits - 1) if ds.PixelRepresentation == 0 else (-(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1)
    )
    if "RescaleSlope" in ds:
        y_min, y_max = (y * float(ds.RescaleSlope) + float(ds.RescaleIntercept) for y in (y_min, y_max))
    return (out - y_min) / (y_max - y_min) * 255.0


# --- Modality LUT ---------------------------------------------------------------------------------


def test_negative_rescale_slope(tmp_path):
    arr = ramp()
    ds = make_dataset(arr, bits_stored=12, RescaleSlope=-2, RescaleIntercept=100)
    study = load_study(write_dicom(tmp_path / "neg.dcm", ds))
    expected = arr.astype(np.float64) * -2 + 100
    np.testing.assert_array_equal(study.frames[0], expected)
    np.testing.assert_array_equal(study.frames[0], apply_modality_lut(arr, ds))
    assert study.frames[0][0, 0] == 100 and study.frames[0][-1, -1] == 4095 * -2 + 100


def test_modality_lut_sequence_signed_input(tmp_path):
    arr = ramp(lo=-2048, hi=2047, dtype=np.int16)
    lut = (np.arange(4096) * 3 + 7).astype(np.uint16)
    item = Dataset()
    item.add_new("LUTDescriptor", "SS", [4096, -2048, 16])
    item.add_new("LUTData", "US", lut.tolist())
    item.ModalityLUTType = "US"
    ds = make_dataset(arr, bits_stored=12, ModalityLUTSequence=Sequence([item]))
    study = load_study(write_dicom(tmp_path / "mlut.dcm", ds))
    np.testing.assert_array_equal(study.frames[0], lut[arr.astype(np.int64) + 2048])
    np.testing.assert_array_equal(study.frames[0], apply_modality_lut(arr, ds))


# --- VOI ------------------------------------------------------------------------------------------


def test_multivalued_window_first_is_default_rest_are_presets(tmp_path):
    ds = make_dataset(
        ramp(),
        bits_stored=12,
        WindowCenter=[1000, 3000],
        WindowWidth=[500, 2000],
        WindowCenterWidthExplanation=["SOFT", "BONE"],
    )
    study = load_study(write_dicom(tmp_path / "multi.dcm", ds))
    assert default_window(study) == WindowPreset(1000.0, 500.0, "SOFT", "LINEAR")
    assert study.meta.window_presets[1] == WindowPreset(3000.0, 2000.0, "BONE", "LINEAR")
    offered = presets(study)
    assert offered[:2] == study.meta.window_presets
    assert any(p.name.startswith("Auto") for p in offered)


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
def test_voi_functions_match_pydicom(tmp_path, function, photometric):
    arr = ramp()
    ds = make_dataset(arr, photometric, 12, WindowCenter=1500, WindowWidth=1200, VOILUTFunction=function)
    study = load_study(write_dicom(tmp_path / f"{function}.dcm", ds))
    assert default_window(study).function == function
    expected = pydicom_window_u8(arr, ds)
    if photometric == "MONOCHROME1":
        expected = 255.0 - expected
    ours = render(study.frames[0], study.meta).astype(np.float64)
    assert np.abs(ours - expected).max() <= 0.51  # rounding only


def test_voi_lut_sequence(tmp_path):
    arr = ramp(hi=1023)
    lut = (np.sqrt(np.arange(800) / 799.0) * 65535).round().astype(np.uint16)  # gamma-like curve
    item = Dataset()
    item.add_new("LUTDescriptor", "US", [800, 100, 16])
    item.add_new("LUTData", "US", lut.tolist())
    item.LUTExplanation = "GAMMA"
    ds = make_dataset(arr, bits_stored=10, VOILUTSequence=Sequence([item]))
    study = load_study(write_dicom(tmp_path / "voilut.dcm", ds))
    window = default_window(study)
    assert isinstance(window, VoiLut) and window.name == "GAMMA" and window.first_mapped == 100
    expected = apply_voi_lut(arr, ds).astype(np.float64) / 65535 * 255
    ours = render(study.frames[0], study.meta).astype(np.float64)
    assert np.abs(ours - expected).max() <= 0.51
    assert ours[0, 0] == 0 and ours[-1, -1] == 255  # below first_mapped / beyond the last entry


def test_monochrome1_is_the_inverse_of_monochrome2(tmp_path):
    arr = ramp()
    s2 = load_study(write_dicom(tmp_path / "m2.dcm", make_dataset(arr, "MONOCHROME2", 12)))
    s1 = load_study(write_dicom(tmp_path / "m1.dcm", make_dataset(arr, "MONOCHROME1", 12)))
    assert s1.meta.inverted and not s2.meta.inverted
    window = WindowPreset(2000, 3000)
    np.testing.assert_array_equal(
        render(s1.frames[0], s1.meta, window), 255 - render(s2.frames[0], s2.meta, window)
    )


@pytest.mark.parametrize(
    ("photometric", "shape", "inverted"),
    [("MONOCHROME2", "INVERSE", True), ("MONOCHROME1", "INVERSE", True), ("MONOCHROME2", "IDENTITY", False)],
)
def test_presentation_lut_shape(tmp_path, photometric, shape, inverted):
    """INVERSE inverts MONOCHROME2; on MONOCHROME1 it restates (does not cancel) the inversion (DX IOD)."""
    arr = ramp()
    ds = make_dataset(arr, photometric, 12, PresentationLUTShape=shape, WindowCenter=2048, WindowWidth=4096)
    study = load_study(write_dicom(tmp_path / "plut.dcm", ds))
    assert study.meta.presentation_lut_shape == shape
    assert study.meta.inverted is inverted
    image = render_default(study)
    assert bool(image[0, 0] > image[-1, -1]) is inverted  # the lowest value is white when inverted


# --- file structure -------------------------------------------------------------------------------


def test_no_file_meta_opens(tmp_path):
    arr = ramp()
    path = write_dicom(tmp_path / "IM0001", make_dataset(arr, "MONOCHROME1", 12), file_meta=False)
    assert path.read_bytes()[128:132] != b"DICM"
    assert is_probably_study(path)
    study = load_study(path)
    assert study.meta.source_format == "DICOM (no file meta)"
    assert study.meta.transfer_syntax == "Implicit VR Little Endian"
    np.testing.assert_array_equal(study.frames[0], arr)


def test_multi_frame(tmp_path):
    arr = np.stack([ramp() + 100 * i for i in range(3)]).astype(np.uint16)
    ds = make_dataset(arr, bits_stored=16)
    ds.NumberOfFrames = 3
    study = load_study(write_dicom(tmp_path / "mf.dcm", ds))
    assert study.n_frames == study.meta.n_frames == 3
    for i in range(3):
        np.testing.assert_array_equal(study.frame(i), arr[i])
        assert render_default(study, i).shape == arr.shape[1:]
    assert any("3 frames" in n for n in study.meta.notices)


def test_frames_are_read_only(tmp_path):
    study = load_study(write_dicom(tmp_path / "ro.dcm", make_dataset(ramp())))
    with pytest.raises(ValueError):
        study.frames[0][0, 0] = 1


@pytest.mark.parametrize(("rows", "cols", "frames"), [(60000, 60000, 1), (20000, 100, 1), (512, 512, 5000)])
def test_absurd_dimensions_rejected_before_decoding(tmp_path, rows, cols, frames):
    ds = make_dataset(ramp(8, 8))
    ds.Rows, ds.Columns = rows, cols
    if frames > 1:
        ds.NumberOfFrames = frames
    path = write_dicom(tmp_path / "bomb.dcm", ds)
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match="probably damaged"):
        load_study(path)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20e6  # nothing near rows * cols was allocated
    assert elapsed < 5  # generous: it is a header check (typically a few ms)


def test_max_pixels_is_configurable(tmp_path):
    path = write_dicom(tmp_path / "small.dcm", make_dataset(ramp(64, 80)))
    with pytest.raises(ImageTooLargeError):
        load_study(path, max_pixels=1000)
    assert load_study(path, max_pixels=64 * 80).meta.rows == 64


def test_non_image_dicom_is_named(tmp_path):
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.22"  # Enhanced SR
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "SR"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.save_as(tmp_path / "sr.dcm", enforce_file_format=True)
    with pytest.raises(NoImageInDicomError, match="Structured Report"):
        load_study(tmp_path / "sr.dcm")


def test_unsupported_transfer_syntax_is_named(tmp_path):
    ds = make_dataset(ramp())
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 64])
    ds["PixelData"].VR = "OB"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2 video
    ds.save_as(tmp_path / "video.dcm", enforce_file_format=True)
    with pytest.raises(UnsupportedCompressionError, match=r"MPEG2 .*1\.2\.840\.10008\.1\.2\.4\.100.*video"):
        load_study(tmp_path / "video.dcm")
    assert transfer_syntax_name("1.2.840.10008.1.2.4.110") == "JPEG XL Lossless"
    assert transfer_syntax_name("1.2.3.4") == "unknown transfer syntax 1.2.3.4"


class FakePanic(BaseException):
    """Like pyo3's PanicException (raised by the Rust RLE decoder on damaged data): not an Exception."""


@pytest.mark.parametrize(
    ("exc", "expected"),
    [(MemoryError(), ImageTooLargeError), (RecursionError(), CorruptPixelDataError), (ValueError("x"), CorruptPixelDataError),
     (RuntimeError("decoder"), CorruptPixelDataError), (IndexError(), CorruptPixelDataError),
     (FakePanic("index out of bounds"), CorruptPixelDataError)],
)  # fmt: skip
def test_decoder_exceptions_become_study_errors(tmp_path, monkeypatch, exc, expected):
    path = write_dicom(tmp_path / "x.dcm", make_dataset(ramp()))

    def boom(*args, **kwargs):
        raise exc

    monkeypatch.setattr(io_dicom_decode, "decode_pixels", boom)
    with pytest.raises(expected):
        load_study(path)


# --- metadata -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "years"),
    [
        ("004Y", 4.0),
        ("018M", 1.5),
        ("010W", 70 / 365.25),
        ("005D", 5 / 365.25),
        ("62", 62.0),
        ("", None),
        ("abc", None),
        ("000Y", None),  # placeholder ages are unknown, not "under one year"
        ("000M", None),
        ("000D", None),
    ],
)
def test_patient_age_from_as(value, years):
    assert age_from_as(value) == (pytest.approx(years) if years is not None else None)


def test_patient_age_from_dates(tmp_path):
    assert age_from_dates("20000101", "20100101") == pytest.approx(10.0, abs=0.01)
    assert age_from_dates("20100101", "20000101") is None  # study before birth
    ds = make_dataset(ramp(), PatientBirthDate="19800615", StudyDate="20200615")
    assert load_study(write_dicom(tmp_path / "age.dcm", ds)).meta.patient.age_years == pytest.approx(
        40.0, abs=0.01
    )
    ds = make_dataset(ramp(), PatientBirthDate="19800615", StudyDate="20200615", PatientAge="018M")
    assert load_study(write_dicom(tmp_path / "age2.dcm", ds)).meta.patient.age_years == 1.5  # PatientAge wins


@pytest.mark.parametrize(
    ("attrs", "source", "row_mm"),
    [
        ({"PixelSpacing": [0.2, 0.2], "ImagerPixelSpacing": [0.2, 0.2]}, SpacingSource.DETECTOR, 0.2),
        ({"ImagerPixelSpacing": [0.15, 0.15]}, SpacingSource.DETECTOR, 0.15),
        ({"PixelSpacing": [0.18, 0.18], "ImagerPixelSpacing": [0.2, 0.2]}, SpacingSource.CALIBRATED, 0.18),
        ({"PixelSpacing": [0.3, 0.3]}, SpacingSource.UNKNOWN, 0.3),
        ({"PixelSpacing": ["0.000", "0.000"]}, SpacingSource.NONE, None),
        ({}, SpacingSource.NONE, None),
    ],
)
def test_pixel_spacing_source(tmp_path, attrs, source, row_mm):
    study = load_study(write_dicom(tmp_path / "sp.dcm", make_dataset(ramp(), **attrs)))
    spacing = study.meta.pixel_spacing
    assert spacing.source is source
    assert spacing.row_mm == (pytest.approx(row_mm) if row_mm else None)
    assert spacing.usable is (source is not SpacingSource.NONE)


def test_raw_tags_flat_indented_no_pixels(tmp_path):
    item = Dataset()
    item.CodeValue = "123"
    ds = make_dataset(ramp(), ImageComments="x" * 500, ProcedureCodeSequence=Sequence([item]))
    tags = load_study(write_dicom(tmp_path / "tags.dcm", ds)).meta.raw_tags
    by_keyword = {kw.strip(): (t, vr, v) for t, kw, vr, v in tags}
    assert by_keyword["PatientName"] == ("(0010,0010)", "PN", "Test^Patient")
    assert len(by_keyword["ImageComments"][2]) <= 200
    assert by_keyword["ProcedureCodeSequence"][1] == "SQ"
    assert any(kw.startswith("    > CodeValue") for _, kw, _, _ in tags)  # nested, indented
    assert "(7FE0,0010)" not in {t for t, *_ in tags}
    assert tags[0][0].startswith("(0002,")  # file meta first


# --- rasters --------------------------------------------------------------------------------------


def _write(path: Path, image: np.ndarray) -> Path:
    ok, buf = cv2.imencode(path.suffix, image)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def test_png_8bit_grey_is_shown_unchanged(tmp_path):
    image = RNG.integers(0, 256, (50, 70), dtype=np.uint8)
    study = load_study(_write(tmp_path / "g.png", image))
    assert study.meta.source_format == "PNG" and study.meta.bits_stored == 8
    assert default_window(study) == FULL_RANGE_8BIT
    np.testing.assert_array_equal(render_default(study), image)


def test_png_16bit_gets_auto_window(tmp_path):
    image = (ramp(40, 60) * 16).astype(np.uint16)
    study = load_study(_write(tmp_path / "g16.png", image))
    assert study.meta.bits_stored == 16
    np.testing.assert_array_equal(study.frames[0], image)
    assert default_window(study).name.startswith("Auto")
    shown = render_default(study)
    assert shown.min() == 0 and shown.max() == 255


def test_tiff_16bit(tmp_path):
    image = (ramp(30, 20) * 3).astype(np.uint16)
    study = load_study(_write(tmp_path / "x.tif", image))
    assert study.meta.source_format == "TIFF"
    np.testing.assert_array_equal(study.frames[0], image)


def test_colour_jpeg_becomes_grey_with_notice(tmp_path):
    image = RNG.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    path = _write(tmp_path / "c.png", image)  # PNG: lossless, so the expected grey is exact
    study = load_study(path)
    assert study.meta.was_colour and study.meta.photometric == "RGB"
    assert any("Colour" in n for n in study.meta.notices)
    expected = image.astype(np.float32) @ np.array([0.114, 0.587, 0.299], dtype=np.float32)
    np.testing.assert_allclose(study.frames[0], expected, atol=1e-3)
    np.testing.assert_allclose(render_default(study), cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), atol=1)


def test_grey_stored_as_colour_is_not_colour(tmp_path):
    grey = RNG.integers(0, 256, (20, 30), dtype=np.uint8)
    study = load_study(_write(tmp_path / "gc.png", cv2.merge([grey, grey, grey])))
    assert not study.meta.was_colour and not study.meta.notices[:-1]
    np.testing.assert_array_equal(render_default(study), grey)


def test_png_alpha_is_ignored(tmp_path):
    grey = RNG.integers(0, 256, (20, 30), dtype=np.uint8)
    alpha = np.full_like(grey, 128)
    study = load_study(_write(tmp_path / "a.png", cv2.merge([grey, grey, grey, alpha])))
    np.testing.assert_array_equal(render_default(study), grey)
    assert any("alpha" in n for n in study.meta.notices)


def test_non_ascii_path(tmp_path):
    image = RNG.integers(0, 256, (10, 12), dtype=np.uint8)
    folder = tmp_path / "Röntgen 胸部"
    folder.mkdir()
    np.testing.assert_array_equal(render_default(load_study(_write(folder / "Thorax_ü.png", image))), image)
    dicom = write_dicom(folder / "Aufnahme_é.dcm", make_dataset(ramp()))
    assert load_study(dicom).meta.rows == 64


def _png_with_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    idat = zlib.compress(b"\x00" * 1000)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", len(idat)) + b"IDAT" + idat
        + struct.pack(">I", zlib.crc32(b"IDAT" + idat)) + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )  # fmt: skip


def test_png_decompression_bomb_rejected_from_header(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_with_header(100_000, 100_000))
    tracemalloc.start()
    with pytest.raises(ImageTooLargeError):
        load_study(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20e6


def test_truncated_jpeg_is_corrupt(tmp_path):
    data = _write(tmp_path / "ok.jpg", RNG.integers(0, 256, (64, 64), dtype=np.uint8)).read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptPixelDataError, match="truncated"):
        load_study(tmp_path / "cut.jpg")


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("fake.png", b"this is not a png at all" * 10, CorruptPixelDataError),
        ("empty", b"", NotAnImageError),
        ("notes.txt", b"hello radiologist\n" * 20, NotAnImageError),
        ("scan.dcm", b"\x00" * 50, NotAnImageError),
        ("archive", b"PK\x03\x04" + b"\x00" * 200, NotAnImageError),
    ],
)
def test_not_an_image(tmp_path, name, content, error):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(error):
        load_study(tmp_path / name)


def test_missing_file_is_a_study_error(tmp_path):
    with pytest.raises(StudyError, match="does not exist"):
        load_study(tmp_path / "nope.dcm")
    with pytest.raises(StudyError):
        load_study(tmp_path)  # a folder


def test_is_probably_study(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "DICOMDIR").write_bytes(b"\x00" * 128 + b"DICM")
    (tmp_path / "IMG001").write_bytes(b"\x00" * 128 + b"DICM" + b"\x00" * 10)
    _write(tmp_path / "x.png", np.zeros((4, 4), np.uint8)).rename(tmp_path / "pngnosuffix")
    (tmp_path / "x.dcm").write_bytes(b"")  # a known suffix is enough for the cheap check
    assert is_probably_study(tmp_path / "IMG001")
    assert is_probably_study(tmp_path / "pngnosuffix")
    assert is_probably_study(tmp_path / "x.dcm")
    assert not is_probably_study(tmp_path / "notes.txt")
    assert not is_probably_study(tmp_path / "DICOMDIR")
    assert not is_probably_study(tmp_path)
    assert not is_probably_study(tmp_path / "missing")
    assert set(core_io.SUPPORTED_SUFFIXES) >= {".dcm", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ""}


@pytest.mark.shared
def test_kermany_jpegs_reach_the_model_unchanged(kermany_dir):
    """Training JPEGs go through the same path; their 8-bit values must come out untouched."""
    files = sorted((kermany_dir / "train" / "NORMAL").glob("*.jpeg"))[:4]
    files += sorted((kermany_dir / "train" / "PNEUMONIA").glob("*.jpeg"))[:4]
    assert len(files) == 8
    for path in files:
        decoded = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
        grey = decoded if decoded.ndim == 2 else decoded[:, :, 0]
        if decoded.ndim == 3:
            assert np.array_equal(decoded[:, :, 0], decoded[:, :, 1])  # grey stored as colour
        study = load_study(path)
        assert not study.meta.was_colour
        np.testing.assert_array_equal(render_default(study), grey)


def test_nan_and_inf_pixels_are_replaced_with_a_notice(tmp_path):
    image = np.array([[np.nan, 1.0, np.inf], [-np.inf, 2.0, 3.0]], dtype=np.float32)
    path = tmp_path / "f.tif"
    ok, buf = cv2.imencode(".tif", image)
    assert ok
    path.write_bytes(buf.tobytes())
    study = load_study(path)
    np.testing.assert_array_equal(study.frames[0], [[1.0, 1.0, 3.0], [1.0, 2.0, 3.0]])
    assert any("NaN" in n for n in study.meta.notices)
    assert render_default(study).tolist() == [[0, 0, 255], [0, 128, 255]]


@pytest.mark.parametrize("name", ["empty.dcm", "empty.png", "empty"])
def test_an_empty_file_is_called_empty(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(NotAnImageError, match="empty"):
        load_study(path)
