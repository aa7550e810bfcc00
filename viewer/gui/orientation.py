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
