"""ONNX Runtime inference: probability, logit and raw Grad-CAM from one forward pass.

No Qt, no torch. ``PneumoniaModel.load()`` reads the file once, checks its contract and integrity
(``viewer.core.model.contract`` and ``onnx_wire``) and creates the session from the very bytes it checked.

Execution providers are tried in the order CUDA, DirectML, CoreML, CPU among those the installed
``onnxruntime`` offers. ``session.get_providers()`` then tells what really runs: ONNX Runtime falls
back to CPU on its own when, say, the CUDA libraries are missing, and ``fallback_reason`` says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from viewer.core.assets import default_model_path
from viewer.core.model.contract import (
    INPUT_NAME,
    OUTPUT_NAMES,
    ModelContractError,
    ModelError,
    ModelInfo,
    ModelLoadError,
    ModelNotFoundError,
    check_io,
)
from viewer.core.model.onnx_wire import read_contract
from viewer.core.preprocess import resize_for_model, to_model_input

# Telemetry off twice: ORT_DISABLE_TELEMETRY (set in viewer/__init__.py before this import) stops the files
# and the POSIX collector; Windows builds also emit ETW telemetry events, which only this call turns off.
if hasattr(ort, "disable_telemetry_events"):
    ort.disable_telemetry_events()

CPU = "CPUExecutionProvider"
PROVIDER_PREFERENCE = (
    "CUDAExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
    CPU,
)
FRIENDLY_PROVIDER_NAMES = {
    "CUDAExecutionProvider": "CUDA",
    "DmlExecutionProvider": "DirectML",
    "CoreMLExecutionProvider": "CoreML",
    "TensorrtExecutionProvider": "TensorRT",
    "OpenVINOExecutionProvider": "OpenVINO",
    CPU: "CPU",
}
MAX_DEFAULT_THREADS = 8
BATCH_CHUNK = 16
NO_HEATMAP = np.zeros((0, 0), np.float32)  # Prediction.heatmap of predict_batch(..., heatmaps=False)
NO_HEATMAP.setflags(write=False)


def friendly_provider(name: str) -> str:
    return FRIENDLY_PROVIDER_NAMES.get(name, name.removesuffix("ExecutionProvider"))


def default_threads() -> int:
    """Intra-op threads: usable CPUs, halved above 4 (assume SMT pairs), capped at 8.

    A 224-px CNN does not scale past a handful of cores, and the GUI thread needs one too.
    """
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    if n > 4:
        n //= 2
    return max(1, min(n, MAX_DEFAULT_THREADS))


def choose_providers(available: Sequence[str], force_cpu: bool = False) -> list[str]:
    """Preferred providers present in ``available``, in preference order, always ending in CPU."""
    if force_cpu:
        return [CPU]
    chosen = [p for p in PROVIDER_PREFERENCE if p in available and p != CPU]
    return [*chosen, CPU]


def session_options(providers: Sequence[str], threads: int | None = None) -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = int(threads) if threads else default_threads()
    so.inter_op_num_threads = 1
    # Idle intra-op threads sleep instead of spinning: spinning threads burn the cores that other work
    # needs (the GUI thread, the triage's decode thread, anything else running). On 2 busy cores batch
    # triage took 17-18 ms of CPU per image with spinning and 12-13 without (45-55 against 64-75 images/s,
    # benchmarks/bench_triage.py); a single study's predict() took as long either way.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3  # errors only; fallbacks are reported through fallback_reason
    if "DmlExecutionProvider" in providers:
        # DirectML does not support memory patterns or parallel execution.
        so.enable_mem_pattern = False
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return so


def heatmap_to_frame(cam: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Raw (h, w) CAM -> float32 (H, W) on the frame geometry, smooth, within [0, max of the raw map].

    The model input is the whole frame squashed to a square, so stretching the map back over the whole
    frame puts every cell over the image region it saw. Bicubic rather than bilinear interpolation: a
    7 x 7 map upsampled bilinearly and cut at a threshold draws straight-edged polygons, which suggest a
    precision the map does not have. The result is clipped to the raw map's own range, so smoothing adds
    no value the fixed colour scale would show as a new peak.
    """
    height, width = int(shape[0]), int(shape[1])
    raw = np.ascontiguousarray(cam, dtype=np.float32)
    out = cv2.resize(raw, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(out, 0.0, max(float(raw.max(initial=0.0)), 0.0), out=out)


@dataclass(frozen=True, eq=False)
class Prediction:
    probability: float  # calibrated P(PNEUMONIA)
    logit: float
    label: str  # "PNEUMONIA" or "NORMAL" at the operating point
    threshold: float
    operating_point: str
    heatmap: np.ndarray = field(repr=False)  # float32 (H, W) raw CAM on the frame, >= 0
    heatmap_scale: float  # raw CAM value that maps to the top of the colour scale
    provider: str  # "CPU", "CUDA", ...
    elapsed_ms: float  # preprocess + run + heatmap mapping (per image for batches)
    ood_score: float = 0.0  # out-of-distribution score (the graph's ``ood`` output)
    ood_threshold: float = float("inf")  # above it the image is unlike the training data

    @property
    def in_distribution(self) -> bool:
        return bool(np.isfinite(self.ood_score)) and self.ood_score <= self.ood_threshold

    @property
    def positive(self) -> bool:
        return self.label == "PNEUMONIA"


class PneumoniaModel:
    """A loaded, contract-checked model. Thread-safe for concurrent ``predict`` calls."""

    def __init__(
        self,
        session: ort.InferenceSession,
        info: ModelInfo,
        *,
        source: str,
        requested_providers: Sequence[str],
        fallback_reason: str | None,
    ):
        self._session = session
        self._info = info
        self._source = source
        self._requested = list(requested_providers)
        self._fallback_reason = fallback_reason
        self._operating_point = info.default_operating_point
        self._output_names = list(OUTPUT_NAMES)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        path: str | os.PathLike | None = None,
        *,
        force_cpu: bool = False,
        providers: Sequence[str] | None = None,
        threads: int | None = None,
    ) -> PneumoniaModel:
        """Load a model file (default: the shipped model). Raises ModelError subclasses."""
        path = Path(path) if path is not None else default_model_path()
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise ModelNotFoundError(f"AI model not found: {path}") from exc
        except OSError as exc:
            raise ModelLoadError(f"Cannot read the AI model {path}: {exc.strerror or exc}") from exc
        return cls.from_bytes(
            data, source=str(path), force_cpu=force_cpu, providers=providers, threads=threads
        )

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        source: str = "<memory>",
        force_cpu: bool = False,
        providers: Sequence[str] | None = None,
        threads: int | None = None,
    ) -> PneumoniaModel:
        info = read_contract(data)
        if providers is not None:
            requested = [CPU] if force_cpu else [*providers]
            if CPU not in requested:
                requested.append(CPU)
        else:
            requested = choose_providers(ort.get_available_providers(), force_cpu)
        session, reason = _create_session(data, requested, threads)
        try:
            check_io(
                [(i.name, i.type, i.shape) for i in session.get_inputs()],
                [(o.name, o.type, o.shape) for o in session.get_outputs()],
                info.input_size,
            )
        except ModelContractError as exc:
            raise ModelContractError(f"{exc} ({source})") from exc
        return cls(session, info, source=source, requested_providers=requested, fallback_reason=reason)

    # ------------------------------------------------------------------ properties
    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def source(self) -> str:
        return self._source

    @property
    def provider(self) -> str:
        """Friendly name of the provider that really runs: "CUDA", "DirectML", "CoreML" or "CPU"."""
        return friendly_provider(self._session.get_providers()[0])

    @property
    def providers(self) -> list[str]:
        return list(self._session.get_providers())

    @property
    def intra_op_threads(self) -> int:
        """The session's intra-op thread count (the calling thread included)."""
        return int(self._session.get_session_options().intra_op_num_threads)

    @property
    def requested_providers(self) -> list[str]:
        return list(self._requested)

    @property
    def fallback_reason(self) -> str | None:
        return self._fallback_reason

    @property
    def operating_point(self) -> str:
        return self._operating_point

    @operating_point.setter
    def operating_point(self, name: str) -> None:
        if name not in self._info.operating_points:
            raise ValueError(
                f"unknown operating point {name!r}; the model has {', '.join(self._info.operating_points)}"
            )
        self._operating_point = name

    @property
    def threshold(self) -> float:
        return self._info.operating_points[self._operating_point]

    def label_for(self, probability: float) -> str:
        return self._info.class_names[1] if probability >= self.threshold else self._info.class_names[0]

    # ------------------------------------------------------------------ running
    def predict_input(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Raw outputs for a preprocessed float32 (N, 1, S, S) batch: {"logit", "probability", "cam", "ood"}."""
        batch = np.asarray(batch)
        size = self._info.input_size
        if batch.dtype != np.float32 or batch.ndim != 4 or batch.shape[1:] != (1, size, size):
            raise ValueError(f"expected float32 (N, 1, {size}, {size}), got {batch.dtype} {batch.shape}")
        outputs = self._session.run(self._output_names, {INPUT_NAME: np.ascontiguousarray(batch)})
        return dict(zip(self._output_names, outputs, strict=True))

    def predict(self, grey_u8: np.ndarray) -> Prediction:
        """One display-ready grey uint8 (H, W) frame (the default-window rendering) -> Prediction."""
        return self.predict_batch([grey_u8], chunk_size=1)[0]

    def predict_batch(
        self, images: Sequence[np.ndarray], chunk_size: int = BATCH_CHUNK, *, heatmaps: bool = True
    ) -> list[Prediction]:
        """Several frames, run in batched session calls of up to ``chunk_size``.

        ``heatmaps=False``: each ``Prediction.heatmap`` is an empty (0, 0) array instead of the CAM mapped
        onto the frame (a bicubic upsampling to the frame's size, about 1 ms for a 768 x 600 frame, more
        than the model's own time per image at 224 x 224 on some machines): for callers that drop it, such
        as the batch triage. Nothing else changes.
        """
        results: list[Prediction] = []
        size = self._info.input_size
        for begin in range(0, len(images), max(1, int(chunk_size))):
            chunk = images[begin : begin + max(1, int(chunk_size))]
            t0 = time.perf_counter()
            batch = to_model_input(np.stack([resize_for_model(img, size) for img in chunk]))
            out = self.predict_input(batch)
            maps = (
                [heatmap_to_frame(out["cam"][i], np.shape(img)) for i, img in enumerate(chunk)]
                if heatmaps
                else [NO_HEATMAP] * len(chunk)
            )
            per_image_ms = (time.perf_counter() - t0) * 1000.0 / len(chunk)
            provider = self.provider
            for i in range(len(chunk)):
                probability = float(out["probability"][i])
                results.append(
                    Prediction(
                        probability=probability,
                        logit=float(out["logit"][i]),
                        label=self.label_for(probability),
                        threshold=self.threshold,
                        operating_point=self._operating_point,
                        heatmap=maps[i],
                        heatmap_scale=self._info.heatmap_scale,
                        provider=provider,
                        elapsed_ms=per_image_ms,
                        ood_score=float(out["ood"][i]),
                        ood_threshold=self._info.ood_threshold,
                    )
                )
        return results

    def __repr__(self) -> str:
        return f"PneumoniaModel({self._info.name} {self._info.version}, {self.provider}, {self._source})"


def _create_session(
    data: bytes, requested: Sequence[str], threads: int | None
) -> tuple[ort.InferenceSession, str | None]:
    """Session on ``requested`` providers; on failure of an accelerator, a CPU session and the reason."""
    first = requested[0]
    reason: str | None = None
    try:
        session = ort.InferenceSession(
            data, sess_options=session_options(requested, threads), providers=requested
        )
    except Exception as exc:  # any provider failure means: try the CPU
        if first == CPU:
            raise ModelLoadError(f"ONNX Runtime cannot load the AI model: {exc}") from exc
        reason = (
            f"{friendly_provider(first)} could not start ({type(exc).__name__}: {exc}); running on the CPU."
        )
        try:
            session = ort.InferenceSession(
                data, sess_options=session_options([CPU], threads), providers=[CPU]
            )
        except Exception as exc2:
            raise ModelLoadError(f"ONNX Runtime cannot load the AI model: {exc2}") from exc2
    active = session.get_providers()[0] if session.get_providers() else "none"
    if reason is None and active != first:
        reason = (
            f"{friendly_provider(first)} was requested but ONNX Runtime runs on {friendly_provider(active)} "
            "(the accelerator's libraries or driver are probably missing)."
        )
    return session, reason


__all__ = [
    "PROVIDER_PREFERENCE",
    "ModelError",
    "ModelContractError",
    "ModelLoadError",
    "ModelNotFoundError",
    "ModelInfo",
    "Prediction",
    "PneumoniaModel",
    "choose_providers",
    "default_threads",
    "friendly_provider",
    "heatmap_to_frame",
    "session_options",
]
