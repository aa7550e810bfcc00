"""Windowing: exact formulas (DICOM PS3.3 C.11.2.1.2/3), defaults, presets, and properties (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from viewer.core import display
from viewer.core.display import (
    COMMON_PRESETS,
    FULL_RANGE_8BIT,
    auto_window,
    default_window,
    presets,
    render,
    render_default,
    window_range,
)
from viewer.core.study import PatientInfo, StudyInfo, StudyMetadata, VoiLut, WindowPreset


def meta(photometric="MONOCHROME2", fmt="DICOM", bits=16, windows=(), luts=(), shape="") -> StudyMetadata:
    return StudyMetadata(
        patient=PatientInfo(),
        study=StudyInfo(),
        source_format=fmt,
        transfer_syntax="",
        photometric=photometric,
        bits_allocated=bits,
        bits_stored=bits,
        rows=1,
        columns=1,
        n_frames=1,
        presentation_lut_shape=shape,
        window_presets=tuple(windows),
        voi_luts=tuple(luts),
    )


MONO2, MONO1 = meta(), meta("MONOCHROME1")


def reference(x: np.ndarray, c: float, w: float, function: str) -> np.ndarray:
    """The standard's piecewise definitions, literally, output range 0..255."""
    x = x.astype(np.float64)
    if function == "LINEAR":
        y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255
        y[x <= c - 0.5 - (w - 1) / 2] = 0
        y[x > c - 0.5 + (w - 1) / 2] = 255
    elif function == "LINEAR_EXACT":
        y = ((x - c) / w + 0.5) * 255
        y[x <= c - w / 2] = 0
        y[x > c + w / 2] = 255
    else:
        y = 255 / (1 + np.exp(np.clip(-4 * (x - c) / w, -700, 700)))
    return y


values = st.floats(-70000, 70000, allow_nan=False, width=32)
centers = st.floats(-5000, 5000, allow_nan=False)
widths = st.floats(2, 20000, allow_nan=False)
functions = st.sampled_from(["LINEAR", "LINEAR_EXACT", "SIGMOID"])
frames = st.lists(values, min_size=2, max_size=64).map(lambda v: np.array(v, dtype=np.float32).reshape(1, -1))


# --- exact values ---------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(frame=frames, c=centers, w=widths, function=functions)
def test_render_equals_the_standard_formula(frame, c, w, function):
    ours = render(frame, MONO2, WindowPreset(c, w, function=function)).astype(np.float64)
    expected = reference(frame[0], c, w, function)
    assert np.abs(ours[0] - expected).max() <= 0.5 + 1e-3 * max(1.0, 255 / w) + 1e-6


def test_full_range_8bit_is_the_identity():
    x = np.arange(256, dtype=np.float32).reshape(16, 16)
    np.testing.assert_array_equal(render(x, meta(fmt="JPEG", bits=8), FULL_RANGE_8BIT), x.astype(np.uint8))
    np.testing.assert_array_equal(render(x, meta(fmt="PNG", bits=8)), x.astype(np.uint8))  # the default


def test_known_linear_values():
    # C 2048 / W 4096 on 12-bit data: 0 -> 0, 4095 -> 255, 2047.5 -> 127.5 (rounds to even 128)
    x = np.array([[0, 1024, 2047.5, 4095, 9999, -5]], dtype=np.float32)
    out = render(x, MONO2, WindowPreset(2048, 4096))
    assert out.tolist() == [[0, 64, 128, 255, 255, 0]]
    assert render(x, MONO1, WindowPreset(2048, 4096)).tolist() == [[255, 191, 128, 0, 0, 255]]


def test_linear_width_one_is_a_threshold():
    x = np.array([[99.0, 99.5, 99.6, 100.0]], dtype=np.float32)
    assert render(x, MONO2, WindowPreset(100, 1)).tolist() == [[0, 0, 255, 255]]
    assert render(x, MONO2, WindowPreset(100, 0.2)).tolist() == [[0, 0, 255, 255]]  # clamped to 1


def test_voi_lut_render_clamps_and_scales():
    lut = np.array([0, 1000, 4095, 2000], dtype=np.float32)  # 12-bit output, non-monotonic on purpose
    voi = VoiLut(first_mapped=10, lut=lut, bits=12)
    x = np.array([[-100, 9, 10, 11, 12, 13, 14, 70000]], dtype=np.float32)
    expected = np.rint(np.array([0, 0, 0, 1000, 4095, 2000, 2000, 2000]) * 255 / 4095)
    np.testing.assert_array_equal(render(x, MONO2, voi)[0], expected)
    np.testing.assert_array_equal(render(x, MONO1, voi)[0], 255 - expected)


def test_render_accepts_any_numeric_frame():
    base = np.arange(12, dtype=np.uint16).reshape(3, 4) * 100
    window = WindowPreset(600, 1200)
    expected = render(base.astype(np.float32), MONO2, window)
    np.testing.assert_array_equal(render(base, MONO2, window), expected)  # uint16
    big = np.zeros((3, 8), np.float32)
    big[:, ::2] = base[:, :4]
    np.testing.assert_array_equal(render(big[:, ::2], MONO2, window), render(base[:, :4], MONO2, window))
    with pytest.raises(ValueError):
        render(np.zeros((2, 2, 3)), MONO2, window)


def test_nan_does_not_break_auto_window_or_rendering():
    x = np.array([[np.nan, 1.0, 3.0, 5.0]], dtype=np.float32)
    window = auto_window(x)
    assert np.isfinite([window.center, window.width]).all()
    out = render(x, MONO2, window)
    assert out.dtype == np.uint8 and out[0, 1] == 0 and out[0, 3] == 255


# --- properties -----------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(frame=frames, c=centers, w=widths, function=functions, inverted=st.booleans())
def test_monotonic_in_input(frame, c, w, function, inverted):
    order = np.argsort(frame[0], kind="stable")
    out = render(frame, MONO1 if inverted else MONO2, WindowPreset(c, w, function=function))[0][order].astype(
        int
    )
    steps = np.diff(out)
    assert (steps <= 0).all() if inverted else (steps >= 0).all()


@settings(max_examples=150, deadline=None)
@given(c=centers, w=widths, function=functions)
def test_output_spans_0_to_255_and_saturates(c, w, function):
    x = np.array([[c - 10 * w - 1e5, c + 10 * w + 1e5]], dtype=np.float32)
    out = render(x, MONO2, WindowPreset(c, w, function=function))
    assert out.dtype == np.uint8 and out.tolist() == [[0, 255]]


@settings(max_examples=150, deadline=None)
@given(
    c=centers,
    w=widths,
    factor=st.floats(1.0, 50.0),
    a=st.floats(0, 1),
    b=st.floats(0, 1),
    function=st.sampled_from(["LINEAR", "LINEAR_EXACT"]),
)
def test_narrower_width_never_lowers_contrast(c, w, factor, a, b, function):
    """Inside the narrow window, any two values are at least as far apart on screen as with a wider one."""
    span = w - 1 if function == "LINEAR" else w  # LINEAR ramps over [c - w/2, c + w/2 - 1]
    lo, hi = sorted((c - w / 2 + a * span, c - w / 2 + b * span))
    x = np.array([[lo, hi]], dtype=np.float32)
    narrow = render(x, MONO2, WindowPreset(c, w, function=function)).astype(int)
    wide = render(x, MONO2, WindowPreset(c, w * factor, function=function)).astype(int)
    assert narrow[0, 1] - narrow[0, 0] >= wide[0, 1] - wide[0, 0] - 1  # 1: rounding


@settings(max_examples=150, deadline=None)
@given(frame=frames, c=centers, w=widths, function=functions)
def test_inversion_symmetry(frame, c, w, function):
    window = WindowPreset(c, w, function=function)
    plain = render(frame, MONO2, window).astype(int)
    inverted = render(frame, MONO1, window).astype(int)
    assert np.abs(inverted - (255 - plain)).max() <= 1  # 1: round-half-even ties
    inverse_shape = render(frame, meta(shape="INVERSE"), window).astype(int)
    np.testing.assert_array_equal(inverse_shape, inverted)


# --- defaults, auto window, presets, ranges -------------------------------------------------------


def test_default_window_order():
    frame = np.arange(100, dtype=np.float32).reshape(10, 10)
    file_window = WindowPreset(50, 40, "FILE")
    voi = VoiLut(0, np.arange(100, dtype=np.float32), 16, "LUT")
    assert default_window(meta(windows=[file_window], luts=[voi]), frame) is file_window
    assert default_window(meta(luts=[voi]), frame) is voi
    assert default_window(meta(fmt="PNG", bits=8), frame) == FULL_RANGE_8BIT
    assert default_window(meta(fmt="PNG", bits=16), frame).name.startswith("Auto")
    assert default_window(meta(fmt="DICOM", bits=8), frame).name.startswith("Auto")
    with pytest.raises(ValueError):
        default_window(meta())


def test_auto_window_uses_robust_percentiles():
    frame = np.arange(100_000, dtype=np.float32).reshape(250, 400)
    frame[0, :10] = 1e9  # a few outliers must not stretch the window
    window = auto_window(frame)
    assert window.function == "LINEAR"
    lo = window.center - 0.5 - (window.width - 1) / 2
    hi = window.center - 0.5 + (window.width - 1) / 2
    assert lo == pytest.approx(500, rel=0.02) and hi == pytest.approx(99_500, rel=0.02)
    out = render(frame, MONO2, window)
    assert out[0, 10] == 0 and out[0, 5] == 255 and out[-1, -1] == 255 and out[125, 200] in (127, 128)


def test_auto_window_float_and_constant_data():
    floats = np.linspace(0, 0.9, 400, dtype=np.float32).reshape(20, 20)
    window = auto_window(floats)
    assert window.function == "LINEAR_EXACT" and 0 < window.width < 1
    constant = np.full((8, 8), 7, np.float32)
    window = auto_window(constant)
    assert window.width >= 1
    assert render(constant, MONO2, window).std() == 0


def test_presets_follow_displayed_brightness():
    frame = np.arange(10_000, dtype=np.float32).reshape(100, 100)
    names = [p.name for p in COMMON_PRESETS]
    plain = {p.name: p for p in presets(MONO2, frame)}
    inverted = {p.name: p for p in presets(MONO1, frame)}
    assert set(names) <= set(plain)
    # "Lung (dark range)" covers the values shown dark: low values normally, high ones for MONOCHROME1.
    assert plain["Lung (dark range)"].center < 5000 < inverted["Lung (dark range)"].center
    assert plain["Bone (bright range)"].center > 5000 > inverted["Bone (bright range)"].center
    full = plain["Full range"]
    assert render(frame, MONO2, full)[0, 0] == 0 and render(frame, MONO2, full)[-1, -1] == 255
    own = WindowPreset(1, 2, "FILE")
    assert presets(meta(windows=[own]), frame)[0] is own
    assert presets(meta(fmt="JPEG", bits=8), frame)[0] == FULL_RANGE_8BIT


def test_window_range():
    frame = np.linspace(-1000, 3000, 400, dtype=np.float32).reshape(20, 20).round()
    min_w, max_w, min_c, max_c = window_range(MONO2, frame)
    assert min_w == 1 and max_w == 8000 and min_c == -3000 and max_c == 5000
    wide = WindowPreset(20000, 40000)
    assert window_range(meta(windows=[wide]), frame)[1:] == (40000, -3000, 20000)
    floats = np.linspace(0, 0.5, 100, dtype=np.float32).reshape(10, 10)
    min_w, max_w, *_ = window_range(MONO2, floats)
    assert min_w == pytest.approx(0.0005) and max_w == pytest.approx(1.0)


def test_render_default_and_sample_determinism():
    frame = np.random.default_rng(0).normal(1000, 200, (300, 300)).astype(np.float32)
    assert auto_window(frame) == auto_window(frame.copy())
    assert display._sample(frame).size <= 2 * display._SAMPLE_TARGET


def test_automatic_default_window_is_one_per_series():
    """Issue #15 item 3: every frame of a multi-frame study without a window renders at frame 0's window."""
    from viewer.core.study import Study

    frames = tuple(
        np.linspace(0, 1000 * (i + 1), 64 * 64, dtype=np.float32).reshape(64, 64) for i in range(3)
    )
    meta = StudyMetadata(
        patient=PatientInfo(), study=StudyInfo(), source_format="DICOM", transfer_syntax="", photometric="MONOCHROME2",
        bits_allocated=16, bits_stored=16, rows=64, columns=64, n_frames=3,
    )  # fmt: skip
    study = Study(path="x.dcm", frames=frames, meta=meta)
    first = auto_window(frames[0])
    assert default_window(study) == first and auto_window(frames[2]) != first
    np.testing.assert_array_equal(render_default(study, 2), render(frames[2], meta, first))
