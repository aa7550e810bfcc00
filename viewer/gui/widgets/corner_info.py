"""The four corner texts over the image (patient, study, acquisition, display state) and their widget."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

from viewer.core.study import StudyMetadata, VoiLut, WindowPreset
from viewer.reports.content import format_person_name  # one PN format for corners, exports and reports


def format_date(da: str) -> str:
    """DICOM DA ``YYYYMMDD`` -> ``YYYY-MM-DD`` (anything else unchanged: the loader already gives ISO dates,
    :mod:`viewer.core.io.dicom.meta` parses DA / TM / DT with pydicom)."""
    da = (da or "").strip()
    if len(da) == 8 and da.isdigit():
        return f"{da[:4]}-{da[4:6]}-{da[6:]}"
    return da


def format_time(iso: str) -> str:
    """The loader's ISO time ``HH:MM:SS[.ffffff]`` -> ``HH:MM`` for the overlay ("" for anything else)."""
    iso = (iso or "").strip()
    if len(iso) >= 5 and iso[2] == ":" and iso[:2].isdigit() and iso[3:5].isdigit():
        return iso[:5]
    return ""


def format_age(meta: StudyMetadata) -> str:
    p = meta.patient
    if p.age:
        a = p.age.strip()
        if len(a) == 4 and a[:3].isdigit():
            unit = {"Y": "y", "M": "mo", "W": "wk", "D": "d"}.get(a[3].upper(), a[3])
            return f"{int(a[:3])} {unit}"
        return a
    if p.age_years is not None:
        return f"{p.age_years:.0f} y" if p.age_years >= 2 else f"{p.age_years * 12:.0f} mo"
    return ""


@dataclass(frozen=True)
class DisplayState:
    window: WindowPreset | VoiLut | None
    zoom: float  # screen pixels per image pixel
    frame: int = 0
    n_frames: int = 1
    orientation: str = ""
    inverted: bool = False
    ai_frame: int | None = None  # the frame the shown AI result (and its heatmap) belongs to, if any


def corner_texts(meta: StudyMetadata | None, state: DisplayState | None) -> dict[str, list[str]]:
    """Lines for the corners ``tl`` (patient), ``tr`` (study), ``bl`` (acquisition), ``br`` (display)."""
    out: dict[str, list[str]] = {"tl": [], "tr": [], "bl": [], "br": []}
    if meta is None:
        return out
    p, s = meta.patient, meta.study
    name = format_person_name(p.name)
    out["tl"] = [line for line in (name, f"ID {p.id}" if p.id else "") if line]
    sex_age = ", ".join(v for v in (p.sex, format_age(meta)) if v)
    if sex_age:
        out["tl"].append(sex_age)
    if p.birth_date:
        out["tl"].append(f"Born {format_date(p.birth_date)}")
    out["tr"] = [
        line
        for line in (
            s.institution,
            " ".join(v for v in (format_date(s.date), format_time(s.time)) if v),
            s.description,
            s.series_description,
        )
        if line
    ]
    acq = " ".join(v for v in (s.modality, s.body_part, s.view_position, s.laterality) if v)
    out["bl"] = [line for line in (acq, f"{meta.columns} x {meta.rows} px") if line]
    if state is not None and state.n_frames > 1:
        out["bl"].append(f"Frame {state.frame + 1} / {state.n_frames}")
        if state.ai_frame is not None and state.ai_frame != state.frame:
            out["bl"].append(f"AI result and heatmap: frame {state.ai_frame + 1} only")
    if state is not None:
        w = state.window
        if isinstance(w, WindowPreset):
            wl = f"W {w.width:.0f}  L {w.center:.0f}"
            if w.name:
                wl += f"  ({w.name})"
            out["br"].append(wl)
        elif isinstance(w, VoiLut):
            out["br"].append(f"VOI LUT {w.name}".strip())
        out["br"].append(f"Zoom {state.zoom * 100:.0f}%")
        extras = [v for v in (state.orientation, "inverted" if state.inverted else "") if v]
        if extras:
            out["br"].append(", ".join(extras))
    return out


class CornerOverlay(QtWidgets.QWidget):
    """Transparent widget over the image view that paints the corner texts with a shadow.

    Each corner's text block is rendered once into a small cached pixmap (text layout is slow), so
    repainting the view (opacity slider, window/level drag) only blits four small images.

    The corner texts can be hidden (View > Corner information, Tab) without hiding the centred hint: a
    file's error message stays readable. ``blocks_changed`` tells the view that the space the texts need
    changed, so that a fitted image can be kept clear of them (``ImageView.fit``).
    """

    blocks_changed = QtCore.Signal()

    MARGIN = 10
    HINT_MAX_WIDTH = 640.0

    def __init__(self, parent: QtWidgets.QWidget):
        super().__init__(parent)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_NoSystemBackground, True)
        self.texts: dict[str, list[str]] = {}
        self.hint = ""  # centred text when no image is shown
        self.font_ = QtGui.QFont()
        self.font_.setPixelSize(13)
        self._cache: dict[str, QtGui.QPixmap] = {}
        self.corners_visible = True
        self._sizes: dict[str, tuple[int, int]] = {}

    def set_texts(self, texts: dict[str, list[str]]) -> None:
        if texts != self.texts:
            changed = {k for k in set(texts) | set(self.texts) if texts.get(k) != self.texts.get(k)}
            self.texts = texts
            for k in changed:
                self._cache.pop(k, None)
            self.update()
            self._check_sizes()

    def set_corners_visible(self, on: bool) -> None:
        if on != self.corners_visible:
            self.corners_visible = bool(on)
            self.update()
            self._check_sizes()

    def block_sizes(self) -> dict[str, tuple[int, int]]:
        """(width, height) in logical pixels that each shown corner's text needs, rounded up to 8 px (so
        that "Zoom 45%" becoming "Zoom 44%" does not count as a change), margin included."""
        if not self.corners_visible:
            return {}
        out = {}
        for corner, lines in self.texts.items():
            if lines:
                size = self._block(corner, lines).deviceIndependentSize()
                out[corner] = tuple(
                    -(-int(v + self.MARGIN + 1) // 8) * 8 for v in (size.width(), size.height())
                )
        return out

    def _check_sizes(self) -> None:
        sizes = self.block_sizes()
        if sizes != self._sizes:
            self._sizes = sizes
            self.blocks_changed.emit()

    def set_hint(self, hint: str) -> None:
        if hint != self.hint:
            self.hint = hint
            self.update()

    def _block(self, corner: str, lines: list[str]) -> QtGui.QPixmap:
        pm = self._cache.get(corner)
        if pm is not None:
            return pm
        fm = QtGui.QFontMetrics(self.font_)
        lh = fm.height() + 1
        width = max(fm.horizontalAdvance(line) for line in lines) + 2
        dpr = self.devicePixelRatioF()
        pm = QtGui.QPixmap(int((width + 1) * dpr), int((lh * len(lines) + 1) * dpr))
        pm.setDevicePixelRatio(dpr)
        pm.fill(QtCore.Qt.GlobalColor.transparent)
        p = QtGui.QPainter(pm)
        p.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
        p.setFont(self.font_)
        A = QtCore.Qt.AlignmentFlag
        align = (A.AlignLeft if corner[1] == "l" else A.AlignRight) | A.AlignVCenter
        for i, line in enumerate(lines):
            rect = QtCore.QRect(0, i * lh, width, lh)
            p.setPen(QtGui.QColor(0, 0, 0, 220))
            p.drawText(rect.translated(1, 1), align, line)
            p.setPen(QtGui.QColor("#e6e6e6") if i == 0 else QtGui.QColor("#c4c8cc"))
            p.drawText(rect, align, line)
        p.end()
        self._cache[corner] = pm
        return pm

    def paintEvent(self, event):
        p = QtGui.QPainter(self)
        m = self.MARGIN
        for corner, lines in self.texts.items():
            if not lines or not self.corners_visible:
                continue
            pm = self._block(corner, lines)
            size = pm.deviceIndependentSize()
            x = m if corner[1] == "l" else self.width() - m - size.width()
            y = m - 2 if corner[0] == "t" else self.height() - m + 2 - size.height()
            p.drawPixmap(QtCore.QPointF(x, y), pm)
        if self.hint:
            f = QtGui.QFont(self.font_)
            f.setPixelSize(16)
            p.setFont(f)
            p.setPen(QtGui.QColor("#7d838b"))
            p.drawText(self.hint_rect(), self.hint, self._hint_option())
        p.end()

    def hint_rect(self) -> QtCore.QRectF:
        """Where the centred hint (or a file's error message) wraps: inside the margins, at most
        ``HINT_MAX_WIDTH`` wide so that long messages read as a paragraph, not one cut-off line."""
        width = max(1.0, min(self.width() - 4.0 * self.MARGIN, self.HINT_MAX_WIDTH))
        height = max(1.0, self.height() - 2.0 * self.MARGIN)
        return QtCore.QRectF((self.width() - width) / 2, self.MARGIN, width, height)

    @staticmethod
    def _hint_option() -> QtGui.QTextOption:
        option = QtGui.QTextOption(QtCore.Qt.AlignmentFlag.AlignCenter)
        option.setWrapMode(QtGui.QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)  # long paths too
        return option
