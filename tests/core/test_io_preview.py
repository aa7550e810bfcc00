"""Reduced-resolution JPEG 2000 previews (issue #15 item 11): close to the full decode, same metadata, and
the shipped model scores them within 0.01 of the full image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from viewer.core import display
from viewer.core.io import load_study
from viewer.core.io.dicom.preview import (
    DEFAULT_PREVIEW_SIDE,
    at_full_geometry,
    load_preview,
    preview_shape,
    reduce_factor,
)

# single-frame grey JPEG 2000 files in ../shared/data/dicom that have a reduced level
J2K_FILES = (
    "chest/canon_dx_chest_966_fixed.dcm",
    "variety/RG1_J2KR.dcm",
    "variety/RG1_J2KI.dcm",
    "variety/RG3_J2KR.dcm",
    "variety/RG3_J2KI.dcm",
    "radiographs/kodak_cr_hand_NM_Kakadu44_SOTmarkerincons.dcm",
)
J2K_CHESTS = J2K_FILES[:3]  # the chest radiographs among them (the model's subject)
NOT_PREVIEWED = (
    "chest/wg04_RG1_UNCI.dcm",  # uncompressed
    "chest/siim_cr_chest_pa_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm",  # JPEG baseline
    "chest/fodicom_CR-MONO1-10-chest.dcm",  # ACR-NEMA, no file meta
    "variety/HTJ2KLossless_08_RGB.dcm",  # colour
    "variety/MR_small_jp2klossless.dcm",  # 64 x 64: no level worth it
    "broken/canon_dx_chest_966_badj2k.dcm",  # damaged codestream: the full load names the problem
)


def test_reduce_factor_keeps_the_long_side_at_least_max_side():
    assert reduce_factor(2128, 2000, 512) == 2  # 532 x 500
    assert reduce_factor(2128, 2000, 533) == 1
    assert reduce_factor(600, 600, 512) == 0
    assert preview_shape(1955, 1841, 1) == (978, 921)  # sizes round up


@pytest.mark.parametrize("name", J2K_FILES)
def test_preview_matches_the_downsampled_full_decode(dicom_dir, name):
    path = dicom_dir / name
    preview = load_preview(path)
    assert preview is not None
    full = load_study(path)
    small = preview.frames[0]
    rows, columns = full.meta.rows, full.meta.columns
    r = reduce_factor(rows, columns, DEFAULT_PREVIEW_SIDE)
    assert r >= 1 and small.shape == preview_shape(rows, columns, r)
    assert preview.meta == full.meta  # rows and columns are the full image's
    assert small.dtype == np.float32 and not small.flags.writeable
    reference = cv2.resize(full.frames[0], (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
    assert np.corrcoef(small.ravel(), reference.ravel())[0, 1] >= 0.99
    scaled = at_full_geometry(preview)
    assert scaled.frames[0].shape == full.frames[0].shape and scaled.meta == full.meta


@pytest.mark.parametrize("name", NOT_PREVIEWED)
def test_no_preview_for_other_files(dicom_dir, name):
    assert load_preview(dicom_dir / name) is None


def test_no_preview_for_a_missing_or_non_dicom_file(tmp_path):
    assert load_preview(tmp_path / "missing.dcm") is None
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"\0" * 128 + b"DICM" + b"junk" * 100)
    assert load_preview(junk) is None


@pytest.mark.parametrize("name", J2K_CHESTS)
def test_shipped_model_scores_the_preview_like_the_full_image(dicom_dir, shipped_model, name):
    from viewer.core.model.result import analyse

    path = dicom_dir / name
    full = load_study(path)
    preview = load_preview(path)
    assert preview is not None
    p_full = analyse(shipped_model, full, 0).prediction.probability
    # what the viewer runs the model on: the preview at the full geometry (and the small image itself)
    shown = at_full_geometry(preview)
    p_shown = analyse(shipped_model, shown, 0, grey=display.render_default(shown, 0)).prediction.probability
    p_small = shipped_model.predict(display.render_default(preview, 0)).probability
    assert abs(p_shown - p_full) < 0.01, (p_shown, p_full)
    assert abs(p_small - p_full) < 0.01, (p_small, p_full)
