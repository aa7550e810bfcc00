"""Export: ONNX Runtime agrees with PyTorch and with pytorch-grad-cam (one network and an ensemble), the OOD
output with its PyTorch and NumPy forms, and the file honours the contract."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("torchvision")

from pytorch_grad_cam import GradCAM  # noqa: E402
from pytorch_grad_cam.utils.image import scale_cam_image  # noqa: E402
from pytorch_grad_cam.utils.model_targets import BinaryClassifierOutputTarget  # noqa: E402

from training.checkpoint import load_checkpoint  # noqa: E402
from training.export import (  # noqa: E402
    MAX_OPSET,
    ExportStats,
    OnnxExportWrapper,
    atomic_write_bytes,
    export_bytes,
    export_onnx,
    torch_reference,
    weights_sha256,
)
from training.models import build_model  # noqa: E402
from training.ood import DEFAULT_TAPS, OodHead, fit_member, member_scores_np, pooled_features  # noqa: E402
from viewer.core.model import CALIBRATION_INITIALIZERS, Key, ModelContractError, read_contract  # noqa: E402
from viewer.core.model.inference import PneumoniaModel  # noqa: E402
from viewer.core.preprocess import MODEL_INPUT_SIZE, RESIZE_POLICY, prepare_model_input  # noqa: E402

CALIBRATION = {
    "temperature": 1.7,
    "logit_shift": 0.25,
    "operating_points": {"high_sensitivity": 0.21, "balanced": 0.64},
    "default_operating_point": "high_sensitivity",
    "heatmap_scale": 0.042,
    "val_metrics": {"roc_auc": 0.991, "n": 787},
    "source": {"kind": "validation", "name": "test split", "n": 787},
}
CKPT_INFO = {
    "config": {"arch": "mobilenet_v2", "dropout": 0.2, "input_size": MODEL_INPUT_SIZE, "lr": 5e-4},
    "epoch": 7,
    "val_metrics": {"val_auroc": 0.99},
    "data_summary": {"manifest_sha256": "ab" * 32, "counts": {"NORMAL": 1341, "PNEUMONIA": 3875}},
    "source_commit": "0123456789abcdef0123456789abcdef01234567",
}
OOD_COMPONENTS = 4


def _training_like(n: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (n, 224, 224) smooth radial images with varied exposure, and alternating labels: enough for
    a small OOD fit in tests (real statistics come from the training split)."""
    yy, xx = np.mgrid[0:224, 0:224].astype(np.float32) / 223
    rng = np.random.default_rng(5)
    imgs = []
    for i in range(n):
        base = np.clip(1.1 - np.hypot(xx - 0.5 + 0.02 * i, yy - 0.5) * (1.3 + 0.05 * i), 0, 1)
        imgs.append(np.clip(base * rng.uniform(0.6, 1.0) * 255 + rng.normal(0, 6, base.shape), 0, 255))
    return np.stack(imgs).astype(np.uint8), np.arange(n) % 2


def stats_for(members, calibration: dict = CALIBRATION) -> ExportStats:
    images, labels = _training_like()
    ood_stats = []
    for net in members:
        _, feats = pooled_features(net, images, DEFAULT_TAPS)
        ood_stats.append(fit_member(feats, labels, DEFAULT_TAPS, OOD_COMPONENTS))
    ood = {
        "method": "mahalanobis-tied-shrinkage-pca",
        "threshold": 2.5,
        "quantile": 99.0,
        "taps": list(DEFAULT_TAPS),
        "components": OOD_COMPONENTS,
    }
    return ExportStats(ood_stats, ood, calibration)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


@pytest.fixture(scope="module")
def kermany_images(kermany_dir: Path) -> dict[str, np.ndarray]:
    """One original-resolution and one squashed 224 x 224 image per class, decoded to grey uint8."""
    picked: dict[str, Path] = {}
    with open(kermany_dir / "MANIFEST.csv", newline="") as f:
        for row in csv.DictReader(f):
            key = f"{row['label']}-{'224' if row['squashed_224'] == '1' else 'orig'}"
            if row["split"] == "train" and key not in picked:
                picked[key] = kermany_dir / row["split"] / row["label"] / row["file"]
    assert len(picked) == 4, picked
    images = {}
    for key, path in sorted(picked.items()):
        grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        assert grey is not None and grey.dtype == np.uint8, path
        images[key] = grey
    return images


@pytest.fixture(scope="module")
def kermany_batch(kermany_images) -> np.ndarray:
    return np.concatenate([prepare_model_input(img) for img in kermany_images.values()])


@pytest.fixture(scope="module")
def mobilenet(shared_dir: Path):
    """ImageNet-initialised MobileNetV2 with a seeded random head."""
    torch.manual_seed(0)
    return build_model("mobilenet_v2", str(shared_dir / "weights" / "mobilenet_v2_imagenet.pth")).eval()


@pytest.fixture(scope="module")
def mobilenet_stats(mobilenet) -> ExportStats:
    return stats_for([mobilenet])


@pytest.fixture(scope="module")
def mobilenet_export(mobilenet, mobilenet_stats):
    data, info, _, _ = export_bytes(mobilenet, CKPT_INFO, mobilenet_stats)
    return data, info


def _probability(logit, info):
    return 1 / (1 + np.exp(-(logit.astype(np.float64) + info.logit_shift) / info.temperature))


def _torch_outputs(model, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        logit, cam = model.forward_with_cam(torch.from_numpy(batch))
    return logit.numpy(), cam.numpy()


def _grad_cam_check(model, runtime: PneumoniaModel, batch: np.ndarray) -> None:
    """Exported CAM vs pytorch_grad_cam.GradCAM on the same layer: raw scale and normalised shape."""
    cams = runtime.predict_input(batch)["cam"]
    with GradCAM(model=model, target_layers=[model.features]) as grad_cam:
        reference = grad_cam(
            input_tensor=torch.from_numpy(batch), targets=[BinaryClassifierOutputTarget(1)] * len(batch)
        )
        # GradCAM's own raw map from its stored activations and gradients: ReLU(sum_k mean(dY/dA_k) A_k).
        acts = grad_cam.activations_and_grads.activations[0].numpy()
        grads = grad_cam.activations_and_grads.gradients[0].numpy()
    raw = np.maximum((grads.mean(axis=(2, 3))[:, :, None, None] * acts).sum(axis=1), 0)
    assert raw.max() > 0, "degenerate test: the random head gives an all-zero CAM"
    np.testing.assert_allclose(cams, raw, rtol=1e-3, atol=1e-4 * raw.max())
    # The same normalise-and-resize pytorch_grad_cam applies to its output, applied to ours.
    ours = scale_cam_image(scale_cam_image(cams, (batch.shape[3], batch.shape[2])))
    assert reference.shape == ours.shape
    for i in range(len(batch)):
        assert np.ptp(ours[i]) > 0, f"image {i}: flat CAM, nothing to compare"
        assert _pearson(ours[i], reference[i]) >= 0.999, i


# --------------------------------------------------------------------------- numerical agreement


@pytest.mark.shared
def test_ort_logits_match_pytorch_on_kermany(mobilenet, mobilenet_export, kermany_batch):
    data, info = mobilenet_export
    runtime = PneumoniaModel.from_bytes(data, force_cpu=True)
    out = runtime.predict_input(kermany_batch)
    logit, cam = _torch_outputs(mobilenet, kermany_batch)
    assert np.abs(out["logit"] - logit).max() <= 1e-4
    assert np.ptp(logit) > 0.01, "degenerate test: the images give the same logit"
    np.testing.assert_allclose(out["probability"], _probability(logit, info), atol=1e-6)
    np.testing.assert_allclose(out["cam"], cam, rtol=1e-4, atol=1e-5 * cam.max())
    assert out["cam"].shape == (len(kermany_batch), 7, 7)


@pytest.mark.shared
def test_exported_cam_matches_pytorch_grad_cam(mobilenet, mobilenet_export, kermany_batch):
    runtime = PneumoniaModel.from_bytes(mobilenet_export[0], force_cpu=True)
    _grad_cam_check(mobilenet, runtime, kermany_batch)


@pytest.mark.shared
def test_predict_on_real_image_maps_heatmap_to_frame(mobilenet_export, kermany_images):
    runtime = PneumoniaModel.from_bytes(mobilenet_export[0], force_cpu=True)
    grey = kermany_images["PNEUMONIA-orig"]
    pred = runtime.predict(grey)
    raw = runtime.predict_input(prepare_model_input(grey))
    assert pred.heatmap.shape == grey.shape and pred.heatmap.dtype == np.float32
    assert pred.logit == pytest.approx(float(raw["logit"][0]), abs=1e-6)
    # the smooth upsampling neither invents heat nor exceeds the raw map's range
    assert pred.heatmap.min() >= 0 and pred.heatmap.max() <= raw["cam"].max() + 1e-6
    assert pred.heatmap.max() >= 0.5 * raw["cam"].max()
    assert pred.threshold == CALIBRATION["operating_points"]["high_sensitivity"]
    assert pred.label == ("PNEUMONIA" if pred.probability >= pred.threshold else "NORMAL")


@pytest.mark.slow
@pytest.mark.shared
def test_densenet161_export_matches_pytorch_and_grad_cam(kermany_batch):
    torch.manual_seed(1)
    model = build_model("densenet161", "none").eval()
    ckpt = {**CKPT_INFO, "config": {**CKPT_INFO["config"], "arch": "densenet161"}}
    data, info, logit_diff, _ = export_bytes(model, ckpt, stats_for([model]))
    assert info.architecture == "densenet161"
    batch = kermany_batch[:2]
    runtime = PneumoniaModel.from_bytes(data, force_cpu=True)
    logit, _ = _torch_outputs(model, batch)
    assert np.abs(runtime.predict_input(batch)["logit"] - logit).max() <= 1e-4
    _grad_cam_check(model, runtime, batch)


# --------------------------------------------------------------------------- file and metadata


def test_dynamic_batch(mobilenet_export):
    runtime = PneumoniaModel.from_bytes(mobilenet_export[0], force_cpu=True)
    rng = np.random.default_rng(3)
    batch = rng.random((5, 1, MODEL_INPUT_SIZE, MODEL_INPUT_SIZE), dtype=np.float32)
    whole = runtime.predict_input(batch)
    assert whole["logit"].shape == (5,) and whole["cam"].shape == (5, 7, 7)
    for i in (0, 4):
        single = runtime.predict_input(batch[i : i + 1])
        np.testing.assert_allclose(single["logit"], whole["logit"][i : i + 1], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(single["cam"][0], whole["cam"][i], rtol=1e-4, atol=1e-6)


def test_metadata_round_trips(mobilenet_export):
    data, info = mobilenet_export
    assert read_contract(data) == info
    assert info.temperature == pytest.approx(CALIBRATION["temperature"])
    assert info.operating_points == CALIBRATION["operating_points"]
    assert info.default_operating_point == "high_sensitivity" and info.threshold == 0.21
    assert info.logit_shift == 0.25 and info.members == 1 and info.ood["threshold"] == 2.5
    assert info.calibration == CALIBRATION["source"] and len(info.weights_sha256) == 64
    assert info.heatmap_scale == pytest.approx(CALIBRATION["heatmap_scale"])
    assert info.validation_metrics == CALIBRATION["val_metrics"]
    assert info.training_data == CKPT_INFO["data_summary"]
    assert info.source_commit == CKPT_INFO["source_commit"]
    assert info.training_config["epoch"] == 7 and info.training_config["lr"] == 5e-4
    assert info.calibrated and info.precision == "fp32"
    assert (info.name, info.architecture) == ("pneumoscope-mobilenetv2", "mobilenet_v2")
    assert info.class_names == ("NORMAL", "PNEUMONIA")
    assert (info.input_size, info.input_channels, info.resize_policy) == (224, 1, RESIZE_POLICY)
    assert "not a medical device" in info.intended_use and "Guangzhou" in info.limits
    assert info.integrity.startswith("sha256:") and len(info.sha256) == 64

    model = onnx.load_from_string(data)
    props = {p.key: p.value for p in model.metadata_props}  # onnx's own parser sees the same metadata
    assert props[Key.CONTRACT] == "2" and props[Key.INTEGRITY] == info.integrity
    assert float(props[Key.TEMPERATURE]) == pytest.approx(1.7)
    onnx.checker.check_model(model, full_check=True)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) <= MAX_OPSET
    assert [i.name for i in model.graph.input] == ["image"]
    assert [o.name for o in model.graph.output] == ["logit", "probability", "cam", "ood"]
    assert {i.name for i in model.graph.initializer} >= set(CALIBRATION_INITIALIZERS)
    assert weights_sha256(data) == info.weights_sha256
    # self-contained: no external-data tensors
    assert all(
        t.data_location == onnx.TensorProto.DEFAULT and not t.external_data for t in model.graph.initializer
    )


def test_onnx_load_save_round_trip_keeps_integrity(mobilenet_export, tmp_path):
    data, info = mobilenet_export
    path = tmp_path / "resaved.onnx"
    onnx.save(onnx.load_from_string(data), str(path))
    assert PneumoniaModel.load(path, force_cpu=True).info == info


def test_tampered_weights_are_refused(mobilenet_export):
    data, _ = mobilenet_export
    model = onnx.load_from_string(data)
    init = model.graph.initializer[len(model.graph.initializer) // 2]
    arr = onnx.numpy_helper.to_array(init).copy()
    arr.flat[0] += 0.5
    init.CopyFrom(onnx.numpy_helper.from_array(arr, init.name))
    with pytest.raises(ModelContractError, match="integrity"):
        PneumoniaModel.from_bytes(model.SerializeToString(), force_cpu=True)


def test_export_refuses_to_overwrite_and_writes_atomically(mobilenet, mobilenet_stats, tmp_path):
    out = tmp_path / "model.onnx"
    out.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        export_onnx(mobilenet, CKPT_INFO, mobilenet_stats, out)
    assert out.read_bytes() == b"precious"
    result = export_onnx(mobilenet, CKPT_INFO, mobilenet_stats, out, force=True, verify=False)
    assert result.path == out and out.stat().st_size == result.size_bytes
    assert PneumoniaModel.load(out, force_cpu=True).info == result.info
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]  # no temporary or .data files


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    import os

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(tmp_path / "x.onnx", b"data")
    assert list(tmp_path.iterdir()) == []


def test_opset_above_17_is_refused(mobilenet, mobilenet_stats):
    with pytest.raises(ValueError, match="opset"):
        export_bytes(mobilenet, CKPT_INFO, mobilenet_stats, opset=18, verify=False)


# --------------------------------------------------------------------------- checkpoint + CLI


def _save_checkpoint(model, path: Path, prefix: str = "") -> Path:
    state = {prefix + k: v for k, v in model.state_dict().items()}
    torch.save({**CKPT_INFO, "model": state}, path)
    return path


@pytest.mark.parametrize("prefix", ["", "_orig_mod."])
def test_load_checkpoint_rebuilds_the_model(mobilenet, tmp_path, prefix):
    path = _save_checkpoint(mobilenet, tmp_path / "ckpt.pt", prefix)
    model, ckpt = load_checkpoint(path)
    assert not model.training and ckpt["epoch"] == 7
    x = torch.rand(1, 1, 224, 224)
    with torch.no_grad():
        assert torch.equal(model(x), mobilenet(x))


def test_load_checkpoint_rejects_other_files(tmp_path):
    torch.save({"weights": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a Pneumoscope checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


# --------------------------------------------------------------------------- ensemble and OOD


@pytest.fixture(scope="module")
def ensemble(shared_dir: Path):
    members = []
    for seed in (11, 12, 13):
        torch.manual_seed(seed)
        members.append(
            build_model("mobilenet_v2", str(shared_dir / "weights" / "mobilenet_v2_imagenet.pth")).eval()
        )
    stats = stats_for(members)
    data, info, _, _ = export_bytes(members, CKPT_INFO, stats)
    return members, stats, data, info


@pytest.mark.shared
def test_ensemble_onnx_is_the_mean_of_its_members(ensemble, kermany_batch):
    members, stats, data, info = ensemble
    runtime = PneumoniaModel.from_bytes(data, force_cpu=True)
    out = runtime.predict_input(kermany_batch)
    member_logits = np.stack([_torch_outputs(m, kermany_batch)[0] for m in members])
    member_cams = np.stack([_torch_outputs(m, kermany_batch)[1] for m in members])
    assert np.ptp(member_logits, axis=0).max() > 0.01, "degenerate test: the members agree exactly"
    assert np.abs(out["logit"] - member_logits.mean(0)).max() <= 1e-4
    np.testing.assert_allclose(out["probability"], _probability(member_logits.mean(0), info), atol=1e-6)
    for i in range(len(kermany_batch)):
        assert _pearson(out["cam"][i], member_cams.mean(0)[i]) >= 0.999
    assert info.members == 3 and info.name.endswith("-x3")
    for member in members:  # each member's own map is Grad-CAM (pytorch-grad-cam) of that member
        single, _, _, _ = export_bytes(member, CKPT_INFO, stats_for([member]), verify=False)
        _grad_cam_check(member, PneumoniaModel.from_bytes(single, force_cpu=True), kermany_batch[:2])


@pytest.mark.shared
def test_ood_output_matches_pytorch_and_numpy(ensemble, kermany_batch):
    members, stats, data, _ = ensemble
    out = PneumoniaModel.from_bytes(data, force_cpu=True).predict_input(kermany_batch)
    heads = [OodHead(s) for s in stats.ood_stats]
    ref = torch_reference(members, heads, kermany_batch)["ood"]
    np.testing.assert_allclose(out["ood"], ref, rtol=1e-4)
    u8 = np.rint(kermany_batch[:, 0] * 255).astype(np.uint8)
    by_numpy = np.mean(
        [
            member_scores_np(pooled_features(m, u8, DEFAULT_TAPS)[1], s)
            for m, s in zip(members, stats.ood_stats, strict=True)
        ],
        axis=0,
    )
    np.testing.assert_allclose(out["ood"], by_numpy, rtol=1e-3)
    assert (out["ood"] > 0).all()


def test_ood_head_scores_training_images_lower_than_noise(mobilenet, mobilenet_stats):
    images, _ = _training_like()
    noise = np.random.default_rng(1).integers(0, 256, (4, 224, 224), dtype=np.uint8)
    head = OodHead(mobilenet_stats.ood_stats[0])
    wrapper = OnnxExportWrapper(mobilenet, [head]).eval()
    with torch.no_grad():
        own = wrapper(torch.from_numpy(images[:4, None].astype(np.float32) / 255))[2]
        far = wrapper(torch.from_numpy(noise[:, None].astype(np.float32) / 255))[2]
    assert float(far.min()) > 5 * float(own.max())


@pytest.mark.shared
def test_a_model_with_random_weights_gives_a_different_map(mobilenet, shared_dir, kermany_batch):
    """Sanity check (Adebayo et al. 2018): a CAM that does not change when the weights do is broken."""
    torch.manual_seed(99)
    scrambled = build_model("mobilenet_v2", "none").eval()  # random backbone and head
    _, cam_trained = _torch_outputs(mobilenet, kermany_batch)
    _, cam_random = _torch_outputs(scrambled, kermany_batch)
    for i in range(len(kermany_batch)):
        assert np.ptp(cam_random[i]) > 0 and np.ptp(cam_trained[i]) > 0
        assert _pearson(cam_trained[i], cam_random[i]) < 0.5, i


def test_model_metadata_keeps_no_local_paths():
    from training.provenance import portable_config

    cfg = {
        "data": "/home/alice/data/kermany",
        "out": "runs/mnv2",
        "init": "C:\\w\\mobilenet_v2.pth",
        "cache_dir": "",
        "lr": 0.0005,
    }
    assert portable_config(cfg) == {
        "data": "kermany",
        "out": "mnv2",
        "init": "mobilenet_v2.pth",
        "cache_dir": "",
        "lr": 0.0005,
    }
