"""The open studies: one :class:`StudyEntry` per file, and the jobs that run in workers for them.

Jobs are plain functions (no Qt) so they can run in a QThreadPool: :func:`load_job` decodes the file and
renders frame 0 at its default window (the model input, also the first thing shown), :func:`predict_job`
runs the model on exactly that rendering.

:mod:`viewer.core.io` (pydicom: a few hundred ms to import) is imported by the first load, in a worker,
not with this module, so the window shows sooner; expanding a folder on the GUI thread needs only
:mod:`viewer.core.io.sniff`. Python runs the import once, whichever thread asks first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from viewer.core import display
from viewer.core.io.sniff import is_probably_study
from viewer.core.study import Study
from viewer.gui.orientation import Orientation
from viewer.gui.workers import Failure

THUMB_SIDE = 96


@dataclass(frozen=True)
class Loaded:
    study: Study
    default_u8: np.ndarray  # frame 0 at the default window: shown first, and the model input
    thumb_u8: np.ndarray
    elapsed_ms: float


def load_job(path: str) -> Loaded:
    from viewer.core.io import load_study  # noqa: PLC0415 - pydicom import is slow; cached after the first

    t0 = time.perf_counter()
    study = load_study(path)
    u8 = display.render_default(study, 0)
    h, w = u8.shape
    s = THUMB_SIDE / max(h, w)
    thumb = cv2.resize(u8, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return Loaded(study, u8, thumb, (time.perf_counter() - t0) * 1000.0)


def predict_job(model, default_u8: np.ndarray):
    return model.predict(default_u8)


def load_model_job(path: str | None, force_cpu: bool):
    from viewer.core.model.inference import PneumoniaModel  # noqa: PLC0415 - onnxruntime import is slow

    return PneumoniaModel.load(path, force_cpu=force_cpu)


@dataclass(eq=False)
class StudyEntry:
    id: int
    path: str
    state: str = "loading"  # loading | ready | failed
    study: Study | None = None
    failure: Failure | None = None
    default_u8: np.ndarray | None = None
    thumb_u8: np.ndarray | None = None
    frame: int = 0
    window: object = None  # WindowPreset | VoiLut | None (= the default window)
    invert: bool = False
    orientation: Orientation = Orientation()
    prediction: object = None  # viewer.core.model.inference.Prediction
    ai_state: str = "waiting"  # waiting | running | done | failed
    ai_error: str = ""
    warnings: list[str] = field(default_factory=list)
    layer: object = None  # AnnotationLayer, created when the study is ready
    t_open: float = 0.0
    load_ms: float = 0.0
    tasks: list = field(default_factory=list)  # its queued/running worker tasks, cancelled when it closes

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def ready(self) -> bool:
        return self.state == "ready" and self.study is not None


def expand_paths(paths, recursive: bool = True) -> list[str]:
    """Files as given, folders expanded (recursively) to the files that look like studies, sorted."""
    out: list[str] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            it = p.rglob("*") if recursive else p.glob("*")
            found = sorted(
                str(f) for f in it if f.is_file() and not f.name.startswith(".") and is_probably_study(f)
            )
            out.extend(found)
        else:
            out.append(str(p))
    seen: set[str] = set()
    unique = []
    for f in out:
        key = str(Path(f).resolve())
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique
