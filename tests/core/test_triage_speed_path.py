"""The batch triage's fast path (issue #13): the reduced decode for the model (``load_for_model``), no
heatmaps, and on real images the same AI result as the AI panel (``load_study`` + ``analyse``)."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest

from viewer.core.display import render_default
from viewer.core.errors import StudyError
from viewer.core.io import load_study
from viewer.core.io.collection import Entry, Source, SourceKind
from viewer.core.io.load import load_for_model
from viewer.core.io.raster import jpeg_reduction
from viewer.core.model.inference import PneumoniaModel
from viewer.core.model.result import analyse
from viewer.core.model.triage import MODEL_DECODE_MIN_SIDE, triage
from viewer.core.preprocess import MODEL_INPUT_SIZE

MAX_DIFFERENCE = 0.01  # |p_triage - p_panel|


def _chest_like(rows: int, columns: int, seed: int = 0) -> np.ndarray:
    """A smooth grey image with some texture (JPEG-friendly, not uniform)."""
    yy, xx = np.mgrid[0:rows, 0:columns].astype(np.float32)
    rng = np.random.default_rng(seed)
    img = 128 + 60 * np.sin(xx / 97.0) * np.cos(yy / 131.0) + rng.normal(0, 6, (rows, columns))
    return np.clip(img, 0, 255).astype(np.uint8)


def _jpeg(img: np.ndarray, **params) -> bytes:
    flags = [cv2.IMWRITE_JPEG_QUALITY, 95]
    if params.get("progressive"):
        flags += [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]
    ok, buf = cv2.imencode(".jpg", img, flags)
    assert ok
    return buf.tobytes()


def _with_exif_orientation(data: bytes, orientation: int) -> bytes:
    """The JPEG with an APP1 Exif segment (one IFD entry: Orientation) right after SOI."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
    tiff += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0)
    payload = b"Exif\x00\x00" + tiff
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


def _entries(paths) -> list[Entry]:
    return [Entry(p, str(p), Source(str(p), SourceKind.FILE), f"path:{p}") for p in paths]


# --- the reduced decode ---------------------------------------------------------------------------


def test_reduction_keeps_the_shorter_side_at_least_min_side():
    grey = _jpeg(_chest_like(1800, 2000))
    assert jpeg_reduction(grey, 896) == 2  # 900 x 1000
    assert jpeg_reduction(grey, 901) == 1
    assert jpeg_reduction(grey, 450) == 4  # 450 x 500
    assert jpeg_reduction(grey, 100) == 8  # never more than libjpeg's 1/8
    assert jpeg_reduction(_jpeg(_chest_like(1801, 2000)), 901) == 2  # libjpeg rounds up: 901 x 1000
    assert jpeg_reduction(_jpeg(_chest_like(1800, 2000), progressive=True), 896) == 2
    colour = _jpeg(np.dstack([_chest_like(1800, 2000, s) for s in range(3)]))
    assert jpeg_reduction(colour, 896) == 1  # only the full decode tells colour from grey-as-colour
    sof = grey.index(b"\xff\xc0")
    twelve_bit = grey[: sof + 4] + b"\x0c" + grey[sof + 5 :]
    assert jpeg_reduction(twelve_bit, 896) == 1
    assert jpeg_reduction(b"\xff\xd8\xff", 896) == 1 and jpeg_reduction(b"", 896) == 1


def test_load_for_model_decodes_a_large_grey_jpeg_reduced_with_the_full_metadata(tmp_path):
    path = tmp_path / "big.jpg"
    path.write_bytes(_jpeg(_chest_like(1800, 2000)))
    full, small = load_study(path), load_for_model(path, min_side=MODEL_DECODE_MIN_SIDE)
    assert small.meta == full.meta and (small.meta.rows, small.meta.columns) == (1800, 2000)
    frame = small.frames[0]
    assert frame.shape == (900, 1000) and frame.dtype == np.float32 and not frame.flags.writeable
    reference = cv2.resize(full.frames[0], (1000, 900), interpolation=cv2.INTER_AREA)
    assert np.abs(frame - reference).mean() < 2.0  # grey levels
    assert np.array_equal(load_study(path).frames[0], full.frames[0])  # load_study itself is unchanged
    assert load_for_model(path, min_side=450).frames[0].shape == (450, 500)
    # never below the model input: the AI gate's too-small rule sees what the full image shows
    assert MODEL_DECODE_MIN_SIDE >= MODEL_INPUT_SIZE


def test_reduced_decode_ignores_exif_orientation_like_the_full_decode(tmp_path):
    img = _chest_like(1800, 2000)
    img[:300, :300] = 255  # a bright top-left corner
    path = tmp_path / "rotated.jpg"
    path.write_bytes(_with_exif_orientation(_jpeg(img), 6))  # 6: "rotate 90 degrees clockwise"
    assert load_study(path).frames[0].shape == (1800, 2000)
    small = load_for_model(path, min_side=MODEL_DECODE_MIN_SIDE).frames[0]
    assert small.shape == (900, 1000) and small[:100, :100].mean() > 240 and small[-100:, -100:].mean() < 240


def test_load_for_model_is_load_study_for_every_other_file(tmp_path):
    cases = {
        "small.jpg": _jpeg(_chest_like(600, 768)),  # shorter side < 2 x 896: nothing to gain
        "colour.jpg": _jpeg(np.dstack([_chest_like(1800, 2000, s) for s in range(3)])),
        "big.png": cv2.imencode(".png", _chest_like(1800, 2000))[1].tobytes(),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        full, model_view = (
            load_study(tmp_path / name),
            load_for_model(tmp_path / name, min_side=MODEL_DECODE_MIN_SIDE),
        )
        assert model_view.meta == full.meta, name
        assert np.array_equal(model_view.frames[0], full.frames[0]), name


def test_load_for_model_raises_what_load_study_raises(tmp_path):
    data = _jpeg(_chest_like(1800, 2000))
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(data[: len(data) // 2])
    header_only = tmp_path / "header_only.jpg"
    header_only.write_bytes(data[: data.index(b"\xff\xda")] + b"\xff\xd9")
    text = tmp_path / "notes.dcm"
    text.write_text("not an image")
    for path in (truncated, header_only, text, tmp_path / "missing.jpg", tmp_path / "missing.dcm"):
        with pytest.raises(StudyError) as full:
            load_study(path)
        with pytest.raises(StudyError) as fast:
            load_for_model(path, min_side=MODEL_DECODE_MIN_SIDE)
        assert type(fast.value) is type(full.value) and str(fast.value) == str(full.value), path


# --- no heatmaps ----------------------------------------------------------------------------------


def test_predict_batch_without_heatmaps_changes_nothing_else(tiny_model_path):
    model = PneumoniaModel.load(tiny_model_path)
    images = [_chest_like(300, 400, s) for s in range(5)]
    with_maps = model.predict_batch(images, chunk_size=2)
    without = model.predict_batch(images, chunk_size=2, heatmaps=False)
    for a, b in zip(with_maps, without, strict=True):
        assert a.heatmap.shape == (300, 400) and b.heatmap.shape == (0, 0)
        for name in ("probability", "logit", "label", "threshold", "ood_score", "heatmap_scale"):
            assert getattr(a, name) == getattr(b, name), name


def test_triage_rows_match_the_single_study_analysis_at_every_setting(tiny_model_path, tmp_path):
    paths = []
    for i, (rows, columns) in enumerate([(1800, 2000), (600, 768), (224, 224), (2000, 1900)]):
        paths.append(tmp_path / f"{i}.jpg")
        paths[-1].write_bytes(_jpeg(_chest_like(rows, columns, i)))
    model = PneumoniaModel.load(tiny_model_path)
    panel = [analyse(model, load_study(p)) for p in paths]
    for kwargs in ({}, {"batch_size": 3, "decode_threads": 2}, {"full_resolution": True}):
        rows = list(triage(model, _entries(paths), **kwargs))
        for row, single in zip(rows, panel, strict=True):
            assert row.result.prediction.heatmap.size == 0
            assert row.result.state is single.state and row.result.label == single.label
            assert row.result.prediction.probability == pytest.approx(single.prediction.probability, abs=0.01)
            assert row.meta == load_study(row.entry.path).meta


def test_the_cli_predicts_in_batches_of_the_triage_default():
    from viewer import cli
    from viewer.core.model.triage import TRIAGE_BATCH

    args = cli.build_parser()[0].parse_args(["predict", "x.dcm"])
    assert args.batch_size == TRIAGE_BATCH


# --- the shipped model on real images -------------------------------------------------------------


def _assert_triage_agrees_with_the_panel(model, paths) -> int:
    """Every triage row within MAX_DIFFERENCE of the AI panel's probability, same state and label; returns
    how many images the triage decoded at a reduced resolution."""
    reduced = 0
    for row in triage(model, _entries(paths)):
        full = load_study(row.entry.path)
        panel = analyse(model, full)
        small = load_for_model(row.entry.path, min_side=MODEL_DECODE_MIN_SIDE)
        reduced += small.frames[0].shape != full.frames[0].shape
        p_row, p_panel = row.result.prediction.probability, panel.prediction.probability
        assert abs(p_row - p_panel) < MAX_DIFFERENCE, (row.entry.path, p_row, p_panel)
        assert row.result.state is panel.state and row.result.label == panel.label, row.entry.path
        rules = [f.rule for f in row.result.assessment.findings]
        assert rules == [f.rule for f in panel.assessment.findings], row.entry.path
        assert row.meta == full.meta
    return reduced


@pytest.mark.shared
def test_shipped_model_triage_agrees_with_the_panel_on_kermany_test_images(shared_dir, shipped_model):
    folder = shared_dir / "data" / "kermany_test_a"
    normal, pneumonia = sorted(folder.glob("NORMAL/*.jpeg")), sorted(folder.glob("PNEUMONIA/*.jpeg"))
    assert len(normal) >= 24 and len(pneumonia) >= 24
    paths = normal[:: len(normal) // 24][:24] + pneumonia[:: len(pneumonia) // 24][:24]  # spread over both
    _assert_triage_agrees_with_the_panel(shipped_model, paths)


@pytest.mark.shared
def test_shipped_model_triage_agrees_with_the_panel_on_chest_dicoms(dicom_dir, shipped_model):
    paths = sorted((dicom_dir / "chest").glob("*.dcm"))
    paths += [dicom_dir / "variety" / n for n in ("RG1_J2KR.dcm", "RG1_J2KI.dcm")]
    assert len(paths) >= 7
    reduced = _assert_triage_agrees_with_the_panel(shipped_model, paths)
    assert reduced >= 3  # the JPEG 2000 chests: their reduced wavelet level


@pytest.mark.shared
@pytest.mark.parametrize("quality", [75, 95])
def test_shipped_model_triage_agrees_with_the_panel_on_large_radiograph_jpegs(
    dicom_dir, shipped_model, tmp_path, quality
):
    """Real radiographs large enough for a reduced JPEG decode: the shared DICOMs rendered at their default
    window and written as grey JPEGs (the shared Kermany JPEGs are at most 768 px: always decoded in full)."""
    paths = []
    sources = sorted((dicom_dir / "chest").glob("*.dcm")) + sorted((dicom_dir / "radiographs").glob("*.dcm"))
    for source in sources:
        try:
            study = load_study(source)
        except StudyError:
            continue
        if study.n_frames == 1 and min(study.frames[0].shape) >= 2 * MODEL_DECODE_MIN_SIDE:
            paths.append(tmp_path / f"{source.stem[:40]}.jpg")
            ok, buf = cv2.imencode(".jpg", render_default(study), [cv2.IMWRITE_JPEG_QUALITY, quality])
            paths[-1].write_bytes(buf.tobytes())
    assert len(paths) >= 3  # canon DX chest 2128 x 2000, wg04 CR chest 1955 x 1841, Kodak CR hand 2500 x 2048
    assert _assert_triage_agrees_with_the_panel(shipped_model, paths) == len(paths)
