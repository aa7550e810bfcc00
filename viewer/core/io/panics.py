"""Rust decoder panics: pylibjpeg-rle (and other pyo3 extensions) raise ``pyo3_runtime.PanicException`` on
data they cannot handle. It derives from ``BaseException``, not ``Exception``, so ``except Exception`` misses
it: the loader (:mod:`viewer.core.io.load`, :mod:`viewer.core.io.dicom.read`) and the GUI's worker
(:mod:`viewer.gui.workers`) recognise it here and report
:class:`~viewer.core.errors.CorruptPixelDataError` ("Damaged image data").

No imports beyond the standard library: the GUI imports this module on its thread.
"""

from __future__ import annotations


def is_decoder_panic(exc: BaseException) -> bool:
    """True for pyo3's ``PanicException`` (its module, ``pyo3_runtime``, is created per extension at run
    time, so the class cannot be imported: it is recognised by name)."""
    return type(exc).__name__ == "PanicException"


def panic_detail(exc: BaseException, limit: int = 160) -> str:
    """The panic's message on one line, shortened."""
    text = " ".join(str(exc).split()) or "no detail"
    return text if len(text) <= limit else text[: limit - 3] + "..."
