"""Dataset discovery, patient-grouped split and the decoded-image cache.

Images are decoded and resized ONCE with the viewer's own model-input preprocessing
(``viewer.core.preprocess.resize_for_model``) into a uint8 array cached on disk, so epochs are
bound by the network, not by JPEG decoding.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from viewer.core.preprocess import MODEL_INPUT_SIZE, resize_for_model

CLASSES = ("NORMAL", "PNEUMONIA")
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png", ".tif", ".tiff", ".dcm")
_PATIENT_PATTERNS = (
    re.compile(r"^(person\d+)_(?:bacteria|virus)_\d+", re.IGNORECASE),
    re.compile(r"^(NORMAL2-IM-\d+)-\d+", re.IGNORECASE),
    re.compile(r"^(IM-\d+)-\d+", re.IGNORECASE),
)


@dataclass(frozen=True)
class Sample:
    path: str  # absolute path
    rel: str  # path relative to the data root (stable key: used in split files and reports)
    label: int  # 0 NORMAL, 1 PNEUMONIA

    @property
    def name(self) -> str:
        return Path(self.rel).name


def patient_key(file_name: str) -> str:
    """Patient identifier from a Kermany file name (``person123``, ``IM-0115``, ``NORMAL2-IM-1427``).

    Unknown naming falls back to the file stem, i.e. the image is its own group.
    """
    stem = Path(file_name).name
    for pat in _PATIENT_PATTERNS:
        m = pat.match(stem)
        if m:
            return m.group(1).upper()
    return Path(stem).stem.upper()


def pneumonia_subtype(file_name: str) -> str:
    """ "bacteria", "virus" or "" (normal / unknown) from a Kermany file name."""
    low = Path(file_name).name.lower()
    if "_bacteria_" in low:
        return "bacteria"
    if "_virus_" in low:
        return "virus"
    return ""


def discover(root: str | Path, split: str | None = None) -> list[Sample]:
    """Samples under ``root/{NORMAL,PNEUMONIA}`` or ``root/<split>/{NORMAL,PNEUMONIA}``.

    ``split`` (e.g. "train") picks a split folder when the root has them (a missing one is an error, never
    a silent fallback to the other splits); with ``split=None`` and split folders present, all are used.
    """
    root = Path(root).resolve()
    if split is not None and (root / split).is_dir():
        bases = [root / split]
    elif all((root / c).is_dir() for c in CLASSES):
        bases = [root]
    else:
        bases = sorted(p for p in root.iterdir() if p.is_dir() and any((p / c).is_dir() for c in CLASSES))
        if split is not None and bases:
            raise FileNotFoundError(
                f"{root} has no '{split}' split folder (it has: {', '.join(b.name for b in bases)})"
            )
    samples = []
    for base in bases:
        for label, cls in enumerate(CLASSES):
            folder = base / cls
            if not folder.is_dir():
                continue
            for p in sorted(folder.rglob("*")):
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
                    samples.append(Sample(str(p), p.relative_to(root).as_posix(), label))
    if not samples:
        raise FileNotFoundError(f"no images found under {root} (expected NORMAL/ and PNEUMONIA/ folders)")
    return samples


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _union_find_groups(samples: list[Sample], hashes: list[str]) -> list[int]:
    """Group id per sample: same patient OR byte-identical content -> same group."""
    parent = list(range(len(samples)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_by_key: dict[str, int] = {}
    for i, s in enumerate(samples):
        for key in (f"patient:{s.label}:{patient_key(s.name)}", f"sha:{hashes[i]}"):
            j = first_by_key.setdefault(key, i)
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[ri] = rj
    return [find(i) for i in range(len(samples))]


def grouped_split(
    samples: list[Sample], val_fraction: float = 0.15, seed: int = 0, hashes: list[str] | None = None
) -> tuple[list[Sample], list[Sample]]:
    """Patient-grouped, label-stratified train/validation split.

    Groups (patients, merged with byte-identical files) are shuffled with ``seed`` per label and
    assigned to validation until it holds ``val_fraction`` of that label's images.
    """
    if hashes is None:
        hashes = [file_sha256(s.path) for s in samples]
    gid = _union_find_groups(samples, hashes)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(gid):
        groups[g].append(i)
    rng = np.random.default_rng(seed)
    val_idx: set[int] = set()
    for label in range(len(CLASSES)):
        label_groups = sorted(
            (g for g, idx in groups.items() if round(np.mean([samples[i].label for i in idx])) == label),
            key=lambda g: samples[groups[g][0]].rel,
        )
        order = rng.permutation(len(label_groups))
        target = val_fraction * sum(1 for s in samples if s.label == label)
        taken = 0
        for k in order:
            if taken >= target:
                break
            idx = groups[label_groups[k]]
            val_idx.update(idx)
            taken += len(idx)
    train = [s for i, s in enumerate(samples) if i not in val_idx]
    val = [s for i, s in enumerate(samples) if i in val_idx]
    return train, val


def save_split(path: Path, train: list[Sample], val: list[Sample], seed: int, root: str) -> None:
    rows = [{"rel": s.rel, "label": s.label, "subset": "train"} for s in train]
    rows += [{"rel": s.rel, "label": s.label, "subset": "val"} for s in val]
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", newline="") as f:
        f.write(f"# seed={seed} root={root}\n")
        w = csv.DictWriter(f, fieldnames=["rel", "label", "subset"])
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def load_split(path: Path, root: str | Path) -> tuple[list[Sample], list[Sample]]:
    root = Path(root).resolve()
    with open(path, newline="") as f:
        lines = [ln for ln in f if not ln.startswith("#")]
    train, val = [], []
    for r in csv.DictReader(lines):
        s = Sample(str(root / r["rel"]), r["rel"], int(r["label"]))
        (train if r["subset"] == "train" else val).append(s)
    return train, val


def decode_grey(path: str | Path) -> np.ndarray:
    """A study file -> its default-window rendering, 8-bit grey, bones bright.

    Goes through the viewer's own loader and display pipeline, so a JPEG, a PNG or a DICOM is
    prepared exactly as the app prepares it for the model.
    """
    from viewer.core.display import render_default
    from viewer.core.io import load_study

    return render_default(load_study(path), 0)


def _cache_key(samples: list[Sample], size: int) -> str:
    h = hashlib.sha256(f"v1:{size}".encode())
    for s in samples:
        st = os.stat(s.path)
        h.update(f"{s.rel}|{st.st_size}|{int(st.st_mtime)}\n".encode())
    return h.hexdigest()[:16]


def build_cache(
    samples: list[Sample], cache_dir: str | Path, size: int = MODEL_INPUT_SIZE, progress: bool = True
) -> np.ndarray:
    """uint8 array (N, size, size) of model-ready images, cached as .npy under ``cache_dir``."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"images_{size}_{_cache_key(samples, size)}.npy"
    if path.exists():
        arr = np.load(path, mmap_mode="r")
        if arr.shape == (len(samples), size, size):
            return np.asarray(arr)
    out = np.empty((len(samples), size, size), np.uint8)
    it = samples
    if progress:
        from tqdm import tqdm

        it = tqdm(samples, desc="decode+resize", unit="img")
    for i, s in enumerate(it):
        out[i] = resize_for_model(decode_grey(s.path), size)
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, out)
    os.replace(tmp, path)
    (cache_dir / (path.stem + ".json")).write_text(json.dumps([s.rel for s in samples]))
    return out


def manifest_summary(root: str | Path) -> dict:
    """sha256 of MANIFEST.csv (if the data folder has one) and per-class counts."""
    root = Path(root)
    for cand in (root / "MANIFEST.csv", root.parent / "MANIFEST.csv"):
        if cand.exists():
            return {"manifest": cand.name, "manifest_sha256": file_sha256(cand)}
    return {"manifest": None, "manifest_sha256": None}
