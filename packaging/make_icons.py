"""Draw the application icon and write ``assets/icons/pneumoscope.{png,ico,icns}``: a build-time tool.

    python packaging/make_icons.py [FOLDER]     (default: assets/icons of this checkout)

The viewer only loads these files (``viewer.gui.icons.app_icon``); the wheel (``setup.py``) and the
PyInstaller bundle (``bundle_rules.icon``, ``asset_datas``) ship them. Run this after changing the drawing
and commit the three files; ``tests/packaging/test_icons.py`` checks that drawing again gives the
committed icons. Needs PySide6 (QtGui only, offscreen) and Pillow (the .ico and .icns).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # viewer.config, from this checkout
    sys.path.insert(0, str(ROOT))

from PySide6 import QtCore, QtGui  # noqa: E402

from viewer.config import ICON_FILES  # noqa: E402

ICON_DIR = ROOT / "assets" / "icons"
PNG_SIZE = 1024
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]


def render_app_icon(size: int = 1024) -> QtGui.QImage:
    """The application icon: two lungs on a dark tile, a magnifying ring with a warm spot over one lung."""
    img = QtGui.QImage(size, size, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(QtCore.Qt.GlobalColor.transparent)
    p = QtGui.QPainter(img)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
    p.scale(size / 100.0, size / 100.0)
    P = QtCore.QPointF
    # tile
    tile = QtGui.QLinearGradient(P(0, 0), P(0, 100))
    tile.setColorAt(0, QtGui.QColor("#1b2a3c"))
    tile.setColorAt(1, QtGui.QColor("#0b121b"))
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    p.setBrush(tile)
    p.drawRoundedRect(QtCore.QRectF(4, 4, 92, 92), 20, 20)
    # lungs
    lung_fill = QtGui.QLinearGradient(P(0, 20), P(0, 85))
    lung_fill.setColorAt(0, QtGui.QColor("#eaf3fb"))
    lung_fill.setColorAt(1, QtGui.QColor("#9fb8cf"))
    right = QtGui.QPainterPath(P(44, 27))  # patient's right = viewer's left
    right.cubicTo(P(33, 24), P(20, 42), P(18, 62))
    right.cubicTo(P(17, 74), P(20, 82), P(27, 82))
    right.cubicTo(P(34, 82), P(40, 78), P(45, 77))
    right.cubicTo(P(46, 62), P(46, 42), P(44, 27))
    left = QtGui.QPainterPath(P(56, 27))
    left.cubicTo(P(67, 24), P(80, 42), P(82, 62))
    left.cubicTo(P(83, 74), P(80, 82), P(73, 82))
    left.cubicTo(P(67, 82), P(62, 80), P(58, 77))
    left.cubicTo(P(61, 72), P(55, 66), P(55, 60))
    left.cubicTo(P(55, 48), P(55, 38), P(56, 27))
    p.setBrush(lung_fill)
    p.drawPath(right)
    p.drawPath(left)
    # trachea and bronchi
    pen = QtGui.QPen(QtGui.QColor("#dfeaf4"), 3.2)
    pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
    p.drawLine(P(50, 12), P(50, 33))
    p.drawLine(P(50, 33), P(44, 40))
    p.drawLine(P(50, 33), P(56, 40))
    # the scope: a ring with a warm spot, and its handle
    centre, radius = P(64, 58), 15.0
    heat = QtGui.QRadialGradient(P(66, 60), radius)
    heat.setColorAt(0.0, QtGui.QColor(255, 70, 40, 235))
    heat.setColorAt(0.45, QtGui.QColor(255, 180, 60, 170))
    heat.setColorAt(1.0, QtGui.QColor(255, 200, 80, 0))
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    p.setBrush(heat)
    p.drawEllipse(centre, radius, radius)
    ring = QtGui.QPen(QtGui.QColor("#ffb547"), 4.2)
    ring.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
    p.setPen(ring)
    p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
    p.drawEllipse(centre, radius, radius)
    handle = QtGui.QPen(QtGui.QColor("#ffb547"), 7.0)
    handle.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
    p.setPen(handle)
    p.drawLine(P(75.5, 69.5), P(86, 80))
    p.end()
    return img


def write_icon_files(folder: Path = ICON_DIR) -> list[Path]:
    """The PNG (1024 px, drawn by Qt), and from it with Pillow the Windows .ico and the macOS .icns."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    png, ico, icns = (folder / ICON_FILES[ext] for ext in ("png", "ico", "icns"))
    render_app_icon(PNG_SIZE).save(str(png))
    im = Image.open(png).convert("RGBA")
    im.save(ico, sizes=ICO_SIZES)
    im.save(icns)
    return [png, ico, icns]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QtGui.QGuiApplication.instance() or QtGui.QGuiApplication(sys.argv[:1])
    for path in write_icon_files(Path(args[0]) if args else ICON_DIR):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
