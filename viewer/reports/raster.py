"""QtGui rasters shared by the PNG export, the DICOM capture and the CLI: numpy <-> QImage, and the
footer band drawn under an exported image. QtGui only (no widgets), so ``pneumoscope-cli report`` draws
the same footer with an offscreen QGuiApplication."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui


def rgb_to_qimage(rgb: np.ndarray) -> QtGui.QImage:
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QtGui.QImage(rgb.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()


def qimage_to_rgb(img: QtGui.QImage) -> np.ndarray:
    img = img.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : 3 * w].reshape(h, w, 3).copy()


def render_footer(width: int, lines: list[tuple[str, str]]) -> np.ndarray:
    """A dark band the width of the image, one paragraph per line (word-wrapped on narrow images)."""
    px = int(np.clip(width / 60, 11, 28))
    font = QtGui.QFont()
    font.setPixelSize(px)
    pad = max(6, px // 2)
    gap = max(2, px // 5)
    inner = max(10, width - 2 * pad)
    flags = int(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.TextFlag.TextWordWrap)
    fonts, rects = [], []
    y = pad
    for i, (text, _) in enumerate(lines):
        f = QtGui.QFont(font)
        f.setBold(i == 0)
        r = QtGui.QFontMetrics(f).boundingRect(QtCore.QRect(pad, y, inner, 10_000), flags, text)
        r = QtCore.QRect(pad, y, inner, r.height())
        fonts.append(f)
        rects.append(r)
        y += r.height() + gap
    height = y - gap + pad
    img = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB888)
    img.fill(QtGui.QColor("#111214"))
    p = QtGui.QPainter(img)
    p.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
    p.setPen(QtGui.QColor("#3a3d42"))
    p.drawLine(0, 0, width, 0)
    for (text, colour), f, r in zip(lines, fonts, rects, strict=True):
        p.setFont(f)
        p.setPen(QtGui.QColor(colour))
        p.drawText(r, flags, text)
    p.end()
    return qimage_to_rgb(img)


__all__ = ["qimage_to_rgb", "render_footer", "rgb_to_qimage"]
