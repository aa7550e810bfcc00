"""Batch triage: the AI result of every entry of a collection, fast and in bounded memory.

:func:`triage` decodes entries in a background thread (:func:`~viewer.core.io.load.load_for_model` + the
default rendering, the model's input) while the model runs batched session calls
(:meth:`PneumoniaModel.predict_batch`), and gates each prediction with
:func:`~viewer.core.model.result.result_for` - the same gate as a single study, so a triage row and the AI
panel cannot disagree. Rows come back in entry order, a batch at a time, as soon as each batch is scored.

Speed (issue #13): ``load_for_model`` decodes a large grey JPEG or a JPEG 2000 DICOM at a reduced
resolution the model cannot tell from the full one (scores within 0.01 of the AI panel's on the shared
real images; ``full_resolution=True`` decodes everything with ``load_study``); the full-resolution Grad-CAM
map is not computed (``predict_batch(..., heatmaps=False)``: the GUI computes the heatmap when a study is
opened); one decode thread beside the model's own threads, 8 images a session call.

Memory stays bounded: pixels are dropped once rendered (a row keeps the metadata only) and at most
``prefetch`` decoded frames wait for the model. A file that cannot be read becomes a row with its
:class:`~viewer.core.errors.StudyError`, never an exception.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from viewer.core.display import render_default, thumbnail_u8
from viewer.core.errors import StudyError
from viewer.core.io.collection import Entry
from viewer.core.io.load import load_for_model, load_study
from viewer.core.model.inference import NO_HEATMAP, PneumoniaModel
from viewer.core.model.result import AiResult, result_for
from viewer.core.preprocess import MODEL_INPUT_SIZE
from viewer.core.study import Study, StudyMetadata

# Measured on 2 cores (benchmarks/bench_triage.py): 8 images a session call used the least CPU per image
# (16 and 32 were not faster, and their activations raised the peak RSS from about 250 MB to 370 and
# 550 MB); a second decode thread only competed with the model for the cores.
TRIAGE_BATCH = 8

# The shorter side the reduced decode for the model keeps (load_for_model): 4 model inputs. Measured with
# the shipped model on real radiographs written as JPEG: 2000 -> 1000 and 1841 -> 921 px moved the probability by <= 0.0014
# (q95; <= 0.004 at q75), while 1024 -> 512 px moved it by up to 0.021 (the 224 px area-average input
# still sees the scaled IDCT's different filter). The Canon JPEG 2000 chest at its 1064 x 1000 level:
# 0.0074 (a wavelet low-pass; the viewer's own preview, tests/core/test_io_preview.py).
MODEL_DECODE_MIN_SIDE = 4 * MODEL_INPUT_SIZE


@dataclass(frozen=True)
class TriageRow:
    entry: Entry
    meta: StudyMetadata | None = None  # None when the file could not be read
    result: AiResult | None = None  # None when the file could not be read
    error: StudyError | None = None
    thumbnail: np.ndarray | None = None  # grey uint8, when triage(thumbnail_side=N) asked for one


def _decode(
    entry: Entry, frame: int, full_resolution: bool, thumbnail_side: int
) -> tuple[Study, np.ndarray, np.ndarray | None] | StudyError:
    try:
        study = (
            load_study(entry.path)
            if full_resolution
            else load_for_model(entry.path, min_side=MODEL_DECODE_MIN_SIDE)
        )
        if not 0 <= frame < study.n_frames:
            raise StudyError(f"Frame {frame} is out of range: the study has {study.n_frames}.", entry.path)
        grey = render_default(study, frame)
    except StudyError as exc:
        return exc
    except MemoryError:
        return StudyError("There is not enough memory to render this image.", entry.path)
    thumb = thumbnail_u8(grey, thumbnail_side) if thumbnail_side > 0 else None
    return Study(study.path, (), study.meta), grey, thumb  # pixels dropped: only the rendering is kept


def triage(
    model: PneumoniaModel,
    entries: Sequence[Entry],
    *,
    frame: int = 0,
    batch_size: int = TRIAGE_BATCH,
    prefetch: int | None = None,
    decode_threads: int = 1,
    cancel: Callable[[], bool] | None = None,
    full_resolution: bool = False,
    thumbnail_side: int = 0,
) -> Iterator[TriageRow]:
    """One :class:`TriageRow` per entry, in order. ``cancel()`` true stops before the next batch.

    ``full_resolution``: decode every image with ``load_study`` (as the viewer does) instead of
    :func:`~viewer.core.io.load.load_for_model` (reduced decode where the model cannot tell).
    ``thumbnail_side`` > 0: each row also carries a thumbnail of the model's input rendering, at most that
    many px on its longest side (made in the decode thread; a worklist shows it).
    """
    batch_size = max(1, int(batch_size))
    ahead = max(batch_size, prefetch if prefetch is not None else 2 * batch_size)
    todo = iter(entries)
    waiting: deque[tuple[Entry, Future]] = deque()
    with ThreadPoolExecutor(max(1, decode_threads), thread_name_prefix="triage-decode") as pool:

        def fill() -> None:
            while len(waiting) < ahead:
                entry = next(todo, None)
                if entry is None:
                    return
                waiting.append((entry, pool.submit(_decode, entry, frame, full_resolution, thumbnail_side)))

        try:
            fill()
            while waiting:
                if cancel is not None and cancel():
                    return
                decoded: list[tuple[Entry, tuple[Study, np.ndarray, np.ndarray | None] | StudyError]] = []
                n_images = 0
                while waiting and n_images < batch_size:
                    entry, future = waiting.popleft()
                    out = future.result()
                    decoded.append((entry, out))
                    n_images += not isinstance(out, StudyError)
                    fill()
                greys = [out[1] for _, out in decoded if not isinstance(out, StudyError)]
                predictions = iter(
                    model.predict_batch(greys, chunk_size=batch_size, heatmaps=False) if greys else []
                )
                for entry, out in decoded:
                    if isinstance(out, StudyError):
                        yield TriageRow(entry, error=out)
                        continue
                    study, grey, thumb = out
                    prediction = next(predictions)
                    if prediction.heatmap.size:  # a model (wrapper) that ignores heatmaps=False
                        prediction = dataclasses.replace(prediction, heatmap=NO_HEATMAP)
                    result = result_for(model, study, prediction, grey, frame)
                    yield TriageRow(entry, study.meta, result, thumbnail=thumb)
        finally:
            for _, future in waiting:
                future.cancel()


__all__ = ["TRIAGE_BATCH", "TriageRow", "triage"]
