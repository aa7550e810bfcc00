"""The work that runs in worker threads for the open studies, as plain functions (no Qt).

:func:`load_job` decodes the file and renders frame 0 at its default window (the model input, also the
first thing shown; :func:`open_job` starts from a JPEG 2000 file's reduced resolution level when it can),
:func:`predict_job` runs the model on exactly that rendering and gates the result
(:func:`viewer.core.model.result.analyse`: an ``AiResult`` with its state and reasons), :func:`load_model_job`
loads the ONNX model.

:mod:`viewer.core.io` (pydicom: a few hundred ms to import) is imported by the first load, in a worker,
not with this module, so the window shows sooner. Python runs the import once, whichever thread asks first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from viewer.core import display
from viewer.core.study import Study

if TYPE_CHECKING:
    from viewer.core.model.inference import PneumoniaModel
    from viewer.core.model.result import AiResult

THUMB_SIDE = 96


@dataclass(frozen=True)
class Loaded:
    study: Study
    default_u8: np.ndarray  # frame 0 at the default window: shown first, and the model input
    thumb_u8: np.ndarray
    elapsed_ms: float
    # a reduced-resolution preview resampled to the full geometry: the full decode follows (load_job)
    preview: bool = False
    # the preview at its own size and its default rendering: what the model analyses (4x less work)
    small: tuple[Study, np.ndarray] | None = None


def open_job(path: str) -> Loaded:
    """The first pixels of a file: a single-frame JPEG 2000 file's reduced resolution level (tens of ms
    instead of about a second; :func:`viewer.core.io.dicom.preview.load_preview`) resampled to the full
    image's rows x columns, so that the view, annotations and heatmap use full-resolution coordinates from
    the start; any other file is loaded in full (:func:`load_job`)."""
    from viewer.core.io.dicom.preview import at_full_geometry, load_preview  # noqa: PLC0415 - pydicom

    t0 = time.perf_counter()
    preview = load_preview(path)
    if preview is None:
        return load_job(path)
    small = (preview, display.render_default(preview, 0))
    return _rendered(at_full_geometry(preview), t0, small)


def warm_up_job() -> None:
    """Import the loaders (pydicom, the decoders, Pillow's JPEG 2000 reader) before the first file is
    opened: about half a second that would otherwise delay the first image."""
    import viewer.core.io.dicom.preview  # noqa: PLC0415
    import viewer.core.io.load  # noqa: F401, PLC0415


def load_job(path: str) -> Loaded:
    from viewer.core.io import load_study  # noqa: PLC0415 - pydicom import is slow; cached after the first

    t0 = time.perf_counter()
    return _rendered(load_study(path), t0)


def _rendered(study: Study, t0: float, small: tuple[Study, np.ndarray] | None = None) -> Loaded:
    u8 = display.render_default(study, 0)
    # the thumbnail from the smaller rendering when there is one (a preview's: 4x fewer pixels to average)
    src = small[1] if small is not None else u8
    h, w = u8.shape
    s = THUMB_SIDE / max(h, w)
    thumb = cv2.resize(src, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return Loaded(study, u8, thumb, (time.perf_counter() - t0) * 1000.0, small is not None, small)


def predict_job(model: PneumoniaModel, study: Study, default_u8: np.ndarray) -> AiResult:
    """The model on frame 0 at its default window, and the gate's decision (state, reasons)."""
    from viewer.core.model.result import analyse  # noqa: PLC0415 - imports onnxruntime (loaded by now)

    return analyse(model, study, 0, grey=default_u8)


def load_model_job(path: str | None, force_cpu: bool) -> PneumoniaModel:
    from viewer.core.model.inference import PneumoniaModel  # noqa: PLC0415 - onnxruntime import is slow

    return PneumoniaModel.load(path, force_cpu=force_cpu)
