"""Exports for reports and the clipboard: what the view shows, annotations burned in, the AI footer.

The footer carries the AI result's state and reasons (:func:`ai_footer`): a withheld result exports
"AI result withheld - <reason>" and no heatmap, unless it was revealed on screen, and then it is marked
UNRELIABLE. The clipboard copy is the same image.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from viewer.config import DIST_NAME, app_title
from viewer.core.scope import AiState
from viewer.gui import export as export_mod
from viewer.gui.session import StudySession
from viewer.gui.settings import Settings
from viewer.gui.widgets.corner_info import format_date, format_person_name
from viewer.gui.widgets.image_view import ImageView
from viewer.gui.widgets.notifications import NotificationBar


class ExportController(QtCore.QObject):
    def __init__(
        self,
        session: StudySession,
        view: ImageView,
        notifications: NotificationBar,
        settings: Settings,
        dialog_parent: QtWidgets.QWidget,
        status: Callable[[str, int], None],
    ):
        super().__init__(dialog_parent)
        self.session, self.view, self.notifications, self.settings = session, view, notifications, settings
        self._parent, self._status = dialog_parent, status

    def export_context(self) -> export_mod.ExportContext | None:
        """Everything an export shows, taken from the current study and what the view shows of it."""
        e = self.session.current
        u8 = e.displayed_u8() if e is not None else None
        if e is None or u8 is None:
            return None
        meta = e.study.meta
        model, model_error = self.session.model, self.session.model_error
        result = e.result
        ai_line, scope_line, scope_colour = ai_footer(result, e.revealed) if result else ("", "", "")
        if result is not None and e.frame != 0:
            ai_line = f"The AI result belongs to frame 1 only (this is frame {e.frame + 1})"
            scope_line, scope_colour = "", ""
        elif result is None:
            ai_line = "AI: no result" + (f" ({model_error})" if model_error else "")
        model_line = ""
        if model is not None:
            model_line = f"Model {model.info.name} {model.info.version}, {model.info.calibration_label}"
        patient = meta.patient
        patient_line = " · ".join(
            v
            for v in (
                format_person_name(patient.name),
                f"ID {patient.id}" if patient.id else "",
                f"born {format_date(patient.birth_date)}" if patient.birth_date else "",
            )
            if v
        )
        study_line = " · ".join(
            v
            for v in (
                f"Study {format_date(meta.study.date)}" if meta.study.date else "",
                meta.study.description,
            )
            if v
        )
        return export_mod.ExportContext(
            display_u8=u8,
            orientation=e.orientation,
            inverted=e.invert,
            heatmap=self.view.heatmap.norm if e.heatmap_applies else None,
            style=self.view.heatmap.style,
            heatmap_visible=e.heatmap_applies and self.view.heatmap.isVisible(),  # as shown
            shapes=e.layer.shapes() if e.layer is not None else [],
            ai_line=ai_line,
            scope_line=scope_line,
            scope_colour=scope_colour or export_mod.SCOPE_COLOUR,
            model_line=model_line,
            patient_line=("Patient " + patient_line) if patient_line else "",
            study_line=study_line,
            app_line=app_title(),
        )

    def _has_image(self) -> bool:
        e = self.session.current
        return e is not None and e.ready

    def render_export(self, options: export_mod.ExportOptions) -> np.ndarray | None:
        ctx = self.export_context()
        if ctx is None:
            return None
        shown = None if options.full_resolution else self.view.grab_image_area(hide_corners=True)
        return export_mod.render_export(ctx, options, shown)

    def export_to(
        self, path, options: export_mod.ExportOptions, ask=export_mod.confirm_overwrite
    ) -> Path | None:
        rgb = self.render_export(options)
        if rgb is None:
            return None
        try:
            written = export_mod.save_export(path, rgb, self._parent, ask)
        except (OSError, ValueError) as exc:
            self.notifications.add("Export failed", str(exc))
            return None
        if written is not None:
            self._status(f"Exported {written}", 5000)
        return written

    def _ask_export_options(self, title: str) -> export_mod.ExportOptions | None:
        e = self.session.current
        rows, cols = e.orientation.shape(*e.displayed_u8().shape)
        dlg = export_mod.ExportDialog(
            self._parent,
            (rows, cols),
            (self.view.height(), self.view.width()),
            self.settings.export_full_resolution,
            title,
        )
        if dlg.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return None
        opts = dlg.options()
        self.settings.export_full_resolution = opts.full_resolution
        return opts

    def export_dialog(self) -> None:
        if not self._has_image():
            return
        opts = self._ask_export_options("Export annotated image")
        if opts is None:
            return
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        suggested = str(Path(self.settings.last_folder) / f"{DIST_NAME}-{stamp}.png")
        path, selected = QtWidgets.QFileDialog.getSaveFileName(
            self._parent,
            "Export annotated image",
            suggested,
            "PNG image (*.png);;JPEG image (*.jpg *.jpeg)",
            options=QtWidgets.QFileDialog.Option.DontConfirmOverwrite,
        )
        if not path:
            return
        if Path(path).suffix.lower() not in export_mod.FORMATS:
            path += ".jpg" if "JPEG" in selected else ".png"
        self.settings.last_folder = str(Path(path).parent)
        self.export_to(path, opts)

    def copy_to_clipboard(self, options: export_mod.ExportOptions | None = None) -> bool:
        if not self._has_image():
            return False
        if options is None:
            options = self._ask_export_options("Copy annotated image")
            if options is None:
                return False
        rgb = self.render_export(options)
        QtGui.QGuiApplication.clipboard().setImage(export_mod.rgb_to_qimage(rgb))
        self._status("Annotated image copied to the clipboard", 4000)
        return True


FOOTER_REASONS = 3  # reasons written out in a footer; more are counted


def _reasons(reasons: list[str]) -> str:
    shown = " ".join(r if r.endswith(".") else f"{r}." for r in reasons[:FOOTER_REASONS])
    more = len(reasons) - FOOTER_REASONS
    return shown + (f" (+{more} more)" if more > 0 else "")


def ai_footer(result, revealed: bool) -> tuple[str, str, str]:
    """(AI line, state line, state line colour) of an export footer for an ``AiResult``."""
    summary = result.summary(reveal=revealed)
    ai_line = summary if summary.startswith(("AI ", "UNRELIABLE")) else f"AI: {summary}"
    reasons = result.assessment.reasons
    state = result.state
    if state is AiState.IN_SCOPE:
        return ai_line, f"AI state: in scope - {result.assessment.headline.split(': ', 1)[-1]}", "#b8bcc2"
    if state is AiState.CAUTION:
        return ai_line, f"AI state: caution - {_reasons(reasons)}", export_mod.SCOPE_COLOUR
    rest = reasons if revealed else reasons[1:]  # unrevealed, the AI line already gives the first reason
    line = "AI state: withheld" + (f" - {'also: ' if not revealed else ''}{_reasons(rest)}" if rest else ".")
    return ai_line, line, export_mod.WITHHELD_COLOUR
