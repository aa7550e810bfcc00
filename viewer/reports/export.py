"""Build and write the report objects of one study: SC, SR and PDF, from what is (or would be) displayed.

:func:`build_reports` is shared by the GUI's reports controller and ``pneumoscope-cli report``: given the
displayed image (body, without footer), the content and the source's path it returns the files to write
(name -> bytes). :func:`headless_view` is the CLI's "display": the series' default window (one for every
frame, as the viewer shows it: :func:`viewer.core.display.default_window`), the model's heatmap at the
default overlay style (as the viewer first shows a study), no annotations, stored orientation.

Rendering the footer and the PDF needs QtGui (fonts); the CLI runs it on Qt's ``offscreen`` platform
(:func:`ensure_gui_application`), so the same pixels come out with or without a display.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from viewer.config import DIST_NAME
from viewer.core import overlay
from viewer.core.display import default_window, render
from viewer.core.study import Study
from viewer.reports.content import ReportContent, build_content, patient_lines, window_text
from viewer.reports.deid import UidMap, read_source_header, reference_header

KINDS = ("sc", "sr", "pdf")
SUFFIX = {"sc": "-sc.dcm", "sr": "-sr.dcm", "pdf": ".pdf"}


def ensure_gui_application():
    """A QGuiApplication for fonts and painting; offscreen when there is no display (CLI, CI)."""
    from PySide6 import QtGui

    app = QtGui.QGuiApplication.instance()
    if app is None:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or os.name != "posix":
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QtGui.QGuiApplication([])
    return app


@dataclass
class HeadlessView:
    body: np.ndarray  # RGB, the image as the viewer first shows it (heatmap included when shown)
    content: ReportContent


def headless_view(
    study: Study, result, model_info, frame: int = 0, include_patient: bool = False
) -> HeadlessView:
    window = default_window(study)  # the series' window: frame N shown (and stated) as the viewer shows it
    grey = render(study.frames[frame], study.meta, window)
    shown = result is not None and not result.withheld and result.frame == frame
    norm = None
    if shown:
        pred = result.prediction
        norm = overlay.normalise_cam(pred.heatmap, overlay.ScaleMode.MODEL, pred.heatmap_scale)
    body = overlay.composite(grey, norm, overlay.OverlayStyle(), visible=norm is not None)
    content = build_content(
        result,
        model_info=model_info,
        meta=study.meta,
        heatmap_shown=norm is not None,
        window=window_text(window),
        include_patient=include_patient,
        patient_lines=patient_lines(study.meta),
    )
    return HeadlessView(body, content)


@dataclass
class ReportSet:
    files: dict[Path, bytes] = field(default_factory=dict)
    sc: Dataset | None = None
    sr: Dataset | None = None


def base_name(source_path: str, include_patient: bool) -> str:
    """File names carry the source's name only with patient data (a file name may hold a UID or a name);
    otherwise a digest of the file's bytes: the same study gets the same name (so a second run asks
    before replacing), and nothing in it can be derived from the patient's identifiers."""
    if include_patient:
        return Path(source_path).stem
    digest = hashlib.sha256()
    with open(source_path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return f"{DIST_NAME}-{digest.hexdigest()[:12]}"


def build_reports(
    source_path: str,
    body: np.ndarray,
    content: ReportContent,
    out_dir: str | os.PathLike,
    kinds=KINDS,
    *,
    footer: np.ndarray | None = None,
    uids: UidMap | None = None,
    quarter_turns: int = 0,
    mirrored: bool = False,
    base: str | None = None,
) -> ReportSet:
    """The report files for ``kinds`` (any of "sc", "sr", "pdf"). ``footer``: the footer band under the SC's
    image (default: :meth:`ReportContent.footer_lines` rendered by :func:`viewer.reports.raster.render_footer`).
    """
    from viewer.reports import dicom_sc, dicom_sr
    from viewer.reports.write import dicom_bytes

    kinds = tuple(k for k in KINDS if k in kinds)
    uids = uids or UidMap()
    out = Path(out_dir)
    base = base or base_name(source_path, content.include_patient)
    header = reference_header(read_source_header(source_path), content.include_patient, uids)
    result = ReportSet()
    if "sr" in kinds and "sc" not in kinds and "SOPInstanceUID" not in header:
        raise ValueError(
            "an image file (PNG, JPEG, TIFF) has no DICOM instance to refer to: export the SC too"
        )
    if "sc" in kinds or "sr" in kinds:
        if footer is None:
            from viewer.reports.raster import render_footer

            footer = render_footer(body.shape[1], content.footer_lines())
        if "sc" in kinds:
            capture = np.vstack([body, footer])
            result.sc = dicom_sc.build_sc(
                capture, header, content, quarter_turns=quarter_turns, mirrored=mirrored
            )
            result.files[out / f"{base}{SUFFIX['sc']}"] = dicom_bytes(result.sc)
        if "sr" in kinds:
            result.sr = dicom_sr.build_sr(content, header, result.sc)
            result.files[out / f"{base}{SUFFIX['sr']}"] = dicom_bytes(result.sr)
    if "pdf" in kinds:
        from viewer.reports.pdf import pdf_bytes

        result.files[out / f"{base}{SUFFIX['pdf']}"] = pdf_bytes(body, content)
    return result


__all__ = [
    "KINDS",
    "HeadlessView",
    "ReportSet",
    "base_name",
    "build_reports",
    "ensure_gui_application",
    "headless_view",
]
