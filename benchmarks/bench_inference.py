"""Inference latency and throughput: ONNX Runtime (the shipped fp32 graph) vs PyTorch eager + pytorch-grad-cam.

    .venv/bin/python benchmarks/bench_inference.py [--runs 200] [--model FILE.onnx] [--threads 1 2]

"Full pass" = what the viewer does per image: preprocess (resize the display frame to 224 x 224),
run the model (probability + raw CAM + OOD score in one call), map the CAM back onto the frame. The ONNX model is the shipped
one (``assets/models``) when present, else a fresh export of the ImageNet-initialised MobileNetV2 from
``../shared/weights`` (same compute as the fine-tuned one). PyTorch runs the same architecture with
``pytorch_grad_cam.GradCAM`` (forward + backward). Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from viewer.core.assets import MODEL_FILENAME, asset_path  # noqa: E402
from viewer.core.model.inference import PneumoniaModel, heatmap_to_frame  # noqa: E402
from viewer.core.preprocess import prepare_model_input  # noqa: E402


def shared_dir() -> Path:
    return Path(os.environ.get("PNEUMOSCOPE_SHARED", REPO.parent / "shared")).resolve()


def test_image() -> tuple[np.ndarray, str]:
    """A real original-resolution Kermany radiograph if available, else a synthetic 768 x 622 frame."""
    folder = shared_dir() / "data" / "kermany" / "train" / "PNEUMONIA"
    for path in sorted(folder.glob("*.jpeg")) if folder.is_dir() else []:
        grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if grey is not None and max(grey.shape) > 300:
            return grey, f"{path.name} {grey.shape[1]}x{grey.shape[0]}"
    yy, xx = np.mgrid[0:622, 0:768]
    return (128 + 100 * np.sin(xx / 40.0) * np.cos(yy / 50.0)).astype(np.uint8), "synthetic 768x622"


def timed(fn: Callable[[], object], runs: int, warmup: int = 10) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def row(label: str, ms: list[float]) -> None:
    print(f"  {label:<44} p50 {pct(ms, 50):8.2f} ms   p95 {pct(ms, 95):8.2f} ms   (n={len(ms)})")


def torch_model_and_export(tmp: Path):
    import torch

    from training.export import export_onnx
    from training.models import build_model

    torch.manual_seed(0)
    weights = shared_dir() / "weights" / "mobilenet_v2_imagenet.pth"
    model = build_model("mobilenet_v2", str(weights) if weights.is_file() else "none").eval()
    from training.export import ExportStats
    from training.ood import DEFAULT_TAPS, fit_member, pooled_features

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (16, 224, 224), dtype=np.uint8)
    _, feats = pooled_features(model, images, DEFAULT_TAPS)
    stats = ExportStats(
        [fit_member(feats, np.arange(16) % 2, DEFAULT_TAPS, 4)],
        {"method": "benchmark", "threshold": 1.0},
        {
            "temperature": 1.0,
            "operating_points": {"high_sensitivity": 0.5},
            "default_operating_point": "high_sensitivity",
            "heatmap_scale": 0.05,
        },
    )
    path = export_onnx(
        model, {"config": {"arch": "mobilenet_v2", "dropout": 0.2}}, stats, tmp / "bench.onnx"
    ).path
    return model, path


def bench_ort(label: str, path: Path, grey: np.ndarray, runs: int, threads: list[int]) -> None:
    print(f"\nONNX Runtime {label}: {path.name}")
    for n in threads:
        m = PneumoniaModel.load(path, force_cpu=True, threads=n)
        x = prepare_model_input(grey)
        full = timed(lambda m=m: m.predict(grey), runs)
        run_only = timed(lambda m=m, x=x: m.predict_input(x), runs)
        row(f"full pass, {n} thread(s)", full)
        row(f"  session.run only, {n} thread(s)", run_only)
    cam = m.predict_input(x)["cam"][0]
    row("  preprocess only", timed(lambda: prepare_model_input(grey), runs))
    row("  heatmap to frame only", timed(lambda: heatmap_to_frame(cam, grey.shape), runs))
    for batch in (1, 8, 32):
        images = [grey] * batch
        reps = max(3, runs // batch // 2)
        ms = timed(
            lambda images=images, batch=batch: m.predict_batch(images, chunk_size=batch), reps, warmup=2
        )
        print(
            f"  throughput batch {batch:>2} (full pass, {threads[-1]} threads): {batch * 1000 / statistics.median(ms):7.1f} images/s"
        )


def bench_torch(model, grey: np.ndarray, runs: int, threads: int) -> None:
    import torch
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import BinaryClassifierOutputTarget

    torch.set_num_threads(threads)
    print(f"\nPyTorch {torch.__version__} eager + pytorch-grad-cam GradCAM ({threads} threads)")
    cam = GradCAM(model=model, target_layers=[model.features])
    target = [BinaryClassifierOutputTarget(1)]

    def full() -> None:
        x = torch.from_numpy(prepare_model_input(grey))
        heat = cam(input_tensor=x, targets=target)[0]  # normalised 224 x 224
        float(torch.sigmoid(cam.outputs[0].detach()))
        cv2.resize(heat, (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_LINEAR)

    row("full pass (forward + backward CAM)", timed(full, max(20, runs // 4), warmup=3))
    with torch.no_grad():
        x = torch.from_numpy(prepare_model_input(grey))
        row(
            "  forward_with_cam, no_grad (no backward)",
            timed(lambda: model.forward_with_cam(x), max(20, runs // 4), 3),
        )
    cam.activations_and_grads.release()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument(
        "--model", type=Path, default=None, help="ONNX model (default: shipped, else fresh export)"
    )
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--no-torch", action="store_true")
    args = p.parse_args(argv)

    import onnxruntime as ort

    grey, desc = test_image()
    print(f"image: {desc}; CPUs: {os.cpu_count()}; onnxruntime {ort.__version__}; runs {args.runs}")
    print(f"load average now: {os.getloadavg()[0]:.2f} (anything else running skews these numbers)")
    with tempfile.TemporaryDirectory(prefix="pneumoscope-bench-") as tmp:
        tmp = Path(tmp)
        torch_model = None
        model_path = args.model
        shipped = asset_path("models", MODEL_FILENAME)
        if model_path is None and shipped.is_file():
            model_path = shipped
        if model_path is None or not args.no_torch:
            try:
                torch_model, fresh = torch_model_and_export(tmp)
            except ImportError:
                print("torch not installed: PyTorch comparison skipped")
                fresh = None
            model_path = model_path or fresh
        if model_path is None:
            print("no model: pass --model or install torch")
            return 1
        bench_ort("fp32", model_path, grey, args.runs, args.threads)

        if torch_model is not None and not args.no_torch:
            bench_torch(torch_model, grey, args.runs, max(args.threads))
    return 0


if __name__ == "__main__":
    sys.exit(main())
