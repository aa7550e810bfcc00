"""Mutated real files: ``load_study`` either opens them or raises a StudyError subclass, never anything else,
never hangs. Bounded (150 examples, derandomized so CI runs the same cases) with a per-example time bound."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from viewer.core.display import render_default
from viewer.core.errors import StudyError
from viewer.core.io import load_study

pytestmark = [pytest.mark.shared, pytest.mark.slow]

# Small files covering the decoders and the structural cases (no meta, big endian, deflate...).
DICOM_SEEDS = (
    "chest/fodicom_CR-MONO1-10-chest.dcm",
    "variety/CT_small.dcm",
    "variety/MR_small_RLE.dcm",
    "variety/MR_small_bigendian.dcm",
    "variety/MR_small_jp2klossless.dcm",
    "variety/JPEGBaseline_1s_1f_u_08_08.dcm",
    "variety/JLSL_08_07_0_1F.dcm",
    "variety/emri_small_jpeg_ls_lossless.dcm",
    "variety/image_dfl.dcm",
    "variety/vlut_04.dcm",
    "variety/SC_rgb_jpeg_dcmtk.dcm",
    "variety/parametric_map_float.dcm",
    "variety/JPEGLossless_1s_1f_u_16_12.dcm",
)
PER_EXAMPLE_SECONDS = 20.0  # generous for a loaded 2-core machine; typical examples take milliseconds


@pytest.fixture(scope="module")
def seeds(dicom_dir, tmp_path_factory) -> list[tuple[str, bytes]]:
    out = [(Path(name).name, (dicom_dir / name).read_bytes()) for name in DICOM_SEEDS]
    rng = np.random.default_rng(7)
    grey = rng.integers(0, 256, (48, 64), dtype=np.uint8)
    for suffix, image in ((".png", grey), (".jpg", grey), (".tif", (grey.astype(np.uint16) * 257))):
        ok, buf = cv2.imencode(suffix, image)
        assert ok
        out.append((f"seed{suffix}", buf.tobytes()))
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def mutate(data: bytes, draw) -> bytes:
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "flip", "header", "truncate", "insert", "zero"]))
        if kind in ("flip", "header"):
            limit = min(len(buf), 4096) if kind == "header" else len(buf)
            pos = draw(st.integers(0, max(limit - 1, 0)))
            if buf:
                buf[pos] = draw(st.integers(0, 255))
        elif kind == "truncate":
            buf = buf[: draw(st.integers(0, len(buf)))]
        elif kind == "insert":
            pos = draw(st.integers(0, len(buf)))
            buf[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        else:
            pos = draw(st.integers(0, max(len(buf) - 1, 0)))
            buf[pos : pos + 4] = b"\xff\xff\xff\x7f"  # a huge length / size value
    return bytes(buf)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_mutated_files_raise_only_study_errors(seeds, workdir, data):
    name, original = data.draw(st.sampled_from(seeds))
    mutated = mutate(original, data.draw)
    path = workdir / name
    path.write_bytes(mutated)
    started = time.perf_counter()
    try:
        study = load_study(path)
    except StudyError as exc:
        assert str(exc) and "Traceback" not in str(exc)
    else:
        image = render_default(study)
        assert image.dtype == np.uint8 and image.shape == study.frames[0].shape
    assert time.perf_counter() - started < PER_EXAMPLE_SECONDS
