"""Reading study files: ``load_study(path)`` -> :class:`~viewer.core.study.Study`.

Modules: ``sniff`` (what kind of file, from its first bytes; cheap, no pydicom), ``load`` (the one front
door), ``raster`` (PNG / JPEG / TIFF), ``dicom`` (``read``: the data set, ``meta``: frozen metadata,
``decode``: pixel data, ``decoders``: optional fast paths), ``common`` (size limits, decoder settings).

This module only re-exports, lazily: "open folder" imports ``viewer.core.io.sniff`` on the GUI thread
and must not pay for pydicom and the decoders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from viewer.core.io.sniff import SUPPORTED_SUFFIXES, is_probably_study, sniff_format

if TYPE_CHECKING:
    from viewer.core.io.common import DEFAULT_MAX_PIXELS, MAX_SIDE
    from viewer.core.io.load import load_header, load_study

_LAZY = {"load_study": "load", "load_header": "load", "DEFAULT_MAX_PIXELS": "common", "MAX_SIDE": "common"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"viewer.core.io.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'viewer.core.io' has no attribute {name!r}")


__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MAX_SIDE",
    "SUPPORTED_SUFFIXES",
    "is_probably_study",
    "load_header",
    "load_study",
    "sniff_format",
]
