"""Rust decoder panics (pyo3's ``PanicException``, a BaseException) become the named corrupt-data error
(issue #15 item 9). The case comes from the fuzz corpus: an RLE segment whose replicate run is longer than
the frame makes pylibjpeg-rle index past its buffer (``index out of bounds: the len is 16 but the index is
17``) and panic."""

from __future__ import annotations

import numpy as np
import pytest
from corrupt_data import PANIC_SEGMENTS, panicking_rle_dicom, rle_frame
from pydicom.dataset import Dataset
from pydicom.uid import ComputedRadiographyImageStorage, generate_uid

from viewer.core.errors import CorruptPixelDataError
from viewer.core.io import load_study
from viewer.core.io.dicom import decode as io_dicom_decode
from viewer.core.io.panics import is_decoder_panic


def test_the_corpus_case_really_panics_in_pylibjpeg_rle(tmp_path):
    """Guards the regression test below: if pylibjpeg-rle stops panicking, this says so."""
    from rle.rle import decode_frame

    try:
        decode_frame(rle_frame(*PANIC_SEGMENTS), 8, 16, "<")
    except BaseException as exc:  # noqa: BLE001 - the point: what does the decoder raise?
        if not is_decoder_panic(exc):
            pytest.skip(f"pylibjpeg-rle now raises {type(exc).__name__}, not a panic")
        assert not isinstance(exc, Exception)  # the trap: except Exception misses it
    else:
        pytest.skip("pylibjpeg-rle decodes the corpus case now")


def test_a_real_rle_panic_becomes_corrupt_pixel_data(tmp_path):
    path = panicking_rle_dicom(tmp_path / "panic.dcm")
    with pytest.raises(CorruptPixelDataError, match=r"decoder failed \(RLE Lossless: index out of bounds"):
        load_study(path)


class PanicException(BaseException):
    """Stands in for pyo3_runtime.PanicException."""


def test_a_panic_in_a_fast_path_plugin_falls_back_to_pydicom(tmp_path, monkeypatch):
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = ComputedRadiographyImageStorage, generate_uid(), "CR"
    ds.set_pixel_data(np.arange(64, dtype=np.uint16).reshape(8, 8), "MONOCHROME2", 16)
    ds.save_as(tmp_path / "x.dcm", enforce_file_format=True)

    class Plugin:
        @staticmethod
        def is_available(uid):
            return True

        @staticmethod
        def decode(ds, geom):
            raise PanicException("plugin bug")

    monkeypatch.setattr(io_dicom_decode, "PLUGINS", (Plugin,))
    study = load_study(tmp_path / "x.dcm")
    assert float(study.frames[0][7, 7]) == 63.0
