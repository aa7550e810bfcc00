"""DICOM pixel data -> float32 grey frames in modality units.

Decoding goes through pydicom 3 and the pylibjpeg plugins (pinned to ``pylibjpeg`` for compressed
transfer syntaxes, so the result does not depend on whether Pillow or GDCM happen to be installed).
Optional fast paths in ``decoders/`` (pydicom's plugin shape) go first: single-component unsigned
JPEG 2000 codestreams are decoded with OpenCV's multi-threaded OpenJPEG (``decoders/opencv_j2k.py``);
anything they do not take falls back to pydicom.

Then (DICOM PS3.3 C.11.1): Modality LUT Sequence, else Rescale Slope/Intercept (negative slopes
allowed). Colour (RGB, YBR via pydicom's RGB conversion, PALETTE COLOR via the palette) becomes
grey with ITU-R BT.601 luma weights, the same as ``cv2.COLOR_RGB2GRAY``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.encaps import generate_frames
from pydicom.pixels import apply_color_lut, get_decoder, pixel_array
from pydicom.uid import UID

from viewer.core.io.dicom import meta as dm
from viewer.core.io.dicom.decoders import PLUGINS
from viewer.core.io.dicom.decoders.opencv_j2k import j2k_siz
from viewer.core.io.dicom.geometry import Geometry
from viewer.core.io.panics import is_decoder_panic
from viewer.core.io.raster import jpeg_size as _jpeg_size

LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


# --- decoding -------------------------------------------------------------------------------------


def check_codestream_sizes(ds: Dataset, geom: Geometry) -> None:
    """Refuse JPEG / JPEG-LS / JPEG 2000 frames whose own header claims more pixels than the DICOM header.

    The decoders allocate from the codestream header, not from Rows/Columns: a damaged or hostile
    codestream could otherwise make them allocate gigabytes.
    """
    for index, frame in enumerate(generate_frames(ds.PixelData, number_of_frames=geom.frames)):
        if index >= geom.frames:
            break
        head = bytes(frame[:65536])
        siz = j2k_siz(head)
        size = (siz[0], siz[1]) if siz else None
        if size is None and head[:2] == b"\xff\xd8":
            jpeg = _jpeg_size(head)
            size = (jpeg[1], jpeg[0]) if jpeg else None
        if size is not None and size[0] * size[1] > geom.rows * geom.columns:
            raise ValueError(
                f"frame {index + 1} claims {size[1]} x {size[0]} pixels, more than the header's "
                f"{geom.columns} x {geom.rows}"
            )


def decode_pixels(ds: Dataset, geom: Geometry, tsuid: str) -> np.ndarray:
    """Stored values, shape (frames, rows, columns[, samples]). Decoder errors propagate, pyo3 panics
    (``BaseException``) included: :func:`viewer.core.io.dicom.read.load_dicom` names them."""
    if UID(tsuid).is_encapsulated:
        check_codestream_sizes(ds, geom)
    for plugin in PLUGINS:  # optional fast paths (decoders/), else pydicom
        if plugin.is_available(tsuid):
            try:
                fast = plugin.decode(ds, geom)
            except BaseException as exc:
                if not (isinstance(exc, Exception) or is_decoder_panic(exc)):
                    raise
                fast = None
            if fast is not None:
                return fast
    decoder = get_decoder(UID(tsuid))
    kwargs: dict[str, Any] = {}
    if decoder.is_encapsulated and "pylibjpeg" in decoder.available_plugins:
        kwargs["decoding_plugin"] = "pylibjpeg"
    if decoder.is_native:
        kwargs["view_only"] = True
    arr = pixel_array(ds, **kwargs)
    if geom.frames == 1:
        arr = arr[np.newaxis]
    expected = (geom.frames, geom.rows, geom.columns) + ((geom.samples,) if geom.samples > 1 else ())
    if arr.shape != expected:
        raise ValueError(f"decoded shape {arr.shape} differs from the header's {expected}")
    return arr


# --- modality units and grey ----------------------------------------------------------------------


def _rescale(ds: Dataset) -> tuple[float, float, list[str]]:
    notices: list[str] = []
    slope, intercept = 1.0, 0.0
    if dm.text(ds, "RescaleSlope"):  # present and not empty
        value = dm.number(dm.text(ds, "RescaleSlope"))
        if value is None or value == 0.0:
            notices.append(f"Rescale Slope '{dm.text(ds, 'RescaleSlope')}' is invalid: 1 used.")
        else:
            slope = value
    if dm.text(ds, "RescaleIntercept"):
        value = dm.number(dm.text(ds, "RescaleIntercept"))
        if value is None:
            notices.append(f"Rescale Intercept '{dm.text(ds, 'RescaleIntercept')}' is invalid: 0 used.")
        else:
            intercept = value
    return slope, intercept, notices


def to_modality(arr: np.ndarray, ds: Dataset) -> tuple[np.ndarray, list[str]]:
    """Grey stored values -> float32 modality values (Modality LUT Sequence, else rescale)."""
    lut, notices = dm.modality_lut(ds)
    if lut is not None and np.issubdtype(arr.dtype, np.integer):
        first, table = lut
        index = np.clip(arr.astype(np.int64) - first, 0, table.size - 1)
        return table[index], notices
    slope, intercept, more = _rescale(ds)
    notices += more
    out = arr.astype(np.float32)  # always a fresh, writeable, C-contiguous copy
    if slope != 1.0:
        out *= np.float32(slope)
    if intercept != 0.0:
        out += np.float32(intercept)
    return out, notices


def _luma(rgb: np.ndarray) -> tuple[np.ndarray, bool]:
    """RGB (..., 3) -> (grey float32, was really colour)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    if np.array_equal(r, g) and np.array_equal(g, b):
        return r.astype(np.float32), False
    return np.ascontiguousarray(rgb.astype(np.float32) @ LUMA_WEIGHTS), True


def to_grey_frames(arr: np.ndarray, ds: Dataset, geom: Geometry) -> tuple[np.ndarray, bool, list[str]]:
    """Decoded array -> (float32 (frames, rows, columns), was_colour, notices)."""
    photometric = geom.photometric
    if photometric == "PALETTE COLOR" and geom.samples == 1:
        rgb = apply_color_lut(arr, ds)
        grey, colour = _luma(rgb)
        notices = ["Palette colour image shown in grey."] if colour else []
        return grey, colour, notices
    if geom.samples > 1:
        grey, colour = _luma(arr[..., :3])
        notices = [f"{photometric or 'Colour'} image converted to grey."] if colour else []
        return grey, colour, notices
    out, notices = to_modality(arr, ds)
    return out, False, notices
