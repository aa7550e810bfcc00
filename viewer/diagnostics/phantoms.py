"""Synthetic test studies for ``--self-test``: one chest-like image written in every format the app can encode.

Qt-free. Every encoder used here ships inside the application, so generating the studies also proves the
bundled encoders work:

- uncompressed:  pydicom (Explicit VR Little Endian)
- RLE Lossless:  pydicom ``Dataset.compress`` (pylibjpeg-rle's encoder when present, else pydicom's own)
- JPEG baseline: OpenCV ``cv2.imencode(".jpg")``, encapsulated with ``pydicom.encaps.encapsulate``
- JPEG lossless: :func:`encode_jpeg_lossless` below (process 14, first-order prediction, 40 lines of numpy)
- JPEG 2000:     pydicom ``Dataset.compress`` with pylibjpeg-openjpeg (lossless)
- PNG:           OpenCV ``cv2.imencode(".png")``
- JPEG-LS:       not generated: no JPEG-LS *encoder* ships (pylibjpeg-libjpeg only decodes; CharLS/pyjpegls
                 is not a dependency). Pass a folder with a JPEG-LS file to ``--self-test`` to cover it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from viewer.config import APP_NAME

ROWS, COLUMNS, BITS = 512, 448, 12  # not square, so a heatmap drawn on the wrong geometry is caught

JPEG_LS_NOT_GENERATED = (
    "not generated: no JPEG-LS encoder ships with the app (pylibjpeg-libjpeg decodes JPEG-LS but cannot "
    "encode it, and CharLS/pyjpegls is not a dependency); run --self-test FOLDER with a JPEG-LS file to test it"
)


@dataclass(frozen=True)
class Generated:
    family: str
    path: Path | None
    expected: np.ndarray | None  # exact stored values for lossless encodings, else None
    note: str = ""


def chest_phantom(rows: int = ROWS, columns: int = COLUMNS, bits: int = BITS, seed: int = 7) -> np.ndarray:
    """A deterministic chest-radiograph-like uint16 image (MONOCHROME2: bone bright, lungs dark)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:columns].astype(np.float32)
    cy, cx = rows * 0.52, columns * 0.5
    body = ((x - cx) / (columns * 0.46)) ** 2 + ((y - cy) / (rows * 0.50)) ** 2 < 1.0
    img = np.where(body, 0.55, 0.06).astype(np.float32)
    for side in (-1, 1):  # lung fields
        lx = cx + side * columns * 0.2
        lung = ((x - lx) / (columns * 0.16)) ** 2 + ((y - rows * 0.45) / (rows * 0.30)) ** 2 < 1.0
        img[lung] = 0.22
        ribs = 0.5 + 0.5 * np.sin((y + 0.15 * np.abs(x - cx)) / (rows / 28.0) * np.pi)
        img[lung] += 0.12 * ribs[lung] ** 4
    img[np.abs(x - cx) < columns * 0.045] = 0.78  # spine / mediastinum
    img[(y > rows * 0.78) & body] = 0.70  # diaphragm and abdomen
    img = cv2.GaussianBlur(img, (0, 0), sigmaX=3.0)
    img += rng.normal(0.0, 0.01, img.shape).astype(np.float32)
    top = (1 << bits) - 1
    return np.clip(np.rint(img * top), 0, top).astype(np.uint16)


def to_u8(img: np.ndarray, bits: int = BITS) -> np.ndarray:
    return (img >> (bits - 8)).astype(np.uint8)


# --------------------------------------------------------------------------- JPEG lossless (process 14)

# A fixed, valid Huffman table for the 17 difference categories: ITU T.81 Table K.3 (DC luminance, 0-11)
# extended with categories 12-16 at lengths 10-14. Efficiency is irrelevant here, validity is not.
_LL_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0)  # number of codes of length 1..16
_LL_VALS = tuple(range(17))


def _huffman_codes() -> tuple[np.ndarray, np.ndarray]:
    """Canonical codes (T.81 Annex C) -> (code, length) indexed by category."""
    codes = np.zeros(17, dtype=np.uint64)
    lengths = np.zeros(17, dtype=np.uint64)
    code, k = 0, 0
    for length, count in enumerate(_LL_BITS, start=1):
        for _ in range(count):
            codes[_LL_VALS[k]], lengths[_LL_VALS[k]] = code, length
            code, k = code + 1, k + 1
        code <<= 1
    return codes, lengths


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def encode_jpeg_lossless(img: np.ndarray, precision: int) -> bytes:
    """Grey image -> JPEG lossless codestream (T.81 process 14, predictor 1, point transform 0).

    DICOM transfer syntax 1.2.840.10008.1.2.4.70. Vectorised: differences, categories and bit strings are
    computed for all pixels at once, then packed and byte-stuffed.
    """
    if img.ndim != 2 or not 2 <= precision <= 16:
        raise ValueError("expected a 2-D image and a precision of 2..16 bits")
    x = img.astype(np.int64)
    pred = np.empty_like(x)
    pred[0, 0] = 1 << (precision - 1)
    pred[0, 1:] = x[0, :-1]  # first row: left neighbour
    pred[1:, 0] = x[:-1, 0]  # first column: the pixel above
    pred[1:, 1:] = x[1:, :-1]  # elsewhere: left neighbour (selection value 1)
    diff = ((x - pred + 32768) % 65536 - 32768).ravel()  # modulo 2**16 (H.1.2.1)
    mag = np.abs(diff)
    ssss = np.zeros(diff.size, dtype=np.int64)
    for k in range(17):
        ssss += mag >= (1 << k)
    extra_len = np.where(ssss == 16, 0, ssss)  # category 16 (difference 32768) has no extra bits
    extra = np.where(diff >= 0, diff, diff + (1 << extra_len) - 1) & ((1 << extra_len) - 1)
    codes, lengths = _huffman_codes()
    total = lengths[ssss] + extra_len.astype(np.uint64)
    value = (codes[ssss] << extra_len.astype(np.uint64)) | extra.astype(np.uint64)
    shifts = total[:, None].astype(np.int64) - 1 - np.arange(32, dtype=np.int64)[None, :]
    bits = ((value[:, None] >> np.maximum(shifts, 0).astype(np.uint64)) & np.uint64(1)).astype(np.uint8)[
        shifts >= 0
    ]
    bits = np.concatenate([bits, np.ones((-bits.size) % 8, dtype=np.uint8)])  # pad with 1-bits
    data = np.packbits(bits)
    data = np.insert(data, np.flatnonzero(data == 0xFF) + 1, 0)  # byte stuffing
    rows, cols = img.shape
    sof3 = bytes([precision]) + rows.to_bytes(2, "big") + cols.to_bytes(2, "big") + bytes([1, 1, 0x11, 0])
    dht = bytes([0x00, *_LL_BITS, *_LL_VALS])
    sos = bytes([1, 1, 0x00, 1, 0, 0])  # Ns=1, Cs=1, Td/Ta=0, Ss=predictor 1, Se=0, Ah/Al=0
    return (
        b"\xff\xd8"
        + _segment(0xC3, sof3)
        + _segment(0xC4, dht)
        + _segment(0xDA, sos)
        + data.tobytes()
        + b"\xff\xd9"
    )


# --------------------------------------------------------------------------- DICOM writing


def _base_dataset(img: np.ndarray, bits_stored: int, description: str):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

    sop_class = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
    now = _dt.datetime.now()
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.PatientSex = "SELFTEST^SYNTHETIC", "SELFTEST", "O"
    ds.StudyDate = ds.SeriesDate = now.strftime("%Y%m%d")
    ds.StudyTime = now.strftime("%H%M%S")
    ds.Modality, ds.BodyPartExamined, ds.ViewPosition = "DX", "CHEST", "PA"
    ds.StudyDescription = f"{APP_NAME} self-test (synthetic phantom, not a patient)"
    ds.SeriesDescription = description
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.ImagerPixelSpacing = [0.7, 0.7]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = img.shape
    ds.BitsAllocated = 8 if img.dtype == np.uint8 else 16
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits_stored, bits_stored - 1, 0
    ds.WindowCenter, ds.WindowWidth = 1 << (bits_stored - 1), 1 << bits_stored
    ds.PixelData = np.ascontiguousarray(img).tobytes()
    return ds


def _write(ds, path: Path) -> Path:
    from pydicom.filewriter import dcmwrite

    ds["PixelData"].VR = (
        "OB" if ds.BitsAllocated == 8 or ds.file_meta.TransferSyntaxUID.is_compressed else "OW"
    )
    dcmwrite(path, ds, enforce_file_format=True)
    return path


def _encapsulated(img: np.ndarray, bits: int, tsuid: str, frame: bytes, description: str, lossy: bool):
    from pydicom.encaps import encapsulate

    ds = _base_dataset(img, bits, description)
    ds.file_meta.TransferSyntaxUID = tsuid
    ds.PixelData = encapsulate([frame])
    if lossy:
        ds.LossyImageCompression = "01"
    return ds


def _compressed_with_pydicom(img: np.ndarray, bits: int, tsuid: str, description: str):
    """``Dataset.compress`` with pylibjpeg's plugin when it is available, else any available one."""
    from pydicom.pixels import get_encoder

    ds = _base_dataset(img, bits, description)
    encoder = get_encoder(tsuid)
    if not encoder.is_available:
        raise RuntimeError(f"no {encoder.name} encoder available: {encoder.missing_dependencies}")
    plugin = "pylibjpeg" if "pylibjpeg" in encoder.available_plugins else ""
    ds.compress(tsuid, img, encoding_plugin=plugin)
    return ds


def generate_studies(folder: Path) -> list[Generated]:
    """Write the synthetic studies into ``folder``; a family whose encoder fails carries the error as note."""
    from pydicom.uid import JPEG2000Lossless, JPEGBaseline8Bit, JPEGLosslessSV1, RLELossless

    folder.mkdir(parents=True, exist_ok=True)
    img = chest_phantom()
    u8 = to_u8(img)

    def jpeg_baseline() -> tuple[Path, np.ndarray | None]:
        ok, buf = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise RuntimeError("OpenCV could not encode JPEG")
        ds = _encapsulated(u8, 8, JPEGBaseline8Bit, buf.tobytes(), "JPEG baseline", lossy=True)
        return _write(ds, folder / "jpeg_baseline.dcm"), None

    def jpeg_lossless() -> tuple[Path, np.ndarray | None]:
        frame = encode_jpeg_lossless(img, BITS)
        ds = _encapsulated(img, BITS, JPEGLosslessSV1, frame, "JPEG lossless SV1", lossy=False)
        return _write(ds, folder / "jpeg_lossless.dcm"), img

    def jpeg_2000() -> tuple[Path, np.ndarray | None]:
        ds = _compressed_with_pydicom(img, BITS, JPEG2000Lossless, "JPEG 2000 lossless")
        return _write(ds, folder / "jpeg2000_lossless.dcm"), img

    def rle() -> tuple[Path, np.ndarray | None]:
        ds = _compressed_with_pydicom(img, BITS, RLELossless, "RLE lossless")
        return _write(ds, folder / "rle_lossless.dcm"), img

    def uncompressed() -> tuple[Path, np.ndarray | None]:
        return _write(_base_dataset(img, BITS, "uncompressed"), folder / "uncompressed.dcm"), img

    def png() -> tuple[Path, np.ndarray | None]:
        return write_png(u8, folder / "phantom.png"), u8

    makers: list[tuple[str, Callable[[], tuple[Path, np.ndarray | None]]]] = [
        ("JPEG baseline", jpeg_baseline),
        ("JPEG lossless", jpeg_lossless),
        ("JPEG 2000", jpeg_2000),
        ("RLE", rle),
        ("uncompressed", uncompressed),
        ("PNG", png),
    ]
    out: list[Generated] = []
    for family, make in makers:
        try:
            path, expected = make()
            out.append(Generated(family, path, expected))
        except Exception as exc:  # noqa: BLE001 - reported as this family's failure, the others still run
            out.append(Generated(family, None, None, f"could not generate: {type(exc).__name__}: {exc}"))
    out.append(Generated("JPEG-LS", None, None, JPEG_LS_NOT_GENERATED))
    return out


def write_png(u8: np.ndarray, path: Path) -> Path:
    ok, buf = cv2.imencode(".png", u8)
    if not ok:
        raise RuntimeError("OpenCV could not encode PNG")
    path.write_bytes(buf.tobytes())
    return path


__all__ = [
    "Generated",
    "JPEG_LS_NOT_GENERATED",
    "chest_phantom",
    "encode_jpeg_lossless",
    "generate_studies",
    "to_u8",
]
