"""Synthetic images the gate must withhold, built from one in-distribution radiograph (or from nothing).

The cases of issue #11: noise, blank, a Kermany image inverted, rotated 90 degrees, cropped to one lung,
padded into a large black frame, and a natural-image-like texture. Each is an 8-bit grey image as the viewer
would render it (the model's input before resizing).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np


def noise(_: np.ndarray) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (512, 512), dtype=np.uint8)


def blank(_: np.ndarray) -> np.ndarray:
    return np.full((512, 512), 128, np.uint8)


def inverted(img: np.ndarray) -> np.ndarray:
    return 255 - img


def rotated_90(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(img))


def one_lung(img: np.ndarray) -> np.ndarray:
    """The patient's right lung (image left half), from the apex to the diaphragm."""
    h, w = img.shape
    return np.ascontiguousarray(img[int(0.12 * h) : int(0.85 * h), int(0.05 * w) : int(0.5 * w)])


def padded(img: np.ndarray) -> np.ndarray:
    """The film as a small island in a black frame four times its size."""
    h, w = img.shape
    out = np.zeros((4 * h, 4 * w), np.uint8)
    out[int(1.5 * h) : int(1.5 * h) + h, int(1.5 * w) : int(1.5 * w) + w] = img
    return out


def texture(_: np.ndarray) -> np.ndarray:
    """Smooth random blobs plus oriented stripes: the statistics of a natural photograph, not of a film."""
    rng = np.random.default_rng(1)
    base = cv2.GaussianBlur(rng.random((512, 512)).astype(np.float32), (0, 0), 6)
    base = (base - base.min()) / max(float(np.ptp(base)), 1e-6)
    yy, xx = np.mgrid[0:512, 0:512].astype(np.float32)
    img = 0.55 * base + 0.25 * np.sin(xx / 9.0 + yy / 23.0) + 0.2 * np.cos(yy / 5.0)
    img = (img - img.min()) / max(float(np.ptp(img)), 1e-6)
    return (img * 255).astype(np.uint8)


CASES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "noise": noise,
    "blank": blank,
    "inverted": inverted,
    "rotated 90 degrees": rotated_90,
    "one lung": one_lung,
    "padded in a black frame": padded,
    "natural texture": texture,
}


def build_cases(chest_u8: np.ndarray) -> dict[str, np.ndarray]:
    """Every case, built from ``chest_u8`` (an in-distribution grey radiograph) where it needs one."""
    return {name: make(np.asarray(chest_u8, np.uint8)) for name, make in CASES.items()}


__all__ = ["CASES", "build_cases"]
