"""Display orientation: quarter turns and flips as one element of the dihedral group.

An :class:`Orientation` is "rotate ``k`` quarter turns clockwise, then mirror left-right if ``flip``".
Every sequence of rotate / flip commands reduces to one of these 8 states, so the screen transform
(:meth:`Orientation.qtransform`), the exported pixels (:meth:`Orientation.apply`) and the point mapping
(:meth:`Orientation.map_point`) cannot drift apart. Coordinates are image coordinates with y down, pixel
``(row, col)`` covering ``[col, col + 1] x [row, row + 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6 import QtGui


@dataclass(frozen=True)
class Orientation:
    k: int = 0  # clockwise quarter turns, 0..3
    flip: bool = False  # mirror left-right after the rotation

    # -- commands (each returns a new orientation) -----------------------------------------------
    def rotated_cw(self) -> Orientation:
        # R . F R^k = F R^(k-1)
        return Orientation((self.k - 1) % 4 if self.flip else (self.k + 1) % 4, self.flip)

    def rotated_ccw(self) -> Orientation:
        return Orientation((self.k + 1) % 4 if self.flip else (self.k - 1) % 4, self.flip)

    def flipped_h(self) -> Orientation:
        return Orientation(self.k, not self.flip)

    def flipped_v(self) -> Orientation:
        # V = F R^2
        return Orientation((self.k + 2) % 4, not self.flip)

    @property
    def is_identity(self) -> bool:
        return self.k == 0 and not self.flip

    def label(self) -> str:
        parts = []
        if self.k:
            parts.append(f"{self.k * 90}° CW")
        if self.flip:
            parts.append("mirrored")
        return ", ".join(parts)

    # -- geometry ------------------------------------------------------------------------------
    def shape(self, rows: int, cols: int) -> tuple[int, int]:
        """(rows, cols) of the oriented image."""
        return (cols, rows) if self.k % 2 else (rows, cols)

    def matrix(self, width: float, height: float) -> np.ndarray:
        """3x3 affine matrix (column vectors) mapping image (x, y) to oriented (x, y)."""
        m = np.eye(3)
        w, h = float(width), float(height)
        for _ in range(self.k):
            # clockwise quarter turn with y down: (x, y) -> (h - y, x); the frame becomes h x w
            m = np.array([[0.0, -1.0, h], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]) @ m
            w, h = h, w
        if self.flip:
            m = np.array([[-1.0, 0.0, w], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) @ m
        return m

    def map_point(self, x: float, y: float, width: float, height: float) -> tuple[float, float]:
        m = self.matrix(width, height)
        v = m @ np.array([x, y, 1.0])
        return float(v[0]), float(v[1])

    def qtransform(self, width: float, height: float) -> QtGui.QTransform:
        m = self.matrix(width, height)
        # QTransform(m11, m12, m21, m22, dx, dy): x' = m11 x + m21 y + dx, y' = m12 x + m22 y + dy
        return QtGui.QTransform(m[0, 0], m[1, 0], m[0, 1], m[1, 1], m[0, 2], m[1, 2])

    def apply(self, array: np.ndarray) -> np.ndarray:
        """Orient an image array (rows, cols[, channels]) exactly as the screen shows it."""
        out = np.rot90(array, -self.k, axes=(0, 1)) if self.k else array
        if self.flip:
            out = out[:, ::-1]
        return np.ascontiguousarray(out)


# -- orientation letters ---------------------------------------------------------------------------------
# Patient directions (PS3.3 C.7.6.1.1.1): L/R left/right, A/P anterior/posterior, H/F head/feet.
_OPPOSITE = str.maketrans("LRAPHF", "RLPAFH")
FRONTAL_VIEWS = ("AP", "PA")
EDGES = ("left", "right", "top", "bottom")


def opposite(direction: str) -> str:
    """The opposite patient direction: ``"L"`` -> ``"R"``, ``"LF"`` -> ``"RH"``."""
    return direction.translate(_OPPOSITE)


def _valid(direction: str) -> bool:
    return 0 < len(direction) <= 3 and all(c in "LRAPHF" for c in direction)


def patient_axes(patient_orientation: str, view_position: str) -> tuple[str, str] | None:
    """The patient directions of the image's +x (along a row, to the right) and +y (down a column) axes.

    From Patient Orientation (0020,0020), whose two values are exactly these (e.g. ``"L\\F"``); failing
    that, from View Position for a frontal chest film as it is conventionally displayed, AP or PA alike
    (as if facing the patient: the patient's right on the viewer's left, head up), i.e. ``("L", "F")``.
    None when neither says (a lateral view, a raster file): no letters are better than wrong ones.
    """
    values = [v.strip().upper() for v in patient_orientation.split("\\")] if patient_orientation else []
    if len(values) == 2 and all(_valid(v) for v in values):
        return values[0], values[1]
    if view_position.strip().upper() in FRONTAL_VIEWS:
        return "L", "F"
    return None


def edge_letters(axes: tuple[str, str] | None, orientation: Orientation) -> dict[str, str]:
    """The letter on each screen edge (``left``, ``right``, ``top``, ``bottom``) of an image whose axes point
    to ``axes`` (:func:`patient_axes`), displayed with ``orientation``; empty when the axes are unknown."""
    if axes is None:
        return {}
    row, col = axes
    linear = orientation.matrix(1.0, 1.0)[:2, :2]  # a signed permutation: its inverse is its transpose
    screen = {"right": (1.0, 0.0), "left": (-1.0, 0.0), "bottom": (0.0, 1.0), "top": (0.0, -1.0)}
    letters = {}
    for edge, s in screen.items():
        dx, dy = (linear.T @ np.array(s)).round().astype(int)  # the image direction shown towards that edge
        letters[edge] = row if dx > 0 else opposite(row) if dx < 0 else col if dy > 0 else opposite(col)
    return letters
