"""Reports a reading room can file (#12): DICOM SC + SR, a one-page PDF, a printout of the same page.

What they show is what the PNG export shows (:class:`~viewer.gui.controllers.export.ExportController`
gives the image and its footer), so the SC's pixels are the PNG export's; what they say comes from one
:class:`~viewer.reports.content.ReportContent` (result and state, model, view, the rulers in mm). Patient
data only with the box ticked; one :class:`~viewer.reports.deid.UidMap` per session, so every export of
a study lands in the same pseudonymous study. Files are written atomically, and an existing file is
replaced only after a question.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PySide6 import QtCore, QtWidgets

from viewer.config import RESEARCH_USE
from viewer.gui import export as export_mod
from viewer.gui.dialogs import PatientDataDialog
from viewer.gui.session import StudySession
from viewer.gui.settings import Settings
from viewer.gui.widgets.notifications import NotificationBar
from viewer.reports.content import (
    ReportContent,
    build_content,
    lengths_from_rulers,
    patient_lines,
    window_text,
)
from viewer.reports.deid import UidMap


class ExportSource(Protocol):
    """What reports need of the export controller (controllers do not import each other): the export
    context of the current study and the view whose heatmap it shows."""

    view: Any

    def export_context(self) -> export_mod.ExportContext | None: ...


class ReportOptionsDialog(PatientDataDialog):
    """One question before a report: include patient data? (No by default.)"""

    def __init__(self, parent, title: str, what: str):
        super().__init__(
            parent,
            title,
            "Include patient data (name, ID, birth date, study identifiers)",
            f"{what} Without patient data the DICOM objects are de-identified (PS3.15 basic profile: new "
            f"UIDs, Patient Identity Removed = YES) and the PDF names nobody. {RESEARCH_USE}",
        )


class ReportsController(QtCore.QObject):
    def __init__(
        self,
        session: StudySession,
        export: ExportSource,
        notifications: NotificationBar,
        settings: Settings,
        dialog_parent: QtWidgets.QWidget,
        status: Callable[[str, int], None],
    ):
        super().__init__(dialog_parent)
        self.session, self.export, self.notifications, self.settings = (
            session,
            export,
            notifications,
            settings,
        )
        self._parent, self._status = dialog_parent, status
        self.uids = UidMap()  # one per session: the SC and SR of a study share its new Study Instance UID

    # -- what a report shows and says --------------------------------------------------------------
    def _ready(self) -> bool:
        e = self.session.current
        return e is not None and e.ready

    def content(self, include_patient: bool) -> ReportContent | None:
        e = self.session.current
        if e is None or not e.ready:
            return None
        model = self.session.model
        result = e.result if e.frame == 0 else None
        reason = "the AI result belongs to frame 1" if (e.result is not None and e.frame != 0) else ""
        rulers = [
            s.points[:2] for s in (e.layer.shapes() if e.layer is not None else []) if s.kind == "ruler"
        ]
        return build_content(
            result,
            model_info=model.info if model is not None else None,
            meta=e.study.meta,
            quarter_turns=e.orientation.k,
            mirrored=e.orientation.flip,
            inverted=e.invert,
            heatmap_shown=e.heatmap_applies and self.export.view.heatmap.isVisible(),
            window=window_text(e.effective_window()),
            measurements=lengths_from_rulers(rulers, e.study.meta.pixel_spacing),
            include_patient=include_patient,
            patient_lines=patient_lines(e.study.meta),
            no_result_reason=reason or self.session.model_error or "",
        )

    def images(self, include_patient: bool) -> tuple[np.ndarray, np.ndarray] | None:
        """(body, footer): the PNG export at full resolution, split where its footer band starts."""
        ctx = self.export.export_context()
        if ctx is None:
            return None
        options = export_mod.ExportOptions(full_resolution=True, include_identifiers=include_patient)
        body = export_mod.render_full_resolution(ctx)
        footer = export_mod.render_footer(body.shape[1], export_mod.footer_lines(ctx, options))
        return body, footer

    def _ask(self, title: str, what: str) -> bool | None:
        dlg = ReportOptionsDialog(self._parent, title, what)
        if dlg.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return None
        return dlg.patient_check.isChecked()

    def _write(self, files: dict[Path, bytes], ask) -> list[Path] | None:
        from viewer.reports.write import existing, write_files

        clash = existing(files)
        if clash and not ask(self._parent, clash[0]):
            return None
        try:
            return write_files(files, overwrite=bool(clash))
        except OSError as exc:
            self.notifications.add("Report not written", str(exc))
            return None

    # -- DICOM SC + SR -----------------------------------------------------------------------------
    def export_dicom_to(
        self, folder, include_patient: bool = False, ask=export_mod.confirm_overwrite, kinds=("sc", "sr")
    ) -> list[Path] | None:
        from viewer.reports.export import build_reports

        content, images, e = self.content(include_patient), self.images(include_patient), self.session.current
        if content is None or images is None or e is None:
            return None
        body, footer = images
        try:
            built = build_reports(
                e.path,
                body,
                content,
                folder,
                kinds,
                footer=footer,
                uids=self.uids,
                quarter_turns=e.orientation.k,
                mirrored=e.orientation.flip,
            )
        except (OSError, ValueError) as exc:
            self.notifications.add("Report not written", str(exc))
            return None
        written = self._write(built.files, ask)
        if written:
            self._status(f"Wrote {', '.join(p.name for p in written)} to {Path(folder)}", 6000)
        return written

    def export_dicom_dialog(self) -> None:
        if not self._ready():
            return
        include = self._ask(
            "Export DICOM SC + SR",
            "A Secondary Capture of the view as displayed and a Structured Report of the AI result, in a new "
            "series of the study.",
        )
        if include is None:
            return
        folder = QtWidgets.QFileDialog.getExistingDirectory(
            self._parent, "Folder for the DICOM SC + SR", self.settings.last_folder
        )
        if folder:
            self.settings.last_folder = folder
            self.export_dicom_to(folder, include)

    # -- PDF and print -----------------------------------------------------------------------------
    def export_pdf_to(
        self, path, include_patient: bool = False, ask=export_mod.confirm_overwrite
    ) -> Path | None:
        from viewer.reports.pdf import pdf_bytes

        content, images = self.content(include_patient), self.images(include_patient)
        if content is None or images is None:
            return None
        path = Path(path)
        written = self._write({path: pdf_bytes(images[0], content)}, ask)
        if written:
            self._status(f"Wrote {path}", 5000)
            return written[0]
        return None

    def export_pdf_dialog(self) -> None:
        if not self._ready():
            return
        include = self._ask(
            "Export PDF report", "A one-page report: the image as displayed and the AI result."
        )
        if include is None:
            return
        from viewer.reports.export import base_name

        suggested = Path(self.settings.last_folder) / f"{base_name(self.session.current.path, include)}.pdf"
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self._parent,
            "Export PDF report",
            str(suggested),
            "PDF document (*.pdf)",
            options=QtWidgets.QFileDialog.Option.DontConfirmOverwrite,
        )
        if not path:
            return
        if not path.lower().endswith(".pdf"):
            path += ".pdf"
        self.settings.last_folder = str(Path(path).parent)
        self.export_pdf_to(path, include)

    def print_to(self, printer, include_patient: bool = False) -> bool:
        from viewer.reports.pdf import print_report

        content, images = self.content(include_patient), self.images(include_patient)
        if content is None or images is None:
            return False
        try:
            print_report(printer, images[0], content)
        except OSError as exc:
            self.notifications.add("Printing failed", str(exc))
            return False
        self._status("Report sent to the printer", 4000)
        return True

    def print_dialog(self) -> None:
        if not self._ready():
            return
        include = self._ask("Print report", "The same page as the PDF report.")
        if include is None:
            return
        from PySide6 import QtPrintSupport

        printer = QtPrintSupport.QPrinter(QtPrintSupport.QPrinter.PrinterMode.HighResolution)
        dialog = QtPrintSupport.QPrintDialog(printer, self._parent)
        if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            self.print_to(printer, include)
