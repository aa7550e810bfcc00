"""A reduced-resolution first look at a single-frame JPEG 2000 / HTJ2K image (issue #15 item 11).

JPEG 2000 codes an image as a wavelet pyramid: the lower resolution levels can be decoded without
entropy-decoding the code-blocks of the higher ones, so a 2000 x 2128 chest at 1/4 of its side decodes in
a few tens of milliseconds instead of about a second. pylibjpeg-openjpeg (2.x) has no option for this;
Pillow's OpenJPEG binding has (``Image.reduce``), and Pillow is already installed with highdicom.

:func:`load_preview` returns a :class:`~viewer.core.study.Study` whose metadata is that of the full
image (rows and columns included) and whose single frame is the reduced level, in modality units; or
``None`` whenever it cannot (not DICOM, not single-frame grey unsigned JPEG 2000, no level small enough,
any decoder problem): the caller then simply loads the full image. It never raises. The full load
(:func:`viewer.core.io.load_study`) stays the reference: a preview is for showing sooner and for the
model (which sees 224 x 224), never for measuring.
"""

from __future__ import annotations

import io
import logging
import math
import os
from pathlib import Path

import numpy as np
from PIL import Image, Jpeg2KImagePlugin  # noqa: F401 - registers the JPEG 2000 reader (import: ~0.3 s)
from pydicom.encaps import generate_frames
from pydicom.filereader import read_file_meta_info

from viewer.core.io.common import DEFAULT_MAX_PIXELS, check_dimensions, value_range
from viewer.core.io.dicom import decode as dd
from viewer.core.io.dicom import meta as dm
from viewer.core.io.dicom import read as dr
from viewer.core.io.dicom.decoders.opencv_j2k import j2k_siz
from viewer.core.study import Study

log = logging.getLogger(__name__)

# JPEG 2000 and High-Throughput JPEG 2000 (the HTJ2K RPCL variant included)
J2K_SYNTAXES = frozenset(
    {
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.4.203",
    }
)
DEFAULT_PREVIEW_SIDE = 640  # at 512 the Canon preview scored 0.012 off the full image
MIN_GAIN = 2  # a preview is worth it only if it halves the side at least


def reduce_factor(rows: int, columns: int, max_side: int) -> int:
    """The most resolution levels to discard so that the longer side stays >= ``max_side`` (0: none)."""
    longest = max(rows, columns)
    r = 0
    while math.ceil(longest / 2 ** (r + 1)) >= max_side:
        r += 1
    return r


def preview_shape(rows: int, columns: int, reduce: int) -> tuple[int, int]:
    """The size of a JPEG 2000 image at ``reduce`` discarded levels (image offset 0: sizes round up)."""
    f = 2**reduce
    return math.ceil(rows / f), math.ceil(columns / f)


def _decode_reduced(codestream: bytes, reduce: int) -> np.ndarray | None:
    try:
        with Image.open(io.BytesIO(codestream), formats=["JPEG2000"]) as im:
            im.reduce = reduce  # Pillow's Jpeg2K plugin: discard this many resolution levels
            im.load()
            arr = np.asarray(im)
    except Exception:  # any failure: the caller loads the full image
        log.debug("reduced JPEG 2000 decode failed", exc_info=True)
        return None
    return arr


def load_preview(
    path: str | os.PathLike[str],
    *,
    max_side: int = DEFAULT_PREVIEW_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Study | None:
    """The image at the smallest JPEG 2000 resolution level whose longer side is >= ``max_side``.

    Only for single-frame, single-component, unsigned JPEG 2000 / HTJ2K DICOM images at least
    ``MIN_GAIN`` times larger than ``max_side``. ``Study.meta`` is what :func:`load_study` gives (full
    rows and columns); ``Study.frames[0]`` is smaller. ``None`` when there is no such preview.
    """
    p = Path(path)
    try:
        return _load_preview(p, max_side, max_pixels)
    except (MemoryError, KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # never raises: the full load names every problem
        log.debug("no preview for %s", p, exc_info=True)
        return None


def _load_preview(path: Path, max_side: int, max_pixels: int) -> Study | None:
    with open(path, "rb") as f:
        head = f.read(132)
    if head[128:132] != b"DICM":  # ACR-NEMA files are never JPEG 2000
        return None
    if dm.text(read_file_meta_info(path), "TransferSyntaxUID") not in J2K_SYNTAXES:
        return None  # the file meta alone: other files are not read twice
    ds, fmt, notices = dr.read_dataset(path)
    tsuid = dm.text(ds.file_meta, "TransferSyntaxUID")
    if tsuid not in J2K_SYNTAXES or "PixelData" not in ds:
        return None
    dr.check_has_image(ds, path)
    geom, more = dr.image_geometry(ds, path)
    notices += more
    if (
        geom.frames != 1
        or geom.samples != 1
        or geom.pixel_representation != 0
        or geom.float_data
        or geom.bits_allocated not in (8, 16)
        or geom.photometric not in dr.GREY
        or dm.sop_class_uid(ds) in dr.NOT_VIEWABLE_SOP_CLASSES
    ):
        return None
    check_dimensions(path, geom.rows, geom.columns, geom.frames, geom.samples, max_pixels=max_pixels)
    reduce = reduce_factor(geom.rows, geom.columns, max_side)
    if 2**reduce < MIN_GAIN:
        return None
    codestream = bytes(next(iter(generate_frames(ds.PixelData, number_of_frames=1))))
    siz = j2k_siz(codestream[:65536])
    if siz is None or siz[:3] != (geom.rows, geom.columns, 1) or siz[4] or siz[3] > geom.bits_allocated:
        return None
    arr = _decode_reduced(codestream, reduce)
    if arr is None or arr.ndim != 2 or arr.shape != preview_shape(geom.rows, geom.columns, reduce):
        return None
    if arr.dtype not in (np.uint8, np.uint16) or arr.dtype.itemsize * 8 > geom.bits_allocated:
        return None
    shift = arr.dtype.itemsize * 8 - siz[3]  # Pillow scales a 12-bit component to 16 bits (<< 4)
    if shift > 0:
        arr = arr >> shift
    grey, was_colour, more = dd.to_grey_frames(arr[np.newaxis], ds, geom)
    notices += more
    grey = np.ascontiguousarray(grey, dtype=np.float32)
    values = value_range(grey, notices)
    grey.setflags(write=False)
    meta = dr.build_metadata(ds, geom, fmt, tsuid, was_colour, notices, values)
    return Study(path=str(path), frames=(grey[0],), meta=meta)


def at_full_geometry(preview: Study) -> Study:
    """The preview resampled (bilinear) to the full image's rows x columns, metadata unchanged.

    What a viewer shows until the full decode arrives: zoom, pan, annotations and the heatmap are then
    laid out in full-resolution image coordinates from the start, and the full image replaces it in place.
    """
    import cv2  # noqa: PLC0415 - OpenCV is loaded with the decoders anyway

    rows, columns = preview.meta.rows, preview.meta.columns
    frames = []
    for frame in preview.frames:
        if frame.shape == (rows, columns):
            frames.append(frame)
            continue
        big = cv2.resize(frame, (columns, rows), interpolation=cv2.INTER_LINEAR)
        big.setflags(write=False)
        frames.append(big)
    return Study(path=preview.path, frames=tuple(frames), meta=preview.meta)
