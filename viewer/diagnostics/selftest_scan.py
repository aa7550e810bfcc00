"""What the packaging self-test (:mod:`viewer.diagnostics.selftest`) covers, and how it picks files from a folder.

The families: transfer syntax UIDs grouped as the decoders see them (``FAMILIES``; ``REQUIRED`` ones
must pass, the others are tested when found; ``PYLIBJPEG_FAMILIES`` are decoded by a pylibjpeg plugin,
which :func:`decoder_plugins` reports). :func:`scan_folder` reads headers only (``stop_before_pixels``),
recursively, and returns per family the :class:`Candidate` files to try, plain single-frame grey images
first. Qt-free; pydicom is imported when a function needs it.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

MAX_CANDIDATES = 4  # files tried per family in FOLDER mode before the family fails
MAX_SCANNED = 20000  # header reads in FOLDER mode

# family -> transfer syntax UIDs; required families must pass, optional ones are tested when found.
FAMILIES: dict[str, tuple[str, ...]] = {
    "JPEG baseline": ("1.2.840.10008.1.2.4.50",),
    "JPEG lossless": ("1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.57"),
    "JPEG-LS": ("1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"),
    "JPEG 2000": ("1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"),
    "RLE": ("1.2.840.10008.1.2.5",),
    "uncompressed": ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2"),
    "PNG": (),
    "JPEG extended": ("1.2.840.10008.1.2.4.51",),
    "HTJ2K": ("1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"),
    "deflated": ("1.2.840.10008.1.2.1.99",),
}
REQUIRED = ("JPEG baseline", "JPEG lossless", "JPEG-LS", "JPEG 2000", "RLE", "uncompressed", "PNG")
PYLIBJPEG_FAMILIES = {
    "JPEG baseline",
    "JPEG lossless",
    "JPEG-LS",
    "JPEG 2000",
    "RLE",
    "JPEG extended",
    "HTJ2K",
}
FAMILY_OF_UID = {uid: family for family, uids in FAMILIES.items() for uid in uids}


def decoder_plugins(tsuid: str) -> list[str]:
    """pydicom's available decoding plugins for a transfer syntax (needs pylibjpeg's entry points)."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID

    try:
        return sorted(get_decoder(UID(tsuid)).available_plugins)
    except NotImplementedError:
        return []


@dataclass(frozen=True)
class Candidate:
    family: str
    path: Path
    tsuid: str
    expected: object = None  # exact stored values (numpy array) for generated lossless files


_SUSPECT_WORDS = frozenset({"broken", "corrupt", "corrupted", "damaged", "invalid", "bad", "truncated"})


def _header_rank(ds, path: Path, root: Path) -> tuple[bool, bool, bool, bool]:
    """Sort key: plain single-frame grey images first (what a chest X-ray is); files under a folder named
    like "broken" (below ``root``), uncompressed files shorter than their pixels, colour, multi-frame last."""
    words = {w for part in path.parent.relative_to(root).parts for w in re.split(r"[^a-z0-9]+", part.lower())}
    suspect = bool(words & _SUSPECT_WORDS)
    grey = str(ds.get("PhotometricInterpretation", "")).startswith("MONOCHROME")
    multi_frame = str(ds.get("NumberOfFrames", "1")).strip() not in ("", "1")
    short = False
    if not ds.file_meta.TransferSyntaxUID.is_compressed:
        with contextlib.suppress(Exception):
            need = int(ds.Rows) * int(ds.Columns) * int(ds.get("BitsAllocated", 8)) // 8
            short = path.stat().st_size < need
    return (suspect, short, not grey, multi_frame)


def scan_folder(folder: Path, max_candidates: int = MAX_CANDIDATES) -> tuple[dict[str, list[Candidate]], int]:
    """Family -> candidate files (best first), from a recursive, header-only scan. Returns (candidates, scanned)."""
    from pydicom import dcmread

    ranked: dict[str, list[tuple[tuple, str, Candidate]]] = {family: [] for family in FAMILIES}
    scanned = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if scanned >= MAX_SCANNED:
            break
        if path.suffix.lower() == ".png":
            ranked["PNG"].append(((), str(path), Candidate("PNG", path, "")))
            continue
        scanned += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # odd header values are not this check's business
                ds = dcmread(path, stop_before_pixels=True)
                tsuid = str(ds.file_meta.get("TransferSyntaxUID", ""))
                family = FAMILY_OF_UID.get(tsuid)
                if family is None or "Rows" not in ds or "Columns" not in ds:
                    continue
                rank = _header_rank(ds, path, folder)
        except Exception:  # noqa: BLE001 - not DICOM, or a damaged header: not a candidate
            continue
        ranked[family].append((rank, str(path), Candidate(family, path, tsuid)))
    out = {
        family: [c for _, _, c in sorted(items, key=lambda t: t[:2])][:max_candidates]
        for family, items in ranked.items()
    }
    return out, scanned


__all__ = [
    "FAMILIES",
    "FAMILY_OF_UID",
    "MAX_CANDIDATES",
    "MAX_SCANNED",
    "PYLIBJPEG_FAMILIES",
    "REQUIRED",
    "Candidate",
    "decoder_plugins",
    "scan_folder",
]
