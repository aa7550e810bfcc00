"""The one-page report: a PDF file (``QPdfWriter``) or a printout (``QPrinter``), one layout for both.

Why Qt's ``QPdfWriter`` and not reportlab: it is already installed (PySide6-Essentials' QtGui), it draws
the very ``QImage`` the PNG export and the DICOM capture are made of, its text is real text (fonts
embedded with a ToUnicode map, so ``pdftotext`` and a screen reader read it), and :func:`paint_report`
paints on any ``QPagedPaintDevice``, so printing (``QPrinter``, QtPrintSupport, also in
PySide6-Essentials) is the same function on another device. reportlab would be a new dependency and a
second drawing model to keep in step.

Page: title and research-use banner, the image as displayed (heatmap and annotations burned in, without
the footer band: its content is the text below), the result and its state with the reasons, probability,
operating point and threshold, model name, version, integrity hash and calibration, the view's
orientation, the measurements, patient data only when asked for, the date, and the research-use
statement. No patient data goes into the PDF's metadata (title, author, subject).
"""

from __future__ import annotations

import os

import numpy as np
from PySide6 import QtCore, QtGui

from viewer.config import APP_NAME, NOT_A_MEDICAL_DEVICE
from viewer.core.model.result import format_probability, format_threshold
from viewer.reports.content import ReportContent
from viewer.reports.raster import rgb_to_qimage

TITLE = f"{APP_NAME} AI chest X-ray report"
DISCLAIMER = NOT_A_MEDICAL_DEVICE  # at the foot of the page, after the research-use sentence
STATE_COLOUR = {"in scope": "#1d6f42", "caution": "#9a5b00", "withheld": "#b3261e", "no result": "#555555"}


def result_rows(content: ReportContent) -> list[tuple[str, str]]:
    """(label, value) rows of the result table, in page order (also what tests read)."""
    rows = [("Result", content.finding), ("AI state", content.state)]
    if content.reasons:
        rows.append(("Why", " ".join(content.reasons)))
    if content.probability is not None:
        rows.append(("Calibrated probability", format_probability(content.probability)))
    if content.threshold is not None:
        rows.append(
            (
                "Operating point",
                f"{content.operating_point} (threshold {format_threshold(content.threshold)})",
            )
        )
    if content.ood_score is not None and content.ood_threshold is not None:
        rows.append(
            (
                "Out-of-distribution score",
                f"{content.ood_score:.2f} (withheld above {content.ood_threshold:.2f})",
            )
        )
    if content.model_name:
        rows.append(("Model", f"{content.model_name} version {content.model_version}"))
        rows.append(("Model integrity", content.model_integrity or "unknown"))
        rows.append(("Calibration", content.calibration or "-"))
    rows.append(("View", content.view + ("; AI heatmap shown" if content.heatmap_shown else "; no heatmap")))
    if content.window:
        rows.append(("Window", content.window))
    for i, m in enumerate(content.measurements, start=1):
        rows.append((f"Length {i}", m.text))
    if content.include_patient:
        for line in content.patient_lines:
            label, _, value = line.partition(": ")
            rows.append((label, value) if value else ("Patient", line))
    rows.append(("Report created", f"{content.created:%Y-%m-%d %H:%M} by {content.app}"))
    return rows


def _font(device: QtGui.QPaintDevice, points: float, bold: bool = False) -> QtGui.QFont:
    f = QtGui.QFont("DejaVu Sans")
    f.setStyleHint(QtGui.QFont.StyleHint.SansSerif)
    f.setPixelSize(max(1, round(points * device.logicalDpiY() / 72.0)))
    f.setBold(bold)
    return f


def paint_report(painter: QtGui.QPainter, page: QtCore.QRectF, image: QtGui.QImage, content: ReportContent):
    """Paint the page into ``page`` (device pixels) with an active ``painter``."""
    device = painter.device()
    wrap = int(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.TextFlag.TextWordWrap)
    x0, w = page.left(), page.width()
    y = page.top()

    def text(s: str, font: QtGui.QFont, colour: str = "#000000", rect_x=None, rect_w=None) -> float:
        painter.setFont(font)
        painter.setPen(QtGui.QColor(colour))
        rx, rw = (x0 if rect_x is None else rect_x), (w if rect_w is None else rect_w)
        r = painter.boundingRect(QtCore.QRectF(rx, y, rw, 1e6), wrap, s)
        painter.drawText(QtCore.QRectF(rx, y, rw, r.height()), wrap, s)
        return r.height()

    small = _font(device, 8.5)
    body = _font(device, 10)
    bold = _font(device, 10, True)
    y += text(TITLE, _font(device, 16, True))
    y += text(content.research_use, _font(device, 11, True), "#b3261e")
    y += _font(device, 6).pixelSize()

    # the image, as large as fits in about half of the page, aspect kept
    box_h = page.height() * 0.50
    if not image.isNull():
        scale = min(w / image.width(), box_h / image.height())
        iw, ih = image.width() * scale, image.height() * scale
        target = QtCore.QRectF(x0 + (w - iw) / 2, y, iw, ih)
        painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.fillRect(QtCore.QRectF(x0, y, w, ih), QtGui.QColor("#000000"))
        painter.drawImage(target, image)
        y += ih
    y += _font(device, 6).pixelSize()

    # the result, in the colour of its state
    colour = STATE_COLOUR.get(content.state, "#000000")
    y += text(content.finding, _font(device, 14, True), colour)
    y += _font(device, 3).pixelSize()
    label_w = w * 0.27
    for label, value in result_rows(content)[1:]:
        h1 = text(label, bold, "#333333", x0, label_w - 8)
        font = small if (" " not in value and len(value) > 40) else body  # a hash: one line, smaller
        h2 = text(
            value, font, colour if label in ("AI state", "Why") else "#000000", x0 + label_w, w - label_w
        )
        y += max(h1, h2) + 2
    # the statement at the foot of the page
    painter.setFont(small)
    foot = f"{content.research_use} {DISCLAIMER}"
    r = painter.boundingRect(QtCore.QRectF(x0, 0, w, 1e6), wrap, foot)
    y_foot = max(y + 4, page.bottom() - r.height())
    painter.setPen(QtGui.QColor("#b3261e"))
    painter.drawLine(QtCore.QPointF(x0, y_foot - 4), QtCore.QPointF(x0 + w, y_foot - 4))
    painter.drawText(QtCore.QRectF(x0, y_foot, w, r.height()), wrap, foot)


def _setup(device: QtGui.QPagedPaintDevice) -> None:
    layout = QtGui.QPageLayout(
        QtGui.QPageSize(QtGui.QPageSize.PageSizeId.A4),
        QtGui.QPageLayout.Orientation.Portrait,
        QtCore.QMarginsF(15, 15, 15, 15),
        QtGui.QPageLayout.Unit.Millimeter,
    )
    device.setPageLayout(layout)


def render_to(device: QtGui.QPagedPaintDevice, rgb: np.ndarray, content: ReportContent) -> None:
    """Paint the report on a PDF writer or a printer (the caller has set it up)."""
    painter = QtGui.QPainter()
    if not painter.begin(device):
        raise OSError("cannot draw on the printer or the PDF file")
    try:
        rect = device.pageLayout().paintRectPixels(_resolution(device))
        page = QtCore.QRectF(0, 0, rect.width(), rect.height())
        paint_report(painter, page, rgb_to_qimage(rgb), content)
    finally:
        painter.end()


def _resolution(device: QtGui.QPagedPaintDevice) -> int:
    res = getattr(device, "resolution", None)
    return int(res()) if callable(res) else int(device.logicalDpiX())


def pdf_bytes(rgb: np.ndarray, content: ReportContent, resolution: int = 300) -> bytes:
    """The PDF file's bytes (written to memory, so the file itself can be written atomically)."""
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    writer = QtGui.QPdfWriter(buffer)
    writer.setResolution(resolution)
    writer.setTitle(TITLE)  # no patient data in the document information
    writer.setCreator(content.app)
    _setup(writer)
    render_to(writer, rgb, content)
    data = buffer.data().data()
    buffer.close()
    return data


def write_pdf(path: str | os.PathLike, rgb: np.ndarray, content: ReportContent, *, overwrite: bool = False):
    from viewer.core.files import write_atomic

    return write_atomic(path, pdf_bytes(rgb, content), overwrite=overwrite)


def print_report(printer, rgb: np.ndarray, content: ReportContent) -> None:
    """Print on a ``QPrinter`` the user chose (QPrintDialog): the same page as the PDF."""
    _setup(printer)
    render_to(printer, rgb, content)


__all__ = ["DISCLAIMER", "TITLE", "paint_report", "pdf_bytes", "print_report", "result_rows", "write_pdf"]
