"""Orientation letters on the middle of each edge of an image view (the patient's R / L, H / F, A / P).

A transparent child of the view that follows its size; the display controller sets the letters from
:func:`viewer.gui.orientation.edge_letters` whenever the study or its orientation changes (no letters when the
orientation is unknown).
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

MARGIN = 6


class EdgeLetters(QtWidgets.QWidget):
    def __init__(self, view: QtWidgets.QWidget):
        super().__init__(view)
        self.setObjectName("orientation_letters")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_NoSystemBackground)
        self.letters: dict[str, str] = {}
        self._font = QtGui.QFont(self.font())
        self._font.setPointSize(14)
        self._font.setBold(True)
        view.installEventFilter(self)
        self.setGeometry(view.rect())
        self.show()

    def set_letters(self, letters: dict[str, str]) -> None:
        if letters != self.letters:
            self.letters = dict(letters)
            self.update()

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if obj is self.parent() and event.type() == QtCore.QEvent.Type.Resize:
            self.setGeometry(self.parent().rect())
            self.raise_()
        return False

    def paintEvent(self, event) -> None:
        if not self.letters:
            return
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing)
        p.setFont(self._font)
        fm = QtGui.QFontMetrics(self._font)
        r = self.rect()
        flags = QtCore.Qt.AlignmentFlag
        places = {
            "left": (QtCore.QRect(MARGIN, 0, fm.horizontalAdvance("WWW"), r.height()), flags.AlignLeft),
            "right": (
                QtCore.QRect(
                    r.width() - MARGIN - fm.horizontalAdvance("WWW"),
                    0,
                    fm.horizontalAdvance("WWW"),
                    r.height(),
                ),
                flags.AlignRight,
            ),
            "top": (QtCore.QRect(0, MARGIN, r.width(), fm.height()), flags.AlignHCenter),
            "bottom": (
                QtCore.QRect(0, r.height() - MARGIN - fm.height(), r.width(), fm.height()),
                flags.AlignHCenter,
            ),
        }
        for edge, text in self.letters.items():
            rect, align = places[edge]
            align = align | (flags.AlignVCenter if edge in ("left", "right") else flags.AlignTop)
            p.setPen(QtGui.QColor(0, 0, 0, 220))  # a shadow: readable on bright bone and dark air alike
            p.drawText(rect.translated(1, 1), align, text)
            p.setPen(QtGui.QColor("#f5d76e"))
            p.drawText(rect, align, text)
        p.end()
