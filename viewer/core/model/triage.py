"""Batch triage: the AI result of every entry of a collection, fast and in bounded memory.

:func:`triage` decodes entries in a background thread (``load_study`` + the default rendering, the
model's input) while the model runs batched session calls (:meth:`PneumoniaModel.predict_batch`), and
gates each prediction with :func:`~viewer.core.model.result.result_for` - the same gate as a single
study, so a triage row and the AI panel cannot disagree. Rows come back in entry order, a batch at a
time, as soon as each batch is scored.

Memory stays bounded: pixels are dropped once rendered (a row keeps the metadata only), at most
``prefetch`` decoded frames wait for the model, and the full-resolution Grad-CAM map of each prediction
is dropped (the GUI computes the heatmap when a study is opened). A file that cannot be read becomes a
row with its :class:`~viewer.core.errors.StudyError`, never an exception.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from viewer.core.display import render_default
from viewer.core.errors import StudyError
from viewer.core.io.collection import Entry
from viewer.core.io.load import load_study
from viewer.core.model.inference import BATCH_CHUNK, PneumoniaModel
from viewer.core.model.result import AiResult, result_for
from viewer.core.study import Study, StudyMetadata

_NO_HEATMAP = np.zeros((0, 0), np.float32)
_NO_HEATMAP.setflags(write=False)


@dataclass(frozen=True)
class TriageRow:
    entry: Entry
    meta: StudyMetadata | None = None  # None when the file could not be read
    result: AiResult | None = None  # None when the file could not be read
    error: StudyError | None = None


def _decode(entry: Entry, frame: int) -> tuple[Study, np.ndarray] | StudyError:
    try:
        study = load_study(entry.path)
        if not 0 <= frame < study.n_frames:
            raise StudyError(f"Frame {frame} is out of range: the study has {study.n_frames}.", entry.path)
        grey = render_default(study, frame)
    except StudyError as exc:
        return exc
    except MemoryError:
        return StudyError("There is not enough memory to render this image.", entry.path)
    return Study(study.path, (), study.meta), grey  # pixels dropped: only the rendering is kept


def triage(
    model: PneumoniaModel,
    entries: Sequence[Entry],
    *,
    frame: int = 0,
    batch_size: int = BATCH_CHUNK,
    prefetch: int | None = None,
    decode_threads: int = 1,
    cancel: Callable[[], bool] | None = None,
) -> Iterator[TriageRow]:
    """One :class:`TriageRow` per entry, in order. ``cancel()`` true stops before the next batch."""
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
                waiting.append((entry, pool.submit(_decode, entry, frame)))

        try:
            fill()
            while waiting:
                if cancel is not None and cancel():
                    return
                decoded: list[tuple[Entry, tuple[Study, np.ndarray] | StudyError]] = []
                n_images = 0
                while waiting and n_images < batch_size:
                    entry, future = waiting.popleft()
                    out = future.result()
                    decoded.append((entry, out))
                    n_images += not isinstance(out, StudyError)
                    fill()
                greys = [out[1] for _, out in decoded if not isinstance(out, StudyError)]
                predictions = iter(model.predict_batch(greys, chunk_size=batch_size) if greys else [])
                for entry, out in decoded:
                    if isinstance(out, StudyError):
                        yield TriageRow(entry, error=out)
                        continue
                    study, grey = out
                    prediction = dataclasses.replace(next(predictions), heatmap=_NO_HEATMAP)
                    yield TriageRow(entry, study.meta, result_for(model, study, prediction, grey, frame))
        finally:
            for _, future in waiting:
                future.cancel()


__all__ = ["TriageRow", "triage"]
