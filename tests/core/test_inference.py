"""viewer.core.model: inference and the model contract, on the tiny hand-computable ONNX model (no torch)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

pytest.importorskip("onnx")

from fixtures_models import TINY_INFO, tiny_info, tiny_model_bytes, tiny_reference

from viewer.core import assets
from viewer.core.model import (
    Key,
    ModelContractError,
    ModelError,
    ModelLoadError,
    ModelNotFoundError,
    check_io,
    inference,
    info_from_metadata,
    metadata_from_info,
    parse_model_bytes,
    read_contract,
    seal_model_bytes,
)
from viewer.core.model.inference import (
    CPU,
    PneumoniaModel,
    Prediction,
    choose_providers,
    default_threads,
    friendly_provider,
    heatmap_to_frame,
)
from viewer.core.preprocess import prepare_model_input

WHITE_CAM = 7.0 / 49.0  # cam of an all-white patch: (8 * 0.5 + 4 * 0.75) / 49


@pytest.fixture(scope="module")
def model(tiny_model_path: Path) -> PneumoniaModel:
    return PneumoniaModel.load(tiny_model_path, force_cpu=True)


def half_bright(height: int = 300, width: int = 400) -> np.ndarray:
    img = np.zeros((height, width), np.uint8)
    img[:, : width // 2] = 255
    return img


# --------------------------------------------------------------------------- prediction


@pytest.mark.parametrize(
    "value, label", [(255, "PNEUMONIA"), (0, "NORMAL"), (90, "NORMAL"), (110, "PNEUMONIA")]
)
def test_predict_uniform_images(model, value, label):
    grey = np.full((512, 480), value, np.uint8)
    ref = tiny_reference(grey)
    pred = model.predict(grey)
    assert isinstance(pred, Prediction)
    assert pred.logit == pytest.approx(ref["logit"], abs=2e-4)  # float32 sums of 1024 terms
    assert pred.probability == pytest.approx(ref["probability"], abs=1e-4)
    assert pred.label == label  # at the default operating point, threshold 0.3
    assert (pred.threshold, pred.operating_point) == (0.3, "high_sensitivity")
    assert pred.provider == "CPU" and pred.heatmap_scale == 0.1 and pred.elapsed_ms > 0


def test_extremes_give_known_values(model):
    white, black = (
        model.predict(np.full((224, 224), 255, np.uint8)),
        model.predict(np.zeros((224, 224), np.uint8)),
    )
    assert white.logit == pytest.approx(7.0, abs=1e-5) and black.logit == pytest.approx(-7.0, abs=1e-5)
    assert white.probability == pytest.approx(1 / (1 + np.exp(-3.5)), abs=1e-6)  # temperature 2
    np.testing.assert_allclose(white.heatmap, WHITE_CAM, rtol=1e-5)
    assert not black.heatmap.any()


def test_heatmap_is_raw_cam_on_frame_geometry(model):
    grey = half_bright(300, 400)
    pred = model.predict(grey)
    assert pred.heatmap.shape == (300, 400) and pred.heatmap.dtype == np.float32
    # left (bright) half hot at the raw, unnormalised value, right half cold; the smooth (bicubic) map
    # rings a little at the edge, never below zero
    np.testing.assert_allclose(pred.heatmap[:, :50], WHITE_CAM, rtol=1e-4)
    assert np.abs(pred.heatmap[:, 350:]).max() < 0.02 * WHITE_CAM
    assert pred.heatmap.min() >= 0 and pred.heatmap.max() == pytest.approx(WHITE_CAM, rel=1e-5)
    raw = model.predict_input(prepare_model_input(grey))["cam"][0]
    np.testing.assert_allclose(raw, tiny_reference(grey)["cam"], atol=1e-6)


def test_heatmap_to_frame():
    cam = np.zeros((7, 7), np.float32)
    cam[3, 3] = 1.0
    out = heatmap_to_frame(cam, (700, 350))
    assert out.shape == (700, 350) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() == pytest.approx(1.0, abs=0.02)  # peak between pixel centres
    y, x = np.unravel_index(np.argmax(out), out.shape)
    assert abs(y - 350) <= 50 and abs(x - 175) <= 25  # the hot cell stays in the middle of the frame
    np.testing.assert_allclose(heatmap_to_frame(np.full((7, 7), 0.25, np.float32), (10, 20)), 0.25, rtol=1e-6)
    assert heatmap_to_frame(np.full((7, 7), -1.0, np.float32), (5, 5)).min() == 0.0


def test_heatmap_to_frame_is_smooth_and_keeps_the_scale():
    """Bicubic, not bilinear: the slope along a line through a hot cell changes gradually (a bilinear map has a
    kink at every cell centre, which a threshold turns into straight-edged polygons), and clipped to the raw
    map's range (no new peak on the fixed colour scale)."""
    cam = np.zeros((7, 7), np.float32)
    cam[3, 3], cam[3, 4], cam[2, 3] = 1.0, 0.6, 0.3
    out = heatmap_to_frame(cam, (700, 700))

    def kinkiness(row: np.ndarray) -> float:
        """max |second difference| / its mean over the support: large where the slope jumps at a few knots."""
        row = row.astype(np.float64)
        inside = (row[1:-1] > 0.1 * row.max()) & (row[1:-1] < 0.9 * row.max())  # between the clipped ends
        d2 = np.abs(np.diff(row, 2))[inside]
        return float(d2.max() / d2.mean())

    assert kinkiness(out[350]) < 6.0
    assert (
        kinkiness(cv2.resize(cam, (700, 700), interpolation=cv2.INTER_LINEAR)[350]) > 20.0
    )  # the check bites
    assert out.min() >= 0.0 and out.max() == pytest.approx(cam.max())


def test_predict_batch_matches_single_predictions(model):
    images = [np.full((200 + 10 * i, 300), 40 * i, np.uint8) for i in range(5)] + [half_bright(100, 900)]
    batch = model.predict_batch(images, chunk_size=4)
    assert len(batch) == len(images)
    for img, pred in zip(images, batch, strict=True):
        single = model.predict(img)
        assert pred.logit == pytest.approx(single.logit, abs=1e-5)
        assert pred.label == single.label and pred.heatmap.shape == img.shape
        np.testing.assert_allclose(pred.heatmap, single.heatmap, atol=1e-6)
    assert model.predict_batch([]) == []


def test_predict_input_checks_shape(model):
    out = model.predict_input(np.ones((3, 1, 224, 224), np.float32))
    assert set(out) == {"logit", "probability", "cam", "ood"} and out["cam"].shape == (3, 7, 7)
    np.testing.assert_allclose(out["ood"], 0.0, atol=1e-6)  # a uniform image is perfectly smooth
    np.testing.assert_allclose(out["logit"], 7.0, atol=1e-5)
    with pytest.raises(ValueError, match="float32"):
        model.predict_input(np.ones((1, 1, 224, 224), np.float64))
    with pytest.raises(ValueError):
        model.predict_input(np.ones((1, 3, 224, 224), np.float32))


def test_predict_rejects_non_display_images(model):
    with pytest.raises(ValueError, match="uint8"):
        model.predict(np.zeros((10, 10), np.float32))
    with pytest.raises(ValueError, match="2-D"):
        model.predict(np.zeros((10, 10, 3), np.uint8))


def test_operating_point_switch(tiny_model_path):
    m = PneumoniaModel.load(tiny_model_path, force_cpu=True)
    grey = np.full((224, 224), 110, np.uint8)  # probability ~0.43: positive at 0.3, negative at 0.5
    assert m.predict(grey).label == "PNEUMONIA"
    m.operating_point = "youden"
    pred = m.predict(grey)
    assert (pred.label, pred.threshold, pred.operating_point) == ("NORMAL", 0.5, "youden")
    with pytest.raises(ValueError, match="unknown operating point"):
        m.operating_point = "nonsense"


def test_info_is_parsed_from_metadata(model):
    info = model.info
    assert info == read_contract(model_bytes_of(model))
    assert (info.name, info.version, info.architecture) == ("tiny-test-model", "0.0.1", "tiny-conv")
    assert info.class_names == ("NORMAL", "PNEUMONIA") and info.input_size == 224
    assert info.temperature == 2.0 and info.threshold == 0.3 and info.heatmap_scale == 0.1
    assert info.operating_points == {"high_sensitivity": 0.3, "youden": 0.5}
    assert info.training_data["counts"] == {"NORMAL": 0, "PNEUMONIA": 0}
    assert len(info.sha256) == 64 and info.integrity == "sha256:" + info.sha256


def model_bytes_of(model: PneumoniaModel) -> bytes:
    return Path(model.source).read_bytes()


# --------------------------------------------------------------------------- contract refusals


def _refused(data: bytes, match: str) -> None:
    with pytest.raises(ModelContractError, match=match):
        PneumoniaModel.from_bytes(data, force_cpu=True)


def test_missing_key_is_refused():
    _refused(tiny_model_bytes(metadata_overrides={Key.TEMPERATURE: None}), "pneumoscope.temperature")
    _refused(tiny_model_bytes(metadata_overrides={Key.OOD: None}), "pneumoscope.ood")


@pytest.mark.parametrize(
    "ood",
    [
        '{"method":"m"}',
        '{"method":"m","threshold":-1}',
        '{"method":"m","threshold":"x"}',
        '{"threshold":2.0}',
        "[1]",
        "not json",
    ],
)
def test_malformed_ood_metadata_is_refused(ood):
    _refused(tiny_model_bytes(metadata_overrides={Key.OOD: ood}), "out-of-distribution|ood|JSON|wrong type")


def test_out_of_distribution_image_is_flagged(model):
    """The fourth output reaches the Prediction with the metadata's threshold."""
    noise = np.random.default_rng(0).integers(0, 256, (224, 224), dtype=np.uint8)
    smooth = np.full((300, 300), 200, np.uint8)
    p_noise, p_smooth = model.predict(noise), model.predict(smooth)
    assert p_noise.ood_threshold == 1.0 and p_noise.ood_score == pytest.approx(
        tiny_reference(noise)["ood"], rel=1e-4
    )
    assert p_noise.ood_score > 2.0 and not p_noise.in_distribution
    assert p_smooth.ood_score == pytest.approx(0.0, abs=1e-6) and p_smooth.in_distribution


@pytest.mark.parametrize("version", ["3", "0", ""])
def test_unknown_contract_version_is_refused(version):
    _refused(tiny_model_bytes(metadata_overrides={Key.CONTRACT: version}), "contract version")


def test_model_without_contract_is_refused():
    _refused(tiny_model_bytes(seal=False), "not a Pneumoscope model")
    _refused(tiny_model_bytes(metadata_overrides={Key.CONTRACT: None}), "not a Pneumoscope model")


def test_tampered_metadata_is_refused():
    data = tiny_model_bytes()
    old, new = b'{"high_sensitivity":0.3,', b'{"high_sensitivity":0.9,'
    assert data.count(old) == 1
    _refused(data.replace(old, new), "integrity")


def test_tampered_weights_are_refused():
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(tiny_model_bytes())
    head = next(t for t in model.graph.initializer if t.name == "head_w")
    head.CopyFrom(numpy_helper.from_array(-numpy_helper.to_array(head), "head_w"))
    _refused(model.SerializeToString(), "integrity")


def test_missing_integrity_hash_is_refused():
    good = tiny_model_bytes()
    meta = dict(parse_model_bytes(good).metadata)
    meta.pop(Key.INTEGRITY)
    import onnx

    model = onnx.load_from_string(good)
    del model.metadata_props[:]
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    _refused(model.SerializeToString(), "no integrity hash")


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({Key.CLASS_NAMES: '["CAT", "DOG"]'}, "class names"),
        ({Key.RESIZE_POLICY: "center-crop"}, "resize policy"),
        ({Key.INPUT_CHANNELS: "3"}, "input channels"),
        ({Key.TEMPERATURE: "-1"}, "temperature"),
        ({Key.OPERATING_POINTS: '{"a": 1.5}'}, "outside"),
        ({Key.DEFAULT_OPERATING_POINT: "missing"}, "default operating point"),
        ({Key.OPERATING_POINTS: "not json"}, "not valid JSON"),
        ({Key.HEATMAP_SCALE: "abc"}, "not a number"),
        ({Key.INPUT_VALUE_RANGE: "[0, 255]"}, "value range"),
        ({Key.PRECISION: "fp64"}, "precision"),
    ],
)
def test_unusable_metadata_is_refused(overrides, match):
    _refused(tiny_model_bytes(metadata_overrides=overrides), match)


def test_other_input_sizes_are_allowed_when_consistent():
    m = PneumoniaModel.from_bytes(tiny_model_bytes(tiny_info(input_size=256)), force_cpu=True)
    pred = m.predict(np.full((300, 300), 255, np.uint8))
    assert m.info.input_size == 256 and pred.logit == pytest.approx(7.0, abs=1e-4)


def test_wrong_graph_interface_is_refused():
    _refused(tiny_model_bytes(input_name="input"), "one input named 'image'")
    _refused(tiny_model_bytes(batch_dim=1), "fixed batch size")
    _refused(tiny_model_bytes(metadata_overrides={Key.INPUT_SIZE: "256"}), "shape")


def test_not_an_onnx_file_is_refused(tmp_path):
    _refused(b"\xff\xd8\xff\xe0 this is a JPEG", "not an ONNX model")
    _refused(b"", "not an ONNX model")
    path = tmp_path / "notes.onnx"
    path.write_text("hello")
    with pytest.raises(ModelContractError):
        PneumoniaModel.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelNotFoundError, match="not found") as exc:
        PneumoniaModel.load(tmp_path / "nope.onnx")
    assert isinstance(exc.value, FileNotFoundError) and isinstance(exc.value, ModelError)


# --------------------------------------------------------------------------- contract helpers


def test_metadata_round_trip_and_seal_is_stable():
    meta = metadata_from_info(TINY_INFO)
    assert set(meta) >= {Key.CONTRACT, Key.TEMPERATURE, Key.OPERATING_POINTS, Key.LIMITS}
    assert info_from_metadata({**meta, Key.INTEGRITY: "sha256:x"}) == tiny_info(integrity="sha256:x")
    once = tiny_model_bytes()
    assert seal_model_bytes(once, meta) == once  # re-sealing replaces the metadata, same bytes


def test_hand_written_metadata_matches_onnx_parser():
    import onnx

    data = tiny_model_bytes(tiny_info(limits='Ünïcode — and "quotes"\nnewline'))
    ours = parse_model_bytes(data).metadata
    theirs = {p.key: p.value for p in onnx.load_from_string(data).metadata_props}
    assert ours == theirs and ours[Key.LIMITS].startswith("Ünïcode")
    onnx.checker.check_model(onnx.load_from_string(data))


def test_onnx_resave_keeps_integrity(tmp_path):
    import onnx

    path = tmp_path / "resaved.onnx"
    onnx.save(onnx.load_from_string(tiny_model_bytes()), str(path))
    assert PneumoniaModel.load(path, force_cpu=True).info.name == "tiny-test-model"


def test_check_io_accepts_contract_and_names_problems():
    good_in = [("image", "tensor(float)", ["batch", 1, 224, 224])]
    good_out = [
        ("logit", "tensor(float)", ["batch"]),
        ("probability", "tensor(float)", ["batch"]),
        ("cam", "tensor(float)", ["batch", 7, 7]),
        ("ood", "tensor(float)", ["batch"]),
    ]
    check_io(good_in, good_out, 224)
    with pytest.raises(ModelContractError, match="lacks the output 'cam'"):
        check_io(good_in, [*good_out[:2], good_out[3]], 224)
    with pytest.raises(ModelContractError, match="lacks the output 'ood'.*out-of-distribution"):
        check_io(good_in, good_out[:3], 224)
    with pytest.raises(ModelContractError, match="float32"):
        check_io([("image", "tensor(uint8)", ["batch", 1, 224, 224])], good_out, 224)
    with pytest.raises(ModelContractError, match="rank 3"):
        check_io(good_in, [*good_out[:2], ("cam", "tensor(float)", ["batch", 49])], 224)


# --------------------------------------------------------------------------- providers


REAL_SESSION = ort.InferenceSession


class FakeSessionFactory:
    """Stands in for ort.InferenceSession: records calls, fails or misreports providers on demand."""

    def __init__(self, fail: set[str] = frozenset(), report: list[str] | None = None):
        self.fail, self.report, self.calls = set(fail), report, []

    def __call__(self, data, sess_options=None, providers=None):
        self.calls.append((list(providers), sess_options))
        if self.fail & set(providers):
            raise RuntimeError(f"{sorted(self.fail & set(providers))[0]}: libcudnn.so.9 not found")
        session = REAL_SESSION(data, sess_options=sess_options, providers=[CPU])
        if self.report is not None:
            session.get_providers = lambda: list(self.report)
        return session


@pytest.fixture
def fake_available(monkeypatch):
    def set_available(*providers):
        monkeypatch.setattr(ort, "get_available_providers", lambda: [*providers])

    return set_available


def test_choose_providers_order():
    assert choose_providers(["AzureExecutionProvider", CPU]) == [CPU]
    available = [CPU, "CoreMLExecutionProvider", "DmlExecutionProvider", "CUDAExecutionProvider"]
    assert choose_providers(available) == [
        "CUDAExecutionProvider",
        "DmlExecutionProvider",
        "CoreMLExecutionProvider",
        CPU,
    ]
    assert choose_providers(available, force_cpu=True) == [CPU]
    assert friendly_provider("DmlExecutionProvider") == "DirectML"
    assert friendly_provider("FooExecutionProvider") == "Foo"


def test_cuda_failing_falls_back_to_cpu_with_reason(monkeypatch, fake_available):
    fake_available("CUDAExecutionProvider", CPU)
    factory = FakeSessionFactory(fail={"CUDAExecutionProvider"})
    monkeypatch.setattr(ort, "InferenceSession", factory)
    m = PneumoniaModel.from_bytes(tiny_model_bytes())
    assert [c[0] for c in factory.calls] == [["CUDAExecutionProvider", CPU], [CPU]]
    assert m.provider == "CPU" and m.predict(half_bright()).provider == "CPU"
    assert "CUDA could not start" in m.fallback_reason and "libcudnn" in m.fallback_reason


def test_silent_ort_fallback_is_reported(monkeypatch, fake_available):
    fake_available("CUDAExecutionProvider", CPU)
    monkeypatch.setattr(ort, "InferenceSession", FakeSessionFactory(report=[CPU]))
    m = PneumoniaModel.from_bytes(tiny_model_bytes())
    assert m.provider == "CPU"
    assert m.fallback_reason.startswith("CUDA was requested but ONNX Runtime runs on CPU")


def test_directml_gets_its_session_options(monkeypatch, fake_available):
    fake_available("DmlExecutionProvider", CPU)
    factory = FakeSessionFactory(report=["DmlExecutionProvider", CPU])
    monkeypatch.setattr(ort, "InferenceSession", factory)
    m = PneumoniaModel.from_bytes(tiny_model_bytes(), threads=3)
    providers, options = factory.calls[0]
    assert providers == ["DmlExecutionProvider", CPU]
    assert options.enable_mem_pattern is False
    assert options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert options.intra_op_num_threads == 3 and options.inter_op_num_threads == 1
    assert m.provider == "DirectML" and m.fallback_reason is None


def test_cpu_session_keeps_memory_patterns(monkeypatch, fake_available):
    fake_available(CPU)
    factory = FakeSessionFactory()
    monkeypatch.setattr(ort, "InferenceSession", factory)
    PneumoniaModel.from_bytes(tiny_model_bytes())
    providers, options = factory.calls[0]
    assert providers == [CPU] and options.enable_mem_pattern is True
    assert options.intra_op_num_threads == default_threads()
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL


def test_force_cpu_and_explicit_providers(monkeypatch, fake_available):
    fake_available("CUDAExecutionProvider", CPU)
    factory = FakeSessionFactory()
    monkeypatch.setattr(ort, "InferenceSession", factory)
    PneumoniaModel.from_bytes(tiny_model_bytes(), force_cpu=True)
    PneumoniaModel.from_bytes(tiny_model_bytes(), providers=["CoreMLExecutionProvider"])
    assert [c[0] for c in factory.calls] == [[CPU], ["CoreMLExecutionProvider", CPU]]


def test_cpu_failure_is_a_load_error(monkeypatch, fake_available):
    fake_available(CPU)
    monkeypatch.setattr(ort, "InferenceSession", FakeSessionFactory(fail={CPU}))
    with pytest.raises(ModelLoadError, match="cannot load"):
        PneumoniaModel.from_bytes(tiny_model_bytes())


def test_default_threads_is_sane():
    assert 1 <= default_threads() <= inference.MAX_DEFAULT_THREADS


# --------------------------------------------------------------------------- assets


def test_asset_path_from_source_tree():
    root = Path(__file__).resolve().parents[2]
    assert assets.asset_path("models", "x.onnx") == root / "assets" / "models" / "x.onnx"


def test_asset_path_when_frozen(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    monkeypatch.delenv(assets.MODEL_ENV_VAR, raising=False)
    assert assets.default_model_path() == tmp_path / "assets" / "models" / assets.MODEL_FILENAME


def test_load_default_path_honours_env(monkeypatch, tiny_model_path):
    monkeypatch.setenv(assets.MODEL_ENV_VAR, str(tiny_model_path))
    assert PneumoniaModel.load(force_cpu=True).info.name == "tiny-test-model"


def test_shipped_model_honours_contract():
    path = assets.asset_path("models", assets.MODEL_FILENAME)
    if not path.exists():
        pytest.skip(f"no shipped model at {path}")
    m = PneumoniaModel.load(path, force_cpu=True)
    assert m.info.architecture and m.info.calibrated
    pred = m.predict(np.full((256, 256), 128, np.uint8))
    assert 0.0 <= pred.probability <= 1.0 and pred.heatmap.shape == (256, 256)


def test_onnx_runtime_telemetry_is_off_whatever_the_environment_says():
    """ORT_DISABLE_TELEMETRY is forced to 1 before ONNX Runtime is imported (a user's 0 does not turn it back
    on), and the events switch (Windows' ETW telemetry) is turned off when the inference module loads."""
    code = (
        "import os, onnxruntime as ort\n"
        "calls = []\n"
        "ort.disable_telemetry_events = lambda: calls.append('off')\n"
        "import viewer.core.model.inference\n"
        "print(os.environ['ORT_DISABLE_TELEMETRY'], calls)\n"
    )
    env = {**os.environ, "ORT_DISABLE_TELEMETRY": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "['off']"]
