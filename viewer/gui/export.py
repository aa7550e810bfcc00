"""Export for reports: the image as displayed, heatmap and annotations burned in, and an AI footer.

Two sizes: full image resolution (re-rendered here: window/level pixels, orientation, heatmap blended by
``viewer.core.overlay.composite`` at the current opacity, annotations redrawn with QPainter at a size
proportional to the image) or as shown (a grab of the view). Below the image a footer band carries the
AI result with its state and reasons (withheld results without their score), threshold, model version and
calibration, date and the research-use sentence (``viewer.config.RESEARCH_USE``). Patient identifiers
appear only when the user ticks the box.

Files are encoded with ``cv2.imencode`` (pixels only: no text chunks, no EXIF) and written atomically
(temporary file in the same folder, then ``os.replace``). Nothing is overwritten without a question.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from viewer.config import RESEARCH_USE
from viewer.core import overlay
from viewer.core.files import write_atomic
from viewer.core.overlay import OverlayStyle
from viewer.gui.annotations import COLOUR, Shape, draw_label
from viewer.gui.dialogs import add_note_and_buttons
from viewer.gui.orientation import Orientation
from viewer.reports.content import describe_view
from viewer.reports.raster import qimage_to_rgb, render_footer, rgb_to_qimage

SCOPE_COLOUR = "#f0a830"  # the AI state line: amber (caution) unless the context says otherwise
WITHHELD_COLOUR = "#ff8a7e"
FORMATS = {
    ".png": "PNG image (*.png)",
    ".jpg": "JPEG image (*.jpg *.jpeg)",
    ".jpeg": "JPEG image (*.jpg *.jpeg)",
}


@dataclass(frozen=True)
class ExportOptions:
    full_resolution: bool = True
    include_identifiers: bool = False


@dataclass
class ExportContext:
    """Everything needed to draw the export, captured from the window at the time of export."""

    display_u8: np.ndarray  # the frame at the current window (inversion applied), image geometry
    orientation: Orientation = Orientation()
    inverted: bool = False  # the user inverted the grey scale (said in the footer, as flips and turns are)
    heatmap: np.ndarray | None = None  # normalised map in [0, 1], image geometry
    style: OverlayStyle = OverlayStyle()
    heatmap_visible: bool = True
    shapes: list[Shape] = field(default_factory=list)
    ai_line: str = "AI: no result"
    scope_line: str = ""  # the AI state and its reasons
    scope_colour: str = SCOPE_COLOUR
    model_line: str = ""
    patient_line: str = ""  # only used when identifiers are included
    study_line: str = ""  # date / description: a full date is an identifier (HIPAA), so only when asked
    app_line: str = ""
    exported_at: str = ""

    def __post_init__(self):
        if not self.exported_at:
            self.exported_at = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")


# ------------------------------------------------------------------------------ drawing


def draw_shapes(
    img: QtGui.QImage,
    shapes: list[Shape],
    orientation: Orientation,
    image_size: tuple[int, int],
    scale: float = 1.0,
) -> None:
    """Draw annotations (image coordinates) onto an oriented export image, sizes relative to the image."""
    rows, cols = image_size
    out_rows, out_cols = orientation.shape(rows, cols)
    m = orientation.matrix(cols, rows)
    lw = max(2.0, float(overlay.line_thickness((out_rows * scale, out_cols * scale))))
    font = QtGui.QFont()
    font.setPixelSize(max(12, int(min(out_rows, out_cols) * scale / 55)))
    font.setWeight(QtGui.QFont.Weight.DemiBold)

    def pt(p):
        v = m @ np.array([p[0], p[1], 1.0])
        return QtCore.QPointF(v[0] * scale, v[1] * scale)

    p = QtGui.QPainter(img)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
    p.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
    halo = QtGui.QPen(QtGui.QColor(0, 0, 0, 170), lw + 2.5)
    halo.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
    pen = QtGui.QPen(COLOUR, lw)
    pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
    for s in shapes:
        path = QtGui.QPainterPath()
        label_at, text = None, s.text
        if s.kind in ("arrow", "ruler"):
            a, b = pt(s.points[0]), pt(s.points[1])
            path.moveTo(a)
            path.lineTo(b)
            d = b - a
            n = math.hypot(d.x(), d.y())
            if n > 1e-9:
                ux, uy = d.x() / n, d.y() / n
                if s.kind == "arrow":
                    head = min(lw * 7, n * 0.6)
                    for sign in (1, -1):
                        ang = math.radians(28) * sign
                        bx = -(ux * math.cos(ang) - uy * math.sin(ang)) * head
                        by = -(ux * math.sin(ang) + uy * math.cos(ang)) * head
                        path.moveTo(b)
                        path.lineTo(b + QtCore.QPointF(bx, by))
                else:
                    t = lw * 3
                    for q in (a, b):
                        path.moveTo(q.x() + uy * t, q.y() - ux * t)
                        path.lineTo(q.x() - uy * t, q.y() + ux * t)
                    label_at = (a + b) / 2 + QtCore.QPointF(lw * 4, lw * 3)
        elif s.kind == "ellipse":
            a, b = pt(s.points[0]), pt(s.points[1])
            path.addEllipse(QtCore.QRectF(a, b).normalized())
        elif s.kind == "text":
            label_at = pt(s.points[0])
        p.strokePath(path, halo)
        p.strokePath(path, pen)
        if label_at is not None and text:
            draw_label(p, label_at, text, font, COLOUR, bounds=QtCore.QRectF(0, 0, img.width(), img.height()))
    p.end()


def footer_lines(ctx: ExportContext, options: ExportOptions) -> list[tuple[str, str]]:
    """(text, colour) lines of the footer band."""
    lines = [(ctx.ai_line, "#ffffff")]
    if ctx.scope_line:
        lines.append((ctx.scope_line, ctx.scope_colour))
    # how the view differs from the stored image: a mirrored chest must never pass for a dextrocardia
    as_stored = ctx.orientation.is_identity and not ctx.inverted
    view = describe_view(ctx.orientation.k, ctx.orientation.flip, ctx.inverted)
    lines.append((view, "#b8bcc2" if as_stored else "#f0a830"))
    meta = " · ".join(v for v in (ctx.model_line, f"Exported {ctx.exported_at}", ctx.app_line) if v)
    lines.append((meta, "#b8bcc2"))
    ident = (
        " · ".join(v for v in (ctx.patient_line, ctx.study_line) if v) if options.include_identifiers else ""
    )
    if ident:
        lines.append((ident, "#b8bcc2"))
    lines.append((RESEARCH_USE, "#f0a830"))
    return lines


def render_full_resolution(ctx: ExportContext) -> np.ndarray:
    """Image pixels at the current window and orientation, heatmap and annotations burned in (RGB)."""
    rgb = overlay.composite(ctx.display_u8, ctx.heatmap, ctx.style, visible=ctx.heatmap_visible)
    rgb = ctx.orientation.apply(rgb)
    if ctx.shapes:
        img = rgb_to_qimage(rgb)
        draw_shapes(img, ctx.shapes, ctx.orientation, ctx.display_u8.shape[:2])
        rgb = qimage_to_rgb(img)
    return rgb


def render_export(
    ctx: ExportContext, options: ExportOptions, shown: QtGui.QImage | None = None
) -> np.ndarray:
    """The whole export (image + footer) as an RGB array."""
    if options.full_resolution or shown is None:
        body = render_full_resolution(ctx)
    else:
        body = qimage_to_rgb(shown)
    footer = render_footer(body.shape[1], footer_lines(ctx, options))
    return np.vstack([body, footer])


# ------------------------------------------------------------------------------ files


def encode(rgb: np.ndarray, suffix: str) -> bytes:
    suffix = suffix.lower()
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    if suffix in (".jpg", ".jpeg"):
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    elif suffix == ".png":
        ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    else:
        raise ValueError(f"unsupported export format {suffix!r}: use .png or .jpg")
    if not ok:
        raise OSError("the image could not be encoded")
    return buf.tobytes()


def confirm_overwrite(parent: QtWidgets.QWidget | None, path: Path) -> bool:
    """Ask before replacing an existing file; the default answer is No."""
    answer = QtWidgets.QMessageBox.question(
        parent,
        "Replace file?",
        f"{path.name} already exists in {path.parent}.\nDo you want to replace it?",
        QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.No,
        QtWidgets.QMessageBox.StandardButton.No,
    )
    return answer == QtWidgets.QMessageBox.StandardButton.Yes


def save_export(
    path: str | os.PathLike, rgb: np.ndarray, parent: QtWidgets.QWidget | None = None, ask=confirm_overwrite
) -> Path | None:
    """Encode and write atomically; returns None when the user declined to replace an existing file."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"unsupported export format {path.suffix!r}: use .png or .jpg")
    existed = path.exists()
    if existed and not ask(parent, path):
        return None
    # a file that appears while encoding was not agreed to: refuse it rather than replace it
    return write_atomic(path, encode(rgb, path.suffix), overwrite=existed)


# ------------------------------------------------------------------------------ dialog


class ExportDialog(QtWidgets.QDialog):
    """Size (full resolution / as shown) and whether to include patient identifiers."""

    def __init__(
        self,
        parent=None,
        full_size: tuple[int, int] = (0, 0),
        shown_size: tuple[int, int] = (0, 0),
        full_resolution: bool = True,
        title: str = "Export annotated image",
    ):
        super().__init__(parent)
        self.setWindowTitle(title)
        lay = QtWidgets.QVBoxLayout(self)
        box = QtWidgets.QGroupBox("Size")
        bl = QtWidgets.QVBoxLayout(box)
        self.full_radio = QtWidgets.QRadioButton(
            f"Full image resolution ({full_size[1]} x {full_size[0]} px)"
        )
        self.shown_radio = QtWidgets.QRadioButton(
            f"As shown on screen ({shown_size[1]} x {shown_size[0]} px)"
        )
        (self.full_radio if full_resolution else self.shown_radio).setChecked(True)
        bl.addWidget(self.full_radio)
        bl.addWidget(self.shown_radio)
        lay.addWidget(box)
        self.identifiers_check = QtWidgets.QCheckBox("Include patient identifiers (name, ID, birth date)")
        self.identifiers_check.setChecked(False)
        lay.addWidget(self.identifiers_check)
        add_note_and_buttons(
            self,
            lay,
            "The image is exported as displayed: window/level, orientation, heatmap at its current opacity "
            f"and annotations, with a footer giving the AI result and \u201c{RESEARCH_USE.rstrip('.')}\u201d. "
            "The file contains pixels only (no metadata).",
        )

    def options(self) -> ExportOptions:
        return ExportOptions(self.full_radio.isChecked(), self.identifiers_check.isChecked())
